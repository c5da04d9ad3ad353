"""Video export (L13–L15): one MP4 per camera by remux only, a signed manifest, and offline verification."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from vigie.domain.audit import canonical_json
from vigie.domain.recording import Segment
from vigie.governance.audit import AuditKeyring
from vigie.recording.export import (
    ExportError,
    ExportRefused,
    ExportRequest,
    SegmentIntegrityError,
    VideoExporter,
)
from vigie.recording.manifest import MANIFEST_NAME, verify_export_dir
from vigie.storage.segment_store import FileSegmentStore

from .export_samples import CAMERAS, FPS, MemorySegmentIndex, decoded_levels, record

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
Footage = tuple[Path, list[Segment]]
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    """cam-001: 0–6 s, a gap, 10–14 s (continuous timestamps); cam-002: 0–4 s, timestamps restarting per segment."""
    root = tmp_path_factory.mktemp("store")
    segments = record(root, "cam-001", [(T0, 6), (T0 + timedelta(seconds=10), 4)])
    segments += record(root, "cam-002", [(T0, 4)], restart_at_zero=True)
    return root, segments


@pytest.fixture
def keyring(tmp_path: Path) -> AuditKeyring:
    return AuditKeyring(tmp_path / "keys")


def exporter(root: Path, segments: list[Segment], keyring: AuditKeyring) -> VideoExporter:
    return VideoExporter(MemorySegmentIndex(segments), FileSegmentStore(root), keyring.current_signer(), "0.1.0")


def request(*cameras: str, start: float = 1.5, end: float = 11.5, **fields: str) -> ExportRequest:
    values = {"requested_by": "agent 4521", "reason": "vol à l'arraché", "requisition_ref": "PV 2026/1234"}
    values.update(fields)
    return ExportRequest(tuple(cameras), T0 + timedelta(seconds=start), T0 + timedelta(seconds=end), **values)


def test_export_is_one_playable_mp4_per_camera_cut_at_keyframes(
    footage: Footage,
    keyring: AuditKeyring,
    tmp_path: Path,
) -> None:
    root, segments = footage
    out = tmp_path / "export"
    result = exporter(root, segments, keyring).export(request("cam-001", "cam-002"), CAMERAS, out, NOW)

    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", "manifest.sig", "cam-001_20261128T120001Z.mp4", "cam-002_20261128T120001Z.mp4"]
    )
    manifest = json.loads((out / MANIFEST_NAME).read_bytes())
    first = manifest["files"][0]
    # keyframes every second: from the keyframe at 1 s to the keyframe at 12 s (exclusive), with a 4 s gap
    assert first["start"] == {"utc": "2026-11-28T12:00:01.000Z", "local": "2026-11-28T13:00:01.000+01:00"}
    assert first["end"]["utc"] == "2026-11-28T12:00:12.000Z" and first["duration_s"] == 11.0
    assert first["gaps"] == [
        {
            "start": {"utc": "2026-11-28T12:00:06.000Z", "local": "2026-11-28T13:00:06.000+01:00"},
            "end": {"utc": "2026-11-28T12:00:10.000Z", "local": "2026-11-28T13:00:10.000+01:00"},
            "seconds": 4.0,
            "file_offset_s": 5.0,
        }
    ]
    assert first["camera"] == CAMERAS["cam-001"].to_json()
    assert len(first["sources"]) == 4 and all(len(s["sha256"]) == 64 for s in first["sources"])
    assert manifest["request"]["requisition_ref"] == "PV 2026/1234" and "keyframe" in manifest["trimming"]
    assert manifest["software"] == {"name": "vigie", "version": "0.1.0"}

    mp4 = out / first["name"]
    assert mp4.read_bytes()[4:8] == b"ftyp" and mp4.read_bytes().find(b"moov") < mp4.read_bytes().find(b"mdat")
    levels = decoded_levels(mp4)
    assert len(levels) == 5 * FPS + 2 * FPS  # 1–6 s and 10–12 s
    assert abs(levels[0] - 50) <= 3  # frame 10 of the first run
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        first_packet = next(p for p in container.demux(stream) if p.size)
        assert first_packet.pts == 0 and first_packet.is_keyframe
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(11.0, abs=0.11)

    second = manifest["files"][1]
    assert second["camera"]["id"] == "cam-002" and second["gaps"] == [
        {
            "start": {"utc": "2026-11-28T12:00:04.000Z", "local": "2026-11-28T13:00:04.000+01:00"},
            "end": {"utc": "2026-11-28T12:00:11.500Z", "local": "2026-11-28T13:00:11.500+01:00"},
            "seconds": 7.5,
            "file_offset_s": 3.0,
        }
    ]
    assert len(decoded_levels(out / second["name"])) == 3 * FPS  # restarted timestamps still give one timeline

    report = verify_export_dir(out, keyring.public_keys())
    assert report.ok, report.issues
    assert report.files_checked == 2 and report.key_id == keyring.load_or_create()
    assert report.manifest_sha256 == result.manifest_sha256


def test_any_altered_byte_fails_verification(
    footage: Footage,
    keyring: AuditKeyring,
    tmp_path: Path,
) -> None:
    root, segments = footage
    out = tmp_path / "export"
    result = exporter(root, segments, keyring).export(request("cam-001"), CAMERAS, out, NOW)
    keys = keyring.public_keys()
    mp4 = out / result.files[0].name
    data = bytearray(mp4.read_bytes())
    data[len(data) // 2] ^= 0x01
    mp4.write_bytes(bytes(data))
    report = verify_export_dir(out, keys)
    assert not report.ok
    assert [(i.kind, i.name) for i in report.issues] == [("sha256", mp4.name)]

    manifest = json.loads((out / MANIFEST_NAME).read_bytes())
    manifest["request"]["reason"] = "autre motif"
    (out / MANIFEST_NAME).write_bytes(canonical_json(manifest))
    kinds = {i.kind for i in verify_export_dir(out, keys).issues}
    assert "signature" in kinds

    (out / "notes.txt").write_text("ajout")
    (out / MANIFEST_NAME).write_bytes(canonical_json(manifest) + b" ")
    issues = verify_export_dir(out, keys).issues
    assert ("extra", "notes.txt") in [(i.kind, i.name) for i in issues]
    assert any(i.kind == "manifest" and "canonical" in i.message for i in issues)


def test_missing_file_unknown_key_and_missing_signature_are_reported(
    footage: Footage,
    keyring: AuditKeyring,
    tmp_path: Path,
) -> None:
    root, segments = footage
    out = tmp_path / "export"
    result = exporter(root, segments, keyring).export(request("cam-002", end=3), CAMERAS, out, NOW)
    (out / result.files[0].name).unlink()
    report = verify_export_dir(out, {})
    assert {(i.kind, i.name) for i in report.issues} == {
        ("missing", result.files[0].name),
        ("signature", "manifest.sig"),
    }
    (out / "manifest.sig").unlink()
    assert ("missing", "manifest.sig") in {(i.kind, i.name) for i in verify_export_dir(out, {}).issues}


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"reason": " "}, "reason"),
        ({"requisition_ref": ""}, "requisition reference"),
        ({"requested_by": ""}, "requester"),
    ],
)
def test_reason_requisition_and_requester_are_required(
    footage: Footage,
    keyring: AuditKeyring,
    tmp_path: Path,
    fields: dict[str, str],
    needle: str,
) -> None:
    root, segments = footage
    with pytest.raises(ExportRefused, match=needle):
        exporter(root, segments, keyring).export(replace(request("cam-001"), **fields), CAMERAS, tmp_path / "x", NOW)
    assert list(tmp_path.iterdir()) == [tmp_path / "keys"]


def test_bad_ranges_unknown_cameras_and_nothing_recorded_are_refused(
    footage: Footage,
    keyring: AuditKeyring,
    tmp_path: Path,
) -> None:
    root, segments = footage
    export = exporter(root, segments, keyring).export
    with pytest.raises(ExportRefused, match="start must be before end"):
        export(request("cam-001", start=5, end=5), CAMERAS, tmp_path / "a", NOW)
    with pytest.raises(ExportRefused, match=r"unknown camera.*cam-999"):
        export(request("cam-999"), CAMERAS, tmp_path / "b", NOW)
    with pytest.raises(ExportError, match="nothing recorded"):
        export(request("cam-003"), CAMERAS, tmp_path / "c", NOW)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "old.mp4").write_bytes(b"x")
    with pytest.raises(ExportRefused, match="not an empty directory"):
        export(request("cam-001"), CAMERAS, tmp_path / "d", NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "keys"]


def test_a_segment_altered_after_indexing_refuses_the_export(tmp_path: Path, keyring: AuditKeyring) -> None:
    root = tmp_path / "store"
    segments = record(root, "cam-001", [(T0, 4)])
    path = root / segments[1].key
    data = bytearray(path.read_bytes())
    data[400] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SegmentIntegrityError, match=f"segment {segments[1].key} .*no longer matches"):
        exporter(root, segments, keyring).export(request("cam-001", start=0, end=4), CAMERAS, tmp_path / "out", NOW)
    path.unlink()
    with pytest.raises(SegmentIntegrityError, match="bytes are missing"):
        exporter(root, segments, keyring).export(request("cam-001", start=0, end=4), CAMERAS, tmp_path / "out", NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys", "store"]  # no partial export left behind
