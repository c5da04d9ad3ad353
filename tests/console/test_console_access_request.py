"""A filmed person's access request answered in a real browser, from request to signed redacted copy (issue 23,
L19): a DPO records the request (identity checked, the one-month deadline shown from the first screen), sets the
footage, has the copy prepared by the real PicoDet-S detector plus tracking, draws on the original where the
requester stands the region to keep clear, and prepares it again; the DPO who prepared it cannot review it; a
second DPO steps through every frame of the redacted copy and approves it; the signed copy is released and
downloaded. The package is then checked as a recipient would: the signature and hashes verify offline, only the
redacted file is in it, the requester is as filmed and the other person is blurred.

The footage is the real indoor clip of people coming to a table one at a time (../shared/data, skipped without
it), recorded as the recorder writes it: from 14 s to 28 s of the clip, a woman stands at the table (the requester,
until about 19.5 s), then a man comes to the same place (from about 23 s): a third party, to be blurred.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import Engine

from tests.analytics.onnx_models import DATA, MODELS, require
from tests.api.export_world import data_dir_of
from tests.api.world import CAMERAS, World, build_world
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
from tests.support.audit_sinks import ListAudit
from tests.support.clip_segments import cut_segments, record_cut
from tests.support.configs import camera_yaml, config_yaml
from tests.support.system_health import HealthParts
from vigie.config import load_config_text
from vigie.domain.clock import legal_day
from vigie.domain.users import Role
from vigie.governance.audit import AuditKeyring
from vigie.recording.manifest import CameraIdentity
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.redaction import clip_info, model_loader
from vigie.services.export_package import verify_package
from vigie.services.redacted_copies import RedactedCopyMaker
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

expect = sync_api.expect
CLIP = DATA / "video" / "one-by-one-person-detection.mp4"
FROM_S, TO_S = 14.0, 28.0
"""The clip's seconds asked for: the requester at the table until about 19.5 s, a man at the same place from 23 s."""
REQUESTER = "Claire Demandeuse"
KEEP_CLEAR = ((0.3, 0.02), (0.9, 0.98))
"""Where the requester stands in the picture (normalised corners), drawn from the copy's 2nd second for 7 s."""
CHECKED = (0.5, 0.2, 0.66, 0.7)
"""The core of the person at the table, in both parts of the footage (x1, y1, x2, y2, normalised)."""


@dataclass(frozen=True)
class Footage:
    recorded: datetime
    """When the clip's first picture was recorded."""
    keyring: AuditKeyring
    maker: RedactedCopyMaker


@pytest.fixture
def footage(db: Engine, tmp_path: Path) -> Footage:
    """The clip recorded on vil-1 from an hour ago (segment index + store as `vigie serve` reads them); the copies
    made by the real copy maker with PicoDet-S registered as `vigie models add` does."""
    model = require(MODELS / "picodet_s_320_coco.onnx")
    start = RealClock()() - timedelta(hours=1)
    store = FileSegmentStore(data_dir_of(db) / "segments")
    index = SqlSegmentIndex(db)
    cut = cut_segments(require(CLIP), tmp_path, start, seconds=4.0, limit=TO_S + 1.0)
    record_cut(cut, "vil-1", index, store, start + timedelta(seconds=TO_S + 1.0))
    keyring = AuditKeyring(tmp_path / "keys")
    registry = ModelRegistry(tmp_path / "models", ListAudit())
    registry.add(model, "gfl", "picodet_s_320")  # as `vigie models add FILE --format gfl --name picodet_s_320` does
    config = load_config_text(
        config_yaml(tmp_path / "cfg", camera_yaml("vil-1", "rtsp://127.0.0.1:9/x", enabled=False))
    )
    maker = RedactedCopyMaker(
        index,
        store,
        keyring.current_signer(),
        [CameraIdentity(c.id, c.name) for c in CAMERAS],
        model_loader(config, registry),  # the configured redaction model, as `vigie serve` loads it
        clip_info,
        RealClock(),
    )
    return Footage(start, keyring, maker)


@pytest.fixture
def world(db: Engine, health: HealthParts, tmp_path: Path, footage: Footage) -> World:
    """The API world in real time with the real copy maker; two DPOs authorised and trained for video (L8, L9)."""
    built = build_world(
        db,
        static=STATIC,
        sql_audit=True,
        clock=RealClock(),
        authorisations=authorised([c.id for c in CAMERAS]),
        system_health=health.factory(tmp_path, [c.id for c in CAMERAS], db),
        copy_maker=footage.maker,
        workspace=tmp_path / "access-requests",
    )
    built.add("dpo.rights", [Role.DPO])
    built.add("dpo.review", [Role.DPO])
    return built


def frame_of(video: Path, index: int) -> np.ndarray:
    with av.open(str(video)) as source:
        for n, picture in enumerate(source.decode(video=0)):
            if n == index:
                return np.asarray(picture.to_ndarray(format="bgr24"))
    raise AssertionError(f"{video} has no frame {index}")


def core(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = CHECKED
    return cv2.cvtColor(image[int(y1 * h) : int(y2 * h), int(x1 * w) : int(x2 * w)], cv2.COLOR_BGR2GRAY)


def detail(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_a_dpo_answers_an_access_request_with_a_reviewed_redacted_signed_copy(
    chromium: Browser, world: World, footage: Footage, tmp_path: Path
) -> None:
    built, recorded, keyring = world, footage.recorded, footage.keyring
    page = logged_in(chromium, built, "dpo.rights", locale="en-GB")
    page.goto("/#/access")
    today = legal_day(RealClock())  # the Paris day, as the server counts it
    page.fill("#access-name", REQUESTER)
    page.fill("#access-contact", "claire.demandeuse@example.org")
    page.select_option("#access-document", "id_card")
    page.fill("#access-checked-by", "Accueil de la mairie, agent B.")
    assert page.locator("#access-received-on").input_value() == today.isoformat()  # today on the Paris clock
    page.fill("#access-description", "Devant la table de la salle, manteau gris, vers 14 h.")
    page.click("#access-form button[type=submit]")
    expect(page.locator("#access-title")).to_contain_text(REQUESTER)

    # The one-month deadline, from the first screen of the request.
    deadline = page.locator("#access-deadline")
    expect(deadline).to_contain_text("Answer due by")
    days = int(deadline.get_attribute("data-days-left") or "-1")
    assert 28 <= days <= 31, days  # one calendar month from today

    # The footage: vil-1 over the 14 seconds; the copy prepared by the detector and the tracker.
    page.select_option("#access-cameras", ["vil-1"])
    page.fill("#access-start", wall(recorded + timedelta(seconds=FROM_S)))
    page.fill("#access-end", wall(recorded + timedelta(seconds=TO_S)))
    page.click("#access-scope-form button[type=submit]")
    expect(page.locator("#access-prepare")).to_be_visible()
    page.click("#access-prepare")
    ready = page.locator("#access-copy-files")
    expect(ready).to_contain_text(re.compile(r"\d+ frames"), timeout=180_000)
    frames = int(re.search(r"(\d+) frames", ready.inner_text()).group(1))  # type: ignore[union-attr]
    assert 140 <= frames <= 160, frames  # the 14 s asked for at 10 pictures a second, to the keyframe after the end
    expect(ready).to_contain_text("picodet_s_320@")  # the model that found whom to blur, named with its hash

    # On the original, paused where the requester stands: the region kept clear for the first 7 s; prepared again.
    original = page.locator("#access-original")
    page.wait_for_function("() => document.querySelector('#access-original').readyState >= 2", timeout=20_000)
    page.locator("#access-original-seek").fill("2")
    page.select_option("#access-box-kind", "keep_clear")
    page.fill("#access-box-span", "7")
    (x0, y0), (x1, y1) = (picture_point(original, *KEEP_CLEAR[0]), picture_point(original, *KEEP_CLEAR[1]))
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    expect(page.locator("#access-boxes li[data-kind='keep_clear']")).to_have_count(1)
    with page.expect_response(
        lambda r: r.url.endswith("/copy") and r.request.method == "POST", timeout=20_000
    ) as asked:
        page.click("#access-prepare")
    assert asked.value.ok and asked.value.json()["scope"]["keep_clear"], asked.value.json()
    kept = asked.value.json()["scope"]["keep_clear"][0]
    assert (kept["start_s"], kept["end_s"]) == (2.0, 9.0), kept  # from the paused instant, for the 7 s asked
    assert abs(kept["x1"] - KEEP_CLEAR[0][0]) < 0.02 and abs(kept["y2"] - KEEP_CLEAR[1][1]) < 0.02, kept  # as drawn
    expect(page.locator("#access-progress")).to_have_attribute("data-state", "in_review", timeout=180_000)
    shot(page, "23-access-prepared")  # (a full-page shot leaves the page scrolled past its end until a layout)
    expect(page.locator("#access-review-waiting")).to_be_visible()  # the one who prepared it cannot review it

    # A second DPO reviews every frame: played through, then the frames the player skipped, one by one.
    reviewer = logged_in(chromium, built, "dpo.review", locale="en-GB")
    reviewer.goto(page.url.replace(page.url.split("#")[0], ""))
    count = reviewer.locator("#access-review-count")
    expect(count).to_have_attribute("data-total", str(frames))
    expect(reviewer.locator("#access-approve")).to_be_disabled()
    reviewer.wait_for_function("() => document.querySelector('#access-review-video').readyState >= 2", timeout=20_000)
    reviewer.click("#access-review-play")
    reviewer.wait_for_function("() => document.querySelector('#access-review-video').ended", timeout=60_000)
    for _ in range(frames):
        seen = int(count.get_attribute("data-seen") or "0")
        if seen >= frames:
            break
        reviewer.click("#access-review-unseen")
        reviewer.wait_for_function(
            "n => Number(document.querySelector('#access-review-count').dataset.seen) > n", arg=seen, timeout=5_000
        )
    expect(count).to_have_attribute("data-seen", str(frames))
    shot(reviewer, "23-access-review")
    reviewer.click("#access-approve")
    expect(reviewer.locator("#access-release")).to_be_visible()

    # Released as a signed package, downloaded as the person will receive it.
    reviewer.click("#access-release")
    expect(reviewer.locator("#access-package")).to_be_visible()
    with reviewer.expect_download() as download:
        reviewer.click("#access-package-link")
    package = tmp_path / "copy.zip"
    download.value.save_as(package)
    verdict = verify_package(package, keyring.public_keys())
    assert verdict.ok, verdict
    with zipfile.ZipFile(package) as archive:
        names = sorted(Path(n).name for n in archive.namelist())
        mp4 = [n for n in archive.namelist() if n.endswith(".mp4")]
        assert len(mp4) == 1 and names == sorted([Path(mp4[0]).name, "manifest.json", "manifest.sig"]), names
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(archive.read(mp4[0]))
        manifest = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("manifest.json"))))
        assert REQUESTER not in json.dumps(manifest) and manifest["files"][0]["media"]["redacted"] is True

    # The requester as filmed (kept clear); the man who came to the table after her blurred. The copy starts on
    # the recording's keyframe at or before the instant asked for (its manifest says when).
    source, fps = require(CLIP), 10
    offset = round((datetime.fromisoformat(manifest["files"][0]["start"]["utc"]) - recorded).total_seconds() * fps)
    assert offset <= FROM_S * fps, offset
    her, him = int(FROM_S * fps) - offset + 2 * fps, int(FROM_S * fps) - offset + 11 * fps  # source 16 s, 25 s
    kept = np.abs(core(frame_of(copy, her)).astype(int) - core(frame_of(source, offset + her)).astype(int))
    assert kept.mean() < 10, kept.mean()  # as filmed, give or take the encoder
    blurred, filmed = detail(core(frame_of(copy, him))), detail(core(frame_of(source, offset + him)))
    assert blurred < 0.2 * filmed, (blurred, filmed)

    # The audit holds every step, never the person's name, contact or description.
    actions = [str(e.action) for e in built.audit.events]
    for step in ("recorded", "scoped", "copy_started", "copy_finished", "reviewed", "released", "package_downloaded"):
        assert f"access_request.{step}" in actions, (step, actions)
    for event in built.audit.events:
        text = str(event.details)
        assert REQUESTER not in text and "example.org" not in text and "manteau" not in text, event

    # The list shows the request answered.
    page.goto("/#/access")
    row = page.locator("#access-requests tbody tr").first
    expect(row).to_have_attribute("data-state", "released")
