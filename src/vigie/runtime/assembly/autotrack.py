"""Auto-tracking in ``vigie serve``: a dome follows the target a person boxed on its picture, under the gate.

One :class:`AutoTrackingRunner` per service, attached to its :class:`~vigie.services.ptz.PtzService`. A session
(at most :data:`MAX_SESSIONS` at once in a service: each decodes a stream) reads the dome's sub stream (the
project's reader, :func:`vigie.ingest.reader.sampled_frames`, BGR at the analysis width), asks the dome where it
points at each frame, blacks out the dome's ``ptz_privacy_masks`` *before* the tracker sees the frame (projected
from the reported positions with the camera's optics, L6), runs :class:`~vigie.analytics.autotrack.AutoTracking`
(which asks the governance gate at every frame) and carries out its moves through the service as the system, below
every person. It ends on the operator's stop, a person's command on the dome, a lost target, the session's maximum
duration, the gate closing (activation revoked or expired, stop switch), the picture or the dome failing, or the
service stopping; the service audits its start and end (``autotracking.started``/``autotracking.ended``).

``ptz_autotracking`` drives a physical device: it is never in the simulated-footage exemption
(:func:`vigie.runtime.assembly.governance.exemptible_modules`), and runs only under a real activation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from vigie.analytics.autotrack import (
    MODULE,
    AutoTracking,
    AutoTrackingConfig,
    AutoTrackingEvent,
    AutoTrackingRefused,
    StopReason,
)
from vigie.analytics.autotrack_control import DomeCommand
from vigie.config.models import CameraPlacement
from vigie.devices.dome_masking import swept_raster
from vigie.devices.masks import PtzMask
from vigie.domain.camera import CameraKind
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.ports import Gate
from vigie.domain.ptz import DomeOptics, PtzError, PtzVector, View
from vigie.ingest.reader import CameraError, StreamSpec, sampled_frames
from vigie.services.ptz import DomeUnreachableError, PtzCommand, PtzCommandKind, PtzService
from vigie.services.ptz_tracking import TrackingBusyError, TrackingRefusedError

log = logging.getLogger(__name__)

MAX_SESSIONS: Final = 4
"""Targets one service follows at once: each session decodes a dome's stream (about a tenth of a core at 640 px)."""
ANALYSIS_FPS: Final = 12.5
"""Frames a session looks at per second (a dome's sub stream, often 12.5–25 fps)."""
FIRST_FRAME_S: Final = 8.0
"""How long a designation waits for the dome's stream to open and give its first picture."""

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    image: Image
    """BGR."""
    at: datetime


@dataclass(frozen=True, slots=True)
class TrackedDome:
    """What a session needs of one dome: its stream (the sub stream when it has one), optics, masks, settings."""

    camera_id: str
    stream_url: str = field(repr=False)
    """May carry the camera's account: never logged."""
    optics: DomeOptics
    masks: tuple[PtzMask, ...]
    config: AutoTrackingConfig
    video_delay_s: float
    """The masks of a frame cover every position the dome reported this long before it (``onvif.video_delay_s``)."""


FrameSource = Callable[[TrackedDome], Iterator[TrackedFrame]]
"""The dome's pictures, in order, each stamped when it arrived (production: :func:`stream_frames`)."""


def stream_frames(clock: Clock) -> FrameSource:
    """The dome's analysis stream read with the project's reader, BGR, at :data:`ANALYSIS_FPS`."""

    def frames(dome: TrackedDome) -> Iterator[TrackedFrame]:
        spec = StreamSpec(
            dome.camera_id,
            dome.stream_url,
            analysis_fps=ANALYSIS_FPS,
            analysis_width=dome.config.analysis_width,
            pixel_format="bgr24",
            open_timeout_s=FIRST_FRAME_S,
            read_timeout_s=5.0,
            upscale=False,
        )
        for sampled in sampled_frames(spec, clock):
            yield TrackedFrame(np.asarray(sampled.image, np.uint8), sampled.at)

    return frames


def tracked_domes(placements: Sequence[CameraPlacement]) -> dict[str, TrackedDome]:
    """Every dome Vigie drives (``kind: ptz`` with ``onvif:`` settings), with its optics and pan/tilt masks."""
    domes: dict[str, TrackedDome] = {}
    for p in placements:
        camera, onvif = p.camera, p.camera.onvif
        if camera.kind is not CameraKind.PTZ or onvif is None or not camera.credentials:
            continue
        domes[camera.id] = TrackedDome(
            camera.id,
            camera.analysis_stream,
            onvif.optics.to_domain(),
            tuple(PtzMask(m.id, tuple(m.points)) for m in camera.ptz_privacy_masks),
            # ``analysis.modules.ptz_autotracking`` (checked by `vigie config check`; kept out of the analysis
            # workers' event rules: this module runs here), else the module's defaults
            AutoTrackingConfig.model_validate(camera.analysis.modules.get(MODULE, {})),
            onvif.video_delay_s,
        )
    return domes


def masked(image: Image, masks: Sequence[PtzMask], optics: DomeOptics, positions: Sequence[PtzVector]) -> Image:
    """``image`` with ``masks`` blacked out as seen from each of ``positions`` (the dome's reported positions over
    the picture's delay: a moving dome's masks are widened rather than late), the motion between them swept as
    the recorder's masks are (:func:`vigie.devices.dome_masking.swept_raster`)."""
    if not masks:
        return image
    height, width = image.shape[:2]
    views = [View(*optics.to_angles(position), width, height) for position in dict.fromkeys(positions)]
    out = image.copy()
    out[swept_raster(masks, views)] = 0
    return out


class _Session:
    """One dome following one target, in a thread of its own; every step under ``lock`` (the tracker is not
    thread-safe, and a stop or a person's command may come from an API thread)."""

    def __init__(
        self, runner: AutoTrackingRunner, dome: TrackedDome, tracking: AutoTracking, frames: Iterator[TrackedFrame]
    ) -> None:
        self.runner, self.dome, self.tracking, self.frames = runner, dome, tracking, frames
        self.session = 0
        self.lock = threading.Lock()
        self.done = False
        self.positions: deque[tuple[datetime, PtzVector]] = deque(maxlen=64)
        self.thread = threading.Thread(target=self._run, name=f"autotrack-{dome.camera_id}", daemon=True)

    @property
    def camera_id(self) -> str:
        return self.dome.camera_id

    def position(self, at: datetime) -> PtzVector:
        """Where the dome points now (asked at each frame); kept for the masks over the picture's delay."""
        position = self.runner.ptz.position_of(self.camera_id).position
        self.positions.append((at, position))
        return position

    def recent_positions(self, at: datetime) -> list[PtzVector]:
        since = at - timedelta(seconds=self.dome.video_delay_s)
        return [p for t, p in self.positions if t >= since] or [self.positions[-1][1]]

    def _run(self) -> None:
        reason = StopReason.NO_PICTURE
        try:
            for frame in self.frames:
                with self.lock:
                    if self.done or not self._step(frame):
                        return
        except CameraError as err:
            log.warning("autotracking: %s: %s", self.camera_id, err)
        except DomeUnreachableError as err:
            log.warning("autotracking: %s: %s", self.camera_id, err)
            reason = StopReason.DOME_UNREACHABLE
        except Exception:
            log.exception("autotracking: %s: the session failed", self.camera_id)
            reason = StopReason.NO_PICTURE
        finally:
            self._close_frames()
            with self.lock:
                if not self.done:
                    self.finish(reason)
            self.runner.forget(self)

    def _step(self, frame: TrackedFrame) -> bool:
        """One picture: False once the session is over."""
        position = self.position(frame.at)
        image = masked(frame.image, self.dome.masks, self.dome.optics, self.recent_positions(frame.at))
        commands = self.tracking.process(image, position, frame.at)
        if not self._send(commands):
            return False
        return not self._ended_by_tracker()

    def _send(self, commands: Sequence[DomeCommand]) -> bool:
        for command in commands:
            kind = PtzCommandKind(command.kind)
            if not self.runner.ptz.tracking_move(
                self.camera_id, self.session, PtzCommand(kind, command.vector, timeout_s=command.timeout_s)
            ):
                # a person's command ended the session (and said so in the audit): the dome is theirs
                self.tracking.person_command("unknown")
                self.tracking.events()
                self.done = True
                return False
        return True

    def _ended_by_tracker(self) -> bool:
        """The tracker ended the session (target lost, time up, gate closed): the service audits it."""
        for event in self.tracking.events():
            if event.kind == "autotracking.ended":
                self._audit_end(event)
                return True
        return False

    def _audit_end(self, event: AutoTrackingEvent) -> None:
        self.done = True
        reason = event.reason.value if event.reason is not None else StopReason.ENDED.value
        self.runner.ptz.end_tracking(
            self.camera_id, self.session, reason, by=event.by, frames=event.frames, at=event.at
        )

    def stop(self, by: str) -> None:
        """The operator's stop: the dome stops where it is."""
        with self.lock:
            if self.done:
                return
            try:
                self._send(self.tracking.end(by, self.runner.clock()))
            finally:
                self._ended_by_tracker()
                self.done = True

    def person_took(self, actor: str) -> None:
        """A person's command already ended the session in the service (audited there): forget the target."""
        with self.lock:
            if not self.done:
                self.tracking.person_command(actor, self.runner.clock())
                self.tracking.events()
                self.done = True

    def finish(self, reason: StopReason) -> None:
        """End for a reason of the runtime's (under ``lock``): the dome stopped if it was sent moving."""
        self.done = True
        halt = self.tracking.end("system", self.runner.clock())
        frames = [e.frames for e in self.tracking.events() if e.kind == "autotracking.ended"]
        try:
            for command in halt:
                self.runner.ptz.tracking_move(self.camera_id, self.session, PtzCommand(PtzCommandKind(command.kind)))
        except (DomeUnreachableError, PtzError) as err:
            log.warning("autotracking: %s: the dome could not be stopped: %s", self.camera_id, err)
        self.runner.ptz.end_tracking(self.camera_id, self.session, reason.value, frames=frames[0] if frames else None)

    def _close_frames(self) -> None:
        close = getattr(self.frames, "close", None)
        if callable(close):
            try:
                close()
            except (CameraError, RuntimeError, ValueError) as err:  # a generator running in another thread
                log.debug("autotracking: %s: closing the stream: %s", self.camera_id, err)


class AutoTrackingRunner:
    """Auto-tracking sessions of one service (the :class:`~vigie.services.ptz.TrackingRunner` of its PTZ service).

    ``gate``: the governance gate (asked at the designation and at every frame); ``frames``: where each dome's
    pictures come from (:func:`stream_frames` in production; a test renders a simulated dome)."""

    def __init__(
        self,
        ptz: PtzService,
        gate: Gate,
        domes: Mapping[str, TrackedDome],
        clock: Clock,
        *,
        frames: FrameSource | None = None,
        max_sessions: int = MAX_SESSIONS,
        refusal: Callable[[str], str | None] | None = None,
    ) -> None:
        """``refusal``: why a camera may not be streamed today (its authorisation, L1; masks it cannot follow, L6),
        asked at each designation (``VigieService.camera_refusal``)."""
        self.ptz, self.gate, self.domes, self.clock = ptz, gate, dict(domes), clock
        self._refusal = refusal
        self._frames = frames or stream_frames(clock)
        self._max = max_sessions
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def active(self) -> list[str]:
        with self._lock:
            return sorted(c for c, s in self._sessions.items() if not s.done)

    def start(self, camera_id: str, box: Box, by: str) -> None:
        dome = self.domes.get(camera_id)
        if dome is None:
            raise TrackingRefusedError(f"camera {camera_id} is no dome this service drives: it cannot follow a target")
        if not self.gate.allows(MODULE, camera_id, self.clock()):
            raise TrackingRefusedError(refusal(camera_id))
        standing = self._refusal(camera_id) if self._refusal is not None else None
        if standing is not None:
            raise TrackingRefusedError(f"camera {camera_id} may not be streamed now, so it cannot follow: {standing}")
        with self._lock:
            if self._closed:
                raise TrackingRefusedError("the service is stopping: auto-tracking is not available")
            busy = [c for c, s in self._sessions.items() if not s.done and c != camera_id]
            if len(busy) >= self._max:
                raise TrackingBusyError(
                    f"this service already follows {len(busy)} targets at once (at most {self._max}: "
                    f"{', '.join(sorted(busy))}); stop one of them first"
                )
        previous = self._sessions.get(camera_id)
        if previous is not None:
            previous.stop(by)
        session = self._designate(dome, box, by)
        with self._lock:
            self._sessions[camera_id] = session
        session.thread.start()

    def _designate(self, dome: TrackedDome, box: Box, by: str) -> _Session:
        """Open the dome's stream, take its first picture and designate the target on it (refused like a frame
        would be); the service then audits the start."""
        tracking = AutoTracking(dome.camera_id, dome.config, self.gate, dome.optics, self.clock)
        try:
            frames = self._frames(dome)
            first = next(frames)
        except (CameraError, StopIteration) as err:
            raise TrackingRefusedError(
                f"camera {dome.camera_id}: no picture to designate the target on ({err or 'the stream ended'}); "
                "check that the dome's stream plays"
            ) from None
        session = _Session(self, dome, tracking, frames)
        try:
            position = session.position(first.at)
            image = masked(first.image, dome.masks, dome.optics, [position])
            tracking.designate(box, first.at, by=by, frame=image, position=position)
        except AutoTrackingRefused as err:
            session._close_frames()
            raise TrackingRefusedError(str(err)) from None
        except ValueError as err:  # a box the tracker cannot follow (too small, off the picture)
            session._close_frames()
            raise PtzError(f"camera {dome.camera_id}: {err}") from None
        except DomeUnreachableError:
            session._close_frames()
            raise
        [started] = [e for e in tracking.events() if e.kind == "autotracking.started"]
        session.session = self.ptz.begin_tracking(dome.camera_id, by, started.activation_id, box, first.at)
        return session

    def stop(self, camera_id: str, by: str) -> bool:
        with self._lock:
            session = self._sessions.get(camera_id)
        if session is None or session.done:
            return False
        session.stop(by)
        return True

    def person_took(self, camera_id: str, actor: str) -> None:
        with self._lock:
            session = self._sessions.get(camera_id)
        if session is not None:
            session.person_took(actor)

    def forget(self, session: _Session) -> None:
        with self._lock:
            if self._sessions.get(session.camera_id) is session:
                del self._sessions[session.camera_id]

    def close(self, timeout_s: float = 5.0) -> None:
        """The service stops: every session ends (``service_stopped``, the dome stopped) and its thread is joined."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions.values())
        for session in sessions:
            with session.lock:
                if not session.done:
                    session.finish(StopReason.SERVICE_STOPPED)
        deadline = time.monotonic() + timeout_s  # one wait for all: a thread may be inside a stream read
        for session in sessions:
            if session.thread.is_alive():
                session.thread.join(max(0.0, deadline - time.monotonic()))


def refusal(camera_id: str) -> str:
    """Why auto-tracking may not start on ``camera_id``, and how to get it allowed."""
    return (
        f"auto-tracking is not activated on camera {camera_id}: the analysis module {MODULE} needs an activation "
        "covering this camera (request it under Governance → Activations, approved by the DPO and the authority; "
        "only private sites have a framework for it), and no stop switch engaged"
    )


def open_autotracking(
    ptz: PtzService,
    placements: Sequence[CameraPlacement],
    gate: Gate,
    clock: Clock,
    refusal: Callable[[str], str | None] | None = None,
) -> AutoTrackingRunner:
    """The service's auto-tracking over its domes, attached to its PTZ service (what ``vigie serve`` runs)."""
    runner = AutoTrackingRunner(ptz, gate, tracked_domes(placements), clock, refusal=refusal)
    ptz.attach_tracking(runner)
    return runner
