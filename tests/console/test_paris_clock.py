"""The console reads and shows times on the Paris clock, whatever zone the browser's machine is in: a playback day
is the Paris day (23 or 25 hours when the clocks change), a time typed in a form is Paris time. A browser on UTC
once asked for the wrong day between midnight and 1 a.m. in Paris and showed "nothing recorded" (CI, 2026-12-04)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import BROWSER_ZONE, Browser
from vigie.domain.clock import LEGAL_TIME_ZONE

CHECK = """async ({ days, readings, instants }) => {
  const time = await import("/static/time.js");
  return {
    bounds: days.map((d) => { const b = time.parisDayBounds(d); return [b.start.toISOString(), b.end.toISOString()]; }),
    read: readings.map((r) => time.fromParisWallClock(r).toISOString()),
    shown: instants.map((i) => [time.parisWallClock(new Date(i)), time.parisDay(new Date(i))]),
  };
}"""

DAYS = ["2028-01-09", "2027-03-28", "2027-10-31", "2027-07-14"]
READINGS = ["2028-01-09T00:01", "2027-07-14T22:30:15", "2027-03-28T03:00", "2027-10-31T03:00:00.500"]
INSTANTS = ["2028-01-08T23:01:40Z", "2027-07-14T21:59:59Z", "2027-10-31T00:30:00Z"]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def paris_midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=LEGAL_TIME_ZONE)


@pytest.mark.parametrize("zone", [BROWSER_ZONE, "UTC", "Pacific/Auckland"])
def test_days_and_times_are_read_on_the_paris_clock_in_any_browser_zone(chromium: Browser, zone: str) -> None:
    page = chromium.browser.new_context(base_url=chromium.server, timezone_id=zone).new_page()
    page.goto("/")
    got = page.evaluate(CHECK, {"days": DAYS, "readings": READINGS, "instants": INSTANTS})
    page.context.close()

    # Python's tz database is the reference: each day runs from its Paris midnight to the next one
    expected = [[utc(paris_midnight(d)), utc(paris_midnight(d) + timedelta(days=1))] for d in DAYS]
    assert got["bounds"] == expected
    hours = [
        (datetime.fromisoformat(end[:-1]) - datetime.fromisoformat(start[:-1])) / timedelta(hours=1)
        for start, end in got["bounds"]
    ]
    assert hours == [24, 23, 25, 24]  # the clocks go forward on 28 March 2027 and back on 31 October 2027

    readings = [datetime.fromisoformat(r).replace(tzinfo=LEGAL_TIME_ZONE) for r in READINGS]
    assert got["read"] == [
        m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z" for m in readings
    ]

    shown = [datetime.fromisoformat(i).astimezone(LEGAL_TIME_ZONE) for i in INSTANTS]
    assert got["shown"] == [[s.strftime("%Y-%m-%dT%H:%M:%S"), s.strftime("%Y-%m-%d")] for s in shown]
    # the case CI met: 23:01 UTC is already the next day in Paris
    assert got["shown"][0] == ["2028-01-09T00:01:40", "2028-01-09"]
