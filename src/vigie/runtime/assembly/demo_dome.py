"""The demo's PTZ dome: a simulated dome driven through the production path, over ONVIF, like a real one.

What runs in the demo process: a :class:`~vigie.sim.dome.SimulatedDome` on the real clock looking at the
procedural panorama, its live feed (:class:`~vigie.sim.dome_stream.DomeStream`: rendered, encoded H.264 and sent
as RTP to a local port that the demo's RTSP server serves as the mount ``dome1``), and a simulated ONVIF device
(:class:`~vigie.sim.onvif.OnvifSimulator`) whose PTZ service moves that dome. The camera ``dome1`` of the demo's
configuration names the device (``onvif: {host, port}``) and its account (``credentials: dome1``): the service
drives it with its ONVIF client, exactly as it drives an installation's domes. The account is made at each start
(a random password, stored sealed in the demo's credentials store and given to the simulated device, never
printed).

The dome's picture is rendered live, not a proven render of a scene (:func:`vigie.sim.rtsp.proven_render`), so
it is **not** in the simulated-footage exemption: no analysis runs on it without an activation, as on a real
camera. Without RTSP (``vigie demo --no-rtsp``) there is no dome: its picture exists only as a live stream.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from vigie.config.models import VigieConfig
from vigie.domain.ptz import DomeOptics
from vigie.governance.camera_credentials import CameraCredentialStore
from vigie.runtime.assembly.audit import keys_folder
from vigie.sim.dome import SimulatedDome
from vigie.sim.dome_stream import DomeStream
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile
from vigie.sim.panorama import Panorama, panorama
from vigie.sim.rtsp import free_udp_ports

log = logging.getLogger(__name__)

DOME_CAMERA = "dome1"
DOME_CREDENTIALS = "dome1"
DOME_USERNAME = "vigie-demo"
WIDTH, HEIGHT, FPS = 960, 540, 12
"""960x540 at 12 fps: about a fifth of a core here to render and encode (docs/devices.md, "The demo's dome")."""
HOST = "127.0.0.1"
COURTYARD_MASK = "cour-privee"
COURTYARD = ((85.0, -48.0), (95.0, -48.0), (95.0, -42.0), (85.0, -42.0))
"""A private courtyard (pan, tilt degrees) below the dome, east: masked in its recordings, live view and analysis
wherever the dome points (L6)."""
VIDEO_DELAY_S = 0.3
"""The longest delay of the dome's picture: its glass-to-glass latency is 165–175 ms here (docs/devices.md)."""


def draw_panorama() -> Future[Panorama]:
    """Draw the dome's panorama in a thread (1–3 s of CPU here) while the demo renders its scenes, at the lowest
    priority on Linux (a thread's own nice value), so the scenes, on the path to the demo's first event, go first."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dome-panorama")
    drawn = pool.submit(_draw_last)
    pool.shutdown(wait=False)  # the thread ends with the drawing
    return drawn


def _draw_last() -> Panorama:
    if sys.platform == "linux":  # nice values are per thread there (a thread id is a task id)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    drawn = panorama()
    drawn.level(0)  # its pyramid too, built at the first frame otherwise
    return drawn


class DemoDome:
    """The dome, its feed and its ONVIF device; a context manager that starts the feed (the RTSP server waits for
    a stream on each mount before it answers) and stops everything on exit. ``drawn``: the panorama being drawn
    (:func:`draw_panorama`)."""

    def __init__(self, drawn: Future[Panorama] | None = None, udp_port: int | None = None) -> None:
        """``udp_port``: where its feed sends RTP (a free one when not given)."""
        self.dome = SimulatedDome(DomeOptics(), drawn.result() if drawn else panorama(), time.monotonic)
        [self.udp_port] = free_udp_ports(1) if udp_port is None else [udp_port]
        self.feed = DomeStream(self.dome, self.udp_port, width=WIDTH, height=HEIGHT, fps=FPS, host=HOST)
        self._password = secrets.token_urlsafe(18)
        self._device: OnvifSimulator | None = None
        self.onvif_port: int | None = None
        self.stream_url: str | None = None

    def __enter__(self) -> DemoDome:
        self.feed.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ONVIF device and the feed (idempotent)."""
        if self._device is not None:
            self._device.stop()
            self._device = None
        self.feed.stop()

    def start_device(self, stream_url: str) -> None:
        """Serve the simulated ONVIF device, its one media profile announcing ``stream_url`` (the RTSP mount)."""
        spec = SimDeviceSpec(
            name=DOME_CAMERA,
            username=DOME_USERNAME,
            password=self._password,
            profiles=(SimProfile("main", "Main", stream_url, width=WIDTH, height=HEIGHT, fps=FPS, gov_length=FPS),),
            model="SimDome",
            ptz=self.dome,
            optics=self.dome.optics,
        )
        self._device = OnvifSimulator([spec], host=HOST)
        self._device.start()
        self.onvif_port = self._device.address(DOME_CAMERA)[1]
        self.stream_url = stream_url
        log.info(
            "simulated PTZ dome %s: live %dx%d at %d fps on %s, ONVIF device at http://%s:%d/onvif/device_service "
            "(account %r in the credentials store as %r, made for this start)",
            DOME_CAMERA,
            WIDTH,
            HEIGHT,
            FPS,
            stream_url,
            HOST,
            self.onvif_port,
            DOME_USERNAME,
            DOME_CREDENTIALS,
        )

    def camera(self) -> dict[str, Any]:
        """The dome's entry in the demo's configuration (after :meth:`start_device`)."""
        if self.onvif_port is None or self.stream_url is None:
            raise RuntimeError("the dome's ONVIF device is not started")
        return {
            "id": DOME_CAMERA,
            "name": "Dôme PTZ du parvis privé (simulé)",
            "kind": "ptz",
            # a private forecourt: the one setting where auto-tracking (ptz_autotracking, framework site-prive) can
            # be activated, so the demo can show it under an activation (docs/devices.md)
            "setting": "private_site",
            "main_stream": self.stream_url,
            "credentials": DOME_CREDENTIALS,
            "onvif": {"host": HOST, "port": self.onvif_port, "video_delay_s": VIDEO_DELAY_S},
            "ptz_privacy_masks": [
                {
                    "id": COURTYARD_MASK,
                    "description": "Cour privée d'un immeuble, visible quand le dôme regarde vers l'est",
                    "points": [list(point) for point in COURTYARD],
                }
            ],
            "location": {"lat": 45.7635, "lon": 4.8362, "address": "Demo private forecourt"},
            "authorisation": {
                "reference": "DEMO-SIMULATION",
                "valid_from": "2026-01-01",
                "valid_until": "2030-12-31",
                "purposes": ["crime_prevention"],
                "retention_days": 7,
            },
        }

    def store_account(self, config: VigieConfig) -> None:
        """Put this start's account into the demo's credentials store (sealed with the demo's secrets key)."""
        CameraCredentialStore(keys_folder(config)).set(DOME_CREDENTIALS, DOME_USERNAME, self._password)
