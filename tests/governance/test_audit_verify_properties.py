"""Property: any single modification, deletion, insertion or swap of lines in an export is caught and named.

One real chain (SqlAuditStore on SQLite, real keys, checkpoints every 7 entries) is exported once; hypothesis
then damages a copy of its lines in every way it can think of and checks the verifier's verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.audit_rig import T0, fill, make_rig
from vigie.domain.audit import canonical_json, entry_hash
from vigie.governance.audit import VerificationReport, export_audit, verify_export

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ENTRY_FIELDS = ("seq", "at", "actor", "action", "target", "details", "prev_hash", "hash")
HEADER_FIELDS = (
    "from",
    "to",
    "exported_at",
    "first_seq",
    "last_seq",
    "count",
    "first_prev_hash",
    "last_hash",
    "key_id",
    "signature",
    "format",
    "version",
)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("audit-export")
    for rig in make_rig(tmp):
        fill(rig.chain, 25)
        out = tmp / "export.jsonl"
        export_audit(rig.chain, T0, T0 + timedelta(days=1), out)
        yield out.read_text().splitlines(), rig.keyring.public_keys()


def verify(lines: list[str], keys: dict[str, str]) -> VerificationReport:
    return verify_export([line + "\n" for line in lines], keys)


def line_of(value: dict[str, Any]) -> str:
    return canonical_json(value).decode()


hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12)


def other_value(original: Any) -> st.SearchStrategy[Any]:
    if isinstance(original, bool) or original is None:
        base: st.SearchStrategy[Any] = json_scalars
    elif isinstance(original, int):
        base = st.integers(-5, 10**6)
    elif isinstance(original, str):
        base = st.text(max_size=70) | hex64
    elif isinstance(original, dict):
        base = st.dictionaries(st.text(max_size=6), json_scalars, max_size=4)
    else:
        base = json_scalars
    return base.filter(lambda v: v != original or type(v) is not type(original))


def test_untouched_export_verifies(export: tuple[list[str], dict[str, str]]) -> None:
    lines, keys = export
    report = verify(lines, keys)
    assert report.ok, report.issues
    assert report.entries == len(lines) - 1


@SETTINGS
@given(data=st.data())
def test_any_modified_field_is_found(export: tuple[list[str], dict[str, str]], data: st.DataObject) -> None:
    lines, keys = export
    index = data.draw(st.integers(0, len(lines) - 1), label="line index")
    value = json.loads(lines[index])
    name = data.draw(st.sampled_from(HEADER_FIELDS if index == 0 else ENTRY_FIELDS), label="field")
    value[name] = data.draw(other_value(value[name]), label="new value")
    damaged = [*lines[:index], line_of(value), *lines[index + 1 :]]
    report = verify(damaged, keys)
    assert not report.ok
    expected = {"signature", "malformed"} if index == 0 else {"modified", "malformed"}
    assert any(i.line == index + 1 and i.kind in expected for i in report.issues), report.issues


@SETTINGS
@given(data=st.data())
def test_any_deleted_line_is_found(export: tuple[list[str], dict[str, str]], data: st.DataObject) -> None:
    lines, keys = export
    index = data.draw(st.integers(0, len(lines) - 1), label="deleted line index")
    report = verify([*lines[:index], *lines[index + 1 :]], keys)
    assert not report.ok
    if index == 0:
        assert any(i.line == 1 and i.kind == "malformed" for i in report.issues)
    else:
        seq = json.loads(lines[index])["seq"]
        assert any(i.kind == "deleted" and i.seq == seq for i in report.issues), report.issues


def forged_entry(data: st.DataObject, lines: list[str]) -> str:
    entries = [json.loads(line) for line in lines[1:]]
    template = data.draw(st.sampled_from(entries), label="template")
    seq = data.draw(st.integers(1, len(entries) + 3), label="seq")
    prev_hash = data.draw(st.sampled_from([e["hash"] for e in entries]) | hex64, label="prev_hash")
    details = data.draw(st.dictionaries(st.text(max_size=5), json_scalars, max_size=3), label="details")
    forged = {**template, "seq": seq, "prev_hash": prev_hash, "details": details}
    forged["hash"] = entry_hash({k: v for k, v in forged.items() if k != "hash"})
    return line_of(forged)


@SETTINGS
@given(data=st.data())
def test_any_inserted_line_is_found(export: tuple[list[str], dict[str, str]], data: st.DataObject) -> None:
    lines, keys = export
    position = data.draw(st.integers(0, len(lines)), label="insert position")
    if data.draw(st.booleans(), label="copy"):
        inserted = data.draw(st.sampled_from(lines), label="copied line")
    else:
        inserted = forged_entry(data, lines)
    damaged = [*lines[:position], inserted, *lines[position:]]
    report = verify(damaged, keys)
    assert not report.ok
    # An exact copy next to its original is indistinguishable from it: either line may be named.
    acceptable = {n + 1 for n, line in enumerate(damaged) if line == inserted}
    named = {i.line for i in report.issues if i.kind in {"inserted", "malformed", "reordered"}}
    assert acceptable & named, report.issues


@SETTINGS
@given(data=st.data())
def test_any_swap_is_found(export: tuple[list[str], dict[str, str]], data: st.DataObject) -> None:
    lines, keys = export
    first = data.draw(st.integers(0, len(lines) - 2), label="first")
    second = data.draw(st.integers(first + 1, len(lines) - 1), label="second")
    damaged = list(lines)
    damaged[first], damaged[second] = damaged[second], damaged[first]
    report = verify(damaged, keys)
    assert not report.ok
    kinds = {"malformed"} if first == 0 else {"reordered"}
    assert any(i.line in {first + 1, second + 1} and i.kind in kinds for i in report.issues), report.issues


def test_rewritten_history_with_recomputed_hashes_fails_on_signatures(
    export: tuple[list[str], dict[str, str]],
) -> None:
    """Someone without the key rewrites entry 3 and re-chains everything after it: checkpoints give it away."""
    lines, keys = export
    entries = [json.loads(line) for line in lines[1:]]
    entries[2]["actor"] = "user:nobody"
    prev = entries[1]["hash"]
    for entry in entries[2:]:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash({k: v for k, v in entry.items() if k != "hash"})
    report = verify([lines[0], *map(line_of, entries)], keys)
    assert not report.ok
    assert any(i.kind == "modified" and "rewritten" in i.message for i in report.issues)


def test_truncated_last_line_is_reported(export: tuple[list[str], dict[str, str]], tmp_path: Path) -> None:
    lines, keys = export
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines) + "\n")
    path.write_bytes(path.read_bytes()[:-25])
    report = verify_export(path, keys)
    assert any(i.kind == "truncated" and i.line == len(lines) for i in report.issues)
