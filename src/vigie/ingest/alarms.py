"""Stream alarms (L18): a lost, frozen, reconfigured or substituted stream is reported, not silently recorded.

Pure logic, fed by the camera session with what it sees and tested without a camera: packet arrival times,
decoded analysis frames (small grey images) and stream parameters. Every call returns the alarm transitions it
caused: an alarm is raised once when its episode starts and ``cleared`` once when it ends, so a consumer can
write each record to the audit log and the operator's console as it comes.

How each alarm decides:

- ``no_packets``: nothing arrived for ``no_packets_s`` (checked on every call, ``poll`` included, since a
  dead stream calls nothing else).
- ``frozen_picture``: every frame stays practically identical to the first frame of a still period for
  ``frozen_s``. Frames are compared as 160-pixel-wide thumbnails (block averages, which wash out sensor noise)
  and a pixel counts as changed only beyond ``frozen_tolerance`` grey levels (compression noise stays below).
  A still live view and a frozen picture with noise on it cannot be told apart, only how long it lasts; hence
  a long default.
- ``stream_changed``: codec or resolution differs from the first ones seen (or the last accepted ones).
- ``scene_changed``: the view's structure is compared with a slowly-updated reference, cell by cell, by
  zero-mean normalised correlation of a 64×36 thumbnail: it ignores a global or local gain/offset (lighting),
  and people or vehicles passing change only a few cells. When most textured cells stop matching for
  ``scene_change_s``, the camera was moved, covered or substituted. The reference learns from every look that
  matches it at least ``scene_raise_below`` (so a crowd present when it was taken fades out of it) and stops
  learning while the view differs and during an episode, which ends when the view comes back or an operator
  accepts the new view (:meth:`StreamAlarms.accept`).
- ``image_too_blurry``: the picture lost its fine detail against the camera's own learnt sharpness (a defocused,
  sprayed or fogged lens; :mod:`vigie.ingest.sharpness`, on the source's own luma when the reader gives it and the
  analysis frame has lost its detail) for ``focus_s``: its sharpness fell under
  ``focus_raise_below`` of the reference's, and the alarm clears above ``focus_clear_above`` (hysteresis). Its
  reference learns like the scene's (by elapsed time, only from sharp looks that match the scene reference) and
  starts again with the scene's when an operator accepts a new view. A covered lens is both ``scene_changed`` and
  ``image_too_blurry`` (no view, no detail). On a dome (``view_moves``) the picture is judged only while its view
  is the reference's (scene similarity at least ``scene_raise_below``): a dome on its way to another view, or
  parked on one, is not judged, and a look taken then neither starts nor ends an episode. The kind is the one a
  camera reports over ONVIF (``ImageTooBlurry``) for the same condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.domain.ports import Frame
from vigie.ingest.sharpness import DETAIL_FACTOR, SharpnessLook, learn, look, relative_sharpness

Thumb = npt.NDArray[np.float32]

_FROZEN_SIZE = (160, 90)
_SCENE_SIZE = (64, 36)
_SCENE_GRID = (8, 6)
"""Columns × rows of cells of the scene thumbnail: 8×6 pixels per cell."""


@dataclass(frozen=True, slots=True)
class StreamAlarmConfig:
    """Thresholds of the stream alarms of one camera."""

    no_packets_s: float = 10.0
    """Seconds without any packet before the stream is called lost."""
    frozen_s: float = 60.0
    """Seconds of a practically unchanged picture before it is called frozen."""
    frozen_tolerance: float = 8.0
    """Grey levels a thumbnail pixel may differ (compression, noise) and still count as unchanged."""
    frozen_max_changed: float = 0.001
    """Fraction of thumbnail pixels allowed beyond the tolerance in a frozen picture."""
    scene_change_s: float = 5.0
    """Seconds the view must stay different from its reference before ``scene_changed`` is raised."""
    scene_match: float = 0.6
    """Correlation above which a cell of the view matches the reference."""
    scene_min_texture: float = 2.0
    """Standard deviation (grey levels) under which a cell is flat: no structure to compare."""
    scene_raise_below: float = 0.5
    """Fraction of matching cells under which the view differs from the reference."""
    scene_clear_above: float = 0.7
    """Fraction of matching cells above which the view is the reference again (hysteresis)."""
    scene_learn_s: float = 60.0
    """Time constant of the reference: slow enough that passing traffic averages out. It learns from every look
    that matches it at least ``scene_raise_below``."""
    focus_s: float = 5.0
    """Seconds the picture must stay blurred before ``image_too_blurry`` is raised."""
    focus_raise_below: float = 0.35
    """Sharpness, as a fraction of the reference's, under which the picture is blurred (a 3-px blur: ≤ 0.25)."""
    focus_clear_above: float = 0.5
    """Sharpness above which the picture is sharp again (hysteresis; normal footage: ≥ 0.45)."""
    focus_min_texture: float = 3.0
    """Standard deviation (grey levels, in measuring pixels: :mod:`vigie.ingest.sharpness`) under which a cell has no
    detail to judge by."""
    focus_min_cells: int = 8
    """Textured cells (of 144) the reference needs for the picture to be judged at all (night, fog: fewer)."""
    focus_learn_s: float = 120.0
    """Time constant of the sharpness reference."""
    view_moves: bool = False
    """A dome (camera kind ``ptz``): its view moves, so sharpness is judged only on the view of its reference. A
    fixed camera is judged whatever its view: a blur strong enough to change the view's structure (20 px on a
    low-texture view) must still be called a blur."""

    def __post_init__(self) -> None:
        durations = (self.no_packets_s, self.frozen_s, self.scene_change_s, self.scene_learn_s, self.focus_s)
        if min(*durations, self.focus_learn_s) <= 0:
            raise ValueError("stream alarm durations must be positive")
        if not 0 < self.scene_raise_below <= self.scene_clear_above <= 1:
            raise ValueError("need 0 < scene_raise_below <= scene_clear_above <= 1")
        if not 0 < self.focus_raise_below <= self.focus_clear_above <= 1:
            raise ValueError("need 0 < focus_raise_below <= focus_clear_above <= 1")
        if self.focus_min_texture <= 0 or self.focus_min_cells < 1:
            raise ValueError("need focus_min_texture > 0 and focus_min_cells >= 1")


@dataclass(frozen=True, slots=True)
class StreamParameters:
    """What identifies a stream's format: a change means the camera was reconfigured or replaced."""

    codec: str
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.codec} {self.width}×{self.height}"


def _grey(image: Frame) -> Frame:
    if image.ndim == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    return image


def _thumb(image: Frame, size: tuple[int, int]) -> Thumb:
    thumb: Thumb = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
    return thumb


def sharpness_picture(analysis: Frame, native: Frame | None) -> Frame:
    """The picture sharpness is judged on: the source's own at least twice the analysis frame's width (a 1080p
    camera analysed at 640 px), else the analysis frame. Measured at 2 to 3 picture pixels per measuring pixel
    (:func:`vigie.ingest.sharpness.binning`), the analysis frame of a 768-px source is judged at 2.4 source pixels,
    close enough; its own pixels would be too fine (a soft or enlarged stream has no detail there, only rounding
    and the encoder's blocks: a 5-px blur of the parking lot through H.264 was missed that way)."""
    if native is None or native.shape[1] < DETAIL_FACTOR * analysis.shape[1]:
        return analysis
    return _grey(native)


def changed_fraction(a: Thumb, b: Thumb, tolerance: float) -> float:
    """Fraction of pixels of two thumbnails differing by more than ``tolerance`` grey levels."""
    return float(np.count_nonzero(np.abs(a - b) > tolerance)) / a.size


REFERENCE_MIN_CELLS = 0.25
"""Share of the scene thumbnail's cells that must have some texture for a look to become the scene reference."""


def textured_cells(thumb: Thumb, min_texture: float = 2.0) -> bool:
    """Whether at least :data:`REFERENCE_MIN_CELLS` of the thumbnail's cells have texture (a standard deviation of
    ``min_texture`` grey levels or more)."""
    cells = _scene_cells(thumb)
    return int(np.count_nonzero(cells.std(axis=1) >= min_texture)) >= REFERENCE_MIN_CELLS * len(cells)


def _scene_cells(thumb: Thumb) -> Thumb:
    """The thumbnail's cells (:data:`_SCENE_GRID`), one row of pixels each, their mean taken off."""
    cols, rows = _SCENE_GRID
    height, width = thumb.shape
    ch, cw = height // rows, width // cols
    blocks = thumb[: rows * ch, : cols * cw].reshape(rows, ch, cols, cw).transpose(0, 2, 1, 3)
    flat = blocks.reshape(rows * cols, ch * cw)
    centred: Thumb = flat - flat.mean(axis=1, keepdims=True)
    return centred


def scene_similarity(reference: Thumb, current: Thumb, match: float = 0.6, min_texture: float = 2.0) -> float:
    """Fraction of cells of ``current`` whose structure matches ``reference`` (1.0 when nothing to compare).

    Each cell is compared by zero-mean normalised correlation, which ignores its brightness and contrast. A cell
    flat in both images says nothing; flat in only one, it does not match (a covered lens, a new wall). Flat or
    textured is judged at the brighter picture's light (the other's contrast scaled by the ratio of their mean
    brightness, up to ×2): a picture darkened by half (the sun behind a cloud, the camera's exposure) leaves the
    weak texture of flat asphalt textured, where an absolute floor called half of a parking lot's cells "covered".
    """
    a, b = _scene_cells(reference), _scene_cells(current)
    sa, sb = a.std(axis=1), b.std(axis=1)
    gain = float(np.clip(float(current.mean()) / max(float(reference.mean()), 1e-3), 0.5, 2.0))
    textured_a, textured_b = sa * max(gain, 1.0) >= min_texture, sb * max(1.0 / gain, 1.0) >= min_texture
    both = textured_a & textured_b
    ncc = np.zeros(len(a), dtype=np.float32)
    ncc[both] = (a[both] * b[both]).mean(axis=1) / (sa[both] * sb[both])
    counted = int(np.count_nonzero(textured_a | textured_b))
    if counted == 0:
        return 1.0
    return int(np.count_nonzero(both & (ncc >= match))) / counted


class StreamAlarms:
    """The stream alarms of one camera session. Holds three small thumbnails and 16×9 cells; memory does not grow."""

    def __init__(self, camera_id: str, config: StreamAlarmConfig | None = None) -> None:
        self.camera_id = camera_id
        self.config = config or StreamAlarmConfig()
        self._active: dict[StreamAlarmKind, datetime] = {}
        self._origin: datetime | None = None
        self._last_packet: datetime | None = None
        self._expected: StreamParameters | None = None
        self._current: StreamParameters | None = None
        self._still_anchor: Thumb | None = None
        self._still_since: datetime | None = None
        self._reference: Thumb | None = None
        self._last_frame_at: datetime | None = None
        self._differs_since: datetime | None = None
        self._last_similarity = 1.0
        self._focus_reference: SharpnessLook | None = None
        self._blurred_since: datetime | None = None
        self._last_sharpness: float | None = None

    @property
    def active(self) -> frozenset[StreamAlarmKind]:
        """The alarms currently raised."""
        return frozenset(self._active)

    @property
    def scene_similarity(self) -> float:
        """Similarity of the last frame to the scene reference (0..1), for metrics and tuning."""
        return self._last_similarity

    @property
    def sharpness(self) -> float | None:
        """Sharpness of the last judged frame as a fraction of its reference's (None: too little texture to
        judge), for metrics and tuning."""
        return self._last_sharpness

    def packet(self, at: datetime) -> list[StreamAlarm]:
        """A packet of the stream arrived at ``at``."""
        out = self._check_packets(at)
        self._last_packet = at
        if StreamAlarmKind.NO_PACKETS in self._active:
            out.append(self._clear(StreamAlarmKind.NO_PACKETS, at, "packets arrive again"))
        return out

    def poll(self, at: datetime) -> list[StreamAlarm]:
        """Time passes with nothing received: call it regularly (every second) so a dead stream is noticed."""
        return self._check_packets(at)

    def stream(self, codec: str, width: int, height: int, at: datetime) -> list[StreamAlarm]:
        """The stream's parameters as (re)opened or as read from its last keyframe."""
        out = self._check_packets(at)
        seen = StreamParameters(codec.lower(), width, height)
        self._current = seen
        if self._expected is None:
            self._expected = seen
        kind = StreamAlarmKind.STREAM_CHANGED
        if seen != self._expected and kind not in self._active:
            out.append(self._raise(kind, at, f"stream changed from {self._expected} to {seen}"))
        elif seen == self._expected and kind in self._active:
            out.append(self._clear(kind, at, f"stream back to {seen}"))
        return out

    def frame(self, image: Frame, at: datetime, native: Frame | None = None) -> list[StreamAlarm]:
        """A decoded analysis frame (grey or BGR, any size) taken at ``at``, and the same picture at the source's
        own resolution when the reader has it (its luma plane: :attr:`vigie.ingest.reader.SampledFrame.luma`),
        on which sharpness is judged: a 3-px blur of a 1080p picture is a 1-px one on a 640-px analysis frame."""
        out = self._check_packets(at)
        grey = _grey(image)
        out.extend(self._check_frozen(_thumb(grey, _FROZEN_SIZE), at))
        out.extend(self._check_scene(_thumb(grey, _SCENE_SIZE), at))
        out.extend(self._check_focus(sharpness_picture(grey, native), at))
        self._last_frame_at = at
        return out

    def accept(self, kind: StreamAlarmKind, at: datetime) -> list[StreamAlarm]:
        """An operator accepts the current stream or view as the new normal (camera deliberately reconfigured
        or moved): it becomes the reference and the alarm, if raised, is cleared."""
        if kind is StreamAlarmKind.STREAM_CHANGED:
            self._expected = self._current
        elif kind is StreamAlarmKind.SCENE_CHANGED:
            self._reference = None
            self._differs_since = None
            self._focus_reference, self._blurred_since = None, None  # another view: its sharpness is learnt anew
        elif kind is StreamAlarmKind.IMAGE_TOO_BLURRY:
            self._focus_reference, self._blurred_since = None, None
        else:
            raise ValueError(f"{kind} cannot be accepted: it ends when the stream recovers")
        if kind in self._active:
            return [self._clear(kind, at, "accepted by an operator as the new reference")]
        return []

    def _raise(self, kind: StreamAlarmKind, at: datetime, detail: str) -> StreamAlarm:
        self._active[kind] = at
        return StreamAlarm(kind, self.camera_id, at, detail)

    def _clear(self, kind: StreamAlarmKind, at: datetime, detail: str) -> StreamAlarm:
        since = self._active.pop(kind)
        return StreamAlarm(kind, self.camera_id, at, f"{detail} after {(at - since).total_seconds():.0f} s", True)

    def _check_packets(self, at: datetime) -> list[StreamAlarm]:
        if self._origin is None:
            self._origin = at
        last = self._last_packet or self._origin
        silent = (at - last).total_seconds()
        kind = StreamAlarmKind.NO_PACKETS
        if silent >= self.config.no_packets_s and kind not in self._active:
            what = "since the session started" if self._last_packet is None else "since the last one"
            return [self._raise(kind, at, f"no packet for {silent:.0f} s {what}")]
        return []

    def _check_frozen(self, thumb: Thumb, at: datetime) -> list[StreamAlarm]:
        kind = StreamAlarmKind.FROZEN_PICTURE
        config = self.config
        anchor = self._still_anchor
        if anchor is None or changed_fraction(anchor, thumb, config.frozen_tolerance) > config.frozen_max_changed:
            self._still_anchor, self._still_since = thumb, at
            if kind in self._active:
                return [self._clear(kind, at, "picture changes again")]
            return []
        still = (at - (self._still_since or at)).total_seconds()
        if still >= config.frozen_s and kind not in self._active:
            return [self._raise(kind, at, f"picture unchanged for {still:.0f} s")]
        return []

    def _check_scene(self, thumb: Thumb, at: datetime) -> list[StreamAlarm]:
        kind = StreamAlarmKind.SCENE_CHANGED
        config = self.config
        if self._reference is None or self._reference.shape != thumb.shape:
            # A flat picture is no reference: a dome's first frames, blacked out until its position is known
            # (vigie.devices.dome_masking), a black start, a capped lens. Taken as the reference, the view that
            # follows matched none of it and the idle demo dome was "scene_changed" 15 s after every start (and for
            # good: a reference learns only from looks that match it). The first textured look becomes it.
            self._reference = thumb.copy() if textured_cells(thumb, config.scene_min_texture) else None
            self._last_similarity = 1.0
            return []
        similarity = scene_similarity(self._reference, thumb, config.scene_match, config.scene_min_texture)
        self._last_similarity = similarity
        if kind in self._active:
            if similarity >= config.scene_clear_above:
                self._differs_since = None
                return [self._clear(kind, at, f"view matches its reference again ({similarity:.0%} of cells)")]
            return []
        if similarity < config.scene_raise_below:
            self._differs_since = self._differs_since or at
            lasted = (at - self._differs_since).total_seconds()
            if lasted >= config.scene_change_s:
                detail = f"view differs from its reference for {lasted:.0f} s ({similarity:.0%} of cells match)"
                return [self._raise(kind, at, detail)]
            return []
        self._differs_since = None
        # learns from every look that is not evidence of a change, not only from clearly matching ones: a reference
        # taken with a crowd in it, on a view a crowd never leaves, matched under 70 % and so never learnt the
        # background (8 false alarms in 30 minutes of TUD-Campus)
        if self._last_frame_at is not None:
            dt = (at - self._last_frame_at).total_seconds()
            rate = min(1.0, max(0.0, dt) / config.scene_learn_s)
            self._reference += rate * (thumb - self._reference)
        return []

    def _check_focus(self, grey: Frame, at: datetime) -> list[StreamAlarm]:
        kind = StreamAlarmKind.IMAGE_TOO_BLURRY
        config = self.config
        current = look(grey, config.focus_min_texture)
        sharpness = self._judge_focus(current)
        if sharpness is None:
            return []
        if kind in self._active:
            if sharpness >= config.focus_clear_above:
                return [self._clear(kind, at, f"picture sharp again ({sharpness:.0%} of its reference)")]
            return []
        if sharpness < config.focus_raise_below:
            self._blurred_since = self._blurred_since or at
            lasted = (at - self._blurred_since).total_seconds()
            if lasted < config.focus_s:
                return []
            self._blurred_since = None
            detail = f"picture blurred for {lasted:.0f} s ({sharpness:.0%} of its reference sharpness)"
            return [self._raise(kind, at, detail)]
        self._blurred_since = None
        sharp = sharpness >= config.focus_clear_above and self._last_similarity >= config.scene_clear_above
        if sharp and self._last_frame_at is not None and self._focus_reference is not None:
            dt = (at - self._last_frame_at).total_seconds()
            rate = min(1.0, max(0.0, dt) / config.focus_learn_s)
            self._focus_reference = learn(self._focus_reference, current, rate)
        return []

    def _judge_focus(self, current: SharpnessLook) -> float | None:
        """The look's sharpness against the reference, or None when it is not judged: the first look (it becomes
        the reference), a dome elsewhere than its reference's view, a reference with too little texture."""
        config = self.config
        if self._focus_reference is None or self._focus_reference.picture != current.picture:
            # the first look, or another picture size (the native picture came or went): it becomes the reference
            self._focus_reference, self._blurred_since, self._last_sharpness = current, None, 1.0
            return None
        if config.view_moves and self._last_similarity < config.scene_raise_below:
            return None  # a dome moving, or on another view than its reference's: a look that decides nothing
        sharpness = relative_sharpness(self._focus_reference, current, config.focus_min_texture, config.focus_min_cells)
        self._last_sharpness = sharpness
        if sharpness is None:
            self._blurred_since = None
        return sharpness
