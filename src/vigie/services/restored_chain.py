"""The verdict on a restored audit chain (:mod:`vigie.services.backup`): whole, and reaching the heads published
outside the server — or how many entries a later head vouches for that the backup lacks.

The chain is verified exactly as ``vigie audit verify --head`` verifies an export of all of it (the lines are built
from the store under a header signed now, as ``AuditService.verify`` does for the live log), so a restore and an
outside auditor agree on what is broken."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from vigie.domain.audit import AuditRecord, canonical_json
from vigie.governance.audit import AuditChain, load_public_key, verify_export
from vigie.governance.audit.export import signed_header
from vigie.governance.audit.head import head_signature_ok

MAX_PROBLEMS: Final = 20
"""Problems listed at most; the rest are counted."""


class RestoredChainChanged(RuntimeError):
    """The chain changed while it was verified: something else writes to the restored database."""


@dataclass(frozen=True, slots=True)
class MissingEntries:
    """Entries a published head vouches for that the restored chain lacks."""

    from_seq: int
    head_seq: int
    head_at: str

    @property
    def at_least(self) -> int:
        """How many are missing at least: up to the head (more may have been written after it)."""
        return self.head_seq - self.from_seq + 1

    def describe(self) -> str:
        return (
            f"entries published after the backup are missing: at least {self.at_least} entries, from seq "
            f"{self.from_seq} (the head published {self.head_at} vouches for seq {self.head_seq})"
        )

    def details(self) -> dict[str, Any]:
        return {
            "from_seq": self.from_seq,
            "head_seq": self.head_seq,
            "head_at": self.head_at,
            "at_least": self.at_least,
        }


@dataclass(frozen=True, slots=True)
class RestoredChain:
    """The verdict on a restored audit chain."""

    entries: int
    last_seq: int | None
    heads_matched: int
    problems: tuple[str, ...] = ()
    """The chain is broken, or differs from a head: the backup was changed (or is of another installation)."""
    missing: MissingEntries | None = None
    checked_heads: tuple[dict[str, Any], ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_restored(
    chain: AuditChain, heads: Sequence[Mapping[str, Any]], extra_keys: Mapping[str, str]
) -> RestoredChain:
    """Verify the stored chain as ``vigie audit verify`` verifies an export of all of it (hashes, links, checkpoint
    signatures) and check it against ``heads``: those up to its last ``seq`` must name its entry with the same hash;
    a later one means entries are missing (the latest such head says how many at least)."""
    store = chain.store
    keys = {**store.public_keys(), **chain.keyring.public_keys(), **extra_keys}
    loaded = {key_id: load_public_key(pem) for key_id, pem in keys.items()}
    problems: list[str] = []
    checked = tuple(dict(h) for h in heads)
    for head in checked:
        verified = head_signature_ok(head, loaded)
        if verified is None:
            problems.append(
                f"the head of seq {head['seq']} is signed by key {head['key_id']}, unknown to this backup: give its "
                "public key with --pubkey (a key rotated after the backup), or check where the head comes from"
            )
        elif not verified:
            problems.append(f"the head of seq {head['seq']} does not verify with key {head['key_id']}: not a head")
    bounds = store.seq_range()
    if bounds is None:
        after = [h for h in checked if h["seq"] >= 1]
        missing = _missing(0, after)
        return RestoredChain(0, None, 0, tuple(problems), missing, checked)
    first, last = (next(store.records(from_seq=s, to_seq=s), None) for s in bounds)
    if first is None or last is None:
        raise RestoredChainChanged(
            "the restored audit log changed during its verification: is a service running on it?"
        )
    now = chain.clock()
    header = signed_header(
        chain.signer(),
        since=first.at,
        until=max(last.at, now) + timedelta(microseconds=1),
        now=now,
        first=first,
        last=last,
        checkpoint_every=chain.checkpoint_every,
    )
    lines = _lines(header, store.records(from_seq=first.seq, to_seq=last.seq))
    within = [h for h in checked if first.seq <= h["seq"] <= last.seq]
    report = verify_export(lines, keys, heads=within)
    problems += [issue.message for issue in report.issues[:MAX_PROBLEMS]]
    if len(report.issues) > MAX_PROBLEMS:
        problems.append(f"… and {len(report.issues) - MAX_PROBLEMS} more issues")
    return RestoredChain(report.entries, last.seq, report.heads, tuple(problems), _missing(last.seq, checked), checked)


def _missing(last_seq: int, heads: Sequence[Mapping[str, Any]]) -> MissingEntries | None:
    later = [h for h in heads if h["seq"] > last_seq]
    if not later:
        return None
    latest = max(later, key=lambda h: h["seq"])
    return MissingEntries(last_seq + 1, int(latest["seq"]), str(latest["at"]))


def _lines(header: dict[str, Any], records: Iterable[AuditRecord]) -> Iterator[str]:
    yield canonical_json(header).decode()
    for record in records:
        yield canonical_json(record.to_json()).decode()
