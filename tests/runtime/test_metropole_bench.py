"""The métropole benchmark's core (``bench/metropole.py``), small: the real service on SQLite with 50 cameras fed by
the generator, two operators polling the console over HTTP through a `vigie api` process. What it measures must
stay true at full size: every segment the cameras report is indexed, every alert stored, every console call
answered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def metropole(monkeypatch: pytest.MonkeyPatch) -> Any:
    # the bench's processes are spawned and import it by name: its folder must be on the path they inherit
    monkeypatch.syspath_prepend(str(BENCH))
    import metropole

    yield metropole
    sys.modules.pop("metropole", None)


@pytest.mark.slow
def test_fifty_cameras_lose_no_index_row_and_every_console_call_answers(metropole: Any) -> None:
    result = metropole.run_once(
        50,
        8.0,
        database_url=None,
        warmup_s=3.0,
        operators_n=2,
        analysed=0.2,
        refresh_s=1.0,
        segment_seconds=2.0,
        api_n=1,  # the operators on a `vigie api` process, the writer alone in the control plane
        say=lambda _line: None,
    )

    generated = result.generated
    assert generated["segments"] >= 50  # 50 cameras, a segment every 2 s each, for some of the 8 s
    assert result.index_rows == generated["segments"]
    assert result.alerts_stored == generated["alerts"]
    assert generated["transitions"] >= 20  # 10 analysed cameras, motion and intrusion gates opened
    assert generated["health_dropped"] == 0
    assert result.errors == {}
    calls = set(result.latencies)
    assert {"cameras", "governance", "wall", "alerts", "alerts_pending"} <= calls
    assert sum(result.lags) == generated["segments"]  # every segment's commit was timed
