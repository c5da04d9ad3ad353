"""Finding a camera among the métropole's 4,891 in a real browser (issue 24): the tree of communes and sites, the
search by name, address, tag or id (accents and case ignored), the state of each camera at a glance, the keyboard,
and the operator's favourites and groups kept by the server across a reload."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.live_world import OPEN
from tests.api.world import Clock, World
from tests.console.conftest import STATIC, Browser, RealClock, logged_in, shot, sync_api
from tests.recording.export_samples import ListAuditSink
from tests.support.live_camera import Camera
from tests.support.metropole import OPERATOR, TOTAL, WorldParts, metropole_config, metropole_world, world_parts
from tests.support.system_health import HealthParts
from vigie.domain.camera import CameraInfo
from vigie.domain.clock import legal_day
from vigie.domain.ports import LiveQuality
from vigie.ingest.live import LiveHub, LiveSpec
from vigie.services.live import LiveService

expect = sync_api.expect


@pytest.fixture(scope="module")
def parts() -> WorldParts:
    return world_parts(metropole_config(legal_day(RealClock())))


def _live(cameras: tuple[CameraInfo, ...]) -> object:
    def live(audit: ListAuditSink, clock: Clock) -> LiveService:
        # synthetic pictures for whichever camera is shown (a source starts only when watched), slowly: 5 a second
        qualities: tuple[LiveQuality, ...] = ("wall", "full")
        specs = {(c.id, q): LiveSpec(c.id, f"rtsp://cam/{c.id}", idle_s=0.2) for c in cameras for q in qualities}
        service = LiveService(LiveHub(specs, Camera(period=0.2)), audit, clock)
        OPEN.append(service)
        return service

    return live


@pytest.fixture
def world(db: Engine, health: HealthParts, tmp_path: Path, parts: WorldParts) -> Iterator[World]:
    yield metropole_world(
        db,
        parts,
        static=STATIC,
        clock=RealClock(),
        sql_audit=True,
        live=_live(parts.cameras),
        system_health=health.factory(tmp_path, [c.id for c in parts.cameras], db),
    )


def folded(text: str) -> str:
    plain = unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def expected(parts: WorldParts, query: str) -> list[CameraInfo]:
    """The cameras where every word of ``query`` starts a word of their name, address, tags, id, site or commune."""
    sites = {(s.commune_id, s.id): s.name for s in parts.sites._sites}
    communes = {c.id: c.name for c in parts.communes}
    words = folded(query).split()
    out = []
    for c in parts.cameras:
        address = c.location.address if c.location and c.location.address else ""
        text = folded(
            " ".join((c.id, c.name, address, *c.tags, sites[c.commune_id, c.site_id], communes[c.commune_id]))
        )
        if all(f" {w}" in f" {text} " for w in words):
            out.append(c)
    return out


def search(page: sync_api.Page, query: str) -> None:
    box = page.locator("#tree-search")
    box.fill("")
    box.press_sequentially(query)


def test_the_tree_finds_a_camera_among_the_metropoles(chromium: Browser, world: World, parts: WorldParts) -> None:
    page = logged_in(chromium, world, OPERATOR)
    tree = page.locator("#live-tree")
    expect(tree.locator("#tree-count")).to_have_text(f"{TOTAL} caméras", timeout=20_000)
    rows = tree.locator("[role=treeitem]")
    expect(rows.filter(has_text="Ville de Villeurbanne")).to_have_count(1)
    expect(rows.filter(has_text="Réseau de transports de la Métropole")).to_have_count(1)
    expect(rows.filter(has_text="Ville de Givors")).to_have_count(1)

    # commune → site → camera, by the pointer; the camera whose authorisation expired says so
    rows.filter(has_text="Ville de Villeurbanne").click()
    expect(rows.filter(has_text=re.compile(r"^▸Hôtel de Ville"))).to_have_count(1)
    rows.filter(has_text=re.compile(r"^▸Hôtel de Ville")).click()
    expired = tree.locator('[role=treeitem][data-camera="villeurbanne-hotel-de-ville-1"]')
    expect(expired).to_contain_text("Hôtel de Ville — parvis")
    expect(expired.locator(".badge-unauthorised")).to_have_text("autorisation expirée")
    expect(expired.locator(".badge-recording")).to_have_count(0)  # not recorded without an authorisation (L1)
    recorded = tree.locator('[role=treeitem][data-camera="villeurbanne-hotel-de-ville-2"]')
    expect(recorded.locator(".badge-recording")).to_be_visible()

    # search as one types: accents and case ignored, by name (and commune), address, tag, id
    query = "hotel de ville VILLEURBANNE"
    search(page, query)
    found = expected(parts, query)
    assert len(found) >= 6  # its street cameras, and the stations so named
    expect(tree.locator("#tree-count")).to_have_text(f"{len(found)} caméras trouvées")
    expect(rows.first).to_contain_text("Hôtel de Ville")  # the cameras named so first
    expect(rows.first).to_have_attribute("data-camera", re.compile("|".join(re.escape(c.id) for c in found)))
    for query in ("rue jules ferry", "ecole", "tram ligne t4", "givors gare"):
        search(page, query)
        expect(tree.locator("#tree-count")).to_have_text(f"{len(expected(parts, query))} caméras trouvées")
    search(page, "villeurbanne-gare-1")
    offline = tree.locator('[role=treeitem][data-camera="villeurbanne-gare-1"]')
    expect(offline.locator(".badge-offline")).to_contain_text("hors ligne")
    expect(offline.locator(".tree-dot")).to_have_class(re.compile("dot-offline"))
    search(page, "zzz-aucune")
    expect(tree.locator("#tree-count")).to_have_text("Aucune caméra ne correspond")

    # by keyboard: the search, ↓ into the results, Enter puts the camera in the layout's selected tile
    search(page, "TC-0042")
    expect(rows).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(page.locator("#tree-list")).to_be_focused()
    page.keyboard.press("Enter")
    camera = next(c for c in parts.cameras if c.id == "tc-0042")
    placed = page.locator('#wall .tile[data-camera="tc-0042"]')
    expect(placed).to_have_count(1)
    expect(placed.locator(".tile-name")).to_have_text(camera.name)
    shot(page, "tree-search")


def test_favourites_and_groups_survive_a_reload(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, OPERATOR)
    tree = page.locator("#live-tree")
    rows = tree.locator("[role=treeitem]")
    expect(tree.locator("#tree-count")).to_contain_text("caméras", timeout=20_000)

    search(page, "tc-0100")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("f")  # star it
    expect(tree.locator('[data-camera="tc-0100"] .tree-star')).to_have_attribute("aria-pressed", "true")
    tree.locator("#tree-group-name").fill("Rondes de nuit")
    tree.locator("#tree-new-group").click()  # a group, with the camera chosen in it
    expect(tree.locator("#tree-group-name")).to_have_value("")  # made (the status line says so a moment)
    search(page, "villeurbanne-gare-2")
    rows.first.click()
    tree.locator("#tree-group-choice").select_option(label="Rondes de nuit")
    tree.locator("#tree-add-to-group").click()
    expect(tree.locator("#tree-add-to-group")).to_be_hidden()  # in the only group now

    page.reload()  # the server keeps them: the same on any workstation
    expect(tree.locator("#tree-count")).to_contain_text("caméras", timeout=20_000)
    favourites = rows.filter(has_text="Favoris")
    expect(favourites).to_have_attribute("aria-expanded", "true")
    expect(tree.locator('[role=treeitem][aria-level="2"][data-camera="tc-0100"]').first).to_be_visible()
    group = rows.filter(has_text="Rondes de nuit")
    expect(group).to_have_attribute("aria-expanded", "false")
    group.click()
    expect(group).to_have_attribute("aria-expanded", "true")
    expect(tree.locator('[data-key^="g:"][data-camera]')).to_have_count(2)

    # the keyboard through the tree: Home, ↓, → unfolds, Enter opens
    tree.locator("#tree-list").focus()
    page.keyboard.press("Home")
    expect(tree.locator("#tree-list")).to_have_attribute("aria-activedescendant", "tree-row-0")
    page.keyboard.press("ArrowDown")  # tc-0100, in the favourites
    page.keyboard.press("Enter")
    expect(page.locator('#wall .tile[data-camera="tc-0100"]')).to_have_count(1)  # into the selected tile
    shot(page, "tree")
    # the tile's "open" link shows its camera alone (the single view, with a dome's controls)
    page.locator('#wall .tile[data-camera="tc-0100"] .tile-open').click()
    expect(page).to_have_url(re.compile(r"#/live/tc-0100$"))


def test_the_generated_authorisations_follow_the_day_given() -> None:
    """The configuration's authorisations are dated from the day given, whatever the day the tests run."""
    for day in (date(2026, 1, 31), date(2031, 7, 14)):
        config = metropole_config(day)
        cameras = {p.camera.id: p.camera for p in config.placements()}
        assert len(cameras) == TOTAL
        assert cameras["villeurbanne-hotel-de-ville-1"].authorisation.valid_until < day
        assert cameras["villeurbanne-hotel-de-ville-2"].authorisation.valid_until > day
