"""Offline verification of an audit export: no database, no server, only the file and the public keys.

The verifier trusts nothing in the file. It checks the header's signature, recomputes every entry's hash, then
rebuilds the chain by following ``prev_hash`` links from the header's ``first_prev_hash`` to its ``last_hash``:

- an entry whose content does not match its hash was **modified**;
- a gap in the chain (the next linked entry has a larger ``seq``) means entries were **deleted**;
- a line that is not on the chain (a copy, a forged entry, one outside the range) was **inserted**;
- chain entries whose lines are not in file order were **reordered** (the fewest lines that explain it);
- checkpoints in the chain must carry a valid signature and name the hash the file has at ``covers_seq``;
- every entry whose ``seq`` is a multiple of the header's ``checkpoint_every`` (and is not the last one) must be
  covered by a valid checkpoint, as the chain writes one right after it: a missing one was **deleted**;
- each signed **head** given (``head.py``, published before) must verify and name an entry of the file with the
  same ``seq`` and hash: an export that does not reach it was cut (**deleted**), one whose entry differs was
  rewritten (**modified**), one whose period does not include it is **uncovered** (export another period).

Malformed lines, a truncated last line, an empty or non-JSON file become issues, never exceptions. Memory grows
with the file (a few hundred bytes per entry): the whole chain is needed to tell an insertion from a reordering.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.domain.audit import AuditAction, entry_hash, parse_time
from vigie.governance.audit.chain import checkpoint_payload, rotation_payload
from vigie.governance.audit.export import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    HEADER_FIELDS,
    HEADER_FIELDS_V1,
    header_payload,
)
from vigie.governance.audit.head import head_problem, head_signature_ok
from vigie.governance.audit.signing import AuditKeyError, load_public_key, verify_signature

IssueKind = Literal["modified", "deleted", "inserted", "reordered", "signature", "malformed", "truncated", "uncovered"]
ENTRY_FIELDS: Final = frozenset({"seq", "at", "actor", "action", "target", "details", "prev_hash", "hash"})
MAX_ISSUES: Final = 1000
"""Issues listed at most; a damaged file of millions of lines would otherwise print millions of lines."""
HOW_TO_GET_KEYS: Final = (
    "ask the operator for {key_id}.pem (`vigie audit keys -o DIR` on the server) or take it from where the "
    "commune publishes its audit keys, and pass it with --pubkey"
)
_SIGNED_ACTIONS: Final = frozenset({AuditAction.AUDIT_CHECKPOINT.value, AuditAction.AUDIT_KEY_ROTATED.value})


@dataclass(frozen=True, slots=True)
class VerificationIssue:
    """One thing wrong with the export; ``line`` is 1-based (line 1 is the header)."""

    line: int | None
    seq: int | None
    kind: IssueKind
    message: str


@dataclass(slots=True)
class VerificationReport:
    """The verdict: ``ok`` only when there is no issue at all."""

    ok: bool = False
    issues: list[VerificationIssue] = field(default_factory=list)
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    key_id: str | None = None
    checkpoints: int = 0
    """Checkpoint signatures that verified."""
    heads: int = 0
    """Signed heads given that the export extends (same seq, same hash)."""

    def add(self, line: int | None, seq: int | None, kind: IssueKind, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(VerificationIssue(line, seq, kind, message))


@dataclass(frozen=True, slots=True)
class _Header:
    first_seq: int | None
    last_seq: int | None
    first_prev_hash: str | None
    last_hash: str | None
    key_id: str
    since: str
    until: str
    checkpoint_every: int | None
    """``None`` in a version 1 export, which did not promise checkpoints."""


@dataclass(slots=True)
class _Entry:
    line: int
    seq: int
    prev_hash: str
    hash: str
    computed: str
    action: str
    details: Mapping[str, Any] | None
    """Kept only for entries that carry signatures (checkpoints, key rotations)."""

    @property
    def modified(self) -> bool:
        return self.hash != self.computed

    @property
    def aliases(self) -> tuple[str, ...]:
        """Hashes a successor may link to: the recorded one and, if it differs, the recomputed one."""
        return (self.hash,) if self.hash == self.computed else (self.hash, self.computed)


def verify_export(
    source: Path | Iterable[str], public_keys: Mapping[str, str], heads: Sequence[Mapping[str, Any]] = ()
) -> VerificationReport:
    """Verify an export file (or its lines) against trusted public keys (PEM by key id) and, if given, signed
    heads published earlier (which the export must extend)."""
    report = VerificationReport()
    keys = _load_keys(public_keys, report)
    header: _Header | None = None
    entries: list[_Entry] = []
    seen_header_line = False
    for number, text, complete in _read_lines(source, report):
        if number == 1:
            seen_header_line = True
            header = _check_header(text, complete, keys, report)
        else:
            entry = _parse_entry(number, text, complete, report)
            if entry is not None:
                entries.append(entry)
    if not seen_header_line and not report.issues:
        report.add(1, None, "malformed", "the file is empty: it is not an audit export")
    report.entries = len(entries)
    path = _ChainWalk(entries, header, report).run()
    covered = _check_signed_entries(path, keys, report)
    if header is not None and header.checkpoint_every is not None:
        _check_required_checkpoints(path, header, header.checkpoint_every, covered, report)
    for index, head in enumerate(heads, start=1):
        _check_head(index, head=head, path=path, header=header, keys=keys, report=report)
    if path:
        report.first_seq, report.last_seq = path[0].seq, path[-1].seq
    elif header is not None:
        report.first_seq, report.last_seq = header.first_seq, header.last_seq
    report.ok = not report.issues
    return report


def _load_keys(public_keys: Mapping[str, str], report: VerificationReport) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for key_id, pem in public_keys.items():
        try:
            keys[key_id] = load_public_key(pem)
        except AuditKeyError as err:
            report.add(None, None, "signature", f"public key {key_id} is unusable: {err}")
    return keys


def _read_lines(source: Path | Iterable[str], report: VerificationReport) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without the newline, whether the line was complete); decoding errors become issues."""
    if isinstance(source, Path):
        try:
            with source.open("rb") as file:
                for number, raw in enumerate(file, start=1):
                    complete = raw.endswith(b"\n")
                    try:
                        yield number, raw.decode("utf-8").rstrip("\n"), complete
                    except UnicodeDecodeError:
                        report.add(number, None, "malformed", f"line {number} is not UTF-8 text")
        except OSError as err:
            report.add(None, None, "malformed", f"cannot read {source}: {err.strerror or err}")
        return
    for number, text in enumerate(source, start=1):
        yield number, text.rstrip("\n"), True


def _parse_json(number: int, text: str, complete: bool, report: VerificationReport) -> dict[str, Any] | None:
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as err:
        if not complete:
            report.add(number, None, "truncated", f"line {number} is cut short: the file is truncated")
        else:
            report.add(number, None, "malformed", f"line {number} is not valid JSON ({err})")
        return None
    if not isinstance(value, dict):
        report.add(number, None, "malformed", f"line {number} is not a JSON object")
        return None
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _check_header(
    text: str, complete: bool, keys: Mapping[str, Ed25519PublicKey], report: VerificationReport
) -> _Header | None:
    value = _parse_json(1, text, complete, report)
    if value is None:
        return None
    if value.get("format") != EXPORT_FORMAT or value.get("version") not in (1, EXPORT_VERSION):
        report.add(1, None, "malformed", f"line 1 is not a {EXPORT_FORMAT} version 1 or {EXPORT_VERSION} header")
        return None
    problem = _header_problem(value)
    if problem:
        report.add(1, None, "malformed", f"line 1: invalid header: {problem}")
        return None
    key_id = value["key_id"]
    report.key_id = key_id
    key = keys.get(key_id)
    if key is None:
        how = HOW_TO_GET_KEYS.format(key_id=key_id)
        report.add(1, None, "signature", f"line 1: the export is signed by key {key_id}, which was not given: {how}")
    elif not verify_signature(key, header_payload(value), value["signature"]):
        report.add(
            1,
            None,
            "signature",
            f"line 1: the header's signature does not verify with key {key_id}: "
            "the header was modified or not signed by this key",
        )
    return _Header(
        value["first_seq"],
        value["last_seq"],
        value["first_prev_hash"],
        value["last_hash"],
        key_id,
        value["from"],
        value["to"],
        value.get("checkpoint_every"),
    )


def _header_problem(value: Mapping[str, Any]) -> str | None:  # noqa: PLR0911 - one return per rule
    fields = HEADER_FIELDS_V1 if value["version"] == 1 else HEADER_FIELDS
    if set(value) != fields:
        return f"fields must be exactly {', '.join(sorted(fields))}"
    if not all(isinstance(value[name], str) for name in ("from", "to", "exported_at", "key_id", "signature")):
        return "from, to, exported_at, key_id and signature must be strings"
    every = value.get("checkpoint_every", 1)
    if not _is_int(every) or every < 1:
        return "checkpoint_every must be a positive integer"
    count, first, last = value["count"], value["first_seq"], value["last_seq"]
    if not _is_int(count) or count < 0:
        return "count must be a non-negative integer"
    if count == 0:
        nulls = (first, last, value["first_prev_hash"], value["last_hash"])
        return None if all(v is None for v in nulls) else "an empty export has null seqs and hashes"
    if not (_is_int(first) and _is_int(last) and first >= 1 and last - first + 1 == count):
        return "first_seq, last_seq and count disagree"
    if not (isinstance(value["first_prev_hash"], str) and isinstance(value["last_hash"], str)):
        return "first_prev_hash and last_hash must be strings"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_entry(number: int, text: str, complete: bool, report: VerificationReport) -> _Entry | None:
    value = _parse_json(number, text, complete, report)
    if value is None:
        return None
    if set(value) != ENTRY_FIELDS:
        what = "a second header" if "format" in value else "not an audit entry"
        report.add(number, None, "malformed", f"line {number} is {what} (fields {', '.join(sorted(value))})")
        return None
    seq = value["seq"]
    typed = _is_int(seq) and isinstance(value["details"], dict)
    typed = typed and all(isinstance(value[k], str) for k in ("at", "actor", "action", "target", "prev_hash", "hash"))
    if not typed:
        report.add(number, seq if _is_int(seq) else None, "malformed", f"line {number}: a field has the wrong type")
        return None
    content = {key: item for key, item in value.items() if key != "hash"}
    computed = entry_hash(content)
    if computed != value["hash"]:
        report.add(
            number, seq, "modified", f"line {number} (seq {seq}): modified — its content does not match its hash"
        )
    details = value["details"] if value["action"] in _SIGNED_ACTIONS else None
    return _Entry(number, seq, value["prev_hash"], value["hash"], computed, value["action"], details)


class _ChainWalk:
    """Follows ``prev_hash`` links from the header's start to its end and reports what is off the chain."""

    def __init__(self, entries: list[_Entry], header: _Header | None, report: VerificationReport) -> None:
        self.entries = entries
        self.header = header
        self.report = report
        self.by_prev: dict[str, list[int]] = {}
        for index, entry in enumerate(entries):
            self.by_prev.setdefault(entry.prev_hash, []).append(index)
        self.by_seq = sorted(range(len(entries)), key=lambda i: (entries[i].seq, entries[i].line))
        self.sorted_seqs = [entries[i].seq for i in self.by_seq]
        self.used: set[int] = set()
        self.path: list[_Entry] = []

    def run(self) -> list[_Entry]:
        header = self.header
        aliases: tuple[str, ...]
        if header is not None and header.first_seq is not None and header.first_prev_hash is not None:
            seq, aliases, line, end = header.first_seq - 1, (header.first_prev_hash,), 1, header.last_seq
        elif header is not None:  # an empty export: every entry is an insertion
            seq, aliases, line, end = 0, (), 1, 0
        elif self.entries:
            first = self.entries[0]
            seq, aliases, line, end = first.seq - 1, (first.prev_hash,), 1, None
        else:
            return []
        while end is None or seq < end:
            chosen = self._child(seq, aliases, end) if aliases else None
            if chosen is None:
                chosen = self._resume(seq, line, end)
                if chosen is None:
                    break
                self._report_break(seq, self.entries[chosen])
            entry = self.entries[chosen]
            self.used.add(chosen)
            self.path.append(entry)
            # A modified entry's own seq cannot be trusted: it stands where the chain put it.
            seq = seq + 1 if entry.modified and self._linked(entry, aliases) else entry.seq
            aliases, line = entry.aliases, entry.line
        self._check_end(seq, aliases, line)
        self._report_off_chain()
        self._report_reordered()
        return self.path

    def _report_break(self, seq: int, entry: _Entry) -> None:
        if entry.seq > seq + 1:
            missing = _seqs(seq + 1, entry.seq - 1)
            self.report.add(entry.line, seq + 1, "deleted", f"{missing} missing before line {entry.line}: deleted")
        elif not entry.modified:  # a modified entry (say, its prev_hash) is already reported as such
            self.report.add(
                entry.line,
                entry.seq,
                "inserted",
                f"line {entry.line} (seq {entry.seq}) does not follow seq {seq}: inserted or reordered",
            )

    @staticmethod
    def _linked(entry: _Entry, aliases: tuple[str, ...]) -> bool:
        return entry.prev_hash in aliases

    def _child(self, seq: int, aliases: tuple[str, ...], end: int | None) -> int | None:
        kids = [
            i
            for a in aliases
            for i in self.by_prev.get(a, ())
            if i not in self.used and (self.entries[i].seq == seq + 1 or self.entries[i].modified)
        ]
        if len(kids) <= 1:
            return kids[0] if kids else None
        last_hash = self.header.last_hash if self.header else None

        def rank(i: int) -> tuple[bool, bool, int]:
            kid = self.entries[i]
            continues = any(self.entries[j].seq == kid.seq + 1 for a in kid.aliases for j in self.by_prev.get(a, ()))
            vouched = continues or (kid.seq == end and last_hash in kid.aliases)
            return (not vouched, kid.hash != kid.computed, kid.line)

        return min(kids, key=rank)

    def _resume(self, seq: int, line: int, end: int | None) -> int | None:
        """After a break, the unused entry with the next larger seq (preferring one later in the file)."""
        start = bisect.bisect_right(self.sorted_seqs, seq)
        best: tuple[int, bool, int] | None = None
        chosen = None
        for position in range(start, len(self.by_seq)):
            index = self.by_seq[position]
            entry = self.entries[index]
            if best is not None and entry.seq > best[0]:
                break
            if index in self.used or (end is not None and entry.seq > end):
                continue
            key = (entry.seq, entry.line < line, entry.line)
            if best is None or key < best:
                best, chosen = key, index
        return chosen

    def _check_end(self, seq: int, aliases: tuple[str, ...], line: int) -> None:
        header = self.header
        if header is None or header.last_seq is None:
            return
        if seq < header.last_seq:
            self.report.add(
                None,
                seq + 1,
                "deleted",
                f"{_seqs(seq + 1, header.last_seq)} missing at the end (after line {line}): deleted",
            )
        elif header.last_hash not in aliases:
            self.report.add(
                line,
                seq,
                "inserted",
                f"line {line} (seq {seq}) is not the last entry the header names (hash {header.last_hash}): replaced",
            )

    def _report_off_chain(self) -> None:
        on_chain = {entry.seq: entry for entry in self.path}
        header = self.header
        for index, entry in enumerate(self.entries):
            if index in self.used:
                continue
            twin = on_chain.get(entry.seq)
            if twin is not None and twin.computed == entry.computed:
                why = f"a copy of line {twin.line}"
            elif header is not None and (header.last_seq is None or entry.seq > header.last_seq):
                why = "after the last exported entry"
            elif header is not None and header.first_seq is not None and entry.seq < header.first_seq:
                why = "before the first exported entry"
            else:
                why = "not linked into the chain"
            self.report.add(entry.line, entry.seq, "inserted", f"line {entry.line} (seq {entry.seq}): {why}: inserted")

    def _report_reordered(self) -> None:
        """Chain entries out of file order: those outside a longest increasing run of line numbers."""
        lines = [entry.line for entry in self.path]
        for position in sorted(set(range(len(lines))) - _longest_increasing(lines)):
            entry = self.path[position]
            self.report.add(
                entry.line,
                entry.seq,
                "reordered",
                f"line {entry.line}: seq {entry.seq} out of order: inserted or reordered",
            )


def _longest_increasing(values: list[int]) -> set[int]:
    """Positions of one longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list[int] = []
    tail_positions: list[int] = []
    parent = [-1] * len(values)
    for position, value in enumerate(values):
        slot = bisect.bisect_left(tails, value)
        if slot == len(tails):
            tails.append(value)
            tail_positions.append(position)
        else:
            tails[slot] = value
            tail_positions[slot] = position
        parent[position] = tail_positions[slot - 1] if slot else -1
    kept: set[int] = set()
    position = tail_positions[-1] if tail_positions else -1
    while position >= 0:
        kept.add(position)
        position = parent[position]
    return kept


def _seqs(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}..{last}"


def _check_signed_entries(
    path: list[_Entry], keys: Mapping[str, Ed25519PublicKey], report: VerificationReport
) -> set[int]:
    """Check the checkpoints and key rotations on the chain; return the seqs that valid checkpoints cover."""
    hashes = {entry.seq: entry.computed for entry in path}
    covered: set[int] = set()
    for entry in path:
        if entry.details is None or entry.hash != entry.computed:
            continue
        if entry.action == AuditAction.AUDIT_CHECKPOINT:
            covers = _check_checkpoint(entry, entry.details, hashes, keys, report)
            if covers is not None:
                covered.add(covers)
        else:
            _check_rotation(entry, entry.details, keys, report)
    return covered


def _check_required_checkpoints(
    path: list[_Entry], header: _Header, every: int, covered: set[int], report: VerificationReport
) -> None:
    """Entry ``k``, a multiple of ``every``, is followed by its checkpoint (the chain writes both in one
    transaction), unless it is itself a checkpoint. Required for every such ``k`` of the range but the last entry
    (its checkpoint comes after the export's end). A missing one was deleted, or the history before it rewritten."""
    if header.first_seq is None or header.last_seq is None:
        return
    on_path = {entry.seq: entry for entry in path}
    first = -(-header.first_seq // every) * every
    for k in range(first, header.last_seq, every):
        entry = on_path.get(k)
        if entry is None or k in covered or entry.action == AuditAction.AUDIT_CHECKPOINT:
            continue  # a deleted entry k is reported as such already
        follower = on_path.get(k + 1)
        where = follower.line if follower is not None else entry.line
        report.add(
            where,
            k + 1,
            "deleted",
            f"no valid signed checkpoint of seq {k} (one follows every {every}th entry): "
            "a checkpoint was deleted, or the history before it rewritten",
        )


def _check_head(
    index: int,
    *,
    head: Mapping[str, Any],
    path: list[_Entry],
    header: _Header | None,
    keys: Mapping[str, Ed25519PublicKey],
    report: VerificationReport,
) -> None:
    """The export must contain the head's entry with the head's hash: it extends what was published."""
    problem = head_problem(dict(head))
    if problem is not None:
        report.add(None, None, "malformed", f"head {index}: not a signed audit head: {problem}")
        return
    seq, digest, at, key_id = head["seq"], head["hash"], head["at"], head["key_id"]
    name = f"head {index} (seq {seq}, published {at})"
    verified = head_signature_ok(head, keys)
    if verified is None:
        how = HOW_TO_GET_KEYS.format(key_id=key_id)
        report.add(None, seq, "signature", f"{name} is signed by key {key_id}, which was not given: {how}")
        return
    if not verified:
        report.add(None, seq, "signature", f"{name}: its signature does not verify with key {key_id}: not a head")
        return
    entry = next((e for e in path if e.seq == seq), None)
    if entry is not None:
        if entry.computed == digest and entry.hash == digest:
            report.heads += 1
            return
        report.add(
            entry.line,
            seq,
            "modified",
            f"line {entry.line} (seq {seq}) has hash {entry.computed}, but {name} vouched for hash {digest}: "
            "the chain up to it was rewritten",
        )
        return
    first, last = (header.first_seq, header.last_seq) if header is not None else (None, None)
    if first is not None and last is not None and first <= seq <= last:
        report.add(None, seq, "deleted", f"seq {seq}, vouched for by {name}, is missing from the chain: deleted")
    elif header is not None and last is not None and seq > last and _within(at, header.since, header.until):
        report.add(
            None,
            last + 1,
            "deleted",
            f"the export ends at seq {last}, but {name} vouches for seq {seq}, which the export's period includes: "
            f"entries after seq {last} were cut",
        )
    else:
        span = "no entries" if first is None or last is None else f"seq {first}..{last}"
        advice = "from an earlier date" if first is not None and seq < first else "up to a later date"
        report.add(
            None,
            seq,
            "uncovered",
            f"export does not cover head seq {seq} (it holds {span}); export {advice} (the head was published {at})",
        )


def _within(at: str, since: str, until: str) -> bool:
    try:
        return parse_time(since) <= parse_time(at) < parse_time(until)
    except ValueError:
        return False


def _check_checkpoint(
    entry: _Entry,
    details: Mapping[str, Any],
    hashes: Mapping[int, str],
    keys: Mapping[str, Ed25519PublicKey],
    report: VerificationReport,
) -> int | None:
    """Check one checkpoint; return the seq it covers, or ``None`` when it is invalid (a checkpoint signed by a key
    that was not given is reported as such, and still counts as present)."""
    where = f"line {entry.line} (seq {entry.seq}): checkpoint"
    covers_seq, covers_hash, key_id = details.get("covers_seq"), details.get("covers_hash"), details.get("key_id")
    signature = details.get("signature")
    if not (
        isinstance(covers_seq, int)
        and _is_int(covers_seq)
        and isinstance(covers_hash, str)
        and isinstance(key_id, str)
        and isinstance(signature, str)
    ):
        report.add(entry.line, entry.seq, "signature", f"{where} lacks covers_seq, covers_hash, key_id or signature")
        return None
    key = keys.get(key_id)
    if key is None:
        how = HOW_TO_GET_KEYS.format(key_id=key_id)
        report.add(entry.line, entry.seq, "signature", f"{where} is signed by key {key_id}, which was not given: {how}")
        return covers_seq  # reported as a missing key, not as a missing checkpoint too
    if not verify_signature(key, checkpoint_payload(covers_seq, covers_hash, key_id), signature):
        report.add(entry.line, entry.seq, "signature", f"{where}: its signature does not verify with key {key_id}")
        return None
    report.checkpoints += 1
    found = hashes.get(covers_seq)
    if found is not None and found != covers_hash:
        report.add(
            entry.line,
            entry.seq,
            "modified",
            f"{where} signed hash {covers_hash} for seq {covers_seq}, "
            f"but the file's seq {covers_seq} hashes to {found}: the history before it was rewritten",
        )
        return None
    return covers_seq


def _check_rotation(
    entry: _Entry, details: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey], report: VerificationReport
) -> None:
    old, new, pem, endorsement = (
        details.get(k) for k in ("old_key_id", "new_key_id", "new_public_key_pem", "endorsement")
    )
    if not all(isinstance(v, str) for v in (old, new, pem, endorsement)):
        report.add(entry.line, entry.seq, "signature", f"line {entry.line} (seq {entry.seq}): malformed key rotation")
        return
    key = keys.get(str(old))
    if key is not None and not verify_signature(key, rotation_payload(str(old), str(new), str(pem)), str(endorsement)):
        report.add(
            entry.line,
            entry.seq,
            "signature",
            f"line {entry.line} (seq {entry.seq}): the rotation to key {new} is not endorsed by key {old}",
        )
