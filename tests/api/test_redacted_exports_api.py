"""Exports for third parties (the press, an insurer) asked redacted through the API (issue 23): every person is
blurred in the package's file, which holds only the redacted copy, with a signed manifest naming the model and
the original export it was made from; `vigie export verify` accepts it. Real footage (TUD-Campus recorded as the
camera's segments) and the real PicoDet-S model; without the model the request is refused at once, saying what to
install."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.analytics.onnx_models import MODELS, require
from tests.api.audit_world import keys_dir_of
from tests.api.export_world import data_dir_of, open_test_exports
from tests.api.test_exports_api import BODY, finished, no_export_thread_left
from tests.api.world import CAMERAS, T0, World, build_world
from tests.recording.export_samples import record
from tests.support.audit_sinks import ListAudit
from tests.support.campus_footage import FRAMES, Campus, decoded, detail, record_campus, region
from vigie.cli.commands.exports import export_verify_command
from vigie.config.models import VigieConfig
from vigie.domain.audit import AuditAction
from vigie.governance.audit import AuditKeyring
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.redaction import clip_info, model_loader
from vigie.services.redacted_copies import ExportRedactor
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

REDACTED: dict[str, Any] = {**BODY, "reason": "demande d'un assureur (sinistre 2026-77)", "redacted": True}


def redacted_world(db: Engine, registry: ModelRegistry) -> World:
    keyring = AuditKeyring(keys_dir_of(db))
    config = VigieConfig.model_validate({"version": 1})  # privacy's defaults: picodet_s_320 at 0.15
    redactor = ExportRedactor(model_loader(config, registry), clip_info, keyring.current_signer())
    return build_world(
        db, exports=lambda audit, clock: open_test_exports(db, audit, clock, keyring, CAMERAS, redactor=redactor)
    )


@pytest.fixture
def campus(db: Engine) -> Iterator[tuple[World, Campus, ModelRegistry]]:
    model = require(MODELS / "picodet_s_320_coco.onnx")
    root = data_dir_of(db)
    registry = ModelRegistry(root / "models", ListAudit())
    registry.add(model, "gfl", "picodet_s_320")
    world = redacted_world(db, registry)
    footage = record_campus(root / "campus", "vil-1", T0, SqlSegmentIndex(db), FileSegmentStore(root / "segments"))
    world.audit.events.clear()
    yield world, footage, registry
    assert world.exports is not None
    world.exports.close()
    assert no_export_thread_left()


def test_an_export_asked_redacted_holds_only_the_blurred_copy_and_names_the_model(
    campus: tuple[World, Campus, ModelRegistry], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, footage, registry = campus
    client = world.login("inv.vil")
    asked = client.post("/api/exports", json=REDACTED)
    assert asked.status_code == 202, asked.text
    assert asked.json()["redacted"] is True
    job = finished(client, asked.json()["id"])
    assert (job["state"], job["progress"], job["error"], job["redacted"]) == ("done", 1.0, None, True)

    download = client.get(job["package"]["url"])
    assert hashlib.sha256(download.content).hexdigest() == job["package"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "insurer")
    folder = tmp_path / "insurer" / job["package"]["name"].removesuffix(".zip")
    assert world.audit_chain is not None
    world.audit_chain.keyring.export_public_keys(tmp_path / "keys")
    assert export_verify_command(folder, [tmp_path / "keys"]) == 0, capsys.readouterr().out
    [clip] = [p.name for p in folder.iterdir() if p.suffix == ".mp4"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([clip, "manifest.json", "manifest.sig"])
    manifest = json.loads((folder / "manifest.json").read_bytes())
    sha256 = registry.get("picodet_s_320").sha256  # type: ignore[union-attr]
    assert manifest["redaction"]["detector"] == f"picodet_s_320@{sha256}"
    assert manifest["redaction"]["options"]["detector_score"] == 0.15
    [entry] = manifest["files"]
    assert (entry["media"]["redacted"], entry["frames"]) == (True, FRAMES)
    assert entry["sha256"] == job["files"][0]["sha256"] == hashlib.sha256((folder / clip).read_bytes()).hexdigest()
    assert manifest["request"]["requested_by"] == "inv.vil" and manifest["request"]["reason"] == REDACTED["reason"]
    original = manifest["source"]["manifest_sha256"]
    assert len(original) == 64 and original != job["manifest_sha256"]

    pictures = decoded(folder / clip)
    assert len(pictures) == FRAMES
    kept = [
        detail(region(pictures[index], box, 2)) / detail(region(footage.pictures[index], box, 2))
        for index, boxes in footage.truth.items()
        for box in boxes
        if region(footage.pictures[index], box, 2).size >= 400
    ]
    # measured: 359 boxes, at most 0.32 of a person's detail left, 0.13 on average (against the sequence's pictures)
    assert len(kept) > 300 and max(kept) < 0.5 and sum(kept) / len(kept) < 0.25

    exports = [e for e in world.audit.events if e.action is AuditAction.EXPORT]
    assert [(e.details["outcome"], e.details.get("redacted")) for e in exports] == [
        ("queued", True),
        ("exported", None),
    ]
    assert exports[1].details["redaction"] == {
        "detector": f"picodet_s_320@{sha256}",
        "source_manifest_sha256": original,
    }
    assert exports[1].details["manifest_sha256"] == job["manifest_sha256"]


def test_without_the_redaction_model_a_redacted_export_is_refused_at_once(db: Engine) -> None:
    registry = ModelRegistry(data_dir_of(db) / "no-models", ListAudit())
    world = redacted_world(db, registry)
    for segment in record(data_dir_of(db) / "segments", "vil-1", [(T0, 6)]):  # footage there: only the model lacks
        SqlSegmentIndex(db).add(segment)
    try:
        client = world.login("inv.vil")
        refused = client.post("/api/exports", json=REDACTED)
        assert refused.status_code == 422, refused.text
        assert "install it: vigie models install picodet_s_320" in refused.text
        [entry] = [e for e in world.audit.events if e.action is AuditAction.EXPORT]
        assert entry.details["outcome"] == "refused" and "picodet_s_320" in entry.details["error"]
    finally:
        assert world.exports is not None
        world.exports.close()
