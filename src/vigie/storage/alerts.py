"""The ``alerts`` table (implements ``vigie.domain.alerts.AlertRepo``).

Same habits as the other repositories: one short transaction per call, writes ``BEGIN IMMEDIATE`` on SQLite, the
row locked (``SELECT … FOR UPDATE`` on PostgreSQL) while a verdict is written, so two operators deciding the same
alert at once cannot both succeed: the second is told who decided first.

With ``on_confirmed`` (MQTT enabled, issue 21), a confirmation writes the messages that report it to the outbox in
the same transaction: the verdict and its messages commit together, or neither does (L28: only a confirmation ever
writes one). ``webhooks_of`` (webhooks enabled) does the same with the webhook deliveries.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import sessionmaker

from vigie.domain.alerts import (
    Alert,
    AlertAlreadyDecidedError,
    AlertCount,
    AlertNotFoundError,
    AlertState,
    Verdict,
)
from vigie.domain.geometry import Box
from vigie.domain.outbox import OutboxMessage
from vigie.domain.webhooks import WebhookDelivery
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.outbox import outbox_values
from vigie.storage.tables import AlertRow, MqttOutboxRow, require_aware
from vigie.storage.webhooks import webhook_rows

MAX_PAGE = 1000
_INSERT = insert(AlertRow).returning(AlertRow.id)


ConfirmedMessages = Callable[[Alert], Sequence[OutboxMessage]]
"""The messages reporting a confirmed alert (:meth:`vigie.devices.mqtt.bridge.MqttBridge.confirmed`)."""
ConfirmedWebhooks = Callable[[Alert], Sequence[WebhookDelivery]]
"""The webhook deliveries reporting a confirmed alert (``WebhookBridge.confirmed`` of ``vigie.devices.webhooks``)."""


class SqlAlertRepo:
    def __init__(
        self,
        engine: Engine,
        *,
        on_confirmed: ConfirmedMessages | None = None,
        webhooks_of: ConfirmedWebhooks | None = None,
    ) -> None:
        """``on_confirmed(alert)``: messages written to the outbox in the transaction of the alert's confirmation
        (never for a pending or dismissed alert); ``webhooks_of(alert)``: webhook deliveries, likewise."""
        self._engine = engine
        self._on_confirmed = on_confirmed
        self._webhooks_of = webhooks_of
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, alert: Alert) -> Alert:
        if alert.id is not None:
            raise ValueError(f"alert {alert.id} is already stored")
        if alert.state is not AlertState.PENDING:
            raise ValueError("a new alert is pending: verdicts are recorded with decide()")
        at = require_aware(alert.at, "alert.at")
        values = {
            "camera_id": alert.camera_id,
            "module": alert.module,
            "kind": alert.kind,
            "at": at,
            "region_x": alert.region.x,
            "region_y": alert.region.y,
            "region_w": alert.region.w,
            "region_h": alert.region.h,
            "score": alert.score,
            "model_version": alert.model_version,
            "state": AlertState.PENDING.value,
            "note": "",
        }
        # Core (the ORM's unit of work was a third of raising an alert, bench/mqtt_throughput.py); BEGIN IMMEDIATE
        # on SQLite all the same (the engine's begin event)
        with storage_errors(self._engine, f"store an alert of {alert.camera_id}"), self._engine.begin() as conn:
            alert_id = conn.execute(_INSERT, values).scalar_one()
        return replace(
            alert,
            at=at,
            state=AlertState.PENDING,
            verdict=None,
            decided_by=None,
            decided_role=None,
            decided_at=None,
            note="",
            id=int(alert_id),
        )

    def get(self, alert_id: int) -> Alert | None:
        with storage_errors(self._engine, f"read alert {alert_id}"), self._read.begin() as session:
            row = session.get(AlertRow, alert_id)
            return None if row is None else _to_alert(row)

    def decide(self, alert_id: int, verdict: Verdict, *, by: str, role: str, at: datetime, note: str = "") -> Alert:
        when = require_aware(at, "at")
        with storage_errors(self._engine, f"decide alert {alert_id}"), self._write.begin() as session:
            row = session.scalars(select(AlertRow).where(AlertRow.id == alert_id).with_for_update()).one_or_none()
            if row is None:
                raise AlertNotFoundError(f"no alert {alert_id}")
            if row.state != AlertState.PENDING.value:
                decided = row.decided_at.isoformat() if row.decided_at else "?"
                raise AlertAlreadyDecidedError(
                    f"alert {alert_id} was already decided ({row.verdict}) by {row.decided_by} at {decided}"
                )
            row.state = (AlertState.CONFIRMED if verdict is Verdict.CONFIRMED else AlertState.DISMISSED).value
            row.verdict, row.decided_by, row.decided_role = verdict.value, by, role
            row.decided_at, row.note = when, note
            recorded = _to_alert(row)
            if verdict is Verdict.CONFIRMED and self._on_confirmed is not None:
                messages = self._on_confirmed(recorded)
                if messages:  # Core, as the health events' messages: no ORM object to flush per message
                    session.connection().execute(insert(MqttOutboxRow), outbox_values(messages))
            if verdict is Verdict.CONFIRMED and self._webhooks_of is not None:
                session.add_all(webhook_rows(self._webhooks_of(recorded)))
            return recorded

    def list(
        self,
        *,
        state: AlertState | None = None,
        camera_ids: Sequence[str] | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[Alert]:
        query = select(AlertRow).order_by(AlertRow.at.desc(), AlertRow.id.desc())
        if state is not None:
            query = query.where(AlertRow.state == state.value)
        if camera_ids is not None:
            query = query.where(AlertRow.camera_id.in_(list(camera_ids)))
        if module is not None:
            query = query.where(AlertRow.module == module)
        if since is not None:
            query = query.where(AlertRow.at >= require_aware(since, "since"))
        query = query.limit(max(0, min(limit, MAX_PAGE))).offset(max(0, offset))
        with storage_errors(self._engine, "list alerts"), self._read.begin() as session:
            return [_to_alert(row) for row in session.scalars(query)]

    def counts(self, *, since: datetime | None = None) -> builtins.list[AlertCount]:
        query = select(AlertRow.module, AlertRow.camera_id, AlertRow.verdict, func.count()).group_by(
            AlertRow.module, AlertRow.camera_id, AlertRow.verdict
        )
        if since is not None:
            query = query.where(AlertRow.at >= require_aware(since, "since"))
        with storage_errors(self._engine, "count alerts"), self._read.begin() as session:
            return [
                AlertCount(module, camera_id, None if verdict is None else Verdict(verdict), int(count))
                for module, camera_id, verdict, count in session.execute(query)
            ]


def _to_alert(row: AlertRow) -> Alert:
    return Alert(
        camera_id=row.camera_id,
        module=row.module,
        kind=row.kind,
        at=row.at,
        region=Box(row.region_x, row.region_y, row.region_w, row.region_h),
        score=row.score,
        model_version=row.model_version,
        state=AlertState(row.state),
        verdict=None if row.verdict is None else Verdict(row.verdict),
        decided_by=row.decided_by,
        decided_role=row.decided_role,
        decided_at=row.decided_at,
        note=row.note,
        id=row.id,
    )
