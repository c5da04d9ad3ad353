"""Signed exports and their offline verification, end to end on a real SQLite-backed chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.audit_rig import T0, AuditRig, fill, make_rig
from vigie.domain.audit import AuditAction
from vigie.governance.audit import AuditKeyring, export_audit, verify_export

FAR = T0 + timedelta(days=1)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AuditRig]:
    yield from make_rig(tmp_path)


def test_export_writes_a_signed_header_and_every_entry(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 30)
    out = tmp_path / "export.jsonl"
    summary = export_audit(rig.chain, T0, FAR, out)
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "vigie-audit-export" and header["version"] == 2
    assert header["count"] == len(lines) - 1 == summary.count
    assert header["first_seq"] == 1 and header["last_seq"] == summary.last_seq
    assert header["first_prev_hash"] == "0" * 64
    assert json.loads(lines[-1])["hash"] == header["last_hash"]
    assert [json.loads(line)["seq"] for line in lines[1:]] == list(range(1, summary.count + 1))
    last = rig.store.head()
    assert last is not None and last.action == AuditAction.AUDIT_EXPORTED
    assert last.details["file_sha256"] == summary.sha256 and last.details["count"] == summary.count
    assert last.seq == summary.last_seq + 1  # logged after the exported range was fixed
    report = verify_export(out, rig.keyring.public_keys())
    assert report.ok, report.issues
    assert (report.entries, report.first_seq, report.last_seq) == (summary.count, 1, summary.last_seq)
    assert report.key_id == rig.keyring.load_or_create()
    assert report.checkpoints >= 4


def test_export_of_a_time_window_verifies(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 40)
    out = tmp_path / "window.jsonl"
    summary = export_audit(rig.chain, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20), out)
    assert summary.first_seq is not None and summary.first_seq > 1
    assert summary.count == 10
    assert verify_export(out, rig.keyring.public_keys()).ok


def test_empty_range_is_a_valid_export(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 3)
    out = tmp_path / "empty.jsonl"
    summary = export_audit(rig.chain, T0 - timedelta(days=9), T0 - timedelta(days=8), out)
    assert summary.count == 0 and len(out.read_text().splitlines()) == 1
    report = verify_export(out, rig.keyring.public_keys())
    assert report.ok and report.entries == 0


def test_signed_by_another_key_fails_and_names_the_key(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 5)
    out = tmp_path / "e.jsonl"
    export_audit(rig.chain, T0, FAR, out)
    key_a = rig.keyring.load_or_create()
    other = AuditKeyring(tmp_path / "other-keys")
    report = verify_export(out, other.public_keys())
    assert not report.ok
    assert report.issues[0].kind == "signature" and report.issues[0].line == 1
    assert key_a in report.issues[0].message and "--pubkey" in report.issues[0].message
    forged = {key_a: other.public_keys()[other.load_or_create()]}
    assert any(i.kind == "signature" and i.line == 1 for i in verify_export(out, forged).issues)


def test_after_rotation_old_checkpoints_need_the_old_key(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 15)
    old = rig.keyring.load_or_create()
    old_pem = rig.keyring.public_keys()[old]
    rig.chain.rotate_key()
    new = rig.keyring.load_or_create()
    fill(rig.chain, 15, start=15)
    out = tmp_path / "rotated.jsonl"
    export_audit(rig.chain, T0, FAR, out)
    both = rig.keyring.public_keys()
    assert set(both) == {old, new}
    report = verify_export(out, both)
    assert report.ok, report.issues
    assert report.key_id == new
    only_new = verify_export(out, {new: both[new]})
    assert not only_new.ok
    assert {i.kind for i in only_new.issues} == {"signature"}
    assert all(old in i.message and i.line != 1 for i in only_new.issues)
    assert not verify_export(out, {old: old_pem}).ok


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"", "malformed"),
        (b"not json at all\n", "malformed"),
        (b'{"format": "something-else", "version": 1}\n', "malformed"),
        (b"[1, 2]\n", "malformed"),
        (b"\xff\xfe\n", "malformed"),
    ],
)
def test_not_an_export_gives_issues_not_exceptions(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    report = verify_export(path, {})
    assert not report.ok
    assert report.issues[0].kind == kind


def test_truncated_file_is_reported(rig: AuditRig, tmp_path: Path) -> None:
    fill(rig.chain, 10)
    out = tmp_path / "e.jsonl"
    export_audit(rig.chain, T0, FAR, out)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) - 40])
    report = verify_export(out, rig.keyring.public_keys())
    kinds = {i.kind for i in report.issues}
    assert "truncated" in kinds and "deleted" in kinds
    assert verify_export(tmp_path / "missing.jsonl", {}).issues[0].kind == "malformed"
