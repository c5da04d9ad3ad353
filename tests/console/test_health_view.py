"""The health view in a real browser (issue 17): an operator sees, from any view, how many cameras that should
record have no footage, and in the health view which ones since when, the nodes, the disks, the cameras offline and
the gaps of the last 24 hours — of the cameras of the operator's commune only."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from tests.support.system_health import HealthParts, segment, silence
from vigie.domain.camera import CameraHealth, HealthState
from vigie.storage.repositories import SqlCameraStatusRepo

expect = sync_api.expect


def test_an_operator_sees_the_recording_gap_alarm_and_the_platforms_health(
    chromium: Browser, world: World, health: HealthParts
) -> None:
    assert health.monitor is not None and health.supervisor is not None
    silence(health.monitor, datetime.now(UTC))
    health.supervisor.start()  # from now on it checks the cameras every round, as the service's does
    try:
        SqlCameraStatusRepo(world.engine).record(
            CameraHealth("vil-2", HealthState.OFFLINE, datetime.now(UTC), "camera vil-2: stream error")
        )
        page = logged_in(chromium, world, "op.vil")
        badge = page.locator("#health-alarm-count")
        expect(badge).to_have_text("1")  # seen from the first view, before opening the health view
        page.click("[data-view-link='health']")
        expect(page.locator("#health-alarm-note")).to_contain_text("1 caméra(s) devraient enregistrer")
        alarms = page.locator("#health-alarms tbody tr")
        expect(alarms).to_have_count(1)
        expect(alarms.first).to_have_attribute("data-camera", "vil-1")
        expect(alarms.first).to_contain_text("Place Lazare-Goujon")
        expect(page.locator("#health-nodes tbody tr")).to_have_count(1)
        expect(page.locator("#health-nodes tbody tr").first).to_contain_text("actif")
        expect(page.locator("#health-disks tbody tr")).to_have_count(2)
        expect(page.locator("#health-disks tbody tr[data-disk='recordings']")).to_contain_text("espace suffisant")
        expect(page.locator("#health-offline tbody tr")).to_have_count(1)
        expect(page.locator("#health-offline tbody tr").first).to_contain_text("camera vil-2: stream error")
        gaps = page.locator("#health-gaps tbody tr")
        expect(gaps).to_have_count(2)
        expect(page.locator("#health-gaps tbody tr[data-camera='vil-2']")).to_contain_text("55 s")
        expect(page.locator("#health-gaps tbody tr[data-camera='vil-1']")).to_contain_text("en cours")
        expect(page.locator("#health-gaps")).not_to_contain_text("bron-1")
        shot(page, "health-view")

        # recording resumes: the alarm clears at the next refresh, the gap stays in the list
        health.monitor.observe(segment("vil-1", datetime.now(UTC)))
        expect(badge).to_be_hidden(timeout=20_000)
        expect(page.locator("#health-alarms tbody tr")).to_have_count(0)
        expect(page.locator("#health-alarm-note")).to_have_text(
            "Toutes les caméras qui doivent enregistrer enregistrent."
        )
        expect(page.locator("#health-gaps tbody tr[data-camera='vil-1']")).not_to_contain_text("en cours")
    finally:
        health.supervisor.stop(1.0)
