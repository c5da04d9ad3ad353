"""An investigation from end to end in a real browser (issue 22): an investigator opens a case from a requisition
over three cameras and an hour, has their recordings analysed (the real YOLOX-nano and the tracker over real
footage), searches "a red vehicle heading north between the hour's start and end on these three cameras", plays
the results in sync, bookmarks them, locks the evidence and exports a selection into the case. An analysis
outside the case's scope is refused as the API words it.

The footage is the real parking-lot clip (../shared/data, skipped without it), recorded as the recorder writes it
on the three cameras over the same seconds (a scene seen from three places): vil-1 and vil-2 look north, so the
red car driving up their picture heads north there; vil-3 looks east, so the same car heads east on it and is not
a result. (The issue's example asks for a white van: the clip's one moving vehicle is a red car, and COCO
detectors have no van class — the console asks for "van or truck" as both classes; docs/investigations.md.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.analytics.onnx_models import DATA, MODELS, require
from tests.api.export_world import data_dir_of
from tests.api.live_world import live_service
from tests.api.world import CAMERAS, Clock, World, build_world
from tests.console.conftest import (
    STATIC,
    Browser,
    RealClock,
    authorised,
    logged_in,
    picture_point,
    shot,
    sync_api,
    wall,
)
from tests.recording.export_samples import ListAuditSink
from tests.support.clip_segments import cut_segments, record_cut
from tests.support.system_health import HealthParts
from vigie.analytics.forensics.object_search import CameraLayout
from vigie.domain.audit import AuditAction
from vigie.domain.camera import CameraInfo, CameraKind
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.runtime.assembly.case_search import recorded_files
from vigie.services.playback import PlaybackService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

expect = sync_api.expect
CLIP = DATA / "video" / "car-detection.mp4"
CLIP_S = 21.0
"""The clip's first seconds recorded: the red car drives up the picture between 14 s and 20 s."""
THREE = ("vil-1", "vil-2", "vil-3")
HEADINGS = {"vil-1": 0.0, "vil-2": 0.0, "vil-3": 90.0}
"""Where each camera looks (degrees from north): up the picture is north on vil-1 and vil-2, east on vil-3."""
REQUISITION = "RJ 2026/0513"
CAR_PATH = ((0.35, 0.25), (0.7, 0.25), (0.7, 0.7), (0.35, 0.7))
"""A region over the red car's path up the picture (normalised corners)."""
VIDEOS = (
    "() => [...document.querySelectorAll('#sync-wall video')].map(v => ({camera: v.dataset.camera, t: v.currentTime, "
    "ready: v.readyState, paused: v.paused, error: v.error && v.error.code}))"
)


def hour_before_last(now: datetime) -> datetime:
    """The start of the hour before the last whole hour on the Paris clock ("between 14:00 and 15:00"), as UTC."""
    paris = (now - timedelta(hours=2)).astimezone(LEGAL_TIME_ZONE)
    return paris.replace(minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


@pytest.fixture
def hour() -> datetime:
    return hour_before_last(RealClock()())


@pytest.fixture
def world(db: Engine, health: HealthParts, tmp_path: Path, hour: datetime) -> World:
    """The API world in real time with a third camera in Villeurbanne; the clip recorded on the three cameras
    from 20 past the hour; the case search over the segment index and
    store as ``vigie serve`` reads them, with each camera's heading."""
    require(MODELS / "yolox_nano.onnx")
    cameras = (*CAMERAS, CameraInfo("vil-3", "Cours Émile-Zola", "villeurbanne", "centre", CameraKind.FIXED))
    store = FileSegmentStore(data_dir_of(db) / "segments")
    index = SqlSegmentIndex(db)
    cut = cut_segments(require(CLIP), tmp_path, hour, seconds=4.0, limit=CLIP_S)
    for camera in THREE:
        record_cut(cut, camera, index, store, hour + timedelta(minutes=20, seconds=CLIP_S), shift=timedelta(minutes=20))
    ids = [c.id for c in cameras]

    def playback(audit: ListAuditSink, clock: Clock) -> PlaybackService:
        return PlaybackService(index, store, audit, ids, clock)

    return build_world(
        db,
        static=STATIC,
        playback=playback,
        live=live_service,
        sql_audit=True,
        clock=RealClock(),
        authorisations=authorised(ids),
        system_health=health.factory(tmp_path, ids, db),
        cameras=cameras,
        case_footage=recorded_files(index, store),  # as `vigie serve` reads them
        case_layouts={camera: CameraLayout(heading) for camera, heading in HEADINGS.items()},
    )


def clock_at(page: sync_api.Page) -> datetime:
    return datetime.fromisoformat(page.locator("#sync-time").get_attribute("data-at") or "")


def test_an_investigator_finds_the_car_heading_north_on_three_cameras_plays_bookmarks_locks_and_exports(
    chromium: Browser, world: World, hour: datetime
) -> None:
    page = logged_in(chromium, world, "inv.vil", locale="en-GB")
    page.goto("/#/cases")
    page.fill("#case-reference", "PV 2026/0513")
    page.fill("#case-requisition", REQUISITION)
    page.fill("#case-authority", "OPJ Martin, commissariat de Villeurbanne")
    page.select_option("#case-authority-kind", "officer")
    page.fill("#case-purpose", "délit de fuite, cours Émile-Zola")
    page.select_option("#case-cameras", list(THREE))
    page.fill("#case-start", wall(hour))
    page.fill("#case-end", wall(hour + timedelta(hours=1)))
    page.click("#case-form button[type=submit]")
    expect(page.locator("#case-title")).to_have_text("Case PV 2026/0513")

    # An analysis beyond the requisition's hour is refused, in the API's words; nothing runs.
    page.fill("#analyse-start", wall(hour - timedelta(minutes=30)))
    page.click("#case-analyse button[type=submit]")
    expect(page.locator("#case-analyse-error")).to_contain_text("is not within the scope of case")
    expect(page.locator("#case-analyses tbody tr")).to_have_count(0)
    refused = [e for e in chromium.errors if e.startswith("403 POST")]
    assert len(refused) == 1, chromium.errors
    chromium.errors[:] = [e for e in chromium.errors if e not in refused and "403" not in e]

    # The hour on the three cameras: analysed in the background, its progress shown until done.
    page.fill("#analyse-start", wall(hour))
    for camera in THREE:
        expect(page.locator(f"#analyse-cameras input[value='{camera}']")).to_be_checked()
    page.click("#case-analyse button[type=submit]")
    job = page.locator("#case-analyses tbody tr")
    expect(job).to_have_count(1)
    expect(job).to_have_attribute("data-state", "done", timeout=180_000)
    assert int(job.locator("td.found").inner_text()) >= 3, job.inner_text()  # the car, on each camera

    # "A red vehicle heading north, between the hour's start and end, on these three cameras."
    page.select_option("#search-colour", "red")
    page.select_option("#search-direction", "north")
    for field, at in (("#search-start", hour), ("#search-end", hour + timedelta(hours=1))):  # the case's hour
        assert datetime.fromisoformat(page.locator(field).input_value()) == datetime.fromisoformat(wall(at))
    for camera in THREE:
        page.check(f"#search-cameras input[value='{camera}']")
    page.click("#case-search button[type=submit]")
    results = page.locator("#case-results li.result")
    expect(results.first).to_be_visible()
    found = {results.nth(n).get_attribute("data-camera") for n in range(results.count())}
    assert found == {"vil-1", "vil-2"}, found  # vil-3 saw the same car heading east
    expect(page.locator("#case-results img").first).to_have_js_property("complete", True)
    assert page.locator("#case-results img").first.evaluate("img => img.naturalWidth") > 0
    shot(page, "22-case-search-results")

    # A result plays the cameras in sync from the instant the car was first seen.
    recorded = hour + timedelta(minutes=20)
    on_two = page.locator("#case-results li.result[data-camera='vil-2']").first
    on_two.locator("button").first.click()
    seen = clock_at(page)
    assert recorded + timedelta(seconds=13) <= seen <= recorded + timedelta(seconds=20), seen
    page.wait_for_function(
        "() => [...document.querySelectorAll('#sync-wall video')].every(v => v.readyState >= 2 || v.error)",
        timeout=20_000,
    )
    shown = page.evaluate(VIDEOS)
    assert [v["camera"] for v in shown] == ["vil-1", "vil-2"] and all(v["error"] is None for v in shown), shown
    # both show the clip's second where the car is
    assert all(abs(v["t"] - (seen - recorded).total_seconds()) < 0.5 for v in shown), (seen, shown)

    # Motion in a region drawn on vil-1's picture over the car's path: one span, around the car's seconds.
    page.select_option("#motion-camera", "vil-1")
    page.click("#motion-draw")
    tile = page.locator("#sync-wall figure[data-camera='vil-1'] video")
    for x, y in CAR_PATH:
        page.mouse.click(*picture_point(tile, x, y))
    expect(page.locator("#motion-points")).to_contain_text("4")
    drawn = page.locator("#sync-wall figure[data-camera='vil-1'] svg.region polygon").get_attribute("points") or ""
    corners = [tuple(map(float, p.split(","))) for p in drawn.split()]
    assert len(corners) == 4 and all(
        abs(a - b) < 0.01 for corner, asked in zip(corners, CAR_PATH, strict=True) for a, b in zip(corner, asked)
    ), drawn  # the region drawn where it was clicked on the picture
    page.click("#case-motion button[type=submit]")
    motion_job = page.locator("#case-analyses tbody tr[data-kind='motion']")
    expect(motion_job).to_have_attribute("data-state", "done", timeout=60_000)
    hits = page.locator("#motion-results li")
    expect(hits.first).to_be_visible()
    spans = [
        (
            n,
            datetime.fromisoformat(hits.nth(n).get_attribute("data-start") or ""),
            hits.nth(n).get_attribute("data-end"),
        )
        for n in range(hits.count())
    ]
    car = [
        n
        for n, start, end in spans
        if start <= recorded + timedelta(seconds=20)
        and end
        and datetime.fromisoformat(end) >= recorded + timedelta(seconds=14)
    ]
    assert car, spans  # a span over the seconds the car drives through the region
    hits.nth(car[0]).locator("button").click()
    peak = clock_at(page)
    assert recorded + timedelta(seconds=12) <= peak <= recorded + timedelta(seconds=21), (peak, spans)
    shot(page, "22-case-motion")

    # Bookmarks of the case: the result, then the instant on the clock with a note; jump back to the first.
    on_two.locator("button.result-bookmark").click()
    marks = page.locator("#case-bookmarks li")
    expect(marks).to_have_count(1)
    expect(marks.first).to_have_attribute("data-camera", "vil-2")
    page.select_option("#sync-speed", "4")
    page.click("#sync-play")
    page.wait_for_function(
        "at => new Date(document.querySelector('#sync-time').dataset.at) > new Date(at)",
        arg=(seen + timedelta(seconds=3)).isoformat(),
        timeout=15_000,
    )
    page.click("#sync-play")
    later = clock_at(page)
    page.select_option("#case-bookmark-camera", "vil-2")
    page.fill("#case-bookmark-note", "le véhicule sort du parking")
    page.click("#case-bookmark-add")
    expect(marks).to_have_count(2)
    expect(marks.nth(1)).to_contain_text("le véhicule sort du parking")
    marks.first.locator("button.case-jump").click()
    assert abs((clock_at(page) - seen).total_seconds()) < 1, (clock_at(page), seen)
    page.click("#sync-mark-in")
    marks.nth(1).locator("button.case-jump").click()
    assert abs((clock_at(page) - later).total_seconds()) < 1, (clock_at(page), later)
    page.click("#sync-mark-out")
    shot(page, "22-case-bookmarks")

    # The evidence locked, the selection exported into the case.
    page.click("#case-lock")
    expect(page.locator("#case-holds")).to_contain_text("Evidence locked: holds ")
    page.click("#sync-export")
    export = page.locator("#case-exports tbody tr")
    expect(export).to_have_count(1)
    expect(export).to_have_attribute("data-state", "done", timeout=60_000)
    expect(export.locator("td.requisition")).to_have_text(REQUISITION)

    # The audit log: the analysis and its refusal, the bookmarks — never what was found, nor the investigator's note.
    events = world.audit.events
    started = [e for e in events if str(e.action) == "case.search_started"]
    assert [(e.details["kind"], e.details["camera_ids"]) for e in started] == [
        ("objects", list(THREE)),
        ("motion", ["vil-1"]),
    ], started
    assert [e for e in events if str(e.action) == str(AuditAction.ACCESS_DENIED) and e.target.startswith("case:")]
    assert len([e for e in events if str(e.action) == "case.bookmark_added"]) == 2
    for event in events:
        assert "le véhicule" not in str(event.details), event  # the note is the investigator's, never traced
        if str(event.action).startswith(("case.search", "case.bookmark")):  # reads trace the filters asked, no more
            assert not {"colour", "direction", "box", "zones", "lines"} & set(event.details), event
