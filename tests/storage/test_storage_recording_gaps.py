"""Recording-gap alarms shared through the database (issue 17): what ``vigie serve``'s gap watch writes, another
process reads — open alarms, their closing, gaps withdrawn, the last 24 hours, and what a previous run left open.
Both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vigie.domain.recording import RecordingGap
from vigie.storage.recording_gaps import _DELETE_ONE, SqlRecordingGaps

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_alarm_written_by_the_watch_is_read_by_another_process_until_it_closes(db: Engine) -> None:
    watch, api = SqlRecordingGaps(db), SqlRecordingGaps(db)
    assert api.report(["cam-1"], T0, 10).watched_at is None, "nothing watched yet"
    opened = RecordingGap("cam-1", at(0), None, at(21))
    watch.write([opened], [], at(21))
    seen = api.report(["cam-1", "cam-2"], at(21) - timedelta(hours=24), 10)
    assert seen.watched_at == at(21)
    assert seen.alarms == (opened,) and seen.listed == (opened,)
    assert (seen.count, seen.closed_seconds) == (1, 0.0)

    closed = replace(opened, end=at(25))
    found = RecordingGap("cam-2", at(30), at(34), at(44))
    watch.write([closed, found], [], at(45))
    seen = api.report(["cam-1", "cam-2"], at(45) - timedelta(hours=24), 10)
    assert seen.alarms == () and seen.listed == (found, closed), "newest first"
    assert (seen.count, seen.closed_seconds, seen.watched_at) == (2, 29.0, at(45))
    assert api.report(["cam-2"], T0, 10).listed == (found,), "only the cameras asked for"
    assert api.report(["cam-1", "cam-2"], T0, 1).listed == (found,), "at most the number asked"
    assert api.report(["cam-1", "cam-2"], T0, 1).count == 2


def test_a_withdrawn_alarm_leaves_no_gap_and_a_round_written_twice_the_same_rows(db: Engine) -> None:
    gaps = SqlRecordingGaps(db)
    opened = RecordingGap("cam-1", at(0), None, at(21))
    gaps.write([opened], [], at(21))
    gaps.write([opened], [], at(21))  # retried after a lost answer
    assert gaps.report(["cam-1"], T0, 10).count == 1
    gaps.write([], [opened], at(22))  # late segments covered it
    report = gaps.report(["cam-1"], T0, 10)
    assert (report.alarms, report.listed, report.count) == ((), (), 0)


def test_gaps_ended_more_than_a_day_ago_are_pruned_and_not_reported(db: Engine) -> None:
    gaps = SqlRecordingGaps(db)
    old = RecordingGap("cam-1", at(0), at(30), at(30))
    still_open = RecordingGap("cam-2", at(0), None, at(21))
    gaps.write([old, still_open], [], at(30))
    day_later = at(30) + timedelta(hours=24, seconds=1)
    report = gaps.report(["cam-1", "cam-2"], day_later - timedelta(hours=24), 10)
    assert report.listed == (still_open,), "an open alarm stays however old"
    gaps.write([], [], day_later, prune_before=day_later - timedelta(hours=24))
    assert gaps.report(["cam-1", "cam-2"], T0, 10).listed == (still_open,), "the old one is gone"


def test_a_new_run_closes_what_the_previous_one_left_open_when_it_last_checked(db: Engine) -> None:
    gaps = SqlRecordingGaps(db)
    gaps.write([RecordingGap("cam-1", at(0), None, at(21))], [], at(21))
    gaps.write([], [], at(40))  # its last check, then it was killed
    assert gaps.begin(at(300)) == 1
    report = gaps.report(["cam-1"], T0, 10)
    assert report.alarms == () and report.listed == (RecordingGap("cam-1", at(0), at(40), at(21)),)
    assert (report.closed_seconds, report.watched_at) == (40.0, at(300))
    assert gaps.begin(at(310)) == 0


def test_many_changes_in_one_round_are_written_together(db: Engine) -> None:
    gaps = SqlRecordingGaps(db)
    cameras = [f"cam-{n}" for n in range(1200)]  # a site's network down, beyond one bounded IN list
    opened = [RecordingGap(c, at(0), None, at(21)) for c in cameras]
    gaps.write(opened, [], at(21))
    gaps.write([replace(g, end=at(30)) for g in opened], [], at(31))
    report = gaps.report(cameras, T0, 5)
    assert (report.alarms, report.count, report.closed_seconds) == ((), 1200, 1200 * 30.0)


def test_a_gap_written_again_is_found_by_its_key_not_by_reading_every_gap(db: Engine) -> None:
    """At thousands of gap changes a second (bench/mqtt_throughput.py) a round that scanned the table grew with the
    day's gaps; SQLite's plan for the statement that replaces a gap must use the primary key."""
    if db.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    statement = str(_DELETE_ONE.compile(db))
    with db.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", ("c", "s")))
    assert plan.startswith("SEARCH recording_gaps USING INDEX"), plan
