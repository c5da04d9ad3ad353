"""A test double of :class:`vigie.domain.access_requests.CopyMaker`, for the access-request workflow's state machine
and API: it writes a small file of bytes per camera of the scope (not a playable video: decoding and blurring are
the real maker's, tested with it), its boxes beside it and an "original" under ``original/``, and releases a zip
of the redacted files with a manifest. A test can hold it in ``prepare`` (``hold``), make it fail (``fails``), and
read what it was asked (``asked``)."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from vigie.domain.access_requests import (
    AccessRequest,
    CopyFile,
    CopyScope,
    PreparedCopy,
    ProgressFn,
    Release,
)

FRAMES_PER_CAMERA = 25
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
"""An MP4's first box (``ftyp``): enough for a browser to take the bytes for MP4, not to play them."""


@dataclass
class FakeCopyMaker:
    hold: threading.Event | None = None
    """When set, ``prepare`` waits for it (a copy being made, for as long as a test needs)."""
    started: threading.Event = field(default_factory=threading.Event)
    fails: Exception | None = None
    asked: list[tuple[int, CopyScope, str]] = field(default_factory=list)

    def prepare(self, request_id: int, scope: CopyScope, folder: str, progress: ProgressFn) -> PreparedCopy:
        self.asked.append((request_id, scope, folder))
        self.started.set()
        progress(0, FRAMES_PER_CAMERA * len(scope.camera_ids))
        if self.hold is not None:
            self.hold.wait(30)
        if self.fails is not None:
            raise self.fails
        root = Path(folder)
        (root / "original").mkdir(parents=True, exist_ok=True)
        files = []
        for camera in scope.camera_ids:
            name = f"{camera}_{scope.start.strftime('%Y%m%dT%H%M%SZ')}.mp4"
            body = MP4_HEAD + hashlib.sha256(f"{request_id}{camera}".encode()).digest() * 64
            (root / name).write_bytes(body)
            (root / "original" / name).write_bytes(MP4_HEAD + b"original " + camera.encode() * 100)
            boxes = {"frames": [{"t": i / 5, "boxes": [[0.1, 0.1, 0.2, 0.3]]} for i in range(FRAMES_PER_CAMERA)]}
            (root / f"{name}.boxes.json").write_text(json.dumps(boxes), encoding="utf-8")
            files.append(
                CopyFile(
                    name,
                    camera,
                    FRAMES_PER_CAMERA,
                    hashlib.sha256(body).hexdigest(),
                    len(body),
                    scope.start,
                    min(scope.end, scope.start + timedelta(seconds=FRAMES_PER_CAMERA / 5)),
                )
            )
        return PreparedCopy(folder, tuple(files), "ab" * 32, "test-double sha256:" + "cd" * 32, {"detector_fps": 5})

    def release(self, request: AccessRequest, package_folder: str, now: datetime) -> Release:
        if request.copy is None:
            raise ValueError("no copy to release")
        manifest = json.dumps({"request": request.id, "files": {f.name: f.sha256 for f in request.copy.files}})
        name = f"access-request-{request.id}.zip"
        path = Path(package_folder) / name
        with zipfile.ZipFile(path, "w") as package:
            package.writestr("manifest.json", manifest)
            for f in request.copy.files:
                package.write(Path(request.copy.folder) / f.name, f.name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return Release(now, "", name, digest, hashlib.sha256(manifest.encode()).hexdigest(), "test-key")
