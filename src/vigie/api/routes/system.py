"""The platform's health (issue 17): the console's health view (nodes, disks, cameras offline, recording gaps) for
operators and supervisors, and ``/metrics`` for a Prometheus scraper that presents the configured bearer token."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from vigie.api.camera_lists import camera_out
from vigie.api.deps import configured
from vigie.api.errors import error_body
from vigie.api.schemas import CameraOut
from vigie.api.security import CurrentPrincipal
from vigie.domain.recording import RecordingGap
from vigie.services.integration_health import IntegrationsOverview
from vigie.services.system_health import MetricsAccess, MetricsRefusedError, SystemHealthService

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class NodeOut(BaseModel):
    node_id: str = Field(description="the host name on a single host (or VIGIE_NODE), Ray's node id on a cluster")
    address: str
    alive: bool
    groups: list[str] = Field(description="worker groups placed on the node (recorder-0, analysis-1)")
    cameras: int = Field(description="cameras those groups host (recorded and analysed counts once)")
    since: datetime | None
    draining: bool = Field(description="being taken out of service (`vigie cluster drain`): its groups move away")


class DiskOut(BaseModel):
    name: str = Field(description="recordings (the segment folder) or data (the data folder)")
    free_bytes: int
    total_bytes: int
    min_free_bytes: int = Field(description="below this the purge deletes the oldest recordings it may")
    ok: bool
    error: str


class GapOut(BaseModel):
    camera_id: str
    start: datetime = Field(description="end of the last footage before the gap")
    end: datetime | None = Field(description="start of the footage after it; null while the gap lasts (an alarm)")
    seconds: float
    noticed: datetime


KNOWN_TO_SERVE = "null: this process does not hold the connection (a `vigie api` process); only `vigie serve` knows"


class MqttLiveOut(BaseModel):
    connected: bool
    last_error: str | None = Field(description="why the last connection failed or ended (never a secret)")
    acknowledged: int = Field(description="outbox messages the broker acknowledged since `vigie serve` started")
    refused: int = Field(description="outbox messages the broker refused (its ACL) since `vigie serve` started")


class MqttHealthOut(BaseModel):
    outbox_waiting: int = Field(description="messages in the outbox not yet acknowledged (from the database)")
    live: MqttLiveOut | None = Field(description=f"the connection to the broker; {KNOWN_TO_SERVE}")


class WebhookHealthOut(BaseModel):
    name: str
    url: str = Field(description="scheme, host, port and path of the endpoint: never its query string")
    communes: list[str]
    waiting: int = Field(description="deliveries waiting (from the database)")
    disabled_at: datetime | None = Field(description="when the receiver answered 410 Gone at this URL; null: not")
    failed: int | None = Field(description=f"deliveries given up since `vigie serve` started; {KNOWN_TO_SERVE}")


class SensorsLiveOut(BaseModel):
    subscribed: bool
    last_error: str | None
    received: int = Field(description="messages received since `vigie serve` started from your communes' sensors")
    dropped: dict[str, int] = Field(description="messages dropped since the start, per reason")


class SensorsHealthOut(BaseModel):
    configured: int = Field(description="sensors of your communes in the configuration")
    live: SensorsLiveOut | None = Field(description=f"the subscription to the sensors' topics; {KNOWN_TO_SERVE}")


class IntegrationsOut(BaseModel):
    mqtt: MqttHealthOut | None = Field(description="null: MQTT is off (mqtt.enabled)")
    webhooks: list[WebhookHealthOut] | None = Field(
        description="null: webhooks are off (webhooks.enabled); else the endpoints receiving one of your communes"
    )
    sensors: SensorsHealthOut | None = Field(description="null: sensors are off (sensors.enabled)")
    speakers: dict[str, int] = Field(description="loudspeakers configured per commune of yours (not probed)")


class SystemHealthOut(BaseModel):
    at: datetime
    nodes: list[NodeOut]
    disks: list[DiskOut]
    offline: list[CameraOut] = Field(description="cameras you may see whose last report says offline")
    alarms: list[GapOut] = Field(description="recording-gap alarms raised now: cameras that should record and do not")
    gaps: list[GapOut] = Field(description="recording gaps of the last 24 h, newest first (at most 500: see gap_count)")
    gap_count: int
    gap_seconds: float
    watching: bool = Field(
        description="false: the recordings are not watched now (`vigie serve`, which writes the alarms to the "
        "database for every process, has not for 15 s: stopped, stuck or its writes refused); the alarms listed are "
        "the last ones written"
    )
    integrations: IntegrationsOut = Field(description="MQTT, webhooks, sensors and loudspeakers (issue 21)")


def _integrations(view: IntegrationsOverview) -> IntegrationsOut:
    mqtt = view.mqtt
    sensors = view.sensors
    return IntegrationsOut(
        mqtt=None
        if mqtt is None
        else MqttHealthOut(
            outbox_waiting=mqtt.outbox_waiting,
            live=None
            if mqtt.live is None
            else MqttLiveOut(
                connected=mqtt.live.connected,
                last_error=mqtt.live.last_error,
                acknowledged=mqtt.live.acknowledged,
                refused=mqtt.live.refused,
            ),
        ),
        webhooks=None
        if view.webhooks is None
        else [
            WebhookHealthOut(
                name=w.name,
                url=w.url,
                communes=list(w.communes),
                waiting=w.waiting,
                disabled_at=w.disabled_at,
                failed=w.failed,
            )
            for w in view.webhooks
        ],
        sensors=None
        if sensors is None
        else SensorsHealthOut(
            configured=sensors.configured,
            live=None
            if sensors.live is None
            else SensorsLiveOut(
                subscribed=sensors.live.subscribed,
                last_error=sensors.live.last_error,
                received=sensors.live.received,
                dropped=dict(sensors.live.dropped),
            ),
        ),
        speakers=dict(view.speakers),
    )


def _gap(gap: RecordingGap, now: datetime) -> GapOut:
    return GapOut(camera_id=gap.camera_id, start=gap.start, end=gap.end, seconds=gap.seconds(now), noticed=gap.noticed)


@router.get(
    "/api/system/health",
    response_model=SystemHealthOut,
    summary="Nodes, disks, cameras offline, recording gaps and integrations (operators and supervisors)",
)
def system_health(request: Request, principal: CurrentPrincipal) -> SystemHealthOut:
    service = configured(request, "system_health", SystemHealthService, "the health view is")
    view = service.overview_for(principal)
    return SystemHealthOut(
        at=view.at,
        nodes=[
            NodeOut(
                node_id=n.node_id,
                address=n.address,
                alive=n.alive,
                groups=list(n.groups),
                cameras=n.cameras,
                since=n.since,
                draining=n.draining,
            )
            for n in view.nodes
        ],
        disks=[
            DiskOut(
                name=d.name,
                free_bytes=d.free_bytes,
                total_bytes=d.total_bytes,
                min_free_bytes=d.min_free_bytes,
                ok=d.ok,
                error=d.error,
            )
            for d in view.disks
        ],
        offline=[camera_out(v) for v in view.offline],
        alarms=[_gap(g, view.at) for g in view.alarms],
        gaps=[_gap(g, view.at) for g in view.gaps],
        gap_count=view.gap_count,
        gap_seconds=view.gap_seconds,
        watching=view.watching,
        integrations=_integrations(view.integrations),
    )


@router.get(
    "/metrics",
    include_in_schema=False,
    responses={401: {"description": "no or wrong bearer token"}, 404: {"description": "metrics not configured"}},
)
def metrics(request: Request) -> Response:
    """Prometheus exposition; only with ``Authorization: Bearer <token>`` (``api.metrics_token_file``)."""
    access: MetricsAccess | None = getattr(request.app.state.services, "metrics", None)
    if access is None:
        return JSONResponse(
            error_body("not_found", "metrics are not enabled on this server (api.metrics_token_file)"), 404
        )
    try:
        body = access.render_for(request.headers.get("authorization"))
    except MetricsRefusedError as err:
        headers = {"WWW-Authenticate": 'Bearer realm="vigie-metrics"', "Cache-Control": "no-store"}
        return JSONResponse(error_body("not_authenticated", str(err)), 401, headers=headers)
    return Response(body, media_type=PROMETHEUS_TEXT, headers={"Cache-Control": "no-store"})
