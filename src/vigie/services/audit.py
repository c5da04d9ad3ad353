"""The audit log for the people who check it (L11): read it, verify the chain, export it for an outside auditor.

Only holders of ``READ_AUDIT`` (DPOs and auditors) get in, and what they read is limited to their own tenant (L10):
entries by its people, about its cameras, accounts and commune, plus the platform's own entries (checkpoints, key
rotations, pruning, service starts and stops) — see :func:`tenant_scope`. The verification covers the whole chain
and answers only with counts, sequence numbers and key ids, so every reader gets it. An export is the signed file of
``vigie audit export`` (docs/audit.md), verified offline by ``vigie audit verify``; it must be a contiguous range (a
left-out entry reads as a deletion), so it is given only for a period whose entries all belong to the reader's view.
Reading, verifying and exporting are themselves audited.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord, canonical_json
from vigie.domain.audit_query import AuditLogReader, AuditQuery, AuditScope
from vigie.domain.users import Permission, User
from vigie.governance.audit import (
    AuditChain,
    AuditExportError,
    AuditKeyError,
    VerificationReport,
    export_audit,
    verify_export,
)
from vigie.governance.audit.chain import CHECKPOINT_TARGET
from vigie.governance.audit.export import signed_header
from vigie.services.access import AccessDeniedError, Directory, Principal
from vigie.services.events import InvalidQuery

PLATFORM_ACTIONS: Final = frozenset(
    {
        AuditAction.AUDIT_CHECKPOINT.value,
        AuditAction.AUDIT_KEY_ROTATED.value,
        AuditAction.AUDIT_PRUNED.value,
        AuditAction.SERVICE_STARTED.value,
        AuditAction.SERVICE_STOPPED.value,
        AuditAction.BACKUP_CREATED.value,
        AuditAction.BACKUP_RESTORED.value,
    }
)
"""Entries about the platform itself, naming no tenant's people or things: every tenant's readers see them."""
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_YEAR, LAST_YEAR = 1970, 9999
MAX_LISTED_ISSUES: Final = 20
FOREIGN_ENTRIES: Final = (
    "this period holds audit entries of other tenants, and a verifiable export cannot leave any entry out (a gap "
    "reads as a deletion): choose a period with only your tenant's entries, or ask the platform operator for a "
    "full export (`vigie audit export` on the server)"
)


class AuditUnavailableError(RuntimeError):
    """The audit log cannot be verified or exported right now (signing key unreadable, log changed meanwhile)."""


class TenantMembers(Protocol):
    """The accounts of a tenant (``vigie.storage.SqlUserRepo``)."""

    def list(self, commune_ids: Sequence[str] | None = None) -> Sequence[User]: ...


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What a reader narrows the log to; ``None`` does not filter. Times must carry a time zone."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: AuditAction | None = None
    target_prefix: str | None = None
    max_seq: int | None = None
    """Leave out entries after this ``seq`` (the ``max_seq`` of the first page), so pages do not shift."""


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: Sequence[AuditRecord]
    max_seq: int
    """Pass it back with the next pages: entries appended meanwhile (this read's own among them) stay out."""
    next_offset: int | None


@dataclass(frozen=True, slots=True)
class VerifiedIssue:
    seq: int | None
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """The verdict on the whole stored chain, as the offline verifier gives it for an export of all of it."""

    ok: bool
    entries: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    """Signed checkpoints whose signature verified."""
    key_ids: tuple[str, ...]
    """The public keys the signatures were checked against (current and retired)."""
    checked_at: datetime
    first_broken_seq: int | None = None
    problem: str | None = None
    """Kind of the first problem: modified, deleted, inserted, reordered, signature, malformed, truncated."""
    message: str | None = None
    issue_count: int = 0
    issues: tuple[VerifiedIssue, ...] = field(default_factory=tuple)
    """The first :data:`MAX_LISTED_ISSUES` problems."""


@dataclass(frozen=True, slots=True)
class AuditExportFile:
    """A signed export waiting in a private temporary folder until it is sent; :meth:`discard` removes it."""

    path: Path
    filename: str
    sha256: str
    count: int
    first_seq: int | None
    last_seq: int | None
    key_id: str

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def tenant_scope(commune_id: str, directory: Directory, usernames: Iterable[str]) -> AuditScope:
    """What the audit readers of ``commune_id`` see: entries by its people, entries about its cameras (as a
    target, a stop switch or a module on the camera), its accounts and the commune itself, and the platform's
    own entries. Not the entries of cameras another tenant shares with it: sharing opens video, not the owner's
    trace."""
    cameras = sorted(c for c, owner in directory.camera_commune.items() if owner == commune_id)
    people = sorted(set(usernames))
    targets = {
        f"commune:{commune_id}",
        *cameras,
        *(f"camera:{c}" for c in cameras),
        *(f"stop:camera:{c}" for c in cameras),
        *(f"user:{u}" for u in people),
    }
    return AuditScope(
        actors=frozenset({*people, *(f"user:{u}" for u in people)}),
        targets=frozenset(targets),
        target_suffixes=frozenset(f"@{c}" for c in cameras),
        actions=PLATFORM_ACTIONS,
    )


class AuditService:
    def __init__(
        self,
        chain: AuditChain,
        reader: AuditLogReader,
        members: TenantMembers,
        *,
        scratch_dir: Path | None = None,
    ) -> None:
        """``chain`` is the log itself (it also records the reads); ``scratch_dir`` holds exports until they are
        sent (default: the system's temporary folder; each export gets its own folder, mode 0700)."""
        self._chain = chain
        self._reader = reader
        self._members = members
        self._scratch_dir = scratch_dir
        self._clock: Callable[[], datetime] = chain.clock

    def scope_of(self, viewer: Principal) -> AuditScope:
        commune = viewer.user.commune_id
        return tenant_scope(commune, viewer.directory, (u.username for u in self._members.list([commune])))

    # --- read --------------------------------------------------------------------------------------------------

    def list_for(self, viewer: Principal, filters: AuditFilters, *, limit: int = 100, offset: int = 0) -> AuditPage:
        """Entries of ``viewer``'s view, newest first; the read itself is recorded first."""
        viewer.require(Permission.READ_AUDIT)
        since, until = _period(filters.since, filters.until)
        if limit < 1 or offset < 0:
            raise InvalidQuery("limit must be at least 1 and offset at least 0")
        read = self._chain.append(
            AuditEvent(
                viewer.actor,
                AuditAction.AUDIT_READ,
                CHECKPOINT_TARGET,
                {"commune": viewer.user.commune_id, **_described(filters), "limit": limit, "offset": offset},
            )
        )
        max_seq = read.seq if filters.max_seq is None else min(filters.max_seq, read.seq)
        query = AuditQuery(
            scope=self.scope_of(viewer),
            since=since,
            until=until,
            actor=filters.actor,
            action=None if filters.action is None else filters.action.value,
            target_prefix=filters.target_prefix or None,
            max_seq=max_seq,
        )
        found = self._reader.page(query, limit=limit + 1, offset=offset)
        return AuditPage(list(found[:limit]), max_seq, offset + limit if len(found) > limit else None)

    # --- verify ------------------------------------------------------------------------------------------------

    def verify_for(self, viewer: Principal) -> ChainVerification:
        """The whole chain's verdict (it names no entry's content, so every reader gets it); recorded."""
        viewer.require(Permission.READ_AUDIT)
        result = self.verify()
        self._chain.append(
            AuditEvent(
                viewer.actor,
                AuditAction.AUDIT_VERIFIED,
                CHECKPOINT_TARGET,
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "last_seq": result.last_seq,
                    "first_broken_seq": result.first_broken_seq,
                    "problem": result.problem,
                },
            )
        )
        return result

    def verify(self) -> ChainVerification:
        """Check the stored chain exactly as ``vigie audit verify --head`` checks an export of all of it: every
        hash, every link, every checkpoint signature, the checkpoint that must follow every ``checkpoint_every``-th
        entry, against the public keys of the store and the keyring; and the chain must extend the latest head
        published (the heads file), so rows cut or rewritten before it show."""
        store, now = self._chain.store, self._clock()
        try:
            keys = {**store.public_keys(), **self._chain.keyring.public_keys()}
            signer = self._chain.signer()
        except AuditKeyError as err:
            raise AuditUnavailableError(f"the audit log cannot be verified: {err}") from err
        key_ids = tuple(sorted(keys))
        published = self._chain.latest_head()  # before the bounds: its entry is stored before it is published
        bounds = store.seq_range()
        if bounds is None:
            if published is not None:
                message = f"the log is empty, but a head was published for seq {published['seq']}: deleted"
                issue = VerifiedIssue(published["seq"], "deleted", message)
                return ChainVerification(
                    False,
                    0,
                    None,
                    None,
                    0,
                    key_ids,
                    now,
                    first_broken_seq=published["seq"],
                    problem="deleted",
                    message=message,
                    issue_count=1,
                    issues=(issue,),
                )
            return ChainVerification(True, 0, None, None, 0, key_ids, now)
        try:
            first, last = (next(store.records(from_seq=s, to_seq=s), None) for s in bounds)
            if first is None or last is None:
                raise AuditUnavailableError("the audit log changed during the verification (pruned?): try again")
            until = max(last.at, now) + timedelta(microseconds=1)  # the whole log up to now: a head past it was cut
            header = signed_header(
                signer,
                since=first.at,
                until=until,
                now=now,
                first=first,
                last=last,
                checkpoint_every=self._chain.checkpoint_every,
            )
            lines = _export_lines(header, store.records(from_seq=first.seq, to_seq=last.seq))
            heads = [] if published is None or published["seq"] < first.seq else [published]  # pruned: not in scope
            report = verify_export(lines, keys, heads=heads)
        except ValueError as err:  # a row that no longer reads back as JSON data: changed in the database
            return _unreadable(bounds, key_ids, now, err)
        return _verdict(report, key_ids, now)

    # --- published head ----------------------------------------------------------------------------------------

    def published_head(self) -> dict[str, Any] | None:
        """The latest signed head published (the heads file the DPO archives); when none was yet, one is signed and
        published now. ``None`` only while the log is empty. Public: it names a seq, a hash, a time and a key id."""
        try:
            return self._chain.latest_head() or self._chain.publish_head()
        except AuditKeyError as err:
            raise AuditUnavailableError(f"the audit head cannot be signed: {err}") from err

    # --- export ------------------------------------------------------------------------------------------------

    def export_for(
        self, viewer: Principal, *, since: datetime | None = None, until: datetime | None = None
    ) -> AuditExportFile:
        """The signed export of [since, until) (default: everything so far), the file of ``vigie audit export``.

        Refused (403, audited) when the range holds an entry outside ``viewer``'s view; the export itself is
        recorded as ``audit.exported`` with the file's SHA-256.
        """
        viewer.require(Permission.READ_AUDIT)
        start, end = _period(since, until)
        start = start or EPOCH
        end = end or self._clock() + timedelta(seconds=1)
        if start >= end:
            raise InvalidQuery("since must be before until (which defaults to now)")
        scope = self.scope_of(viewer)
        self._only_visible(scope, self._chain.store.seq_range(start, end))
        folder = Path(tempfile.mkdtemp(prefix="vigie-audit-export-", dir=self._scratch_dir))
        name = f"vigie-audit-{_safe(viewer.user.commune_id)}-{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}.jsonl"
        try:
            summary = export_audit(self._chain, start, end, folder / name, actor=viewer.actor)
            if summary.first_seq is not None and summary.last_seq is not None:
                # Entries with an earlier time may have been chained inside the range meanwhile: check what went.
                self._only_visible(scope, (summary.first_seq, summary.last_seq))
        except (AuditExportError, AuditKeyError, OSError) as err:
            shutil.rmtree(folder, ignore_errors=True)
            raise AuditUnavailableError(f"the audit export failed: {err}") from err
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return AuditExportFile(
            folder / name, name, summary.sha256, summary.count, summary.first_seq, summary.last_seq, summary.key_id
        )

    def _only_visible(self, scope: AuditScope, bounds: tuple[int, int] | None) -> None:
        if bounds is not None and self._reader.count_outside(scope, from_seq=bounds[0], to_seq=bounds[1]):
            raise AccessDeniedError(FOREIGN_ENTRIES)


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    start, end = _utc(since, "since"), _utc(until, "until")
    if start is not None and end is not None and start >= end:
        raise InvalidQuery("since must be before until")
    return start, end


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidQuery(f"{name} must carry a time zone, e.g. 2026-11-28T18:00:00Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise InvalidQuery(f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}")
    return utc


def _described(filters: AuditFilters) -> dict[str, Any]:
    """The filters of a read, as the audit entry records them."""
    given = {
        "since": None if filters.since is None else filters.since.isoformat(),
        "until": None if filters.until is None else filters.until.isoformat(),
        "actor": filters.actor,
        "action": None if filters.action is None else filters.action.value,
        "target_prefix": filters.target_prefix,
        "max_seq": filters.max_seq,
    }
    return {key: value for key, value in given.items() if value is not None}


def _export_lines(header: dict[str, Any], records: Iterator[AuditRecord]) -> Iterator[str]:
    yield canonical_json(header).decode()
    for record in records:
        yield canonical_json(record.to_json()).decode()


def _verdict(report: VerificationReport, key_ids: tuple[str, ...], now: datetime) -> ChainVerification:
    issues = tuple(VerifiedIssue(i.seq, i.kind, i.message) for i in report.issues)
    broken = min((i.seq for i in issues if i.seq is not None), default=None)
    first_issue = next((i for i in issues if i.seq == broken), issues[0] if issues else None)
    return ChainVerification(
        ok=report.ok,
        entries=report.entries,
        first_seq=report.first_seq,
        last_seq=report.last_seq,
        checkpoints=report.checkpoints,
        key_ids=key_ids,
        checked_at=now,
        first_broken_seq=broken,
        problem=None if first_issue is None else first_issue.kind,
        message=None if first_issue is None else first_issue.message,
        issue_count=len(issues),
        issues=issues[:MAX_LISTED_ISSUES],
    )


def _unreadable(bounds: tuple[int, int], key_ids: tuple[str, ...], now: datetime, err: ValueError) -> ChainVerification:
    """The verdict when a stored row cannot even be read back (its details are not JSON data any more)."""
    first_seq, last_seq = bounds
    message = f"an entry of seq {first_seq}..{last_seq} cannot be read back ({type(err).__name__}): modified"
    return ChainVerification(
        ok=False,
        entries=0,
        first_seq=first_seq,
        last_seq=last_seq,
        checkpoints=0,
        key_ids=key_ids,
        checked_at=now,
        problem="malformed",
        message=message,
        issue_count=1,
        issues=(VerifiedIssue(None, "malformed", message),),
    )


def _safe(name: str) -> str:
    """A tenant id as a file-name part (ids are slugs already; this keeps a header value safe regardless)."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
