"""Alerts: read those of the cameras one may see, and confirm or dismiss them (L28, L31). Nothing is dispatched
before a person's confirmation; the service checks the role and the tenant and audits the verdict."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vigie.api.deps import configured
from vigie.api.schemas import AlertOut, AlertPageOut, ConfirmIn, DismissIn, Instant, ModuleStatisticsOut, RegionOut
from vigie.api.security import CurrentPrincipal
from vigie.domain.alerts import Alert, AlertPriority, AlertState, Verdict
from vigie.services.alerts import AlertService

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**62)]


def _service(request: Request) -> AlertService:
    return configured(request, "alerts", AlertService, "alerts are")


def alert_out(a: Alert, priority: AlertPriority) -> AlertOut:
    return AlertOut(
        id=a.id or 0,
        camera_id=a.camera_id,
        module=a.module,
        kind=a.kind,
        at=a.at,
        region=RegionOut(x=a.region.x, y=a.region.y, w=a.region.w, h=a.region.h),
        score=a.score,
        model_version=a.model_version,
        state=a.state.value,
        verdict=None if a.verdict is None else a.verdict.value,
        decided_by=a.decided_by,
        decided_role=a.decided_role,
        decided_at=a.decided_at,
        note=a.note,
        priority=priority.value,
        priority_rank=priority.rank,
    )


def _out(service: AlertService, alert: Alert) -> AlertOut:
    return alert_out(alert, service.priority_of(alert))


@router.get("", response_model=AlertPageOut, summary="Alerts of the cameras you may see, newest first")
def list_alerts(
    *,
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[AlertState | None, Query()] = None,
    camera_id: Annotated[str | None, Query(max_length=128)] = None,
    module: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(description="alerts at or after this time, with a time zone")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPageOut:
    service = _service(request)
    items = service.list_for(
        principal, state=state, camera_id=camera_id, module=module, since=since, limit=limit, offset=offset
    )
    return AlertPageOut(
        items=[alert_out(a, service.priority_of(a)) for a in items],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )


@router.get("/statistics", response_model=list[ModuleStatisticsOut], summary="Verdicts and false-positive rates")
def statistics(
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[Instant | None, Query(description="alerts at or after this time, with a time zone")] = None,
) -> list[ModuleStatisticsOut]:
    return [
        ModuleStatisticsOut(
            module=s.module,
            camera_id=s.camera_id,
            raised=s.raised,
            pending=s.pending,
            confirmed=s.confirmed,
            false_positives=s.false_positives,
            not_actionable=s.not_actionable,
            duplicates=s.duplicates,
            false_positive_rate=s.false_positive_rate,
        )
        for s in _service(request).statistics_for(principal, since)
    ]


@router.get("/{alert_id}", response_model=AlertOut, summary="One alert")
def get_alert(request: Request, principal: CurrentPrincipal, alert_id: AlertId) -> AlertOut:
    service = _service(request)
    return _out(service, service.get_for(principal, alert_id))


@router.post("/{alert_id}/confirm", response_model=AlertOut, summary="Confirm: a real event, to act on")
def confirm(request: Request, principal: CurrentPrincipal, alert_id: AlertId, body: ConfirmIn) -> AlertOut:
    service = _service(request)
    return _out(service, service.confirm_as(principal, alert_id, note=body.note))


@router.post("/{alert_id}/dismiss", response_model=AlertOut, summary="Dismiss with a verdict; nothing is dispatched")
def dismiss(request: Request, principal: CurrentPrincipal, alert_id: AlertId, body: DismissIn) -> AlertOut:
    service = _service(request)
    return _out(service, service.dismiss_as(principal, alert_id, verdict=Verdict(body.verdict), note=body.note))
