"""Signed heads and required checkpoints (issue 14, D3): the chain cannot be cut or rewritten with database access
alone once a head has left the server, and an export must carry the checkpoints the chain promises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.audit_rig import T0, AuditRig, fill, make_rig
from tests.support.audit_tamper import rechain
from tests.support.clocks import FakeClock
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit import AuditChain, HeadArchive, HeadError, export_audit, read_heads, verify_export
from vigie.governance.audit.head import head_signature_ok
from vigie.governance.audit.signing import load_public_key

FAR = datetime(9000, 1, 1, tzinfo=UTC)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AuditRig]:
    yield from make_rig(tmp_path)  # a checkpoint every 7 entries


def keys(rig: AuditRig) -> dict[str, str]:
    return rig.keyring.public_keys()


def export(rig: AuditRig, out: Path) -> Path:
    export_audit(rig.chain, T0, FAR, out)
    return out


def kinds(report: object) -> set[str]:
    return {issue.kind for issue in report.issues}  # type: ignore[attr-defined]


def test_the_checkpoint_of_every_seventh_entry_is_the_very_next_entry(rig: AuditRig) -> None:
    fill(rig.chain, 30)
    records = list(rig.store.records())
    checkpoints = [r for r in records if r.action == AuditAction.AUDIT_CHECKPOINT]
    assert [r.details["covers_seq"] for r in checkpoints] == [7, 14, 21, 28]
    assert all(r.seq == r.details["covers_seq"] + 1 for r in checkpoints)


def test_a_head_is_signed_by_the_audit_key_over_a_checkpoint(rig: AuditRig) -> None:
    fill(rig.chain, 10)
    head = rig.chain.publish_head()
    assert head is not None
    last = rig.store.head()
    assert last is not None and last.action == AuditAction.AUDIT_CHECKPOINT
    assert (head["seq"], head["hash"], head["checkpoint_every"]) == (last.seq, last.hash, 7)
    public = {k: load_public_key(pem) for k, pem in keys(rig).items()}
    assert head_signature_ok(head, public) is True
    assert head_signature_ok({**head, "seq": head["seq"] - 1}, public) is False
    assert rig.chain.publish_head() == head, "nothing appended since: the same head, no new checkpoint"
    assert rig.store.head() == last


def test_every_checkpoint_is_appended_to_the_heads_file(rig: AuditRig, tmp_path: Path) -> None:
    archive = HeadArchive(tmp_path / "dpo" / "heads.jsonl")
    chain = AuditChain(rig.store, rig.keyring, checkpoint_every=7, clock=rig.clock, heads=archive)
    fill(chain, 20)
    heads = read_heads(archive.path)
    assert [h["seq"] for h in heads] == [8, 15, 22]  # over the checkpoints of 7, 14 and 21
    assert archive.latest() == heads[-1] == chain.latest_head()
    report = verify_export(export(rig, tmp_path / "all.jsonl"), keys(rig), heads)
    assert report.ok, report.issues
    assert report.heads == 3


def test_the_service_publishes_a_head_when_the_last_one_is_older_than_head_every(tmp_path: Path) -> None:
    rig = next(make_rig(tmp_path / "rig", checkpoint_every=1000))
    clock = FakeClock(T0)
    archive = HeadArchive(tmp_path / "heads.jsonl")
    chain = AuditChain(
        rig.store, rig.keyring, checkpoint_every=1000, clock=clock, heads=archive, head_every=timedelta(hours=1)
    )
    chain.append(AuditEvent("user:a", AuditAction.SEARCH, "camera:c"))
    clock.advance(minutes=30)
    chain.append(AuditEvent("user:a", AuditAction.SEARCH, "camera:c"))
    assert archive.latest() is None
    clock.advance(minutes=31)
    chain.append(AuditEvent("user:a", AuditAction.SEARCH, "camera:c"))
    latest = archive.latest()
    assert latest is not None and latest["seq"] == 4 and latest["at"] == "2025-05-01T09:01:00.000000Z"
    rig.engine.dispose()


def test_a_cut_after_a_published_head_is_detected_with_the_head(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 40)
    head = rig.chain.publish_head()
    assert head is not None
    fill(rig.chain, 5, start=40)
    records = list(rig.store.records())
    keep_up_to = records[-30].seq - 1  # the database administrator deletes the last 30 rows
    rechain(rig.engine, lambda r: r.seq <= keep_up_to)
    out = export(rig, tmp_path / "cut.jsonl")  # the server signs a checkpoint over the cut head
    assert verify_export(out, keys(rig)).ok, "without a head, a cut at the end cannot be seen"
    report = verify_export(out, keys(rig), [head])
    assert not report.ok
    assert kinds(report) == {"deleted"}
    assert f"vouches for seq {head['seq']}" in report.issues[0].message


def test_rows_dropped_and_rechained_are_detected(rig: AuditRig, tmp_path: Path) -> None:
    """Drop the playback entries and every checkpoint (which would betray the rewrite), renumber, recompute."""
    fill(rig.chain, 60)
    head = rig.chain.publish_head()
    assert head is not None
    fill(rig.chain, 3, start=60)
    dropped = rechain(
        rig.engine, lambda r: r.action not in {AuditAction.PLAYBACK, AuditAction.AUDIT_CHECKPOINT} or r.seq > 80
    )
    assert dropped > 10
    out = export(rig, tmp_path / "rewritten.jsonl")
    bare = verify_export(out, keys(rig))
    assert not bare.ok and kinds(bare) == {"deleted"}
    assert "no valid signed checkpoint of seq 7" in bare.issues[0].message
    report = verify_export(out, keys(rig), [head])
    assert not report.ok
    assert any(str(head["seq"]) in issue.message for issue in report.issues)


def test_a_rewrite_that_keeps_the_length_is_caught_by_the_heads_hash(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 20)
    head = rig.chain.publish_head()
    assert head is not None
    # The head's own entry is a checkpoint whose actor no signature covers: changed, then everything re-chained.
    with rig.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET actor = 'cli:nobody' WHERE seq = :s"), {"s": head["seq"]})
    rechain(rig.engine, lambda r: True)
    out = export(rig, tmp_path / "rewritten.jsonl")
    assert verify_export(out, keys(rig)).ok
    report = verify_export(out, keys(rig), [head])
    assert kinds(report) == {"modified"}
    assert f"vouched for hash {head['hash']}" in report.issues[0].message


def test_an_export_without_a_checkpoint_it_should_carry_fails(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 10)  # entries 1..7, the checkpoint of 7 at 8, entries 9..11
    rechain(rig.engine, lambda r: r.action != AuditAction.AUDIT_CHECKPOINT)
    out = export(rig, tmp_path / "no-checkpoint.jsonl")
    report = verify_export(out, keys(rig))
    assert not report.ok
    [issue] = report.issues
    assert issue.kind == "deleted" and issue.seq == 8
    assert "no valid signed checkpoint of seq 7 (one follows every 7th entry)" in issue.message


def test_the_checkpoint_interval_is_in_the_signed_header(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 10)
    out = export(rig, tmp_path / "all.jsonl")
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["checkpoint_every"] == 7 and header["version"] == 2
    lines[0] = json.dumps({**header, "checkpoint_every": 100_000})  # claiming fewer checkpoints breaks the seal
    out.write_text("\n".join(lines) + "\n")
    assert kinds(verify_export(out, keys(rig))) == {"signature"}


def test_an_export_that_does_not_reach_the_head_says_so(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 10)
    rig.clock.now += timedelta(days=2)
    head = rig.chain.publish_head()
    assert head is not None
    out = tmp_path / "early.jsonl"
    export_audit(rig.chain, T0, T0 + timedelta(days=1), out)
    report = verify_export(out, keys(rig), [head])
    assert kinds(report) == {"uncovered"}
    assert f"export does not cover head seq {head['seq']}" in report.issues[0].message


def test_a_forged_or_unknown_head_is_refused(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 10)
    head = rig.chain.publish_head()
    assert head is not None
    out = export(rig, tmp_path / "all.jsonl")
    forged = {**head, "hash": "0" * 64}
    assert kinds(verify_export(out, keys(rig), [forged])) == {"signature"}
    other = next(make_rig(tmp_path / "other"))
    fill(other.chain, 3)
    foreign = other.chain.publish_head()
    assert foreign is not None
    report = verify_export(out, keys(rig), [foreign])
    assert kinds(report) == {"signature"} and "which was not given" in report.issues[0].message
    other.engine.dispose()


def test_heads_are_read_from_one_json_or_json_lines(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 3)
    head = rig.chain.publish_head()
    one = tmp_path / "head.json"
    one.write_text(json.dumps(head, indent=2))
    assert read_heads(one) == [head]
    many = tmp_path / "heads.jsonl"
    many.write_text(json.dumps(head) + "\n\n" + json.dumps(head) + "\n")
    assert read_heads(many) == [head, head]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "vigie-audit-head"}')
    with pytest.raises(HeadError, match="not a signed audit head"):
        read_heads(bad)


def test_a_heads_file_that_cannot_be_written_never_loses_an_entry(rig: AuditRig, tmp_path: Path) -> None:
    blocked = tmp_path / "heads-is-a-folder"
    blocked.mkdir()
    chain = AuditChain(rig.store, rig.keyring, checkpoint_every=7, clock=rig.clock, heads=HeadArchive(blocked))
    fill(chain, 10)
    assert len(list(rig.store.records())) == 11
    latest = chain.latest_head()
    assert latest is not None and latest["seq"] == 8, "kept in memory, served to the public page"
