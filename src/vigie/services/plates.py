"""Plate reading (LAPI) for state tenants: what happens to a read, and who may see what of it (L34, L35).

:meth:`PlateService.record` is the :class:`~vigie.domain.plates.PlateReadSink` the analysis workers hand reads to.
A read is stored only for a camera of a state tenant (police nationale, gendarmerie, douanes: CSI L233-1, L34)
and only while the gate lets ``plate_reading`` run on that camera at the read's time (an approved activation);
otherwise it is dropped, the refusal audited once per camera and reason. A stored read is compared with the
tenant's hit lists: a match is kept a month and raises a pending alert that a person confirms or dismisses
(nothing is done on a match by itself); a read that matched nothing is kept 15 days and **never shown to anyone**:
no method here returns it, only per-camera daily counts (L35). The purge (:meth:`PlateService.purge`, every
:data:`PURGE_EVERY_S` in ``vigie serve``) deletes what expired, except matches held for a procedure.

People see the plate data of their own tenant only, and only if it is a state tenant: a sharing agreement (L10)
shares cameras, never plate reads. Every query — matches, one match, a crop, counts — is audited, and so is every
hit-list import (with the file's SHA-256) and every hold. Plate text never enters the audit log: the log is kept
for years (L12), a match for a month; entries name matches by id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.plates import (
    MATCH_KIND,
    MODULE,
    HitListImport,
    MatchHold,
    PlateMatch,
    PlateRead,
    PlateReadRefusedError,
    PlateRepo,
    PurgeResult,
    ReadCount,
    legal_day_of,
    match_expiry,
    non_match_expiry,
)
from vigie.domain.ports import AuditSink, Gate
from vigie.domain.users import Permission
from vigie.lpr.hitlists import MAX_FILE_BYTES, HitListError, HitListVerificationError, read_hit_list
from vigie.services.access import AccessDeniedError, Directory, NotVisibleError, Principal
from vigie.services.alerts import AlertService
from vigie.services.events import InvalidQuery

log = logging.getLogger(__name__)

STATE: Final = "state"
PLATES_ACTOR: Final = f"vigie:{MODULE}"
PURGE_EVERY_S: Final = 300.0
"""The L35 purge runs every 5 minutes: a read is gone at most that long after its 15 days (or its month)."""
MAX_HIT_LIST_BYTES: Final = MAX_FILE_BYTES
"""The largest hit-list file imported (the API's body cap for an import)."""
MAX_COUNT_DAYS: Final = 366
MAX_REFUSALS_REMEMBERED: Final = 1024
"""Refused (camera, reason) pairs audited once each; beyond this many the memory starts over."""
WHOLE_FRAME: Final = Box(0.0, 0.0, 1.0, 1.0)

HitListKeys = Callable[[str], Mapping[str, Ed25519PublicKey]]
"""The Ed25519 public keys a tenant registered for its hit-list signatures, by key id."""


def no_keys(commune_id: str) -> Mapping[str, Ed25519PublicKey]:
    return {}


class PlateGate(Gate, Protocol):
    """The governance gate, which also names the activation a module runs under
    (:class:`vigie.governance.gate.ActivationGate`)."""

    def activation_id(self, module: str, camera_id: str) -> int | None: ...


class PlateRequestError(InvalidQuery):
    """A request about plates a person can fix (the API answers 422 with the message)."""


class HoldRefusedError(PlateRequestError):
    """The hold cannot be placed or lifted as asked; the message says what to fix."""


class HitListRefusedError(PlateRequestError):
    """The hit-list file is not imported; the message names the line or the check that failed."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a read: its id, and the matches and alert it gave (None: it matched nothing)."""

    read_id: int
    match_ids: tuple[int, ...]
    alert_id: int | None


class PlateService:
    def __init__(
        self,
        repo: PlateRepo,
        alerts: AlertService,
        audit: AuditSink,
        clock: Clock,
        *,
        directory: Directory,
        gate: PlateGate,
        keys: HitListKeys = no_keys,
    ) -> None:
        """``gate``: the governance gate of this process (``plate_reading`` must be open on the read's camera at
        its time, under the activation the read names); ``keys``: the public keys each tenant registered for
        signed hit lists."""
        self._repo = repo
        self._alerts = alerts
        self._audit = audit
        self._clock = clock
        self._directory = directory
        self._gate = gate
        self._keys = keys
        self._refused: set[tuple[str, str]] = set()

    # --- the sink the analysis workers call ----------------------------------------------------------------------

    def record(self, read: PlateRead) -> None:
        """Store ``read``, match it, raise an alert on a match (:class:`PlateReadRefusedError` when it may not
        exist)."""
        self.store(read)

    def store(self, read: PlateRead) -> Recorded:
        refusal = self._refusal(read)
        if refusal is not None:
            self._refuse(read, *refusal)
            raise PlateReadRefusedError(f"plate read on camera {read.camera_id} dropped: {refusal[1]}")
        hits = self._repo.hits(read.commune_id, read.text)
        expires = match_expiry(read.at) if hits else non_match_expiry(read.at)
        read_id, match_ids = self._repo.add_read_with_matches(read, hits, expires_at=expires)
        if not hits:
            return Recorded(read_id, (), None)
        alert = self._alerts.raise_alert(
            Observation(
                camera_id=read.camera_id,
                module=MODULE,
                kind=MATCH_KIND,
                at=read.at,
                regions=(read.box or WHOLE_FRAME,),
                score=read.confidence,
                model_version=read.model_version,
            )
        )
        if alert.id is not None:
            for match_id in match_ids:
                self._repo.set_alert(match_id, alert.id)
        return Recorded(read_id, match_ids, alert.id)

    def _refusal(self, read: PlateRead) -> tuple[str, str] | None:
        """``(code, message)`` of why ``read`` may not be stored, or None."""
        owner = self._directory.owner(read.camera_id)
        if owner is None or owner != read.commune_id:
            return "not_the_tenants", f"camera {read.camera_id} is not a camera of tenant {read.commune_id}"
        commune = self._directory.commune(owner)
        if commune is None or commune.kind != STATE:
            return (
                "not_a_state_tenant",
                f"tenant {owner} is not a state service: plate reading is never available to it (CSI L233-1, L34)",
            )
        if not self._gate.allows(MODULE, read.camera_id, read.at):
            return (
                "no_activation",
                f"no {MODULE} activation in force on camera {read.camera_id} at {read.at.isoformat()}",
            )
        running = self._gate.activation_id(MODULE, read.camera_id)
        if running != read.activation_id:
            return (
                "other_activation",
                f"the read names activation {read.activation_id}, but {MODULE} runs on camera {read.camera_id} "
                f"under activation {running} at {read.at.isoformat()}",
            )
        return None

    def _refuse(self, read: PlateRead, code: str, reason: str) -> None:
        """Audit (and log) the first refusal of each camera and code; the caller counts every one."""
        key = (read.camera_id, code)
        if key in self._refused:
            log.debug("plate read dropped: %s", reason)
            return
        log.warning("plate read dropped: %s (further reads dropped for this reason are counted, not logged)", reason)
        if len(self._refused) >= MAX_REFUSALS_REMEMBERED:
            self._refused.clear()
        self._refused.add(key)
        self._audit.append(
            AuditEvent(
                PLATES_ACTOR,
                AuditAction.PLATE_READ_REFUSED,
                read.camera_id,
                {"tenant": read.commune_id, "activation": read.activation_id, "code": code, "reason": reason},
                at=self._clock(),
            )
        )

    # --- retention ---------------------------------------------------------------------------------------------

    def purge(self, now: datetime | None = None) -> PurgeResult:
        """Delete what expired at ``now`` (default: the clock's time) except held matches (L35); audited when it
        deleted anything."""
        at = self._clock() if now is None else now
        result = self._repo.purge(at)
        if result.reads or result.matches:
            self._audit.append(
                AuditEvent(
                    PLATES_ACTOR,
                    AuditAction.PLATES_PURGED,
                    "plates",
                    {"reads": result.reads, "matches": result.matches},
                    at=at,
                )
            )
        return result

    # --- on behalf of a person: permission, tenant and audit checked here --------------------------------------

    def _state_cameras(self, viewer: Principal, permission: Permission, camera_id: str | None) -> list[str]:
        """The cameras of the viewer's own tenant, which must be a state tenant (never shared, L34)."""
        viewer.require(permission)
        commune = self._directory.commune(viewer.user.commune_id)
        if commune is None or commune.kind != STATE:
            raise AccessDeniedError(
                f"plate reading is reserved to state services (CSI L233-1, L34); {viewer.user.commune_id} is not one"
            )
        own = [c for c, owner in self._directory.camera_commune.items() if owner == commune.id]
        if camera_id is None:
            return own
        if camera_id not in own:
            raise NotVisibleError(f"no camera {camera_id!r} among your tenant's plate-reading cameras")
        return [camera_id]

    def matches_for(
        self,
        viewer: Principal,
        *,
        camera_id: str | None = None,
        since: datetime | None = None,
        alert_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[PlateMatch]:
        """Matches of the viewer's tenant, newest first; audited with the ids returned."""
        cameras = self._state_cameras(viewer, Permission.READ_PLATE_MATCHES, camera_id)
        found = self._repo.matches(cameras, since=since, alert_id=alert_id, limit=limit) if cameras else []
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_MATCHES_READ,
                viewer.user.commune_id,
                {
                    "camera": camera_id,
                    "since": None if since is None else since.isoformat(),
                    "alert": alert_id,
                    "matches": [m.id for m in found],
                },
                at=self._clock(),
            )
        )
        return found

    def match_for(self, viewer: Principal, match_id: int) -> PlateMatch:
        """One match of the viewer's tenant; audited."""
        match = self._visible_match(viewer, match_id, Permission.READ_PLATE_MATCHES)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_MATCHES_READ,
                match.camera_id,
                {"matches": [match.id], "alert": match.alert_id},
                at=self._clock(),
            )
        )
        return match

    def crop_for(self, viewer: Principal, match_id: int) -> bytes:
        """The plate crop (JPEG) of one match of the viewer's tenant; audited."""
        match = self._visible_match(viewer, match_id, Permission.READ_PLATE_MATCHES)
        crop = self._repo.match_crop(match.id)
        if crop is None:
            raise NotVisibleError(f"no plate match {match_id} among the matches you may see")
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_CROP_VIEWED,
                match.camera_id,
                {"match": match.id, "alert": match.alert_id, "bytes": len(crop)},
                at=self._clock(),
            )
        )
        return crop

    def _visible_match(self, viewer: Principal, match_id: int, permission: Permission) -> PlateMatch:
        cameras = self._state_cameras(viewer, permission, None)
        match = self._repo.match(match_id)
        if match is None or match.camera_id not in cameras:
            raise NotVisibleError(f"no plate match {match_id} among the matches you may see")
        return match

    def counts_for(
        self, viewer: Principal, since: date, until: date, *, camera_id: str | None = None
    ) -> Sequence[ReadCount]:
        """Plates read and matched per camera per Paris day (numbers only); audited."""
        if until < since or (until - since).days >= MAX_COUNT_DAYS:
            raise PlateRequestError(f"ask for 1 to {MAX_COUNT_DAYS} days, the first not after the last")
        cameras = self._state_cameras(viewer, Permission.VIEW_CAMERAS, camera_id)
        found = self._repo.counts(cameras, since, until) if cameras else []
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_COUNTS_READ,
                viewer.user.commune_id,
                {"camera": camera_id, "since": since.isoformat(), "until": until.isoformat(), "rows": len(found)},
                at=self._clock(),
            )
        )
        return found

    def import_as(
        self, viewer: Principal, data: bytes, *, checksum: str | None = None, signature: bytes | None = None
    ) -> HitListImport:
        """Verify and import a hit-list file for the viewer's tenant, replacing the lists it names; audited with
        the file's SHA-256 and how it was vouched for (:class:`HitListRefusedError` when refused)."""
        self._state_cameras(viewer, Permission.MANAGE_HIT_LISTS, None)
        commune = viewer.user.commune_id
        try:
            parsed = read_hit_list(data, checksum=checksum, signature=signature, keys=self._keys(commune))
        except HitListError as err:
            self._audit.append(
                AuditEvent(
                    viewer.actor,
                    AuditAction.HIT_LIST_IMPORTED,
                    commune,
                    _refusal_details(err, len(data)),
                    at=self._clock(),
                )
            )
            raise HitListRefusedError(str(err)) from err
        now = self._clock()
        record = HitListImport(
            commune, parsed.list_names, len(parsed.entries), parsed.sha256, parsed.verified_by, viewer.actor, now
        )
        stored = self._repo.replace_lists(record, parsed.entries)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.HIT_LIST_IMPORTED,
                commune,
                {
                    "import": stored.id,
                    "sha256": stored.sha256,
                    "verified_by": stored.verified_by,
                    "lists": list(stored.list_names),
                    "entries": stored.entries,
                },
                at=now,
            )
        )
        return stored

    def check_can_import(self, viewer: Principal) -> None:
        """Refuse before a file is even read: the person may not import their tenant's hit lists."""
        self._state_cameras(viewer, Permission.MANAGE_HIT_LISTS, None)

    def imports_for(self, viewer: Principal) -> Sequence[HitListImport]:
        """The tenant's imports, newest first (digests and counts, no plate)."""
        self._state_cameras(viewer, Permission.MANAGE_HIT_LISTS, None)
        return self._repo.imports(viewer.user.commune_id)

    def hold_as(self, viewer: Principal, match_id: int, reference: str) -> PlateMatch:
        """Keep a match past its month for the procedure ``reference`` (L35); audited."""
        reference = reference.strip()
        if not reference:
            raise HoldRefusedError("a hold needs the procedure's reference (case or requisition number)")
        match = self._visible_match(viewer, match_id, Permission.HOLD_PLATE_MATCHES)
        if match.hold is not None:
            raise HoldRefusedError(f"match {match_id} is already held for {match.hold.reference}")
        now = self._clock()
        held = self._repo.hold(match.id, MatchHold(reference, viewer.actor, now))
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_MATCH_HELD,
                match.camera_id,
                {"match": match.id, "reference": reference},
                at=now,
            )
        )
        return held

    def release_as(self, viewer: Principal, match_id: int, reason: str) -> PlateMatch:
        """Lift a match's hold: it falls back under its month (purged at the next run if that has passed)."""
        reason = reason.strip()
        if not reason:
            raise HoldRefusedError("say why the hold is lifted (the procedure ended, …)")
        match = self._visible_match(viewer, match_id, Permission.HOLD_PLATE_MATCHES)
        if match.hold is None:
            raise HoldRefusedError(f"match {match_id} is not held")
        now = self._clock()
        released = self._repo.hold(match.id, None)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLATE_MATCH_RELEASED,
                match.camera_id,
                {"match": match.id, "reference": match.hold.reference, "reason": reason},
                at=now,
            )
        )
        return released

    def today(self) -> date:
        return legal_day_of(self._clock())

    def default_period(self, days: int = 15) -> tuple[date, date]:
        """The last ``days`` Paris days, today included."""
        today = self.today()
        return today - timedelta(days=days - 1), today


def _refusal_details(err: HitListError, size: int) -> dict[str, object]:
    """How a refused import is traced: why it did not verify (digests and key ids only), or which line was
    malformed — never the message of a malformed line, which may quote a plate."""
    if isinstance(err, HitListVerificationError):
        return {"refused": str(err)[:500], "bytes": size}
    return {"refused": "malformed file", "line": err.line, "bytes": size}
