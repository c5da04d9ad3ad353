"""The redacted copy of an access request (L19) on real footage, made as ``vigie serve`` makes it
(``open_copy_maker`` from a configuration, the model registry, the segment index and store, the audit key).

TUD-Campus (71 frames, 640×480, 25 fps, eight walking persons with ground-truth boxes) is recorded as MPEG-TS
segments the way the recorder writes them, indexed in SQLite; the real PicoDet-S detector is registered under the
configured name (``picodet_s_320``). The copy is checked on its pixels against the original export: the persons are
blurred, a keep-clear region is left as it was, a manual box is blurred; the released package passes the verifier
and holds neither an original nor a boxes file."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.onnx_models import MODELS, require
from tests.support.audit_sinks import ListAudit
from tests.support.campus_footage import FPS, decoded, detail, record_campus, region
from tests.support.configs import camera_yaml, config_yaml
from vigie.cli.commands.exports import export_verify_command
from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestError,
    AccessRequestState,
    CopyScope,
    IdentityDocument,
    NormalisedBox,
    PreparedCopy,
    Review,
)
from vigie.governance.audit import AuditKeyring
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.redaction import open_copy_maker
from vigie.services.export_package import verify_package
from vigie.services.redacted_copies import FootageIntegrityError, RedactedCopyMaker
from vigie.storage import create_engine_for, migrate
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; nothing compares it with today
NOW = T0 + timedelta(days=3)
CAMERA = "cam-campus"
REQUESTER = "Camille Requérante"
KEEP_CLEAR = NormalisedBox(CAMERA, 0.62, 0.3, 1.0, 0.95, 0.0, 0.4)
"""Where the requester (TUD-Campus's person 1) walks during the first 0.4 s (frames 0–10), nobody else."""
MANUAL = NormalisedBox(CAMERA, 0.0, 0.0, 0.15, 0.2, 1.0, 2.0)
"""Building and trees at the top left, nobody there: a box a reviewer adds from 1 s to 2 s (frames 25–50)."""


@dataclass
class Recorded:
    config: VigieConfig
    index: SqlSegmentIndex
    store: FileSegmentStore
    keyring: AuditKeyring
    registry: ModelRegistry
    truth: dict[int, np.ndarray]
    """Ground-truth person boxes (x1, y1, x2, y2) by frame index of the clip."""
    requester_boxes: dict[int, np.ndarray]
    """Person 1's box by frame index."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    model = require(MODELS / "picodet_s_320_coco.onnx")
    root = tmp_path_factory.mktemp("campus")
    config = load_config_text(config_yaml(root, camera_yaml(CAMERA, "rtsp://127.0.0.1:9/campus", enabled=False)))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    index = SqlSegmentIndex(engine)
    store = FileSegmentStore(root / "segments")
    campus = record_campus(root / "clip", CAMERA, T0, index, store)
    registry = ModelRegistry(config.storage.data_dir / "models", ListAudit())
    registry.add(model, "gfl", "picodet_s_320")
    requester = {i: campus.truth[i][list(ids).index(1)] for i, ids in campus.ids.items() if 1 in ids}
    return Recorded(config, index, store, AuditKeyring(root / "keys"), registry, campus.truth, requester)


def maker_of(recorded: Recorded, registry: ModelRegistry | None = None) -> RedactedCopyMaker:
    signer = recorded.keyring.current_signer()
    return open_copy_maker(
        recorded.config, recorded.index, recorded.store, signer, registry or recorded.registry, lambda: NOW
    )


def scope(**changes: object) -> CopyScope:
    whole = CopyScope((CAMERA,), T0, T0 + timedelta(seconds=3), keep_clear=(KEEP_CLEAR,), manual=(MANUAL,))
    return replace(whole, **changes)  # type: ignore[arg-type]


@dataclass
class Prepared:
    copy: PreparedCopy
    progress: list[tuple[int, int]]


@pytest.fixture(scope="module")
def prepared(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    folder = tmp_path_factory.mktemp("copies") / "request-7"
    calls: list[tuple[int, int]] = []
    copy = maker_of(recorded).prepare(7, scope(), str(folder), lambda done, total: calls.append((done, total)))
    return Prepared(copy, calls)


def pixels(box: NormalisedBox) -> tuple[float, float, float, float]:
    return box.x1 * 640, box.y1 * 480, box.x2 * 640, box.y2 * 480


def boxes_of(prepared: Prepared) -> list[list[list[int]]]:
    folder, name = Path(prepared.copy.folder), prepared.copy.files[0].name
    data = json.loads((folder / f"{name}.boxes.json").read_text(encoding="utf-8"))
    return [[b[:4] for b in frame["boxes"]] for frame in data["frames"]]


def blurred_mask(boxes: list[list[int]], margin: int = 2) -> np.ndarray:
    """The pixels a frame's boxes blur (and ``margin`` around: chroma is shared by 2×2 pixels)."""
    mask = np.zeros((480, 640), bool)
    for x1, y1, x2, y2 in boxes:
        mask[max(0, y1 - margin) : y2 + margin, max(0, x1 - margin) : x2 + margin] = True
    return mask


def inside(box: list[int], area: tuple[float, ...]) -> float:
    x1, y1, x2, y2 = box
    overlap = max(0.0, min(x2, area[2]) - max(x1, area[0])) * max(0.0, min(y2, area[3]) - max(y1, area[1]))
    return overlap / ((x2 - x1) * (y2 - y1))


def frames_of(prepared: Prepared) -> tuple[list[np.ndarray], list[np.ndarray]]:
    folder = Path(prepared.copy.folder)
    name = prepared.copy.files[0].name
    return decoded(folder / "original" / name), decoded(folder / name)


def test_the_persons_are_blurred_on_every_frame(recorded: Recorded, prepared: Prepared) -> None:
    copy = prepared.copy
    assert [f.camera_id for f in copy.files] == [CAMERA]
    file = copy.files[0]
    originals, redacted = frames_of(prepared)
    assert file.frames == len(redacted) == len(originals) == 71
    assert file.start == T0 and T0 + timedelta(seconds=71 / FPS) <= file.end <= T0 + timedelta(seconds=73 / FPS)
    assert copy.detector == f"picodet_s_320@{recorded.registry.get('picodet_s_320').sha256}"  # type: ignore[union-attr]
    assert copy.options["detector_score"] == 0.15
    kept = []
    for index, boxes in recorded.truth.items():
        for box in boxes:
            clear = index <= 10 and np.array_equal(box, recorded.requester_boxes.get(index, ()))
            before, after = region(originals[index], box, 2), region(redacted[index], box, 2)
            if before.size < 400 or clear:
                continue
            kept.append(detail(after) / detail(before))
    # measured: 348 boxes, each keeps at most 0.31 of its detail, 0.13 on average (pixelated 8×8, then blurred)
    assert len(kept) > 300
    assert max(kept) < 0.5, f"a person left sharp: {max(kept):.2f} of their detail kept"
    assert float(np.mean(kept)) < 0.25


def test_the_keep_clear_region_is_left_as_it_was_and_only_for_its_time(recorded: Recorded, prepared: Prepared) -> None:
    """No box lying mostly in the region is blurred during its span (the requester stays clear); a box mostly
    elsewhere that reaches into it still is (someone passing by, or the detector's large low-score boxes: the
    reviewer sees them in the boxes file and the copy), and every other pixel of the region is as recorded."""
    originals, redacted = frames_of(prepared)
    boxes = boxes_of(prepared)
    area = pixels(KEEP_CLEAR)
    for index in range(11):  # 0 to 0.4 s
        assert not [b for b in boxes[index] if inside(b, area) >= 0.5], f"frame {index}: a box in the region"
        clear = ~blurred_mask(boxes[index])
        region_clear = region(clear, area)
        change = np.abs(region(redacted[index], area) - region(originals[index], area)).mean(axis=2)[region_clear]
        # measured: 1.6 to 2.2 levels on average (libx264 ultrafast, CRF 23), where a blurred person changes by 15-22
        assert region_clear.mean() > 0.5 and change.mean() < 4.0, f"frame {index}: changed by {change.mean():.1f}"
        # measured: 0.55 to 0.58 of the requester shown as recorded; the rest lies under a 640×218 "vehicle" box
        # PicoDet-S reports at a low score on the campus building during the first 0.8 s (a wide box mostly
        # outside the region: blurred all the same)
        assert region(clear, recorded.requester_boxes[index]).mean() > 0.5
    for index in range(15, 24):  # after its time span, the requester is blurred like anyone
        person = recorded.requester_boxes[index]
        assert detail(region(redacted[index], person, 2)) < 0.5 * detail(region(originals[index], person, 2))


def test_the_manual_box_is_blurred_during_its_time_span_only(prepared: Prepared) -> None:
    originals, redacted = frames_of(prepared)
    boxes = boxes_of(prepared)
    area = pixels(MANUAL)
    for index in range(26, 50):  # 1 s to 2 s
        # measured: at most 0.21 of the detail left
        assert detail(region(redacted[index], area, 1)) < 0.4 * detail(region(originals[index], area, 1))
    checked = 0
    for index in range(20):
        region_clear = region(~blurred_mask(boxes[index]), area)
        change = np.abs(region(redacted[index], area) - region(originals[index], area)).mean(axis=2)[region_clear]
        if region_clear.mean() > 0.5:
            checked += 1
            assert change.mean() < 4.0, f"frame {index}: the region changed by {change.mean():.1f} outside its span"
    assert checked >= 10


def test_the_boxes_file_lists_every_frame_in_pixels(prepared: Prepared) -> None:
    copy = prepared.copy
    folder, name = Path(copy.folder), copy.files[0].name
    boxes = json.loads((folder / f"{name}.boxes.json").read_text(encoding="utf-8"))
    assert (boxes["width"], boxes["height"], boxes["fps"]) == (640, 480, 25.0)
    assert [f["index"] for f in boxes["frames"]] == list(range(71))
    kinds = {b[4] for f in boxes["frames"] for b in f["boxes"]}
    assert {"person", "manual"} <= kinds <= {"person", "vehicle", "manual"}
    manual = [b for f in boxes["frames"] for b in f["boxes"] if b[4] == "manual"]
    assert {tuple(b[:4]) for b in manual} == {(0, 0, 96, 96)}
    assert [f["index"] for f in boxes["frames"] if any(b[4] == "manual" for b in f["boxes"])] == list(range(25, 51))
    assert sorted(p.name for p in folder.iterdir()) == [name, f"{name}.boxes.json", "original"]
    assert prepared.progress[0] == (0, 71) and prepared.progress[-1] == (71, 71)
    assert [d for d, _ in prepared.progress] == sorted(d for d, _ in prepared.progress)
    assert len(prepared.progress) > 5  # within the file too, not only at its end


def test_the_released_package_holds_only_the_redacted_copy_and_passes_the_verifier(
    recorded: Recorded, prepared: Prepared, tmp_path: Path
) -> None:
    request = approved(prepared.copy)
    release = maker_of(recorded).release(request, str(tmp_path / "packages"), NOW)

    package = tmp_path / "packages" / release.package_name
    keys = recorded.keyring.public_keys()
    report = verify_package(package, keys, expected=release.package_sha256)
    assert report.ok, report.issues
    assert (report.manifest_sha256, report.key_id, report.files_checked) == (release.manifest_sha256, release.key_id, 1)
    (tmp_path / "keys").mkdir()
    for key_id, pem in keys.items():
        (tmp_path / "keys" / f"{key_id}.pem").write_text(pem, encoding="ascii")
    assert export_verify_command(package, [tmp_path / "keys"]) == 0
    with zipfile.ZipFile(package) as archive:
        names = sorted(n.split("/", 1)[1] for n in archive.namelist())
        manifest_bytes = archive.read(next(n for n in archive.namelist() if n.endswith("manifest.json")))
        released = archive.read(next(n for n in archive.namelist() if n.endswith(".mp4")))
    assert names == sorted([prepared.copy.files[0].name, "manifest.json", "manifest.sig"])
    assert hashlib.sha256(released).hexdigest() == prepared.copy.files[0].sha256  # the reviewed file, not the original
    manifest = json.loads(manifest_bytes)
    assert manifest["request"] == {"kind": "access_request", "id": 7}
    assert manifest["source"] == {"manifest_sha256": prepared.copy.source_manifest_sha256}
    assert manifest["redaction"]["detector"] == prepared.copy.detector
    assert manifest["redaction"]["reviewer"] == "dpo.adjoint"
    assert (manifest["redaction"]["keep_clear"], manifest["redaction"]["manual"]) == (1, 1)
    assert REQUESTER.encode() not in manifest_bytes and b"camille@" not in manifest_bytes
    assert not list((tmp_path / "packages").glob(".*")), "the staging folder is left behind"
    assert (release.at, release.by) == (NOW, "dpo.martin")


def test_a_copy_changed_after_its_review_is_not_released(
    recorded: Recorded, prepared: Prepared, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(prepared.copy.folder, folder)
    name = prepared.copy.files[0].name
    with (folder / name).open("r+b") as file:
        file.seek(-10, 2)
        file.write(b"0123456789")
    request = approved(replace(prepared.copy, folder=str(folder)))
    with pytest.raises(AccessRequestError, match="changed since it was prepared and reviewed"):
        maker_of(recorded).release(request, str(tmp_path / "packages"), NOW)
    assert not list((tmp_path / "packages").iterdir())


def test_a_tampered_segment_makes_the_preparation_fail(recorded: Recorded, tmp_path: Path) -> None:
    """L15: footage altered after it was recorded is never copied; nothing is left in the copy's folder."""
    store = FileSegmentStore(tmp_path / "segments")
    segments = recorded.index.between(CAMERA, T0, T0 + timedelta(seconds=3))
    for segment in segments:
        with recorded.store.open(segment.key) as source:
            (tmp_path / "seg.ts").write_bytes(source.read())
        store.put(segment.key, tmp_path / "seg.ts")
    path = store.local_path(segments[1].key)
    assert path is not None
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    maker = open_copy_maker(
        recorded.config, recorded.index, store, recorded.keyring.current_signer(), recorded.registry, lambda: NOW
    )
    with pytest.raises(FootageIntegrityError, match="no longer matches its recorded SHA-256"):
        maker.prepare(8, scope(), str(tmp_path / "copy"), lambda _d, _t: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.ts", "segments"]  # no copy, no half of one


def test_nothing_recorded_tells_how_to_answer(recorded: Recorded, tmp_path: Path) -> None:
    later = scope(start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2), keep_clear=(), manual=())
    with pytest.raises(AccessRequestError, match=r"nothing recorded for cam-campus between .*reason no_footage"):
        maker_of(recorded).prepare(9, later, str(tmp_path / "copy"), lambda _d, _t: None)
    assert list(tmp_path.iterdir()) == []


def test_a_box_outside_the_picture_or_of_another_camera_is_refused(recorded: Recorded, tmp_path: Path) -> None:
    wrong = scope(keep_clear=(NormalisedBox(CAMERA, 0.5, 0.5, 1.2, 0.9),), manual=(NormalisedBox("cam-x", 0, 0, 1, 1),))
    with pytest.raises(AccessRequestError) as refused:
        maker_of(recorded).prepare(10, wrong, str(tmp_path / "copy"), lambda _d, _t: None)
    assert "keep-clear box 1: corners must be fractions" in str(refused.value)
    assert "manual box 1: camera cam-x is not among the copy's cameras" in str(refused.value)


def test_without_the_model_the_error_says_what_to_install(tmp_path: Path) -> None:
    config = load_config_text(config_yaml(tmp_path, camera_yaml(CAMERA, "rtsp://127.0.0.1:9/campus", enabled=False)))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    registry = ModelRegistry(tmp_path / "no-models", ListAudit())
    signer = AuditKeyring(tmp_path / "keys").current_signer()
    maker = open_copy_maker(
        config, SqlSegmentIndex(engine), FileSegmentStore(tmp_path / "s"), signer, registry, lambda: NOW
    )
    with pytest.raises(AccessRequestError, match="install it: vigie models install picodet_s_320"):
        maker.prepare(11, scope(), str(tmp_path / "copy"), lambda _d, _t: None)
    assert not (tmp_path / "copy").exists()
    engine.dispose()


def approved(copy: PreparedCopy) -> AccessRequest:
    return AccessRequest(
        commune_id="testville",
        requester_name=REQUESTER,
        requester_contact="camille@example.org",
        identity_document=IdentityDocument.ID_CARD,
        identity_checked_by="agent.accueil",
        received_on=date(2026, 3, 16),
        description="veste rouge, vers 15 h",
        created_by="agent.accueil",
        created_at=NOW - timedelta(days=1),
        state=AccessRequestState.APPROVED,
        handled_by="dpo.martin",
        scope=scope(),
        copy=copy,
        prepared_by="dpo.martin",
        review=Review("dpo.adjoint", NOW - timedelta(hours=1), approved=True, frames_reviewed=71),
        id=7,
    )


def test_a_stopped_preparation_leaves_the_previous_copy_as_it_was(recorded: Recorded, tmp_path: Path) -> None:
    """A copy prepared again (a reviewer's new boxes) replaces the previous one only once whole: stopped halfway
    (the progress callback raising, as a cancelled job does), the previous copy stays and nothing else is left."""
    maker, folder = maker_of(recorded), tmp_path / "copy"
    short = CopyScope((CAMERA,), T0, T0 + timedelta(seconds=0.5))  # to the next keyframe: one second
    boxed = replace(short, manual=(replace(MANUAL, start_s=0.0, end_s=0.5),))
    first = maker.prepare(12, short, str(folder), lambda _d, _t: None)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert first.files[0].frames == 25 and len(before) == 2

    def stop(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt("stopped")

    with pytest.raises(KeyboardInterrupt):
        maker.prepare(12, boxed, str(folder), stop)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]

    again = maker.prepare(12, boxed, str(folder), lambda _d, _t: None)
    assert again.folder == str(folder) and sorted(p.name for p in tmp_path.iterdir()) == ["copy"]
    assert (folder / again.files[0].name).read_bytes() != before[first.files[0].name]
