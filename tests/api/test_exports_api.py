"""Exports through the API (L13, L14): an investigator asks with a reason and a requisition, follows the progress,
downloads one signed package that `vigie export verify` accepts offline, and has it verified; every request,
refusal, download and verification is audited; nobody else sees the export, and another commune's camera answers
like a missing one."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.audit_world import keys_dir_of
from tests.api.export_world import data_dir_of, open_test_exports
from tests.api.world import CAMERAS, T0, World, build_world
from tests.recording.export_samples import record
from tests.support.waiting import wait_for
from tests.support.zip_bombs import lying_bomb, zeros_bomb
from vigie.cli.commands.exports import export_verify_command
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.users import Role
from vigie.governance.audit import AuditKeyring
from vigie.recording.export import ExportRequest, VideoExporter
from vigie.recording.manifest import CameraIdentity
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

BODY: dict[str, Any] = {
    "camera_ids": ["vil-1"],
    "start": T0.isoformat(),
    "end": (T0 + timedelta(seconds=6)).isoformat(),
    "reason": "rixe place Lazare-Goujon",
    "requisition_ref": "PV 2026/001234",
}


def add_people_and_footage(world: World, engine: Engine) -> None:
    world.add("inv2.vil", [Role.INVESTIGATOR])
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    world.add("inv.untrained", [Role.INVESTIGATOR], trained_ago=None)
    index = SqlSegmentIndex(engine)
    for camera in ("vil-1", "bron-1"):  # 3 segments of 2 s each
        for segment in record(data_dir_of(engine) / "segments", camera, [(T0, 6)]):
            index.add(segment)
    world.audit.events.clear()


def no_export_thread_left() -> bool:
    return wait_for(
        lambda: not any(t.name == "vigie-export" for t in threading.enumerate()), 10, "the export threads to end"
    )


@pytest.fixture
def world(db: Engine) -> Iterator[World]:
    world = build_world(db)
    add_people_and_footage(world, db)
    yield world
    assert world.exports is not None
    world.exports.close()
    assert no_export_thread_left()


class GatedStore(FileSegmentStore):
    """Holds the export on its second segment until ``gate`` is set."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.holding = threading.Event()
        self.opened = 0

    def open(self, key: str) -> BinaryIO:
        self.opened += 1
        if self.opened == 2:
            self.holding.set()
            self.gate.wait(30)
        return super().open(key)


@pytest.fixture
def gated(db: Engine) -> Iterator[tuple[World, GatedStore]]:
    store = GatedStore(data_dir_of(db) / "segments")
    world = build_world(
        db,
        exports=lambda audit, clock: open_test_exports(
            db, audit, clock, AuditKeyring(keys_dir_of(db)), CAMERAS, store=store
        ),
    )
    add_people_and_footage(world, db)
    yield world, store
    store.gate.set()
    assert world.exports is not None
    world.exports.close()
    assert no_export_thread_left()


def finished(client: TestClient, export_id: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/api/exports/{export_id}").json()
        return job if job["state"] in {"done", "failed"} else None

    return wait_for(ended, 60, f"export {export_id} to end", every=0.02)


def exported(world: World, username: str = "inv.vil", body: dict[str, Any] | None = None) -> tuple[TestClient, dict]:
    client = world.login(username)
    asked = client.post("/api/exports", json=body or BODY)
    assert asked.status_code == 202, asked.text
    job = finished(client, asked.json()["id"])
    assert job["state"] == "done", job
    return client, job


def audited(world: World, action: AuditAction) -> list[AuditEvent]:
    return [e for e in world.audit.events if e.action is action]


def test_an_investigator_exports_downloads_and_verifies_the_signed_package(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = world.login("inv.vil")
    asked = client.post("/api/exports", json=BODY)
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", export_id) and asked.headers["location"] == f"/api/exports/{export_id}"
    assert asked.json()["state"] == "queued" and asked.json()["package"] is None

    job = finished(client, export_id)
    assert (job["state"], job["progress"], job["error"]) == ("done", 1.0, None)
    assert [f["camera_id"] for f in job["files"]] == ["vil-1"] and job["requested_by"] == "inv.vil"
    package = job["package"]
    download = client.get(package["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert package["name"] in download.headers["content-disposition"]
    assert (
        hashlib.sha256(download.content).hexdigest() == package["sha256"] and len(download.content) == package["bytes"]
    )

    # Unzipped anywhere, the package is what `vigie export verify` checks offline with the public keys.
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "court")
    folder = tmp_path / "court" / package["name"].removesuffix(".zip")
    assert world.audit_chain is not None
    world.audit_chain.keyring.export_public_keys(tmp_path / "keys")
    assert export_verify_command(folder, [tmp_path / "keys"]) == 0, capsys.readouterr().out
    manifest_bytes = (folder / "manifest.json").read_bytes()
    assert hashlib.sha256(manifest_bytes).hexdigest() == job["manifest_sha256"]
    request = json.loads(manifest_bytes)["request"]
    assert (request["requested_by"], request["reason"], request["requisition_ref"]) == (
        "inv.vil",
        BODY["reason"],
        BODY["requisition_ref"],
    )

    stored = client.post(f"/api/exports/{export_id}/verify").json()
    assert stored["ok"] is True and stored["files_checked"] == 1 and stored["issues"] == []
    assert stored["expected_sha256"] == stored["package_sha256"] == package["sha256"]
    brought = client.post("/api/exports/verify", content=download.content, headers={"Content-Type": "application/zip"})
    assert brought.status_code == 200 and brought.json()["ok"] is True
    assert brought.json()["package_sha256"] == package["sha256"] and brought.json()["expected_sha256"] is None

    exports = audited(world, AuditAction.EXPORT)
    assert [(e.actor, e.details["outcome"], e.details["export"]) for e in exports] == [
        ("inv.vil", "queued", export_id),
        ("inv.vil", "exported", export_id),
    ]
    assert exports[1].details["requisition_ref"] == BODY["requisition_ref"]
    assert exports[1].details["package"]["sha256"] == package["sha256"]
    assert exports[1].details["manifest_sha256"] == job["manifest_sha256"]
    [download_entry] = audited(world, AuditAction.EXPORT_DOWNLOADED)
    assert (download_entry.actor, download_entry.target) == ("inv.vil", "vil-1")
    assert (
        download_entry.details["export"] == export_id and download_entry.details["package_sha256"] == package["sha256"]
    )
    verifications = audited(world, AuditAction.EXPORT_VERIFIED)
    assert [(e.actor, e.target, e.details["ok"]) for e in verifications] == [
        ("inv.vil", "vil-1", True),
        ("inv.vil", "upload", True),
    ]


def test_progress_counts_the_recorded_segments_copied_and_checked(world: World, tmp_path: Path) -> None:
    assert world.audit_chain is not None
    exporter = VideoExporter(
        SqlSegmentIndex(world.engine),
        FileSegmentStore(data_dir_of(world.engine) / "segments"),
        world.audit_chain.keyring.current_signer(),
        "test",
    )
    seen: list[tuple[int, int]] = []
    request = ExportRequest(("vil-1", "bron-1"), T0, T0 + timedelta(seconds=3), "inv.vil", "rixe", "PV 1")
    cameras = {c: CameraIdentity(c, c) for c in ("vil-1", "bron-1")}
    exporter.export(request, cameras, tmp_path / "out", T0, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_the_package_waits_for_the_end_of_the_export_and_exports_do_not_pile_up(
    gated: tuple[World, GatedStore],
) -> None:
    world, store = gated
    client = world.login("inv.vil")
    first = client.post("/api/exports", json=BODY).json()["id"]
    assert store.holding.wait(30)
    running = client.get(f"/api/exports/{first}").json()
    assert running["state"] == "running" and running["progress"] == pytest.approx(1 / 3)
    not_yet = client.get(f"/api/exports/{first}/package")
    assert not_yet.status_code == 409 and not_yet.json()["error"]["code"] == "not_ready"
    assert "running" in not_yet.json()["error"]["message"]
    assert client.post(f"/api/exports/{first}/verify").status_code == 409

    queued = [client.post("/api/exports", json=BODY) for _ in range(2)]
    assert [q.json()["state"] for q in queued] == ["queued", "queued"]
    refused = client.post("/api/exports", json=BODY)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_exports"
    assert audited(world, AuditAction.EXPORT)[-1].details["outcome"] == "refused"
    assert world.login("inv2.vil").post("/api/exports", json=BODY).status_code == 202, "the limit is per person"

    store.gate.set()
    for export_id in [first, *(q.json()["id"] for q in queued)]:
        assert finished(client, export_id)["state"] == "done"
    assert not audited(world, AuditAction.EXPORT_DOWNLOADED), "nothing was downloaded"


def test_stopping_the_service_abandons_exports_and_leaves_nothing_behind(gated: tuple[World, GatedStore]) -> None:
    world, store = gated
    assert world.exports is not None
    client = world.login("inv.vil")
    running = client.post("/api/exports", json=BODY).json()["id"]
    waiting = client.post("/api/exports", json=BODY).json()["id"]
    assert store.holding.wait(30)
    world.exports.close(timeout=0)
    store.gate.set()
    jobs = {export_id: finished(client, export_id) for export_id in (running, waiting)}
    assert "stopped during this export" in jobs[running]["error"]
    assert "stopped before this export started" in jobs[waiting]["error"]
    assert no_export_thread_left()
    assert not (data_dir_of(world.engine) / "exports" / running).exists()
    assert not (data_dir_of(world.engine) / "exports" / waiting).exists()
    outcomes = {(e.details["export"], e.details["outcome"]) for e in audited(world, AuditAction.EXPORT)}
    assert {(running, "cancelled"), (waiting, "cancelled")} <= outcomes
    assert client.post("/api/exports", json=BODY).status_code == 429


def test_reason_and_requisition_are_required_and_the_range_must_be_sound(world: World) -> None:
    client = world.login("inv.vil")
    missing = client.post(
        "/api/exports", json={k: v for k, v in BODY.items() if k not in {"reason", "requisition_ref"}}
    )
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["error"]["details"]} == {"body.reason", "body.requisition_ref"}

    blank = client.post("/api/exports", json={**BODY, "reason": "  ", "requisition_ref": ""})
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "invalid_request"
    message = blank.json()["error"]["message"]
    assert "the reason is required (L13)" in message and "the requisition reference is required (L13)" in message

    naive = client.post("/api/exports", json={**BODY, "start": "2026-11-28T12:00:00"})
    assert naive.status_code == 422 and [d["field"] for d in naive.json()["error"]["details"]] == ["body.start"]
    backwards = client.post("/api/exports", json={**BODY, "start": BODY["end"], "end": BODY["start"]})
    assert backwards.status_code == 422 and "start must be before end" in backwards.json()["error"]["message"]
    too_long = client.post("/api/exports", json={**BODY, "end": (T0 + timedelta(days=2)).isoformat()})
    assert too_long.status_code == 422 and "split the export" in too_long.json()["error"]["message"]
    twice = client.post("/api/exports", json={**BODY, "camera_ids": ["vil-1", "vil-1"]})
    assert twice.status_code == 422 and "listed twice" in twice.json()["error"]["message"]

    assert client.get("/api/exports").json()["items"] == []
    refusals = audited(world, AuditAction.EXPORT)
    assert [e.details["outcome"] for e in refusals] == ["refused"] * 6, "every refusal, the API's checks' too"
    assert "body.requisition_ref" in refusals[0].details["error"], "missing: refused before the service, audited"
    assert "requisition reference is required" in refusals[1].details["error"]


WHO_MAY_EXPORT = [
    ("inv.vil", 202),
    ("op.vil", 403),
    ("sup.vil", 403),
    ("dpo.vil", 403),
    ("auditor.vil", 403),
    ("maire.vil", 403),
    ("admin.vil", 403),
    ("op.bron", 403),
    ("inv.untrained", 403),
    ("inv.bron", 404),
]


@pytest.mark.parametrize(("username", "status"), WHO_MAY_EXPORT)
def test_who_may_export_a_villeurbanne_camera(world: World, username: str, status: int) -> None:
    client = world.login(username)
    answer = client.post("/api/exports", json=BODY)
    assert answer.status_code == status, answer.text
    denied = [e for e in audited(world, AuditAction.ACCESS_DENIED) if e.actor == username]
    if status == 403:
        assert answer.json()["error"]["code"] == "forbidden"
        assert [e.target for e in denied] == ["POST /api/exports"], "the refusal is audited"
        assert client.get("/api/exports").status_code == 403
        assert not audited(world, AuditAction.EXPORT), "nothing was exported"
    if username == "inv.untrained":
        assert "training" in answer.json()["error"]["message"]
    if status == 404:
        assert answer.json()["error"]["message"] == "no camera 'vil-1' among the cameras you may see"
        [refusal] = audited(world, AuditAction.EXPORT)
        assert (refusal.actor, refusal.details["outcome"]) == (username, "refused")
    if status == 202:
        assert not denied and audited(world, AuditAction.EXPORT)[0].details["outcome"] == "queued"


def test_another_communes_camera_answers_like_a_missing_one(world: World) -> None:
    client = world.login("inv.vil")
    answers = {
        tuple(cameras): client.post("/api/exports", json={**BODY, "camera_ids": cameras})
        for cameras in (["bron-1"], ["vil-1", "bron-1"], ["nope-1"])
    }
    assert {a.status_code for a in answers.values()} == {404}
    assert answers[("bron-1",)].json()["error"]["message"].replace("bron-1", "X") == answers[("nope-1",)].json()[
        "error"
    ]["message"].replace("nope-1", "X")
    assert client.get("/api/exports").json()["items"] == []
    assert [e.details["outcome"] for e in audited(world, AuditAction.EXPORT)] == ["refused"] * 3


def test_an_export_is_seen_only_by_whoever_asked_for_it(world: World) -> None:
    owner, job = exported(world)
    export_id = job["id"]
    for username in ("inv2.vil", "inv.bron"):
        other = world.login(username)
        for method, path in (
            ("GET", f"/api/exports/{export_id}"),
            ("GET", f"/api/exports/{export_id}/package"),
            ("POST", f"/api/exports/{export_id}/verify"),
        ):
            answer = other.request(method, path)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", (username, path)
        assert other.get("/api/exports").json()["items"] == []
    assert owner.get(f"/api/exports/{'0' * 32}").status_code == 404
    assert owner.get("/api/exports/not-an-id").status_code == 422
    assert not audited(world, AuditAction.EXPORT_DOWNLOADED) and not audited(world, AuditAction.EXPORT_VERIFIED)


def test_a_tampered_package_fails_verification_naming_the_file(world: World) -> None:
    client, job = exported(world)
    path = data_dir_of(world.engine) / "exports" / job["id"] / job["package"]["name"]
    original = path.read_bytes()
    mp4 = job["files"][0]["name"]

    # A file changed inside a well-formed zip: the manifest's SHA-256 no longer matches.
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            target.writestr(member, data[:-1] + bytes([data[-1] ^ 1]) if member.filename.endswith(mp4) else data)
    report = client.post(f"/api/exports/{job['id']}/verify").json()
    assert report["ok"] is False
    found = {(i["kind"], i["name"]) for i in report["issues"]}
    assert {("sha256", mp4), ("package", job["package"]["name"])} <= found
    uploaded = client.post(
        "/api/exports/verify", content=path.read_bytes(), headers={"Content-Type": "application/zip"}
    )
    assert uploaded.json()["ok"] is False and ("sha256", mp4) in {
        (i["kind"], i["name"]) for i in uploaded.json()["issues"]
    }

    # One byte changed in place: the zip's own checksum of the file catches it.
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        member = next(m for m in archive.infolist() if m.filename.endswith(mp4))
    header = original[member.header_offset : member.header_offset + 30]
    data_at = (
        member.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    )
    damaged = bytearray(original)
    damaged[data_at + 100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    report = client.post(f"/api/exports/{job['id']}/verify").json()
    assert report["ok"] is False
    assert any(
        i["kind"] == "package" and i["name"] == mp4 and "cannot be read" in i["message"] for i in report["issues"]
    )

    path.write_bytes(original)
    assert client.post(f"/api/exports/{job['id']}/verify").json()["ok"] is True
    assert [e.details["ok"] for e in audited(world, AuditAction.EXPORT_VERIFIED)] == [False, False, False, True]


def test_a_range_without_footage_is_refused_at_once_and_a_camera_without_footage_is_noted(world: World) -> None:
    client = world.login("inv.vil")
    empty = client.post("/api/exports", json={**BODY, "camera_ids": ["vil-2"]})
    assert empty.status_code == 422 and "nothing recorded for vil-2" in empty.json()["error"]["message"]
    later = {**BODY, "start": (T0 + timedelta(hours=1)).isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()}
    assert client.post("/api/exports", json=later).status_code == 422
    assert [e.details["outcome"] for e in audited(world, AuditAction.EXPORT)] == ["refused", "refused"]

    _, job = exported(world, body={**BODY, "camera_ids": ["vil-1", "vil-2"]})
    assert job["cameras_without_footage"] == ["vil-2"] and [f["camera_id"] for f in job["files"]] == ["vil-1"]


def test_exports_are_listed_newest_first_page_by_page(world: World) -> None:
    client, first = exported(world)
    _, second = exported(world, body={**BODY, "requisition_ref": "PV 2026/001235"})
    page = client.get("/api/exports", params={"limit": 1}).json()
    assert [j["id"] for j in page["items"]] == [second["id"]] and page["next_offset"] == 1
    page = client.get("/api/exports", params={"limit": 1, "offset": 1}).json()
    assert [j["id"] for j in page["items"]] == [first["id"]]
    assert client.get("/api/exports", params={"limit": 0}).status_code == 422


def test_anyone_who_checks_evidence_may_have_a_package_verified(world: World) -> None:
    auditor = world.login("auditor.vil")
    garbage = auditor.post("/api/exports/verify", content=b"not a zip", headers={"Content-Type": "application/zip"})
    assert garbage.status_code == 200 and garbage.json()["ok"] is False
    assert [i["kind"] for i in garbage.json()["issues"]] == ["package"]
    operator = world.login("op.vil").post(
        "/api/exports/verify", content=b"x", headers={"Content-Type": "application/zip"}
    )
    assert operator.status_code == 403
    assert [e.actor for e in audited(world, AuditAction.ACCESS_DENIED)] == ["op.vil"]
    assert [(e.actor, e.target) for e in audited(world, AuditAction.EXPORT_VERIFIED)] == [("auditor.vil", "upload")]


def test_the_servers_copy_of_a_package_is_deleted_after_its_days_and_the_deletion_is_traced(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    _, job = exported(world)
    package = job["package"]
    assert world.exports is not None
    keep = timedelta(days=7)
    # The service ages a package by its file's time, which the host's clock wrote: count the days from there.
    [zipped] = (data_dir_of(world.engine) / "exports").glob("*/*.zip")
    written = datetime.fromtimestamp(zipped.stat().st_mtime, UTC)
    world.clock.now = written + timedelta(days=6)
    assert world.exports.purge_packages(keep) == 0
    client = world.login("inv.vil")  # days later: a new session
    assert client.get(package["url"]).status_code == 200
    world.clock.now = written + timedelta(days=7, minutes=1)
    assert world.exports.purge_packages(keep) == 1
    gone = world.login("inv.vil").get(package["url"])
    assert gone.status_code == 404 and "no longer stored" in gone.json()["error"]["message"]
    [deleted] = audited(world, AuditAction.DELETION)
    assert deleted.target == f"export:{job['id']}"
    assert deleted.details["packages"][0]["sha256"] == package["sha256"]


def data_folder_listing(world: World) -> set[str]:
    """Every file and folder under the data folder, but the SQLite database's own files."""
    root = data_dir_of(world.engine)
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".db" not in p.name}


def test_a_zip_bomb_brought_back_is_refused_unchecked_and_writes_nothing(world: World) -> None:
    # Issue 15 D7: a 1 MB upload wrote 1016 MiB under the data folder before its verdict.
    before = data_folder_listing(world)
    client = world.login("inv.vil")
    for bomb in (zeros_bomb(32), lying_bomb(64)):  # honest headers at 1000:1; a header claiming 1:1
        answer = client.post("/api/exports/verify", content=bomb, headers={"Content-Type": "application/zip"})
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_request" and error["message"].startswith("refused: export/vil-1.mp4")
        assert "zip bomb" in error["message"]
        assert str(data_dir_of(world.engine)) not in answer.text and tempfile.gettempdir() not in answer.text
    assert data_folder_listing(world) == before, "nothing was written under the data folder"
    verifications = audited(world, AuditAction.EXPORT_VERIFIED)
    assert [(e.actor, e.target, e.details["ok"]) for e in verifications] == [("inv.vil", "upload", False)] * 2
    assert all(e.details["refused"].startswith("refused: ") for e in verifications)


def test_what_is_wrong_with_an_upload_is_said_without_a_path_of_the_server(world: World) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/vil-1.mp4", b"\x00" * 1000)  # no manifest, no signature
    answer = world.login("inv.vil").post(
        "/api/exports/verify", content=buffer.getvalue(), headers={"Content-Type": "application/zip"}
    )
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert ("missing", "manifest.json") in {(i["kind"], i["name"]) for i in answer.json()["issues"]}
    assert str(data_dir_of(world.engine)) not in answer.text and tempfile.gettempdir() not in answer.text
