"""An investigator cancels an export that is still running, from the console: the button stops it at its next
segment, the row then says why it failed, and nothing of it can be downloaded (issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.api.export_world import data_dir_of
from tests.api.world import World
from tests.console.conftest import RECORDED_S, Browser, logged_in, shot, sync_api
from tests.support.held_segments import held, release
from vigie.domain.clock import LEGAL_TIME_ZONE

expect = sync_api.expect


def test_an_investigator_cancels_a_running_export(
    chromium: Browser, world: World, db: Engine, recorded_until: datetime
) -> None:
    recorded = sorted((data_dir_of(db) / "segments" / "vil-1").rglob("*.ts"))
    waiting = recorded[6:]  # 2-s segments: the export below copies a few, then waits on the seventh
    kept = {segment: held(segment) for segment in waiting}
    page = logged_in(chromium, world, "inv.vil")
    page.goto("/#/exports")
    now = recorded_until.astimezone(LEGAL_TIME_ZONE)  # the end of what the world recorded, in Paris time
    page.select_option("#export-camera", "vil-1")
    page.fill("#export-start", (now - timedelta(seconds=RECORDED_S - 5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#export-end", (now - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#export-reason", "vol à l'arraché, place Lazare-Goujon")
    page.fill("#export-requisition", "PV 2026/1717")
    page.click("#export-form button[type=submit]")
    row = page.locator("#exports tbody tr").first
    expect(row).to_have_attribute("data-state", "running", timeout=30_000)
    row.locator("button.cancel").click()
    expect(row).to_contain_text("annulation en cours")
    writer = release(waiting[0], kept[waiting[0]])
    expect(row).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(row).to_contain_text("cancelled by its owner")
    expect(row.locator("a.download")).to_have_count(0)
    shot(page, "07b-export-cancelled")
    writer.join(10)
    outcomes = [e.details["outcome"] for e in world.audit.events if str(e.action) == "video.export"]
    assert outcomes == ["queued", "cancel_requested", "cancelled"]
