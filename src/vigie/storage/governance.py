"""SQL storage of governance records: activations (with their cameras and zones), approvals, revocations and
stop switches (current state and history).

Records go in and come back as the values of ``vigie.domain.activation`` (``Activation``, ``Approval``,
``Revocation``, ``StopSwitch``, ``GovernanceSnapshot``). Nothing here decides anything: the service validates
before writing, and the gate re-checks what it reads (:meth:`SqlGovernanceStore.active_rules`), so a row written
by hand proves nothing. Each call is one short transaction; the store can be shared by threads.

The database keeps a governance version (migration 0009: a one-row counter its triggers bump on every change to
the tables below, and on PostgreSQL a ``NOTIFY vigie_governance``): :meth:`SqlGovernanceStore.governance_version`
reads it in one short query, and :class:`GovernanceNotifications` calls back when PostgreSQL says it moved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.activation import (
    Activation,
    ActivationRequest,
    Approval,
    GovernanceSnapshot,
    Revocation,
    StopSwitch,
)
from vigie.domain.redact import redact_text
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.errors import StorageError
from vigie.storage.tables import (
    GLOBAL_STOP_SCOPE,
    ActivationCameraRow,
    ActivationRow,
    ActivationZoneRow,
    ApprovalRow,
    GovernanceVersionRow,
    RevocationRow,
    StopSwitchLogRow,
    StopSwitchRow,
    require_aware,
)

MAX_ACTIVATIONS: Final = 10_000
"""The most activations one listing returns."""
GOVERNANCE_CHANNEL: Final = "vigie_governance"
"""The PostgreSQL notification channel the governance triggers notify (migration 0009)."""
LISTEN_WAIT_S: Final = 0.5
"""How long the listener waits for a notification before checking whether it was closed."""
LISTEN_RETRY_S: Final = 1.0
"""How long the listener waits before connecting again after losing its connection."""

log = logging.getLogger(__name__)


class SqlGovernanceStore:
    """Governance records in the ``governance_*`` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._reader = for_reading(engine)
        self._read = sessionmaker(self._reader, expire_on_commit=False)

    # -- activations ------------------------------------------------------------------------------------------

    def add_activation(
        self, request: ActivationRequest, at: datetime, seal: Callable[[Activation], str] | None = None
    ) -> Activation:
        """Record a request (validated by the caller) and return it with its id, sealed by ``seal`` (which sees
        the record as it will be read back, id included) in the same transaction."""
        row = ActivationRow(
            tenant=request.tenant,
            module=request.module,
            framework=request.framework,
            decision_number=request.decision_number,
            decision_date=request.decision_date,
            dpia_reference=request.dpia_reference,
            purpose=request.purpose,
            starts_at=require_aware(request.starts_at, "start"),
            ends_at=require_aware(request.ends_at, "end"),
            requested_by=request.requested_by,
            requested_role=request.requested_role,
            requested_at=require_aware(at, "request time"),
            calibration_seq=request.calibration_seq,
        )
        with storage_errors(self._engine, "record an activation"), self._write.begin() as session:
            session.add(row)
            session.flush()
            cameras = dict.fromkeys(request.camera_ids)
            session.add_all(ActivationCameraRow(activation_id=row.id, camera_id=c) for c in cameras)
            session.add_all(ActivationZoneRow(activation_id=row.id, zone_id=z) for z in dict.fromkeys(request.zone_ids))
            activation = _activations(session, [row])[0]
            if seal is not None:
                row.seal = seal(activation)
                activation = replace(activation, seal=row.seal)
            return activation

    def get_activation(self, activation_id: int) -> Activation | None:
        with storage_errors(self._engine, f"read activation {activation_id}"), self._read.begin() as session:
            row = session.get(ActivationRow, activation_id)
            return None if row is None else _activations(session, [row])[0]

    def list_activations(self, *, ending_after: datetime | None = None) -> Sequence[Activation]:
        """Activations by id, optionally only those ending after a time (at most :data:`MAX_ACTIVATIONS`)."""
        query = select(ActivationRow).order_by(ActivationRow.id).limit(MAX_ACTIVATIONS)
        if ending_after is not None:
            query = query.where(ActivationRow.ends_at > require_aware(ending_after))
        with storage_errors(self._engine, "list activations"), self._read.begin() as session:
            return _activations(session, list(session.scalars(query)))

    # -- approvals and revocations ----------------------------------------------------------------------------

    def add_approval(self, activation_id: int, by: str, role: str, at: datetime, seal: str = "") -> Approval:
        row = ApprovalRow(activation_id=activation_id, approved_by=by, role=role, at=require_aware(at), seal=seal)
        with storage_errors(self._engine, f"approve activation {activation_id}"), self._write.begin() as session:
            session.add(row)
        return Approval(activation_id, by, role, row.at, seal)

    def approvals(self, activation_ids: Iterable[int]) -> Sequence[Approval]:
        ids = list(activation_ids)
        query = select(ApprovalRow).where(ApprovalRow.activation_id.in_(ids)).order_by(ApprovalRow.id)
        with storage_errors(self._engine, "read approvals"), self._read.begin() as session:
            return [_approval(r) for r in session.scalars(query)] if ids else []

    def add_revocation(self, activation_id: int, by: str, role: str, reason: str, at: datetime) -> Revocation:
        row = RevocationRow(activation_id=activation_id, revoked_by=by, role=role, reason=reason, at=require_aware(at))
        with storage_errors(self._engine, f"revoke activation {activation_id}"), self._write.begin() as session:
            session.add(row)
        return Revocation(activation_id, by, role, reason, row.at)

    def revocations(self, activation_ids: Iterable[int]) -> Mapping[int, Revocation]:
        ids = list(activation_ids)
        query = select(RevocationRow).where(RevocationRow.activation_id.in_(ids))
        with storage_errors(self._engine, "read revocations"), self._read.begin() as session:
            return {r.activation_id: _revocation(r) for r in session.scalars(query)} if ids else {}

    # -- stop switches ----------------------------------------------------------------------------------------

    def set_stop(
        self, camera_id: str | None, *, engaged: bool, by: str, role: str, reason: str, at: datetime
    ) -> StopSwitch:
        """Engage or release a stop switch: its current state and one line of history, in one transaction."""
        when = require_aware(at)
        values: dict[str, object] = {
            "scope": GLOBAL_STOP_SCOPE if camera_id is None else camera_id,
            "engaged": engaged,
            "changed_by": by,
            "role": role,
            "reason": reason,
            "at": when,
        }
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert = dialect.insert(StopSwitchRow).values(values)
        upsert = insert.on_conflict_do_update(
            index_elements=[StopSwitchRow.scope], set_={k: insert.excluded[k] for k in values if k != "scope"}
        )
        with storage_errors(self._engine, "set a stop switch"), self._write.begin() as session:
            session.execute(upsert)
            session.add(StopSwitchLogRow(**values))
        return StopSwitch(camera_id, engaged, by, role, reason, when)

    def stops(self) -> Sequence[StopSwitch]:
        """The current state of every stop switch ever used."""
        with storage_errors(self._engine, "read stop switches"), self._read.begin() as session:
            return _stops(session)

    def stop_history(self, limit: int = 100) -> Sequence[StopSwitch]:
        """The latest changes of the stop switches, newest first."""
        query = select(StopSwitchLogRow).order_by(StopSwitchLogRow.id.desc()).limit(limit)
        with storage_errors(self._engine, "read the stop switch history"), self._read.begin() as session:
            return [_stop(r) for r in session.scalars(query)]

    # -- the gate ---------------------------------------------------------------------------------------------

    def active_rules(self, now: datetime) -> GovernanceSnapshot:
        """One read transaction: activations ending after ``now`` (any state), their approvals and revocations,
        and the stop switches. Served by the index on ``ends_at``."""
        query = select(ActivationRow).where(ActivationRow.ends_at > require_aware(now)).order_by(ActivationRow.id)
        with storage_errors(self._engine, "read the activation rules"), self._read.begin() as session:
            activations = _activations(session, list(session.scalars(query)))
            ids = [a.id for a in activations]
            approvals: list[ApprovalRow] = []
            revoked: list[RevocationRow] = []
            if ids:
                approvals = list(session.scalars(select(ApprovalRow).where(ApprovalRow.activation_id.in_(ids))))
                revoked = list(session.scalars(select(RevocationRow).where(RevocationRow.activation_id.in_(ids))))
            return GovernanceSnapshot(
                activations=tuple(activations),
                approvals=tuple(_approval(r) for r in approvals),
                revocations={r.activation_id: r.at for r in revoked},
                stops=tuple(_stops(session)),
            )

    def governance_version(self) -> int:
        """The database's governance version: one single-row query. Raises :class:`StorageError` when it cannot be
        read — including when the row is gone, which no legitimate change does."""
        query = select(GovernanceVersionRow.version).where(GovernanceVersionRow.id == 1)
        with storage_errors(self._engine, "read the governance version"), self._reader.connect() as conn:
            version = conn.execute(query).scalar_one_or_none()
        if version is None:
            raise StorageError("cannot read the governance version: its row is missing (migration 0009)")
        return int(version)


class GovernanceNotifications:
    """Calls ``on_change`` whenever PostgreSQL notifies a governance change (its triggers, migration 0009).

    A daemon thread holds one connection of its own, listening; when the connection is lost it connects again
    (every :data:`LISTEN_RETRY_S`). A notification only says "check now": whoever is called checks the version and
    the rules itself, so a stray ``NOTIFY`` changes nothing, and a lost one costs only the delay of the next
    periodic check. Does nothing on SQLite (there is nothing to listen to): :attr:`listening` stays False.
    """

    def __init__(self, engine: Engine, on_change: Callable[[], None]) -> None:
        self._engine = engine
        self._on_change = on_change
        self._closed = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def supported(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @property
    def listening(self) -> bool:
        """Whether the listener holds a connection that has run ``LISTEN`` (it may be lost at any time)."""
        return self._connected.is_set()

    def start(self) -> GovernanceNotifications:
        if self.supported and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vigie-governance-listen", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout_s: float = 2.0) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._listen()
            except Exception as err:  # any driver error: connect again; the periodic check goes on meanwhile
                where = self._engine.url.render_as_string(hide_password=True)
                log.warning("governance notifications lost on %s (%s); connecting again", where, _first_line(err))
            self._connected.clear()
            self._closed.wait(LISTEN_RETRY_S)

    def _listen(self) -> None:
        raw = self._engine.raw_connection()
        driver: Any = raw.driver_connection
        raw.detach()  # ours alone, never back to the pool in autocommit mode; closed with ``raw``
        try:
            driver.autocommit = True
            driver.execute(f"LISTEN {GOVERNANCE_CHANNEL}")
            self._connected.set()
            self._on_change()  # anything committed while not listening
            while not self._closed.is_set():
                for _ in driver.notifies(timeout=LISTEN_WAIT_S, stop_after=1):
                    self._on_change()
        finally:
            raw.close()


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return redact_text(lines[0]) if lines else type(err).__name__


def _activations(session: Session, rows: Sequence[ActivationRow]) -> list[Activation]:
    ids = [row.id for row in rows]
    cameras: dict[int, list[str]] = {i: [] for i in ids}
    zones: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for cam in session.scalars(select(ActivationCameraRow).where(ActivationCameraRow.activation_id.in_(ids))):
            cameras[cam.activation_id].append(cam.camera_id)
        for zone in session.scalars(select(ActivationZoneRow).where(ActivationZoneRow.activation_id.in_(ids))):
            zones[zone.activation_id].append(zone.zone_id)
    return [
        Activation(
            id=row.id,
            tenant=row.tenant,
            module=row.module,
            camera_ids=tuple(sorted(cameras[row.id])),
            zone_ids=tuple(sorted(zones[row.id])),
            framework=row.framework,
            decision_number=row.decision_number,
            decision_date=row.decision_date,
            dpia_reference=row.dpia_reference,
            purpose=row.purpose,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            requested_by=row.requested_by,
            requested_role=row.requested_role,
            requested_at=row.requested_at,
            calibration_seq=row.calibration_seq,
            seal=row.seal or "",
        )
        for row in rows
    ]


def _approval(row: ApprovalRow) -> Approval:
    return Approval(row.activation_id, row.approved_by, row.role, row.at, row.seal or "")


def _revocation(row: RevocationRow) -> Revocation:
    return Revocation(row.activation_id, row.revoked_by, row.role, row.reason, row.at)


def _stops(session: Session) -> list[StopSwitch]:
    rows = session.scalars(select(StopSwitchRow).order_by(StopSwitchRow.scope))
    return [_stop(r) for r in rows]


def _stop(row: StopSwitchRow | StopSwitchLogRow) -> StopSwitch:
    camera_id = None if row.scope == GLOBAL_STOP_SCOPE else row.scope
    return StopSwitch(camera_id, row.engaged, row.changed_by, row.role, row.reason, row.at)
