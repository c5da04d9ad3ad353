"""The map's API (issue 24; docs/map.md): the city's basemap tiles from an MBTiles or a PMTiles file, served to
signed-in people only, the vector style, a damaged basemap said without stopping anything, and the site plans
(uploaded by an administrator for their commune, decoded and bounded, audited; read by whoever sees the commune)."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pmtiles.tile import TileType
from sqlalchemy import Engine

from tests.api.world import Clock, World, build_world
from tests.recording.export_samples import ListAuditSink
from tests.support.basemaps import raster_tile, write_mbtiles, write_pmtiles
from tests.support.configs import config_yaml
from vigie.config import check_command, load_config_text
from vigie.domain.audit import AuditAction
from vigie.runtime.assembly.map import check_map, open_map_service
from vigie.services.map import MapService

RED, BLUE = (200, 30, 30), (30, 30, 200)
CORNERS = "4.878,45.768,4.881,45.768,4.881,45.765,4.878,45.765"


def with_basemap(db: Engine, tmp_path: Path, basemap: Path) -> Callable[[ListAuditSink, Clock], MapService]:
    """The map as `vigie serve` builds it, from a configuration naming ``basemap``."""
    config = load_config_text(config_yaml(tmp_path, "") + f"map:\n  basemap: {basemap}\n")

    def build(audit: ListAuditSink, clock: Clock) -> MapService:
        return open_map_service(config, set(), db, audit, clock)

    return build


def colour_of(png: bytes, x: int = 200, y: int = 200) -> tuple[int, ...]:
    return tuple(Image.open(io.BytesIO(png)).convert("RGB").getpixel((x, y)))


def two_rows() -> dict[tuple[int, int, int], bytes]:
    """Zoom 1, column 0: the northern tile red, the southern one blue (XYZ numbering)."""
    return {(1, 0, 0): raster_tile(RED), (1, 0, 1): raster_tile(BLUE)}


@pytest.mark.parametrize("container", ["mbtiles", "pmtiles"])
def test_tiles_come_from_the_city_file_north_up_to_signed_in_people_only(
    db: Engine, tmp_path: Path, container: str
) -> None:
    path = tmp_path / f"city.{container}"
    if container == "mbtiles":
        write_mbtiles(path, two_rows())  # rows stored in TMS order: the route flips them back
    else:
        write_pmtiles(path, two_rows())
    world = build_world(db, map_view=with_basemap(db, tmp_path, path))
    assert world.client().get("/api/map/tiles/1/0/0").status_code == 401
    client = world.login("op.vil")
    north = client.get("/api/map/tiles/1/0/0")
    assert north.status_code == 200 and north.headers["content-type"] == "image/png"
    assert colour_of(north.content) == RED
    assert colour_of(client.get("/api/map/tiles/1/0/1").content) == BLUE
    assert "private" in north.headers["cache-control"]
    assert client.get("/api/map/tiles/1/1/1").status_code == 204  # none there: nothing drawn, no error
    assert client.get("/api/map/tiles/5/40/7").status_code == 204
    assert client.get("/api/map/tiles/1/2/0").status_code == 204  # past the zoom's 2 columns
    assert client.get("/api/map/tiles/25/0/0").status_code == 422
    view = client.get("/api/map").json()
    assert view["basemap"]["container"] == container and view["basemap"]["format"] == "png"
    assert view["basemap"]["vector"] is False and view["basemap"]["tiles"] == "/api/map/tiles/{z}/{x}/{y}"
    assert view["basemap_error"] is None


def test_a_vector_basemap_keeps_its_gzip_and_gets_a_style_pointing_at_this_server(db: Engine, tmp_path: Path) -> None:
    pbf = gzip.compress(b"\x1a\x00")  # the bytes as stored (compressed vector tile)
    path = write_pmtiles(tmp_path / "city.pmtiles", {(0, 0, 0): pbf}, TileType.MVT, gzip_tiles=True)
    client = build_world(db, map_view=with_basemap(db, tmp_path, path)).login("op.vil")
    raw = client.get("/api/map/tiles/0/0/0")
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/x-protobuf"
    assert raw.headers["content-encoding"] == "gzip" and raw.content == b"\x1a\x00"  # the client inflated it
    view = client.get("/api/map").json()
    assert view["basemap"]["vector"] is True and view["basemap"]["style"] == "/api/map/style.json"
    style = client.get("/api/map/style.json").json()
    assert style["sources"]["basemap"]["tiles"] == ["/api/map/tiles/{z}/{x}/{y}"]
    assert "glyphs" not in style and {"water", "roads"} <= {layer["id"] for layer in style["layers"]}
    # the zooms the file holds (past them the map enlarges the last), and the names drawn with the browser's fonts
    assert (style["sources"]["basemap"]["minzoom"], style["sources"]["basemap"]["maxzoom"]) == (0, 0)
    assert {"street-names", "place-names"} <= {layer["id"] for layer in style["layers"]}


def test_a_damaged_basemap_is_said_on_the_map_and_by_config_check_and_stops_nothing_else(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "city.mbtiles"
    path.write_bytes(b"this is not an SQLite database" * 50)
    world = build_world(db, map_view=with_basemap(db, tmp_path, path))
    client = world.login("op.vil")
    view = client.get("/api/map").json()
    assert view["basemap"] is None and "city.mbtiles" in view["basemap_error"]
    assert "MBTiles" in view["basemap_error"]
    refused = client.get("/api/map/tiles/0/0/0")
    assert refused.status_code == 503 and "city.mbtiles" in refused.json()["error"]["message"]
    assert client.get("/api/cameras").status_code == 200  # the rest of the console goes on

    config_file = tmp_path / "vigie.yaml"
    config_file.write_text(config_yaml(tmp_path, "") + f"map:\n  basemap: {path}\n")
    err = io.StringIO()
    assert check_command(config_file, stdout=io.StringIO(), stderr=err, checks=[check_map]) == 2
    assert "map.basemap" in err.getvalue() and "city.mbtiles" in err.getvalue()
    missing = tmp_path / "missing.yaml"
    missing.write_text(config_yaml(tmp_path, "") + f"map:\n  basemap: {tmp_path / 'nowhere.pmtiles'}\n")
    err = io.StringIO()
    assert check_command(missing, stdout=io.StringIO(), stderr=err, checks=[check_map]) == 2
    assert "nowhere.pmtiles: no such file" in err.getvalue()
    good = tmp_path / "good.yaml"
    good.write_text(
        config_yaml(tmp_path, "") + f"map:\n  basemap: {write_mbtiles(tmp_path / 'ok.mbtiles', two_rows())}\n"
    )
    assert check_command(good, stdout=io.StringIO(), stderr=io.StringIO(), checks=[check_map]) == 0


def test_without_a_basemap_the_map_still_lists_the_cameras(db: Engine) -> None:
    client = build_world(db).login("op.vil")
    view = client.get("/api/map").json()
    assert view["basemap"] is None and view["basemap_error"] is None
    assert {c["id"] for c in view["cameras"]} == {"vil-1"}  # the Villeurbanne camera with a location
    assert client.get("/api/map/tiles/0/0/0").status_code == 404
    assert client.get("/api/map/style.json").status_code == 404


def plan_png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 40, 160)).save(out, "PNG")
    return out.getvalue()


def upload(client: TestClient, body: bytes, **params: str) -> httpx.Response:
    query = {
        "commune_id": "villeurbanne",
        "site_id": "centre",
        "name": "Mairie, rez-de-chaussée",
        "corners": CORNERS,
    } | params
    return client.post("/api/map/plans", params=query, content=body)


def test_an_administrator_places_a_plan_that_the_commune_sees_and_the_audit_records(db: Engine) -> None:
    world: World = build_world(db)
    admin = world.login("admin.vil")
    image = plan_png()
    made = upload(admin, image)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["width"] == 64 and plan["height"] == 48 and plan["media_type"] == "image/png"
    assert plan["corners"][0] == [4.878, 45.768]
    uploaded = [e for e in world.audit.events if e.action is AuditAction.SITE_PLAN_UPLOADED]
    assert len(uploaded) == 1 and uploaded[0].actor == "admin.vil" and uploaded[0].details["site_id"] == "centre"
    assert uploaded[0].details["size"] == len(image)

    operator = world.login("op.vil")
    assert [p["id"] for p in operator.get("/api/map").json()["plans"]] == [plan["id"]]
    got = operator.get(plan["image"])
    assert got.status_code == 200 and got.content == image and got.headers["content-type"] == "image/png"
    other = world.login("op.bron")  # another commune's people do not see it
    assert other.get("/api/map").json()["plans"] == []
    assert other.get(plan["image"]).status_code == 404

    assert upload(operator, image).status_code == 403  # an operator places no plan
    assert world.login("admin.bron").delete(f"/api/map/plans/{plan['id']}").status_code == 404
    assert admin.delete(f"/api/map/plans/{plan['id']}").status_code == 204
    assert [e.action for e in world.audit.events if e.target == f"site_plan:{plan['id']}"] == [
        AuditAction.SITE_PLAN_UPLOADED,
        AuditAction.SITE_PLAN_REMOVED,
    ]
    assert operator.get("/api/map").json()["plans"] == []


def test_a_plan_that_is_no_image_too_big_or_misplaced_is_refused(db: Engine) -> None:
    world = build_world(db)
    admin = world.login("admin.vil")
    not_image = upload(admin, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert not_image.status_code == 422
    assert "PNG or JPEG" in not_image.json()["error"]["message"]
    truncated = upload(admin, plan_png()[:-40])
    assert truncated.status_code == 422
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    assert "GIF" in upload(admin, gif.getvalue()).json()["error"]["message"]
    too_big = upload(admin, b"\x89PNG" + bytes(8 * 1024 * 1024))
    assert too_big.status_code == 413
    assert "8388608 bytes" in too_big.json()["error"]["message"]
    wide = upload(admin, plan_png((9000, 10)))
    assert wide.status_code == 422 and "9000" in wide.json()["error"]["message"]
    assert upload(admin, plan_png(), corners="4.8,45.7,4.9").status_code == 422
    far = upload(admin, plan_png(), corners="45.7,4.8,45.7,4.9,45.8,4.9,245.8,4.8")
    assert "longitude -180..180" in far.json()["error"]["message"]
    assert upload(admin, plan_png(), site_id="parilly").status_code == 404
    assert upload(admin, plan_png(), commune_id="bron").status_code == 404
    assert not [e for e in world.audit.events if e.action is AuditAction.SITE_PLAN_UPLOADED]
