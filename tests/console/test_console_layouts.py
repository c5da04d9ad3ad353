"""The live view's layouts in a real browser (issue 24): switching between square and asymmetric grids, placing
cameras by dragging (from the tree's contract and from tile to tile) and by keyboard, full screen, the alarm tile,
saving a layout and sharing it with a role another person then sees, a tour cycling two cameras, a detached window
kept in sync with the main one both ways, and a video-wall output following the console."""

from __future__ import annotations

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role

expect = sync_api.expect
TILES = "#wall .tile"


def tile(page: sync_api.Page, index: int) -> sync_api.Locator:
    return page.locator(f"{TILES}[data-index='{index}']")


def picture(page: sync_api.Page, selector: str) -> None:
    """Wait until the <img> of ``selector`` shows a camera's picture."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && !i.hidden && i.naturalWidth > 0 }",
        arg=selector,
        timeout=15_000,
    )


def cameras(page: sync_api.Page) -> list[str | None]:
    return page.eval_on_selector_all(TILES, "tiles => tiles.map(t => t.dataset.camera || null)")  # type: ignore[no-any-return]


def test_grids_drag_keyboard_full_screen_and_the_alarm_tile(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    expect(page.locator(TILES)).to_have_count(4)  # before any choice: the person's cameras in the smallest grid
    expect(page.locator("#live-tree")).to_have_count(1)
    assert cameras(page) == ["vil-1", "vil-2", None, None]
    for grid, count in (("9", 9), ("16", 16), ("25", 25), ("1+5", 6), ("1+7", 8), ("2+8", 10), ("1+12", 13)):
        page.select_option("#layout-grid", grid)
        expect(page.locator(TILES)).to_have_count(count)
        assert cameras(page)[:2] == ["vil-1", "vil-2"], grid  # the cameras stay, in order
    page.select_option("#layout-grid", "1+7")
    large, small = tile(page, 0).bounding_box(), tile(page, 1).bounding_box()
    assert large and small and large["width"] > 2.5 * small["width"], "one large tile of 3×3 cells"
    page.select_option("#layout-grid", "2+8")
    first, second, third = (tile(page, i).bounding_box() for i in range(3))
    assert first and second and third
    assert abs(first["width"] - second["width"]) < 2 and first["width"] > 1.8 * third["width"], "two large tiles"
    page.select_option("#layout-grid", "1")
    expect(page.locator(TILES)).to_have_count(1)
    picture(page, f"{TILES}[data-camera='vil-1'] img")
    page.select_option("#layout-grid", "4")
    assert cameras(page) == ["vil-1", None, None, None]

    # keyboard: the empty tile's camera picker takes a name or an id
    picker = tile(page, 1).locator(".tile-picker")
    picker.fill("Gratte-Ciel")
    picker.press("Enter")
    expect(tile(page, 1)).to_have_attribute("data-camera", "vil-2")
    picture(page, f"{TILES}[data-index='1'] img")
    # dragging a tile onto another moves its camera there (the two swap)
    tile(page, 0).drag_to(tile(page, 3))
    expect(tile(page, 3)).to_have_attribute("data-camera", "vil-1")
    assert cameras(page) == [None, "vil-2", None, "vil-1"]
    # a camera dragged from the tree (its contract: dataTransfer "text/x-vigie-camera") drops into a tile
    page.evaluate(
        """() => { const source = document.createElement('span'); source.id = 'tree-camera'; source.draggable = true;
        source.textContent = 'Gratte-Ciel'; source.addEventListener('dragstart', e => {
          e.dataTransfer.setData('text/x-vigie-camera', 'vil-2'); e.dataTransfer.setData('text/plain', 'vil-2'); });
        document.getElementById('live-tree').append(source); }"""
    )
    page.locator("#tree-camera").drag_to(tile(page, 0))
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-2")
    # the tree opens a camera: into the selected tile ("n" selects the next tile), its default prevented
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("n")
    expect(tile(page, 0)).to_have_attribute("data-selected", "")
    prevented = page.evaluate(
        """() => !window.dispatchEvent(new CustomEvent('vigie:open-camera',
        { detail: { camera: 'vil-1' }, cancelable: true }))"""
    )
    assert prevented
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-1")
    page.keyboard.press("n")
    page.keyboard.press("Delete")  # the selected tile, focused, cleared
    expect(tile(page, 1)).not_to_have_attribute("data-camera", "vil-2")

    # full screen, and Escape leaves it
    tile(page, 0).locator(".tile-full").click()
    page.wait_for_function("() => document.fullscreenElement && document.fullscreenElement.dataset.index === '0'")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.fullscreenElement === null")

    # the alarm tile: an alarm's camera is shown there, outlined, and said
    tile(page, 1).locator(".tile-alarm").click()
    expect(tile(page, 1)).to_have_attribute("data-alarm-tile", "")
    page.evaluate(
        "() => window.dispatchEvent(new CustomEvent('vigie:alarm-camera', { detail: { camera: 'vil-2', alert: {} } }))"
    )
    expect(tile(page, 1)).to_have_attribute("data-camera", "vil-2")
    expect(tile(page, 1)).to_have_attribute("data-alarm", "")
    expect(page.locator("#updated")).to_have_text("Alarme : Gratte-Ciel affichée dans la tuile 2.")
    picture(page, f"{TILES}[data-index='1'] img")
    shot(page, "layouts")

    tile(page, 0).locator(".tile-open").click()  # the single view, as before
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-1")


def test_a_saved_layout_is_kept_and_shared_with_the_operators(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "sup.vil")
    page.select_option("#layout-grid", "1+5")
    tile(page, 0).locator(".tile-clear").click()
    picker = tile(page, 0).locator(".tile-picker")
    picker.fill("vil-2")
    picker.press("Enter")
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-2")
    page.fill("#layout-name", "Gare Part-Dieu")
    page.click("#layout-save")
    expect(page.locator("#layout-note")).to_have_text("Mosaïque « Gare Part-Dieu » enregistrée.")
    page.reload()
    expect(page.locator(TILES)).to_have_count(6)
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-2")
    expect(page.locator("#layout-saved option:checked")).to_have_text("Gare Part-Dieu")
    page.click("#layout-share")
    page.locator("#layout-share-dialog input[value='operator']").check()
    page.click("#layout-share-ok")
    expect(page.locator("#layout-note")).to_have_text("« Gare Part-Dieu » partagée avec : opérateurs.")

    other = logged_in(chromium, world, "op.vil")  # another person, another browser profile
    expect(other.locator(TILES)).to_have_count(4)
    other.select_option("#layout-saved", label="Gare Part-Dieu — sup.vil")
    expect(other.locator(TILES)).to_have_count(6)
    expect(tile(other, 0)).to_have_attribute("data-camera", "vil-2")
    picture(other, f"{TILES}[data-index='0'] img")
    shot(other, "layouts-shared")  # one large tile and five small ones
    expect(other.locator("#layout-share")).to_be_hidden()  # the supervisor's: an operator does not change it
    events = [(e.actor, e.action) for e in world.audit.events if str(e.target).startswith("layout:")]
    assert events == [("sup.vil", AuditAction.LAYOUT_SAVED), ("sup.vil", AuditAction.LAYOUT_SHARED)]


def test_a_tour_cycles_two_cameras_in_a_tile(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    tile(page, 2).locator(".tile-tour").click()
    page.select_option("#layout-tour-cameras", ["vil-1", "vil-2"])
    page.fill("#layout-tour-pace", "2")
    page.click("#layout-tour-ok")
    touring = tile(page, 2)
    expect(touring).to_have_attribute("data-camera", "vil-1")
    expect(touring).to_have_attribute("data-camera", "vil-2", timeout=10_000)
    picture(page, f"{TILES}[data-index='2'] img")
    expect(touring).to_have_attribute("data-camera", "vil-1", timeout=10_000)
    expect(touring.locator(".tile-name")).to_contain_text("ronde 1/2")
    touring.locator(".tile-pause").click()
    expect(touring).to_have_attribute("data-paused", "")
    expect(touring.locator(".tile-pause")).to_have_attribute("aria-pressed", "true")
    page.click("#layout-pause")
    expect(page.locator("#layout-pause")).to_have_text("Reprendre les rondes")

    # a whole layout pages through a list of cameras: here one tile, the two cameras in turn
    page.select_option("#layout-grid", "1")
    page.click("#layout-tour-all")
    page.select_option("#layout-tour-cameras", ["vil-2", "vil-1"])
    page.fill("#layout-tour-pace", "2")
    page.click("#layout-tour-ok")
    page.click("#layout-pause")  # the tours resume
    expect(page.locator("#layout-pause")).to_have_text("Suspendre les rondes")
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-1", timeout=10_000)
    expect(tile(page, 0)).to_have_attribute("data-camera", "vil-2", timeout=10_000)


def test_a_detached_window_stays_in_sync_with_the_main_one(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    with page.context.expect_page() as opened:
        page.click("#layout-window")
    screen = opened.value
    expect(screen).to_have_url(f"{chromium.server}/#/live?screen=2")
    expect(screen.locator("header")).to_be_hidden()  # a second monitor: tiles, no menu
    expect(screen.locator(f"{TILES}[data-camera]")).to_have_count(2)
    picture(screen, f"{TILES}[data-camera='vil-2'] img")
    listed = page.locator("#layout-screens li[data-screen='2'] .screen-cameras")
    expect(listed).to_have_text("Place Lazare-Goujon, Gratte-Ciel")
    # a change in the detached window shows in the main one
    tile(screen, 0).locator(".tile-clear").click()
    expect(listed).to_have_text("Gratte-Ciel")
    # and the main window sends its own layout there
    page.select_option("#layout-grid", "1")
    page.locator("#layout-screens li[data-screen='2'] .screen-send").click()
    expect(screen.locator(TILES)).to_have_count(1)
    expect(tile(screen, 0)).to_have_attribute("data-camera", "vil-1")
    expect(listed).to_have_text("Place Lazare-Goujon")
    with screen.expect_event("close"):
        page.locator("#layout-screens li[data-screen='2'] .screen-close").click()
    expect(page.locator("#layout-screens")).to_be_hidden()


def test_a_video_wall_output_follows_the_console(chromium: Browser, world: World) -> None:
    world.add("mur.salle1", [Role.OPERATOR])  # the wall controller's own account
    wall = logged_in(chromium, world, "mur.salle1")
    wall.goto("/#/wall-output/salle-1")
    expect(wall.locator("header")).to_be_hidden()
    expect(wall.locator("#wall-output .tile")).to_have_count(1)

    page = logged_in(chromium, world, "op.vil")
    page.fill("#layout-output", "salle-1")
    page.locator("#layout-output-follow").check()
    expect(page.locator("#layout-note")).to_have_text("Le mur vidéo « salle-1 » affiche cette mosaïque.")
    expect(wall.locator("#wall-output .tile")).to_have_count(4)
    expect(wall.locator("#wall-output .tile[data-camera]")).to_have_count(2)
    picture(wall, "#wall-output .tile[data-camera='vil-1'] img")
    picture(wall, "#wall-output .tile[data-camera='vil-2'] img")
    expect(wall.locator("#wall-output .tile-tools").first).to_be_hidden()
    shot(wall, "wall-output")
    page.select_option("#layout-grid", "9")  # the console changes: the wall follows
    expect(wall.locator("#wall-output .tile")).to_have_count(9)
    tile(page, 0).locator(".tile-clear").click()
    expect(wall.locator("#wall-output .tile[data-camera]")).to_have_count(1)
    expect(wall.locator("#wall-output .tile[data-index='1']")).to_have_attribute("data-camera", "vil-2")
    sets = [e for e in world.audit.events if e.action is AuditAction.WALL_OUTPUT_SET]
    assert sets and all(e.actor == "op.vil" and e.target == "wall_output:salle-1" for e in sets)
