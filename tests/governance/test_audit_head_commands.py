"""`vigie audit head` and `vigie audit verify --head` as the DPO and an outside auditor run them (issue 14, D3): the
round trip holds on an untouched chain; deleting the last rows, or dropping rows and re-chaining the rest, with
the database alone, fails the verification against a head published before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audit_tamper import delete_last_rows, rechain
from tests.support.clocks import T0, StepClock
from vigie.cli import main
from vigie.cli.commands.context import commands_on, opened
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.storage import create_engine_for

ACTIONS = (AuditAction.LIVE_VIEWED, AuditAction.PLAYBACK, AuditAction.SEARCH, AuditAction.ALERT_VERDICT)
PERIOD = ["--from", "2000-01-01", "--to", "8999-12-31"]


@pytest.fixture(autouse=True)
def clock() -> Iterator[StepClock]:
    """The commands' clock: one second per reading from T0, never the host's."""
    clock = StepClock(T0)
    with commands_on(clock):
        yield clock


@pytest.fixture
def config(tmp_path: Path, clock: StepClock) -> Path:
    """An installation whose log holds 200 entries (and their checkpoints, one every 10)."""
    path = tmp_path / "vigie.yaml"
    path.write_text(
        "version: 1\n"
        f"storage:\n  database_url: sqlite:///{tmp_path / 'vigie.db'}\n  data_dir: {tmp_path / 'var'}\n"
        "governance:\n  checkpoint_every: 10\n"
    )
    with opened(path, clock) as context:
        for n in range(200):
            context.audit.append(AuditEvent(f"user:op{n % 3}", ACTIONS[n % 4], f"camera:cam-{n % 5}", {"n": n}))
    return path


def vigie(*args: str | Path) -> int:
    return main([str(a) for a in args])


def export_and_keys(config: Path, tmp_path: Path) -> tuple[Path, Path]:
    out, keys = tmp_path / "export.jsonl", tmp_path / "pub"
    assert vigie("audit", "export", "--config", config, *PERIOD, "-o", out) == 0
    assert vigie("audit", "keys", "--config", config, "-o", keys) == 0
    return out, keys


def test_head_then_verify_round_trip(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = tmp_path / "head.json"
    assert vigie("audit", "head", "--config", config, "-o", head) == 0
    published = json.loads(head.read_text())
    assert published["format"] == "vigie-audit-head" and published["checkpoint_every"] == 10
    assert published["at"].startswith("2025-05-01T08:")  # the injected clock's time
    assert f"head seq {published['seq']}" in capsys.readouterr().out
    out, keys = export_and_keys(config, tmp_path)
    capsys.readouterr()
    assert vigie("audit", "verify", out, "--pubkey", keys, "--head", head) == 0
    assert "extends 1 published head(s)" in capsys.readouterr().out
    archive = tmp_path / "var" / "audit-heads.jsonl"  # every checkpoint's head, for the DPO to archive
    heads = archive.read_text().splitlines()
    assert len(heads) >= 20 and json.loads(heads[-1])["seq"] >= published["seq"]
    assert vigie("audit", "verify", out, "--pubkey", keys, "--head", archive, "--head", head) == 0
    assert f"extends {len(heads) + 1} published head(s)" in capsys.readouterr().out


def test_deleting_the_last_rows_fails_against_the_head(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = tmp_path / "head.json"
    assert vigie("audit", "head", "--config", config, "-o", head) == 0
    delete_last_rows(tmp_path / "vigie.db", 30)  # two signed checkpoints among them
    out, keys = export_and_keys(config, tmp_path)
    capsys.readouterr()
    assert vigie("audit", "verify", out, "--pubkey", keys) == 0, "the cut chain is consistent in itself"
    assert vigie("audit", "verify", out, "--pubkey", keys, "--head", head) == 1
    verdict = capsys.readouterr().out
    assert "FAILED" in verdict and "[deleted]" in verdict and "were cut" in verdict


def test_dropping_rows_and_rechaining_fails_against_the_head(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = tmp_path / "head.json"
    assert vigie("audit", "head", "--config", config, "-o", head) == 0
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    dropped = rechain(engine, lambda r: r.action not in {AuditAction.PLAYBACK, AuditAction.AUDIT_CHECKPOINT})
    engine.dispose()
    assert dropped > 50
    out, keys = export_and_keys(config, tmp_path)
    capsys.readouterr()
    assert vigie("audit", "verify", out, "--pubkey", keys, "--head", head) == 1
    verdict = capsys.readouterr().out
    assert f"seq {json.loads(head.read_text())['seq']}" in verdict
    assert vigie("audit", "verify", out, "--pubkey", keys) == 1, "and the checkpoints it promises are missing"
    assert "no valid signed checkpoint of seq 10" in capsys.readouterr().out


def test_an_unreadable_head_is_a_usage_error(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, keys = export_and_keys(config, tmp_path)
    bogus = tmp_path / "head.json"
    bogus.write_text('{"seq": 3}')
    assert vigie("audit", "verify", out, "--pubkey", keys, "--head", bogus) == 2
    assert "not a signed audit head" in capsys.readouterr().err
