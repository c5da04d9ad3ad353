"""The investigation console in a real browser (issue 22): an investigator opens a case from a requisition, finds it
in the list, plays two of its cameras in sync (speed, frame stepping, a bookmark's "jump to"), locks the evidence
and exports a marked selection into the case."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.api.export_world import data_dir_of
from tests.api.world import World
from tests.console.conftest import RECORDED_S, Browser, logged_in, shot, sync_api
from tests.recording.export_samples import record
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.domain.sensors import SensorLinkEvent
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.sensors import SqlSensorLinkEvents

expect = sync_api.expect
REQUISITION = "RJ 2026/0422"

VIDEOS = (
    "() => [...document.querySelectorAll('#sync-wall video')].map(v => ({camera: v.dataset.camera, t: v.currentTime, "
    "rate: v.playbackRate, ready: v.readyState, paused: v.paused, error: v.error && v.error.code}))"
)
"""What each video of the synchronised playback is doing."""


def clock_at(page: sync_api.Page) -> datetime:
    """The instant the synchronised playback's master clock shows."""
    return datetime.fromisoformat(page.locator("#sync-time").get_attribute("data-at") or "")


def test_an_investigator_plays_locks_and_exports_a_case(
    chromium: Browser, world: World, db: Engine, recorded_until: datetime
) -> None:
    first = recorded_until - timedelta(seconds=RECORDED_S)
    index = SqlSegmentIndex(db)  # vil-2 recorded over the same 40 s as the world's vil-1
    for segment in record(data_dir_of(db) / "segments", "vil-2", [(first, RECORDED_S)]):
        index.add(segment)
    mark = first + timedelta(seconds=15)  # a sensor's bookmark: "jump to" plays from 10 s before it
    SqlSensorLinkEvents(world.engine).add(
        SensorLinkEvent("loud-mark", "sono-1", "bookmark", ("vil-2",), "bruit > 90 dB", mark, mark, "done")
    )

    page = logged_in(chromium, world, "inv.vil")
    page.goto("/#/cases")
    paris = first.astimezone(LEGAL_TIME_ZONE)
    page.fill("#case-reference", "PV 2026/0422")
    page.fill("#case-requisition", REQUISITION)
    page.fill("#case-authority", "OPJ Martin, commissariat de Villeurbanne")
    page.select_option("#case-authority-kind", "officer")
    page.fill("#case-purpose", "vol avec violence, cours Émile-Zola")
    page.select_option("#case-cameras", ["vil-1", "vil-2"])
    page.fill("#case-start", paris.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#case-end", (paris - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"))  # a period upside down
    page.click("#case-form button[type=submit]")
    expect(page.locator("#case-error")).to_contain_text("must be after start")  # as the API words it
    for _ in range(50):  # the answer, and the browser's line about it (events that may come after the page's text)
        refused = [e for e in chromium.errors if "422" in e]
        if len(refused) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(refused) == 2, chromium.errors  # and nothing else went wrong
    chromium.errors[:] = [e for e in chromium.errors if e not in refused]
    page.fill("#case-end", (paris + timedelta(seconds=RECORDED_S)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("#case-form button[type=submit]")
    expect(page.locator("#case-title")).to_have_text("Enquête PV 2026/0422")
    expect(page.locator("#case-scope [data-field=requisition]")).to_have_text(REQUISITION)
    expect(page.locator("#case-scope [data-field=state]")).to_have_text("ouverte")

    page.click("#case-page a[href='#/cases']")  # the list has it; a click opens it again
    row = page.locator("#cases tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(REQUISITION)
    shot(page, "22-cases-list")
    row.click()
    videos = page.locator("#sync-wall video")
    expect(videos).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#sync-wall video')].every(v => v.readyState >= 2 || v.error)",
        timeout=20_000,
    )
    assert all(v["error"] is None for v in page.evaluate(VIDEOS)), page.evaluate(VIDEOS)

    jump = page.locator("#sync-bookmarks button.jump")
    expect(jump).to_have_count(1)
    jump.click()
    assert clock_at(page) == mark - timedelta(seconds=10)
    page.click("#sync-mark-in")

    page.select_option("#sync-speed", "4")
    page.click("#sync-play")
    expect(page.locator("#sync-play")).to_have_text("Pause")
    page.wait_for_function(  # ten seconds of the recordings: about three at ×4 (the clock waits for a late video)
        "at => new Date(document.querySelector('#sync-time').dataset.at) > new Date(at)",
        arg=mark.isoformat(),
        timeout=15_000,
    )
    shown = page.evaluate(VIDEOS)
    assert [v["rate"] for v in shown] == [4, 4], shown
    assert abs(shown[0]["t"] - shown[1]["t"]) < 0.5, shown
    assert not any(v["paused"] for v in shown), shown

    page.click("#sync-play")  # pause, then one frame forward
    expect(page.locator("#sync-play")).to_have_text("Lire")
    before, at = page.evaluate(VIDEOS), clock_at(page)
    assert all(abs(v["t"] - (at - first).total_seconds()) < 0.05 for v in before), (at, before)  # on the clock
    page.click("#sync-forward")
    page.wait_for_function(
        "t => [...document.querySelectorAll('#sync-wall video')].every(v => v.paused && v.currentTime > t)",
        arg=max(v["t"] for v in before),
    )
    after = page.evaluate(VIDEOS)
    step = (clock_at(page) - at).total_seconds()
    assert 0 < step <= 0.2, step  # one frame: 1/fps of the cameras (25 fps when they report none)
    assert all(abs((a["t"] - b["t"]) - step) < 0.02 for a, b in zip(after, before, strict=True)), (before, after)
    page.click("#sync-mark-out")

    page.click("#case-lock")
    expect(page.locator("#case-holds")).to_contain_text("Preuves gelées : gels ")
    expect(page.locator("#case-lock")).to_be_hidden()
    held = [e for e in world.audit.events if str(e.action) == "case.holds_placed"]
    assert len(held) == 1 and held[0].details["camera_ids"] == ["vil-1", "vil-2"]

    page.click("#sync-export")
    job = page.locator("#case-exports tbody tr")
    expect(job).to_have_count(1)
    expect(job).to_have_attribute("data-state", "done", timeout=30_000)
    expect(job.locator("td.requisition")).to_have_text(REQUISITION)
    expect(job).to_have_attribute("data-cameras", "vil-1 vil-2")
    marked_in = (mark - timedelta(seconds=10)).astimezone(LEGAL_TIME_ZONE).strftime("%d/%m/%Y %H:%M:%S")
    expect(job.locator("td.period")).to_contain_text(f"{marked_in} – ")
    expect(job.locator("a.download")).to_have_count(1)
    asked = [e for e in world.audit.events if str(e.action) == "video.export"]
    assert {e.details["requisition_ref"] for e in asked} == {REQUISITION}
    shot(page, "22-case-playback")
