"""Alarm handling in the console (issue 24), in a real browser on the API world: an alert raised by the real alert
service reaches the operator through the live feed while another view is shown, and pops up with its image, its
camera live and the three decisions; the sound can be silenced; a more urgent alert goes first in the queue. Then
the issue's goal, by keyboard only: from the pop-up to the camera live, the alert confirmed (as the API records it,
by whom), and a preset recalled on the dome (the simulated dome of the API world goes there). Last, the designated
alarm window: the queue on a second monitor, the main window showing only a notice."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from tests.support.accessibility import assert_accessible
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation

expect = sync_api.expect
STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"
PRESET = {"pan": 0.4, "tilt": -0.2, "zoom": 0.3}


def raise_alert(world: World, module: str, recorded_until: datetime, seconds_before: float) -> int:
    """An alert of ``module`` on vil-1, inside what the world recorded (so its image exists)."""
    at = recorded_until - timedelta(seconds=seconds_before)
    alert = world.alerts.raise_alert(Observation("vil-1", module, module, at, (Box(0.2, 0.3, 0.3, 0.4),), 0.9, "m@1"))
    assert alert.id is not None
    return alert.id


def image_loaded(page: sync_api.Page, selector: str) -> None:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
        timeout=15_000,
    )


def dome_position(world: World) -> dict[str, float]:
    position: dict[str, float] = world.login("sup.vil").get("/api/cameras/vil-1/ptz").json()["status"]["position"]
    return position


def wait_for_position(world: World, wanted: dict[str, float], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        position = dome_position(world)
        if all(abs(position[axis] - wanted[axis]) < 0.01 for axis in wanted):
            return
        assert time.monotonic() < deadline, f"the dome stayed at {position}, not {wanted}"
        time.sleep(0.2)


def a_preset_away_from_home(world: World) -> str:
    """A supervisor stores preset "Parvis" away from home, sends the dome home and gives it back."""
    sup = world.login("sup.vil")
    assert sup.post("/api/cameras/vil-1/ptz/move", json={"kind": "absolute", "vector": PRESET}).status_code == 200
    wait_for_position(world, PRESET)
    stored = sup.post("/api/cameras/vil-1/ptz/presets", json={"name": "Parvis"})
    assert stored.status_code == 200, stored.text
    assert sup.post("/api/cameras/vil-1/ptz/home").status_code == 200
    home = sup.get("/api/cameras/vil-1/ptz").json()
    assert sup.post("/api/cameras/vil-1/ptz/release").status_code == 204
    deadline = time.monotonic() + 20
    while dome_position(world)["zoom"] > 0.2 and time.monotonic() < deadline:  # on its way home
        time.sleep(0.2)
    assert home["presets"][0]["name"] == "Parvis"
    token: str = stored.json()["token"]
    return token


def test_an_alert_pops_up_in_any_view_and_is_handled_by_keyboard_only(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    token = a_preset_away_from_home(world)
    page = logged_in(chromium, world, "op.vil")
    page.goto("/#/cameras")  # another view than the alerts'
    expect(page.locator("#cameras tbody tr")).to_have_count(2)
    popup = page.locator("#alarm-popup")
    expect(popup).to_be_hidden()

    first = raise_alert(world, "intrusion", recorded_until, seconds_before=10)  # high
    expect(popup).to_be_visible(timeout=15_000)  # brought by the live feed, in the cameras view
    expect(popup).to_have_attribute("role", "alertdialog")
    expect(popup).to_be_focused()
    expect(popup.locator("#alarm-camera")).to_have_text("Place Lazare-Goujon")
    expect(popup.locator("#alarm-kind")).to_have_text("intrusion")
    expect(popup.locator("#alarm-count")).to_have_text("1 sur 1")
    image_loaded(page, "#alarm-popup .snapshot img")  # the alert's recorded image
    image_loaded(page, "#alarm-live")  # the camera live
    expect(popup.locator("button[data-action]")).to_have_text(
        [re.compile("Confirmer"), re.compile("Fausse alerte"), re.compile("Rien à faire")]
    )
    expect(page.locator("#cameras tbody tr")).to_have_count(2)  # the view is still there, under the pop-up

    # The sound: a key press lets the browser play; M silences it for the session, M again turns it back on.
    sound = popup.locator("#alarm-sound")
    page.keyboard.press("Shift")
    expect(sound).to_have_attribute("data-sound", "on")
    page.keyboard.press("m")
    expect(sound).to_have_attribute("data-sound", "silenced")
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_contain_text("Son coupé")
    page.reload()  # the silence lasts for the session
    expect(page.locator("#alarm-popup #alarm-sound")).to_have_attribute("data-sound", "silenced", timeout=15_000)
    expect(popup).to_be_focused()  # shown again after the reload, the focus on it

    # What the layouts hear (console contract: they put the camera in their alarm tile).
    page.evaluate(
        "window.alarmCameras = []; addEventListener('vigie:alarm-camera', "
        "e => alarmCameras.push([e.detail.camera, e.detail.alert.id]))"
    )
    # A more urgent alert goes first in the queue.
    urgent = raise_alert(world, "weapon", recorded_until, seconds_before=20)  # critical
    expect(popup.locator("#alarm-kind")).to_have_text("weapon", timeout=15_000)
    expect(popup).not_to_have_attribute("data-chimes", re.compile(".*"))  # silenced: no tone for it
    expect(popup.locator("#alarm-count")).to_have_text("1 sur 2")
    expect(popup.locator(".alarm-priority")).to_have_text("critique")
    page.keyboard.press("m")
    expect(sound).to_have_attribute("data-sound", "on")
    image_loaded(page, "#alarm-popup .snapshot img")
    image_loaded(page, "#alarm-live")
    shot(page, "alarm-popup")
    for theme in ("dark", "light"):  # readable and operable by everyone, in the control room's dark theme too
        page.evaluate("theme => { document.documentElement.dataset.theme = theme; }", theme)
        assert_accessible(page, "#alarm-popup")
    popup.focus()
    page.keyboard.press("j")  # next
    expect(popup.locator("#alarm-kind")).to_have_text("intrusion")
    assert page.evaluate("alarmCameras") == [["vil-1", urgent], ["vil-1", first]]
    expect(popup.locator("#alarm-count")).to_have_text("2 sur 2")
    page.keyboard.press("k")  # previous
    expect(popup.locator("#alarm-kind")).to_have_text("weapon")
    page.keyboard.press("?")  # the help lists the alarm's keys
    expect(page.locator("#shortcuts")).to_contain_text("Alarme : confirmer")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    expect(popup).to_be_focused()

    # The goal: pop-up → camera live → alert confirmed → a preset recalled, by keyboard only.
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-1")
    image_loaded(page, "#single-video")
    expect(popup.locator("#alarm-live-elsewhere")).to_be_visible()  # one stream of that camera, not two
    page.keyboard.press("c")
    expect(popup.locator("#alarm-kind")).to_have_text("intrusion")  # the next one waiting
    decided = world.login("op.vil").get(f"/api/alerts/{urgent}").json()
    assert (decided["verdict"], decided["decided_by"], decided["decided_role"]) == ("confirmed", "op.vil", "operator")
    page.keyboard.press("f")
    expect(popup).to_be_hidden()
    expect(page.locator("#alarm-live")).to_have_count(0)
    dismissed = world.login("op.vil").get(f"/api/alerts/{first}").json()
    assert (dismissed["verdict"], dismissed["decided_by"]) == ("false_positive", "op.vil")

    expect(page.locator("#ptz-presets li[data-preset] kbd")).to_have_text("1")
    page.keyboard.press("1")
    expect(page.locator("#ptz-message")).to_have_text("Vers le préréglage Parvis.")
    wait_for_position(world, PRESET)
    recalls = [e for e in world.audit.events if e.action is AuditAction.PTZ_MOVED and e.actor == "op.vil"]
    assert [e.details.get("preset") for e in recalls] == [token]
    # The arrows drive it too, held, wherever the focus is in the single view (not only on the picture).
    page.keyboard.down("ArrowRight")
    deadline = time.monotonic() + 20
    while dome_position(world)["pan"] < PRESET["pan"] + 0.05:
        assert time.monotonic() < deadline, "the dome did not pan while the arrow was held"
        time.sleep(0.1)
    page.keyboard.up("ArrowRight")
    expect(page.locator("#ptz-position")).to_have_attribute("data-moving", "false", timeout=10_000)
    commands = [
        e.details["command"] for e in world.audit.events if e.action is AuditAction.PTZ_MOVED and e.actor == "op.vil"
    ]
    assert commands[1] == "continuous" and commands[-1] == "stop", commands
    shot(page, "alarm-keyboard-preset")


def test_the_alarm_window_shows_the_queue_and_the_main_window_a_notice(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    page = logged_in(chromium, world, "op.vil")
    alert_id = raise_alert(world, "intrusion", recorded_until, seconds_before=10)
    popup = page.locator("#alarm-popup")
    expect(popup).to_be_visible(timeout=15_000)
    with page.context.expect_page() as opened:
        popup.locator("#alarm-window-open").click()
    window = opened.value
    expect(window.locator("#alarm-popup #alarm-kind")).to_have_text("intrusion", timeout=15_000)
    expect(window.locator("header")).to_be_hidden()  # nothing but the queue
    image_loaded(window, "#alarm-live")
    expect(popup).to_be_hidden()
    notice = page.locator("#alarm-notice")
    expect(notice).to_contain_text("1 alerte(s) en attente : affichées dans la fenêtre d'alarmes")
    shot(window, "alarm-window")

    window.locator("#alarm-popup").focus()
    window.keyboard.press("c")  # decided in the alarm window: gone from both
    expect(window.locator("#alarm-what")).to_have_text("Aucune alerte n'attend de décision.")
    expect(window.locator("#alarm-live")).to_have_count(0)  # its live picture closed with it
    expect(notice).to_be_hidden()
    confirmed = world.login("op.vil").get(f"/api/alerts/{alert_id}").json()
    assert (confirmed["verdict"], confirmed["decided_by"]) == ("confirmed", "op.vil")

    window.close()  # the main window shows the pop-up again, and sounds again (the window had taken the sound)
    page.keyboard.press("Shift")
    chimes = int(popup.get_attribute("data-chimes") or 0)  # tones the main window played so far
    raise_alert(world, "intrusion", recorded_until, seconds_before=15)
    expect(popup).to_be_visible(timeout=15_000)
    expect(popup).to_have_attribute("data-chimes", str(chimes + 1))

    expect(popup).to_be_focused()
    page.keyboard.press("Escape")  # put aside: a notice stays
    expect(popup).to_be_hidden()
    expect(notice).to_contain_text("1 alerte(s) en attente de décision")
    page.keyboard.press("a")  # and back
    expect(popup).to_be_visible()
    expect(popup).to_be_focused()

    page.goto("/#/alerts")  # the alerts view lists them with the same decisions: a notice only
    expect(popup).to_be_hidden()
    expect(notice).to_contain_text("1 alerte(s) en attente de décision")


def test_every_alarm_text_is_in_french_and_english() -> None:
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    english = source[source.index("const EN = {") : source.index("const FR = {")]
    french = source[source.index("const FR = {") : source.index("const DICTIONARIES")]
    asked = set(re.findall(r'\bt\("([\w.]+)"', (STATIC / "alarms.js").read_text(encoding="utf-8")))
    asked |= {f"alarm.priority_{p}" for p in ("critical", "high", "normal", "low")}
    asked |= {f"alarm.sound_{s}" for s in ("on", "silenced", "blocked")}
    assert len(asked) > 20
    missing = {key for key in asked if f'"{key}":' not in english or f'"{key}":' not in french}
    assert missing == set()


def test_on_the_live_wall_an_alarm_goes_to_the_alarm_tile_and_the_pop_ups_keys_come_first(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    page = logged_in(chromium, world, "op.vil")
    page.goto("/#/live")
    tiles = page.locator("#wall .tile")
    expect(tiles.first).to_be_visible()
    tiles.nth(0).locator(".tile-alarm").click()  # the operator designates the first tile as the alarm tile
    expect(tiles.nth(0)).to_have_attribute("data-alarm-tile", "")

    alert_id = raise_alert(world, "intrusion", recorded_until, seconds_before=10)
    popup = page.locator("#alarm-popup")
    expect(popup).to_be_visible(timeout=15_000)
    expect(popup).to_be_focused()
    expect(tiles.nth(0)).to_have_attribute("data-alarm", "")  # the alert's camera, outlined in the alarm tile
    expect(tiles.nth(0)).to_have_attribute("data-camera", "vil-1")

    # "f" is the pop-up's false positive while the pop-up has the focus, not the wall's full screen
    page.keyboard.press("f")
    expect(popup).to_be_hidden()
    assert page.evaluate("document.fullscreenElement") is None
    dismissed = world.login("op.vil").get(f"/api/alerts/{alert_id}").json()
    assert (dismissed["verdict"], dismissed["decided_by"]) == ("false_positive", "op.vil")
    # and on the wall, with no pop-up, "f" shows the selected tile full screen
    tiles.nth(1).click()
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.fullscreenElement === null")
