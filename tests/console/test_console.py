"""The console as its users work with it, in a real browser: an operator logs in, watches the wall and one camera
live, receives an alert without reloading and confirms it, plays a recording back; an investigator exports
footage for a requisition, downloads the signed package and has it verified; a supervisor requests an activation,
a DPO and a mayor approve it, the banner counts it, a DPO stops everything; a DPO verifies the audit chain; the
public reads the information page without logging in."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from tests.api.world import World
from tests.console.conftest import RECORDED_S, Browser, log_in, logged_in, shot, sync_api
from vigie.domain.alerts import AlertState
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.storage import SqlAlertRepo

expect = sync_api.expect


def raise_alert(world: World, camera: str, recorded_until: datetime, seconds_before: float = 10) -> int:
    """An alert on ``camera`` ``seconds_before`` the end of what the world recorded (so its image exists)."""
    at = recorded_until - timedelta(seconds=seconds_before)
    alert = world.alerts.raise_alert(
        Observation(camera, "intrusion", "intrusion", at, (Box(0.2, 0.3, 0.3, 0.4),), 0.91, "m@1")
    )
    assert alert.id is not None
    return alert.id


def image_loaded(page: sync_api.Page, selector: str) -> None:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete !== undefined && i.naturalWidth > 0 }",
        arg=selector,
        timeout=10_000,
    )


def test_login_refused_then_the_wall_and_one_camera_live(chromium: Browser, world: World) -> None:
    page = chromium.page()
    log_in(page, "wrong.user", "not a password at all")
    expect(page.locator("#login-error")).to_have_text("identifiant ou mot de passe incorrect")
    expect(page.locator("[data-i18n='login.title']")).to_have_text("Connexion")  # a French browser: French
    shot(page, "01-login-refused")

    sockets: list[str] = []
    streams: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("request", lambda request: streams.append(request.url) if "live.mjpeg" in request.url else None)
    log_in(page, "op.vil")
    expect(page.locator("#who-name")).to_contain_text("operator")
    tiles = page.locator("#wall .tile[data-camera]")
    expect(tiles).to_have_count(2)  # Villeurbanne's two cameras, not Bron's nor the state's
    expect(page.locator("#wall")).not_to_contain_text("Parilly")
    image_loaded(page, "#wall .tile[data-camera='vil-1'] img")
    image_loaded(page, "#wall .tile[data-camera='vil-2'] img")
    expect(page.locator("nav [data-view-link='exports']")).to_be_hidden()  # operators do not export
    expect(page.locator("nav [data-view-link='audit']")).to_be_hidden()
    shot(page, "02-live-wall")
    # Every tile on one WebSocket, none on an HTTP connection of its own (a browser holds six per server).
    assert [url.split("/", 3)[3] for url in sockets] == ["api/live/wall"] and streams == []

    tiles.first.locator(".tile-open").click()
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-1")
    image_loaded(page, "#single-video")
    first = page.evaluate("document.querySelector('#single-video').naturalWidth")
    assert first > 0
    # The picture is live: the privacy mask (left half) is black, the rest is the camera's white frame.
    pixels = page.evaluate(
        """() => { const i = document.querySelector('#single-video'); const c = document.createElement('canvas');
        c.width = i.naturalWidth; c.height = i.naturalHeight; const x = c.getContext('2d'); x.drawImage(i, 0, 0);
        const d = x.getImageData(0, 0, c.width, c.height).data; const w = c.width, h = c.height;
        const at = (px, py) => d[(py * w + px) * 4];
        return [at(Math.floor(w * 0.2), Math.floor(h / 2)), at(Math.floor(w * 0.8), Math.floor(h / 2))]; }"""
    )
    assert pixels[0] < 30 and pixels[1] > 220, pixels
    shot(page, "03-live-single")

    page.goto("/#/map")  # Villeurbanne's located camera, not Bron's (the map itself: test_console_map.py)
    expect(page.locator("#map-list [data-camera='vil-1']")).to_have_count(1)
    expect(page.locator("#map-list [data-camera='bron-1']")).to_have_count(0)
    expect(page.locator("#map-canvas")).to_have_attribute("data-ready", "true", timeout=20_000)  # MapLibre loaded
    shot(page, "03b-map")
    page.locator("#map-list [data-camera='vil-1']").click()
    page.locator(".maplibregl-popup .map-popup a").click()
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-1")
    page.goto("/#/cameras")
    expect(page.locator("#cameras tbody tr")).to_have_count(2)
    shot(page, "03c-cameras")

    page.select_option("#lang", "en")
    expect(page.locator("nav [data-view-link='live']")).to_have_text("Live")
    expect(page.locator("#logout")).to_have_text("Log out")
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    views = [e for e in world.audit.events if e.actor == "op.vil" and str(e.action) == "video.live_viewed"]
    assert {e.target for e in views} >= {"vil-1", "vil-2"}


def test_an_alert_arrives_without_reload_and_is_confirmed(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    raise_alert(world, "bron-1", recorded_until)  # Bron's: never shown to Villeurbanne
    page = logged_in(chromium, world, "op.vil")
    page.goto("/#/alerts")
    expect(page.locator("#alerts tbody tr")).to_have_count(0)
    alert_id = raise_alert(world, "vil-1", recorded_until)  # raised while the page is open
    row = page.locator(f"#alerts tbody tr[data-alert='{alert_id}']")
    expect(row).to_be_visible(timeout=10_000)  # pushed by the live feed (or the periodic refresh)
    expect(page.locator("#feed-state")).to_have_text("Flux en direct connecté")
    image_loaded(page, f"#alerts tr[data-alert='{alert_id}'] .snapshot img")  # the recorded frame of that moment
    shot(page, "04-alert-pending")
    second = raise_alert(world, "vil-1", recorded_until, seconds_before=20)  # the table is drawn again for it
    image_loaded(page, f"#alerts tr[data-alert='{second}'] .snapshot img")
    # the first alert's image is not fetched (and audited as a playback) again
    stills = [e for e in world.audit.events if str(e.action) == "video.playback" and e.details.get("alert") == alert_id]
    assert len(stills) == 1, stills

    row.locator("button[data-action=confirm]").click()
    expect(page.locator(f"#alerts tbody tr[data-alert='{alert_id}']")).to_have_count(0)
    decided = page.locator(f"#decided tbody tr[data-alert='{alert_id}']")
    expect(decided).to_contain_text("confirmée")
    expect(decided).to_contain_text("op.vil")
    shot(page, "05-alert-confirmed")
    stored = SqlAlertRepo(world.engine).get(alert_id)
    assert stored is not None and stored.state is AlertState.CONFIRMED and stored.decided_by == "op.vil"


def test_a_dpo_reads_alerts_but_cannot_decide_or_watch(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    raise_alert(world, "vil-1", recorded_until)
    page = chromium.page()
    log_in(page, "dpo.vil")
    expect(page.locator("#login-error")).to_contain_text("code à 6 chiffres")
    page.close()
    page = logged_in(chromium, world, "dpo.vil")
    expect(page.locator("nav [data-view-link='live']")).to_be_hidden()
    page.goto("/#/alerts")
    expect(page.locator("#alerts tbody tr")).to_have_count(1)
    expect(page.locator("#alerts button")).to_have_count(0)
    expect(page.locator("#alerts .snapshot")).to_have_count(0)  # no video for a DPO, not even a still


def test_playback_from_the_timeline(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    page.goto("/#/playback/vil-1")
    spans = page.locator("#timeline .span")
    expect(page.locator("#playback-error")).to_have_text("")
    expect(spans).to_have_count(1)  # the last RECORDED_S seconds, merged into one span
    expect(page.locator("#timeline-note")).to_contain_text("1 plage")
    spans.first.click()
    video = page.locator("#playback-video")
    expect(video).to_be_visible()
    src = video.get_attribute("src") or ""
    assert src.startswith("/api/cameras/vil-1/playback.m3u8?")
    page.wait_for_function(
        "() => { const v = document.querySelector('#playback-video'); return v.readyState >= 2 || v.error; }",
        timeout=15_000,
    )
    state = page.evaluate(
        "() => { const v = document.querySelector('#playback-video'); "
        "return {ready: v.readyState, error: v.error && v.error.message, width: v.videoWidth}; }"
    )
    assert state["error"] is None and state["width"] > 0, state
    shot(page, "06-playback")
    assert any(e.actor == "op.vil" and str(e.action) == "video.playback" for e in world.audit.events)


def test_an_investigator_exports_downloads_and_verifies(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    page = logged_in(chromium, world, "inv.vil")
    expect(page.locator("nav [data-view-link='live']")).to_be_hidden()  # investigators do not watch live
    page.goto("/#/exports")
    now = recorded_until.astimezone(LEGAL_TIME_ZONE)  # the form takes Paris time, whatever the browser's zone
    page.select_option("#export-camera", "vil-1")
    page.fill("#export-start", (now - timedelta(seconds=RECORDED_S - 5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#export-end", (now - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("#export-form button[type=submit]")
    expect(page.locator("#export-error")).to_have_text("")  # fields left blank are refused by the browser itself
    page.fill("#export-reason", "vol à l'arraché, place Lazare-Goujon")
    page.fill("#export-requisition", "PV 2026/1234 — OPJ Martin")
    # A copy blurred for a third party is asked as such — and refused at once, in the API's words, by a server
    # with no redaction model (docs/export.md); nothing is queued.
    page.check("#export-redacted")
    with page.expect_request(lambda r: r.url.endswith("/api/exports") and r.method == "POST") as asked:
        page.click("#export-form button[type=submit]")
    assert asked.value.post_data_json["redacted"] is True
    expect(page.locator("#export-error")).to_contain_text("no redacted export")
    expect(page.locator("#exports tbody tr")).to_have_count(0)
    chromium.errors[:] = [e for e in chromium.errors if "422" not in e]
    page.uncheck("#export-redacted")
    page.click("#export-form button[type=submit]")
    row = page.locator("#exports tbody tr").first
    expect(row).to_have_attribute("data-state", "done", timeout=30_000)
    expect(row.locator("progress")).to_have_attribute("value", "1")
    expect(row).to_have_attribute("data-redacted", "false")
    shot(page, "07-export-done")

    with page.expect_download() as download:
        row.locator("a.download").click()
    path = download.value.path()
    with zipfile.ZipFile(Path(path)) as package:
        names = package.namelist()
    assert any(name.endswith("manifest.json") for name in names), names
    assert any(name.endswith(".ts") or name.endswith(".mp4") for name in names), names

    row.locator(".verification button").click()
    expect(row.locator(".verification")).to_contain_text("signature et fichiers vérifiés")
    shot(page, "08-export-verified")
    exports = [e for e in world.audit.events if e.actor == "inv.vil" and str(e.action) == "video.export"]
    assert exports and exports[0].details["requisition_ref"] == "PV 2026/1234 — OPJ Martin"

    # handed to the prosecutor today (the form's default day): recorded, shown, in the register (L5)
    row.locator(".transmission button").click()
    expect(row.locator(".transmission")).to_contain_text("transmis le")
    shot(page, "08-export-transmitted")
    transmitted = [
        e for e in world.audit.events if str(e.action) == "video.export" and e.details["outcome"] == "transmitted"
    ]
    assert [(e.actor, e.details["requisition_ref"]) for e in transmitted] == [("inv.vil", "PV 2026/1234 — OPJ Martin")]
    assert transmitted[0].details["recordings"] >= 1


def test_an_activation_requested_approved_twice_counted_and_stopped(chromium: Browser, world: World) -> None:
    supervisor = logged_in(chromium, world, "sup.vil")
    supervisor.goto("/#/governance")
    expect(supervisor.locator("#banner")).to_have_text("Aucun module d'analyse n'est actif.")
    expect(supervisor.locator("#catalogue tbody tr").first).to_be_visible()
    # A framework with no statutory end: this test runs in real time, on any day (the JO law's ends in 2027).
    supervisor.select_option("#act-module", "line_count")
    supervisor.select_option("#act-cameras", ["vil-1"])
    supervisor.select_option("#act-framework", "cnil-statistiques-anonymes")
    supervisor.fill("#act-decision", "2026-PREF-0042")
    supervisor.fill("#act-decision-date", (datetime.now(UTC).date() - timedelta(days=10)).isoformat())
    supervisor.fill("#act-dpia", "AIPD-2026-07")
    supervisor.fill("#act-purpose", "marché de Noël")
    supervisor.click("#activation-form button[type=submit]")
    row = supervisor.locator("#activations tbody tr").first
    expect(row).to_have_attribute("data-state", "requested")
    expect(row.locator("button[data-action=approve]")).to_have_count(0)  # a supervisor requests, never approves
    shot(supervisor, "09-activation-requested")

    dpo = logged_in(chromium, world, "dpo.vil")  # a code is accepted once: the DPO keeps this page
    dpo.goto("/#/governance")
    dpo.locator("#activations tbody tr").first.locator("button[data-action=approve]").click()
    expect(dpo.locator("#activations tbody tr").first.locator("td").nth(5)).to_contain_text("dpo.vil")
    mayor = logged_in(chromium, world, "maire.vil")
    mayor.goto("/#/governance")
    mayor.locator("#activations tbody tr").first.locator("button[data-action=approve]").click()
    expect(mayor.locator("#activations tbody tr").first).to_have_attribute("data-state", "active")
    expect(mayor.locator("#banner")).to_have_attribute("data-active", "1")
    expect(mayor.locator("#banner")).to_contain_text("1 module(s) d'analyse actif(s)")
    shot(mayor, "10-activation-active")

    bron = logged_in(chromium, world, "op.bron")
    bron.goto("/#/governance")
    expect(bron.locator("#activations tbody tr")).to_have_count(0)  # another commune's activation
    expect(bron.locator("#banner")).to_have_attribute("data-active", "0")

    dpo.reload()
    dpo.on("dialog", lambda dialog: dialog.accept("incident en cours"))
    dpo.click("#stop-engage")
    expect(dpo.locator("#banner")).to_have_text("Arrêt d'urgence engagé : toutes les analyses sont arrêtées")
    shot(dpo, "11-stop-engaged")
    dpo.click("#stop-release")
    expect(dpo.locator("#banner")).to_contain_text("1 module(s) d'analyse actif(s)")
    supervisor.reload()
    expect(supervisor.locator("#stop-engage")).to_have_count(0)  # the global switch is the DPO's and the mayor's


def test_a_dpo_reads_and_verifies_the_audit_chain(chromium: Browser, world: World, recorded_until: datetime) -> None:
    raise_alert(world, "vil-1", recorded_until)
    page = logged_in(chromium, world, "dpo.vil")
    page.goto("/#/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    expect(page.locator("#audit")).to_contain_text("login.succeeded")
    page.click("#audit-verify")
    expect(page.locator("#audit-status")).to_contain_text("chaîne intacte")
    shot(page, "12-audit-verified")

    with world.engine.begin() as connection:  # someone edits the log behind the platform's back
        connection.execute(text("UPDATE audit_entries SET actor = 'nobody' WHERE seq = 2"))
    page.click("#audit-verify")
    expect(page.locator("#audit-status")).to_contain_text("ROMPUE")
    shot(page, "13-audit-broken")


def test_the_public_page_without_login(chromium: Browser, world: World) -> None:
    page = chromium.page()
    page.goto("/public")
    expect(page.locator("#public-cameras tbody tr")).to_have_count(4)
    # an expired prefectoral authorisation is shown as such (L1), the others as in force
    expect(page.locator("#public-cameras tr[data-camera='pn-1']")).to_contain_text("EXPIRÉE")
    expect(page.locator("#public-cameras tr[data-camera='pn-1']")).to_have_class("unauthorised")
    expect(page.locator("#public-cameras tr[data-camera='vil-1']")).to_contain_text("en vigueur")
    expect(page.locator("#analysis-state")).to_contain_text("Aucun traitement algorithmique en service")
    expect(page.locator("#audit-head-seq")).to_have_text(re.compile(r"^\d+$"))  # the audit chain's signed head
    assert world.audit_chain is not None
    head = world.audit_chain.latest_head()  # the page asked for it: signed and published then
    assert head is not None
    expect(page.locator("#audit-head-seq")).to_have_text(str(head["seq"]))
    expect(page.locator("#audit-head-hash")).to_have_text(head["hash"])
    expect(page.locator("#audit-head-key")).to_have_text(head["key_id"])
    shot(page, "14-public")
    assert page.context.cookies() == [], "the page needs no session and sets no cookie"


def test_an_administrator_manages_the_communes_accounts_and_sharing(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "admin.vil")
    expect(page.locator("nav [data-view-link='live']")).to_be_hidden()  # administrators watch no video
    page.goto("/#/accounts")
    expect(page.locator("#users tbody tr[data-user='op.vil']")).to_be_visible()
    expect(page.locator("#users")).not_to_contain_text("op.bron")  # another commune's accounts

    today = datetime.now(UTC).date()
    page.fill("#user-username", "agent.nouveau")
    page.fill("#user-name", "Agent Nouveau")
    page.check("#user-roles input[value=operator]")
    page.fill("#user-password", "un mot de passe assez long")
    page.fill("#user-until", (today + timedelta(days=365)).isoformat())
    page.fill("#user-trained", today.isoformat())
    page.click("#user-form button[type=submit]")
    expect(page.locator("#users tbody tr[data-user='agent.nouveau']")).to_contain_text("operator")
    expect(page.locator("#user-totp")).to_be_hidden()  # operators have no second factor

    page.fill("#user-username", "dpo.deux")
    page.fill("#user-name", "Second DPO")
    page.uncheck("#user-roles input[value=operator]")
    page.check("#user-roles input[value=dpo]")
    page.fill("#user-password", "un autre mot de passe long")
    page.fill("#user-until", "")
    page.fill("#user-trained", "")
    page.click("#user-form button[type=submit]")
    expect(page.locator("#user-totp")).to_contain_text("dpo.deux")  # the key, shown once

    page.locator("#users tbody tr[data-user='op.vil'] button[data-action=disable]").click()
    expect(page.locator("#users tbody tr[data-user='op.vil']")).to_contain_text("désactivé")
    user = world.auth.users(world.auth.principal_for("admin.vil"))
    assert next(u for u in user if u.username == "op.vil").disabled

    page.select_option("#agreement-partner", "bron")
    page.fill("#agreement-reference", "Convention 2026-07 Villeurbanne–Bron")
    page.fill("#agreement-start", today.isoformat())
    page.fill("#agreement-end", (today + timedelta(days=90)).isoformat())
    page.click("#agreement-form button[type=submit]")
    row = page.locator("#agreements tbody tr").first
    expect(row).to_contain_text("en vigueur")
    shot(page, "15-accounts")
    row.locator("button[data-action=revoke]").click()
    expect(page.locator("#agreements tbody tr").first).to_contain_text("hors vigueur")
