"""Live view settings per camera: the wall reads the sub stream (small, cheap, what it is for), the single view
the main stream; both with the camera's privacy masks (L6). The H.264 is also passed through in fragmented MP4 (no
decoding): the main stream from the recorder's live tap (the recorder already reads it: one camera session serves
recording and live), the sub stream from the camera; a masked camera only from its recorder's tap, where the masks
are burnt in (never its raw streams)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from vigie.config.camera import Camera
from vigie.domain.clock import Clock
from vigie.domain.live_endpoint import LiveEndpointReader
from vigie.domain.ports import AuditSink, LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec, camera_frames
from vigie.ingest.live_fmp4 import Fmp4Hub, Fmp4Spec, camera_packets
from vigie.ingest.masking import mask_polygons
from vigie.ingest.tap import tap_path, tap_url
from vigie.ingest.tap_relay import RelayedTaps, relayed_url
from vigie.services.live import LiveService

WALL_WIDTH = 640
WALL_FPS = 10.0
FULL_WIDTH = 1920
FULL_FPS = 15.0


def live_specs(cameras: Iterable[Camera], data_dir: Path | None = None) -> dict[tuple[str, LiveQuality], LiveSpec]:
    """The decoded (MJPEG) live view of each camera, its picture masks filled on the way. A dome with pan/tilt
    masks is decoded from its recorder's tap, where they are burnt in as it moves (never from its own streams);
    without taps (``data_dir`` None, or cluster mode where the taps are on the nodes) it has no MJPEG view."""
    specs: dict[tuple[str, LiveQuality], LiveSpec] = {}
    for camera in cameras:
        masks = mask_polygons(camera)
        if camera.ptz_privacy_masks:
            if data_dir is not None:
                tap = tap_url(tap_path(data_dir, camera.id))
                specs[camera.id, "wall"] = LiveSpec(camera.id, tap, WALL_FPS, WALL_WIDTH, masks)
                specs[camera.id, "full"] = LiveSpec(camera.id, tap, FULL_FPS, FULL_WIDTH, masks)
            continue
        specs[camera.id, "wall"] = LiveSpec(camera.id, camera.analysis_stream, WALL_FPS, WALL_WIDTH, masks)
        specs[camera.id, "full"] = LiveSpec(camera.id, camera.main_stream, FULL_FPS, FULL_WIDTH, masks)
    return specs


def passthrough_specs(
    cameras: Iterable[Camera], data_dir: Path | None = None, *, relayed: bool = False
) -> dict[tuple[str, LiveQuality], Fmp4Spec]:
    """The H.264 streams passed to the browser without decoding, with every recorder's live tap under ``data_dir``
    (:mod:`vigie.ingest.tap`; every enabled camera is recorded), or, ``relayed`` (cluster mode), each tap read
    through the relay of the node that records the camera (:mod:`vigie.ingest.tap_relay`):

    - a camera without privacy masks: its main stream (the single view) from its recorder's tap, the camera's own
      main stream as the fallback while the tap cannot be read; its sub stream (the wall) from the camera, or the
      same tapped feed when it has no sub stream. Without ``data_dir``, both from the camera.
    - a camera with masks (L6): never its own streams but the one its recorder encodes with the masks burnt in,
      from the tap, with no fallback — the main stream's size on the wall too (it is the only masked stream there
      is). A dome with pan/tilt masks likewise. Without ``data_dir``, masked cameras are MJPEG only."""
    specs: dict[tuple[str, LiveQuality], Fmp4Spec] = {}
    for camera in cameras:
        tap = None if data_dir is None else tap_url(tap_path(data_dir, camera.id))
        if relayed:
            tap = relayed_url(camera.id)
        if mask_polygons(camera) or camera.ptz_privacy_masks:
            if tap is not None:
                specs[camera.id, "wall"] = specs[camera.id, "full"] = Fmp4Spec(camera.id, tap)
            continue
        full = Fmp4Spec(camera.id, camera.main_stream)
        if tap is not None:
            full = Fmp4Spec(camera.id, tap, fallback_url=camera.main_stream)
        specs[camera.id, "full"] = full
        sub = camera.analysis_stream
        specs[camera.id, "wall"] = full if sub == camera.main_stream else Fmp4Spec(camera.id, sub)
    return specs


def open_live_service(
    cameras: Iterable[Camera],
    audit: AuditSink,
    clock: Clock,
    authorisations: CameraAuthorisations | None = None,
    *,
    data_dir: Path | None = None,
    relayed: tuple[LiveEndpointReader, bytes] | None = None,
) -> LiveService:
    """``data_dir``: where the recorders' live taps are (masked cameras' live view as fMP4); ``relayed`` (cluster
    mode): the taps are on the nodes, read through their relays instead — where each camera's relay is, and the
    live tap key (:mod:`vigie.ingest.tap_relay`)."""
    cameras = list(cameras)
    hub = LiveHub(live_specs(cameras, None if relayed is not None else data_dir), partial(camera_frames, clock=clock))
    if relayed is not None:
        endpoints, key = relayed
        relay = RelayedTaps(endpoints, key, clock, partial(camera_packets, clock=clock))
        passthrough = Fmp4Hub(passthrough_specs(cameras, relayed=True), relay, reachable=relay.reachable)
    else:
        passthrough = Fmp4Hub(passthrough_specs(cameras, data_dir), partial(camera_packets, clock=clock))
    return LiveService(hub, audit, clock, authorisations=authorisations, passthrough=passthrough)
