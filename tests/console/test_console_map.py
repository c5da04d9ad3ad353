"""The console's map in a real browser (issue 24): MapLibre GL draws the city's own basemap (a few raster tiles the
test paints and packs into an MBTiles or a PMTiles file, served by the authenticated tile route), a site plan an
administrator uploaded, the cameras' fields of view (a dome's turned by the pan it reports), an offline camera and a
camera with an alert waiting drawn apart; a click on a camera opens its popup, whose link shows it live; the camera
list beside the map works by keyboard. Without a basemap the plans and the cameras are still drawn.

Colours are checked on screenshots of the map's canvas, at the pixels where the test computes (Web Mercator, as the
map projects) that a tile, the plan, a field of view or a camera lies."""

from __future__ import annotations

import gzip
import io
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from pmtiles.tile import TileType
from sqlalchemy import Engine

from tests.api.live_world import live_service
from tests.api.world import CAMERAS, SITES, Clock, World, build_world
from tests.console.conftest import STATIC, Browser, RealClock, authorised, log_in, logged_in, shot, sync_api
from tests.recording.export_samples import ListAuditSink
from tests.support.basemaps import around, raster_tile, write_mbtiles, write_pmtiles
from tests.support.system_health import HealthParts
from tests.support.vector_tiles import vector_tile
from vigie.domain.camera import CameraHealth, CameraInfo, CameraKind, CameraLocation, HealthState
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.map import TILES_URL
from vigie.services.map import DomeLens, MapCamera, MapService, load_style
from vigie.storage.repositories import SqlCameraStatusRepo
from vigie.storage.site_plans import SqlSitePlans

LON, LAT, ZOOM = 4.8795, 45.7663, 18.0  # vil-1, Place Lazare-Goujon: the map opens centred on it
GROUND = (60, 140, 60)  # the basemap's tiles
STREET = {"name": "Rue Francis-de-Pressensé", "name:fr": "Rue Francis-de-Pressensé", "class": "primary"}
STREET_NORTH_M = 25.0
"""The vector basemap's one street runs east-west this far north of vil-1 (clear of every camera's drawing)."""
PLAN = (200, 40, 200)
M_PER_DEG = 111320.0


def _jpeg() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (64, 36), (40, 40, 40)).save(picture, "JPEG")
    return picture.getvalue()


JPEG = _jpeg()
"""What the page is given for the alarm pop-up's pictures (:func:`open_map`)."""


def east_north(metres_east: float, metres_north: float) -> tuple[float, float]:
    """``(lon, lat)`` this far from vil-1."""
    return (
        LON + metres_east / (M_PER_DEG * math.cos(math.radians(LAT))),
        LAT + metres_north / M_PER_DEG,
    )


VIL2 = east_north(-60, 45)  # offline
VIL3 = east_north(70, -40)  # an alert waits for a decision
PLAN_CORNERS = [east_north(-90, -20), east_north(-30, -20), east_north(-30, -70), east_north(-90, -70)]

MAP_CAMERAS = (
    CameraInfo(
        "vil-1",
        "Parvis mairie",
        "villeurbanne",
        "centre",
        CameraKind.PTZ,
        location=CameraLocation(LAT, LON, "Place Lazare-Goujon"),
    ),
    CameraInfo(
        "vil-2", "Gratte-Ciel", "villeurbanne", "centre", CameraKind.FIXED, location=CameraLocation(VIL2[1], VIL2[0])
    ),
    CameraInfo(
        "vil-3",
        "Rue Michel-Servet",
        "villeurbanne",
        "centre",
        CameraKind.FIXED,
        location=CameraLocation(VIL3[1], VIL3[0]),
    ),
    *[c for c in CAMERAS if c.commune_id != "villeurbanne"],
)


def pixel(lon: float, lat: float, size: tuple[int, int]) -> tuple[int, int]:
    """Where ``(lon, lat)`` lies on the canvas of ``size`` (CSS pixels) centred on vil-1 at ZOOM: Web Mercator with
    MapLibre's 512-pixel world at zoom 0."""
    world = 512 * 2**ZOOM

    def project(lo: float, la: float) -> tuple[float, float]:
        y = math.log(math.tan(math.pi / 4 + math.radians(la) / 2))
        return (lo + 180) / 360 * world, (1 - y / math.pi) / 2 * world

    x0, y0 = project(LON, LAT)
    x, y = project(lon, lat)
    at = round(size[0] / 2 + x - x0), round(size[1] / 2 + y - y0)
    assert 0 <= at[0] < size[0] and 0 <= at[1] < size[1], f"{at} is off the {size} canvas"
    return at


def hex_rgb(value: str) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def blend(top: tuple[int, ...], under: tuple[int, ...], opacity: float) -> tuple[int, ...]:
    return tuple(round(t * opacity + u * (1 - opacity)) for t, u in zip(top, under, strict=True))


def near(seen: tuple[int, ...], wanted: tuple[int, ...], tolerance: int = 14) -> bool:
    return all(abs(s - w) <= tolerance for s, w in zip(seen[:3], wanted, strict=True))


def plan_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 100), PLAN).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def basemap(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """The city's basemap: green tiles at zoom 16 around vil-1 (the map at 18 draws them enlarged)."""
    kind = getattr(request, "param", "mbtiles")
    tiles = around(LON, LAT, 16, raster_tile(GROUND), radius=2)
    if kind == "mbtiles":
        return write_mbtiles(tmp_path / "villeurbanne.mbtiles", tiles)
    if kind == "pmtiles":
        return write_pmtiles(tmp_path / "villeurbanne.pmtiles", tiles)
    if kind == "vector":  # a city's OpenMapTiles export: vector tiles up to zoom 14 only, gzip-compressed
        street = [east_north(-500, STREET_NORTH_M), east_north(500, STREET_NORTH_M)]
        layers = {"transportation": [(street, {"class": "primary"})], "transportation_name": [(street, STREET)]}
        tiles = {(z, x, y): gzip.compress(vector_tile(layers, z, x, y)) for z, x, y in around(LON, LAT, 14, b"", 1)}
        return write_pmtiles(tmp_path / "villeurbanne-vector.pmtiles", tiles, TileType.MVT, gzip_tiles=True)
    return None


@pytest.fixture
def world(db: Engine, health: HealthParts, tmp_path: Path, basemap: Path | None) -> World:
    """The console's world with three located Villeurbanne cameras (vil-1 the world's simulated dome), the map opened
    on vil-1 at zoom 18, with ``basemap`` (or none)."""
    from vigie.storage.basemap import open_basemap

    def map_view(audit: ListAuditSink, clock: Clock) -> MapService:
        opened = open_basemap(basemap) if basemap else None
        style = None
        if opened is not None and opened.info.vector:  # as `vigie serve` builds it (runtime/assembly/map.py)
            info = opened.info
            style = load_style(None, TILES_URL, (info.min_zoom, info.max_zoom), info.bounds)
        placed = [
            # vil-1 is a dome looking east at pan 0: the map turns its field of view with the pan it reports
            MapCamera("vil-1", "villeurbanne", LON, LAT, 90.0, 60.0, 40.0, DomeLens(360.0, 60.0, 3.0)),
            MapCamera("vil-2", "villeurbanne", *VIL2, 180.0, 60.0, 30.0),
            MapCamera("vil-3", "villeurbanne", *VIL3, 0.0, 50.0, 30.0),
        ]
        return MapService(
            placed,
            [(s.commune_id, s.id) for s in SITES],
            SqlSitePlans(db),
            audit,
            clock,
            basemap=opened,
            style=style,
            center=(LON, LAT),
            zoom=ZOOM,
        )

    ids = [c.id for c in MAP_CAMERAS]
    return build_world(
        db,
        static=STATIC,
        live=live_service,
        sql_audit=True,
        clock=RealClock(),
        authorisations=authorised(ids),
        system_health=health.factory(tmp_path, ids, db),
        cameras=MAP_CAMERAS,
        map_view=map_view,
    )


def states(world: World) -> None:
    repo, now = SqlCameraStatusRepo(world.engine), datetime.now(UTC)
    repo.record(CameraHealth("vil-1", HealthState.ONLINE, now, ""))
    repo.record(CameraHealth("vil-2", HealthState.OFFLINE, now, "camera vil-2: no answer"))
    repo.record(CameraHealth("vil-3", HealthState.ONLINE, now, ""))
    world.alerts.raise_alert(
        Observation(
            "vil-3", "intrusion", "intrusion", now - timedelta(seconds=5), (Box(0.2, 0.3, 0.3, 0.4),), 0.9, "m@1"
        )
    )


def upload_plan(world: World) -> None:
    admin = world.login("admin.vil")
    corners = ",".join(f"{v:.7f}" for corner in PLAN_CORNERS for v in corner)
    made = admin.post(
        "/api/map/plans",
        params={"commune_id": "villeurbanne", "site_id": "centre", "name": "Cour de la mairie", "corners": corners},
        content=plan_png(),
    )
    assert made.status_code == 201, made.text


def canvas_image(page: sync_api.Page) -> Image.Image:
    canvas = page.locator("#map-canvas canvas")
    return Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")


def drawn(page: sync_api.Page, check: Callable[[Image.Image], bool], tries: int = 40) -> Image.Image:
    """The canvas once ``check`` holds on it (tiles and the plan arrive over the network; MapLibre draws them as they
    come): ``tries`` screenshots at most, a quarter of a second apart."""
    image = canvas_image(page)
    for _ in range(tries):
        if check(image):
            return image
        page.wait_for_timeout(250)
        image = canvas_image(page)
    return image


def theme(page: sync_api.Page, name: str) -> tuple[int, int, int]:
    return hex_rgb(page.evaluate("n => getComputedStyle(document.documentElement).getPropertyValue(n)", name))


def open_map(chromium: Browser, world: World, username: str = "op.vil", alert_waiting: bool = False) -> sync_api.Page:
    if not alert_waiting:
        page = logged_in(chromium, world, username)
    else:
        # vil-3's alert pops up over the map (alarms.js) with the alert's image and vil-3 live: this world records
        # nothing and has no live source for vil-3, so the page is given a picture for both (the map is under test
        # here; the pop-up's own requests are in test_console_alarm_popup.py), then the operator puts it aside.
        page = chromium.page()
        page.route("**/api/alerts/*/snapshot.jpg*", lambda route: route.fulfill(content_type="image/jpeg", body=JPEG))
        page.route(
            "**/api/cameras/vil-3/live.mjpeg*", lambda route: route.fulfill(content_type="image/jpeg", body=JPEG)
        )
        log_in(page, username)
        page.locator("#who-name").wait_for()
    page.goto("/#/map")
    expect(page.locator("#map-canvas")).to_have_attribute("data-ready", "true", timeout=20_000)
    if alert_waiting:
        popup = page.locator("#alarm-popup")
        expect(popup).to_be_visible(timeout=15_000)
        expect(popup).to_be_focused()
        page.keyboard.press("Escape")
        expect(popup).to_be_hidden()
        expect(page.locator("#alarm-notice")).to_be_visible()
        # the page gave back the room it kept under the pop-up: the map is resized (MapLibre follows its box a frame
        # later), and pixels are computed from the canvas as it stands then
        canvas = page.locator("#map-canvas canvas")
        before = canvas.bounding_box()
        for _ in range(20):
            page.wait_for_timeout(250)
            now = canvas.bounding_box()
            if now == before:
                break
            before = now
    return page


def turns_south(page: sync_api.Page, world: World, wh: tuple[int, int], accent: tuple[int, int, int]) -> None:
    """An operator turns vil-1 (looking east at pan 0) to pan 0.5 (360° range: 90° more, south): its field of view on
    ``page``'s map follows the pan it reports. The dome turns over a few seconds and the map follows every 2 s: what
    is checked is where it ends (it passes through the directions between)."""
    moved = world.login("op.vil").post("/api/cameras/vil-1/ptz/move", json={"kind": "absolute", "vector": {"pan": 0.5}})
    assert moved.status_code == 200, moved.text
    east_at, south_at = pixel(*east_north(28, 0), wh), pixel(*east_north(0, -28), wh)
    turned = blend(accent, GROUND, 0.35)
    image = drawn(
        page, lambda i: near(i.getpixel(east_at), GROUND) and near(i.getpixel(south_at), turned, 18), tries=120
    )
    assert near(image.getpixel(east_at), GROUND), image.getpixel(east_at)
    assert near(image.getpixel(south_at), turned, 18), image.getpixel(south_at)


def test_the_basemap_plan_fields_of_view_and_states_are_drawn_and_a_camera_opens_live(
    chromium: Browser, world: World
) -> None:
    states(world)
    upload_plan(world)
    page = open_map(chromium, world, alert_waiting=True)
    size = page.locator("#map-canvas canvas").bounding_box()
    assert size is not None
    wh = (round(size["width"]), round(size["height"]))
    accent, ok, surface = theme(page, "--accent"), theme(page, "--ok"), theme(page, "--surface")
    danger = theme(page, "--danger")

    ground_at = pixel(*east_north(40, 50), wh)  # nothing but the basemap there (no camera looks there)
    plan_at = pixel(*east_north(-60, -45), wh)
    cone_at = pixel(*east_north(28, 0), wh)  # 28 m east of vil-1, inside its 40 m field of view
    behind_at = pixel(*east_north(-28, 0), wh)  # 28 m west: outside it
    image = drawn(
        page, lambda i: near(i.getpixel(ground_at), GROUND) and near(i.getpixel(plan_at), blend(PLAN, GROUND, 0.85))
    )
    assert near(image.getpixel(ground_at), GROUND), image.getpixel(ground_at)
    assert near(image.getpixel(plan_at), blend(PLAN, GROUND, 0.85)), image.getpixel(plan_at)
    assert near(image.getpixel(cone_at), blend(accent, GROUND, 0.35)), image.getpixel(cone_at)
    assert near(image.getpixel(behind_at), GROUND), image.getpixel(behind_at)
    # an online camera is a full dot; an offline one hollow (the theme's surface inside a red ring); the one whose
    # alert waits red
    assert near(image.getpixel(pixel(LON, LAT, wh)), ok), image.getpixel(pixel(LON, LAT, wh))
    assert near(image.getpixel(pixel(*VIL2, wh)), surface), image.getpixel(pixel(*VIL2, wh))
    assert near(image.getpixel(pixel(*VIL3, wh)), danger), image.getpixel(pixel(*VIL3, wh))
    items = page.locator("#map-list .map-camera")
    expect(items).to_have_count(3)  # Villeurbanne's cameras only
    expect(page.locator("#map-list [data-camera='vil-2']")).to_contain_text("hors ligne")
    expect(page.locator("#map-list [data-camera='vil-3']")).to_contain_text("alerte en attente")
    expect(page.locator("#map-plans")).to_contain_text("Cour de la mairie")
    shot(page, "map")

    turns_south(page, world, wh, accent)

    # a click on a camera: its popup, whose link shows it live
    box = page.locator("#map-canvas canvas").bounding_box()
    assert box is not None
    x, y = pixel(*VIL2, wh)
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".maplibregl-popup .map-popup")
    expect(popup).to_contain_text("Gratte-Ciel")
    expect(popup).to_contain_text("hors ligne")
    shot(page, "map-popup")
    popup.get_by_role("link", name="Voir en direct").click()
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-2")

    # by keyboard: the camera list beside the map centres the map on a camera and opens its popup
    page.goto("/#/map")
    expect(page.locator("#map-list [data-camera='vil-3']")).to_be_visible()
    page.locator("#map-list [data-camera='vil-3']").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".maplibregl-popup .map-popup")).to_contain_text("Rue Michel-Servet")
    image = drawn(page, lambda i: near(i.getpixel((wh[0] // 2, wh[1] // 2)), danger))
    assert near(image.getpixel((wh[0] // 2, wh[1] // 2)), danger)  # vil-3 now in the middle


@pytest.mark.parametrize("basemap", ["pmtiles", "none"], indirect=True)
def test_a_pmtiles_basemap_and_no_basemap_at_all(chromium: Browser, world: World, basemap: Path | None) -> None:
    states(world)
    upload_plan(world)
    page = open_map(chromium, world, alert_waiting=True)
    size = page.locator("#map-canvas canvas").bounding_box()
    assert size is not None
    wh = (round(size["width"]), round(size["height"]))
    under = GROUND if basemap else theme(page, "--surface-2")
    ground_at = pixel(*east_north(40, 50), wh)
    plan_at = pixel(*east_north(-60, -45), wh)
    cone_at = pixel(*east_north(28, 0), wh)
    accent = theme(page, "--accent")
    image = drawn(
        page, lambda i: near(i.getpixel(ground_at), under) and near(i.getpixel(plan_at), blend(PLAN, under, 0.85))
    )
    assert near(image.getpixel(ground_at), under), image.getpixel(ground_at)
    assert near(image.getpixel(plan_at), blend(PLAN, under, 0.85)), image.getpixel(plan_at)
    assert near(image.getpixel(cone_at), blend(accent, under, 0.35)), image.getpixel(cone_at)
    if basemap is None:
        expect(page.locator("#map-message")).to_contain_text("Aucun fond de carte")
        shot(page, "map-no-basemap")
        # a dark room: the theme switched, the map's plain background and fields of view follow it
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
        dark = theme(page, "--surface-2")
        assert dark != under
        image = drawn(page, lambda i: near(i.getpixel(ground_at), dark))
        assert near(image.getpixel(ground_at), dark), image.getpixel(ground_at)
        assert near(image.getpixel(cone_at), blend(theme(page, "--accent"), dark, 0.35)), image.getpixel(cone_at)


def test_an_administrator_places_a_plan_over_the_area_shown_and_removes_it(
    chromium: Browser, world: World, tmp_path: Path
) -> None:
    image = tmp_path / "cour.png"
    image.write_bytes(plan_png())
    page = open_map(chromium, world, "admin.vil")
    size = page.locator("#map-canvas canvas").bounding_box()
    assert size is not None
    wh = (round(size["width"]), round(size["height"]))
    spot = pixel(*east_north(40, 50), wh)  # basemap only, before
    assert near(drawn(page, lambda i: near(i.getpixel(spot), GROUND)).getpixel(spot), GROUND)
    expect(page.locator("#map-plan-site option")).to_have_count(1)
    page.fill("#map-plan-name", "Cour de la mairie")
    page.set_input_files("#map-plan-file", str(image))
    page.get_by_role("button", name="Placer sur la zone affichée").click()
    expect(page.locator("#map-plans li")).to_contain_text("Cour de la mairie")
    placed = drawn(page, lambda i: near(i.getpixel(spot), blend(PLAN, GROUND, 0.85)))
    assert near(placed.getpixel(spot), blend(PLAN, GROUND, 0.85)), placed.getpixel(spot)
    uploaded = [e for e in world.audit.events if str(e.action) == "site_plan.uploaded"]
    assert len(uploaded) == 1 and uploaded[0].actor == "admin.vil"
    west, north = uploaded[0].details["corners"][0]
    assert west < east_north(-100, 0)[0] and north > east_north(0, 60)[1]  # the area the map showed
    page.get_by_role("button", name="Retirer le plan Cour de la mairie").click()
    expect(page.locator("#map-plans li")).to_have_count(0)
    image_after = drawn(page, lambda i: near(i.getpixel(spot), GROUND))
    assert near(image_after.getpixel(spot), GROUND), image_after.getpixel(spot)
    assert [str(e.action) for e in world.audit.events if str(e.action).startswith("site_plan.")] == [
        "site_plan.uploaded",
        "site_plan.removed",
    ]


def test_the_map_says_how_to_install_its_library_when_npm_was_not_run(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    page.route("**/static/vendor/maplibre-gl/**", lambda route: route.fulfill(status=404, body="not found"))
    page.goto("/#/map")
    expect(page.locator("#map-canvas .map-missing")).to_contain_text("npm ci --prefix src/vigie/web")
    expect(page.locator("#map-list .map-camera")).to_have_count(3)  # the list still works
    chromium.errors.clear()  # the 404s asked for
    page.click("[data-view-link='cameras']")
    expect(page.locator("#cameras tbody tr")).to_have_count(3)


@pytest.mark.parametrize("basemap", ["vector"], indirect=True)
def test_a_vector_basemap_is_drawn_at_street_level_with_the_streets_names(
    chromium: Browser, world: World, basemap: Path | None
) -> None:
    # The city's export stops at zoom 14 and the map opens at 18: the street is drawn from the zoom-14 tiles, and
    # its name is written along it with the browser's own fonts (no glyph file is fetched from anywhere).
    page = open_map(chromium, world)
    size = page.locator("#map-canvas canvas").bounding_box()
    assert size is not None
    wh = (round(size["width"]), round(size["height"]))
    _, street_y = pixel(LON, LAT + STREET_NORTH_M / M_PER_DEG, wh)
    road = (255, 255, 255)  # the built-in style's roads
    land = (0xEF, 0xEC, 0xE6)  # and its background

    def street(image: Image.Image) -> bool:  # drawn across the map (under the labels and the cameras' drawings)
        return sum(1 for x in range(wh[0]) if near(image.getpixel((x, street_y)), road)) >= 0.3 * wh[0]

    def written(image: Image.Image) -> bool:  # the street's name: dark letters on it, where nothing else is dark
        band = [image.getpixel((x, y)) for x in range(10, wh[0] - 10) for y in range(street_y - 12, street_y + 13)]
        return sum(1 for p in band if max(p) < 110) >= 40

    image = drawn(page, lambda i: street(i) and written(i), tries=60)
    shot(page, "map-vector")
    assert street(image), "the street is not drawn at zoom 18 from the basemap's zoom-14 tiles"
    assert near(image.getpixel(pixel(*east_north(40, STREET_NORTH_M + 20), wh)), land)  # beside it, the land
    assert written(image), "the street's name is not written along it"


def test_a_person_who_does_not_drive_domes_sees_where_a_dome_looks(chromium: Browser, world: World) -> None:
    # An investigator sees the cameras but drives no dome (no control_ptz): the map turns the dome's field of view
    # all the same (GET /api/cameras/ptz/directions), as an operator turns it.
    SqlCameraStatusRepo(world.engine).record(CameraHealth("vil-1", HealthState.ONLINE, datetime.now(UTC), ""))
    page = open_map(chromium, world, "inv.vil")
    size = page.locator("#map-canvas canvas").bounding_box()
    assert size is not None
    wh = (round(size["width"]), round(size["height"]))
    accent = theme(page, "--accent")
    east_at = pixel(*east_north(28, 0), wh)
    image = drawn(page, lambda i: near(i.getpixel(east_at), blend(accent, GROUND, 0.35)))
    assert near(image.getpixel(east_at), blend(accent, GROUND, 0.35)), image.getpixel(east_at)  # at pan 0: east
    turns_south(page, world, wh, accent)
