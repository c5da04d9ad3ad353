"""A real video cut into recorded segments as the recorder writes them: H.264 packets remuxed (not re-encoded) into
MPEG-TS files, each starting on a keyframe, their start instants on one timeline."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import av

from vigie.analytics.forensics.motion_region import RecordedFile
from vigie.domain.recording import Segment, SegmentIndex, SegmentState
from vigie.storage.segment_store import FileSegmentStore


def cut_segments(video: Path, directory: Path, start: datetime, *, seconds: float, limit: float) -> list[RecordedFile]:
    """The first ``limit`` seconds of ``video`` as ``.ts`` segments of about ``seconds`` each (cut on the first
    keyframe after each boundary), each with the instant of its first picture: ``start`` + its media time."""
    files: list[RecordedFile] = []
    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        base = stream.time_base
        if base is None:
            raise ValueError(f"{video} has no time base: not a video file")
        origin: int | None = None
        out = None
        out_stream = None
        for packet in source.demux(stream):
            if packet.pts is None or packet.dts is None:
                continue
            origin = packet.pts if origin is None else origin
            at = float((packet.pts - origin) * base)
            if at >= limit:
                break
            if packet.is_keyframe and (out is None or at >= seconds * len(files)):
                if out is not None:
                    out.close()
                path = directory / f"segment-{len(files)}.ts"
                out = av.open(str(path), "w", format="mpegts")
                out_stream = out.add_stream_from_template(stream)
                files.append(RecordedFile(path, start + timedelta(seconds=at)))
            if out is None or out_stream is None:
                continue  # before the first keyframe: undecodable alone
            packet.stream = out_stream
            out.mux(packet)
        if out is not None:
            out.close()
    return files


def record_cut(
    cut: list[RecordedFile],
    camera: str,
    index: SegmentIndex,
    store: FileSegmentStore,
    end: datetime,
    *,
    shift: timedelta = timedelta(0),
) -> None:
    """Record ``cut`` (from :func:`cut_segments`) on ``camera`` as the recorder does: each piece in the store under
    its day folder, indexed complete with its SHA-256, ``shift`` later than cut; the last piece ends at ``end``."""
    starts = [piece.start + shift for piece in cut]
    for piece, start, stop in zip(cut, starts, [*starts[1:], end], strict=True):
        key = f"{camera}/{start:%Y/%m/%d}/{start:%Y%m%dT%H%M%S.%fZ}.ts"
        path = store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(piece.path, path)
        data = path.read_bytes()
        index.add(Segment(camera, key, start, stop, len(data), hashlib.sha256(data).hexdigest(), SegmentState.COMPLETE))
