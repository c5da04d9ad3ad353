"""Rendering a scene: raw frames with their ground truth, and the H.264 file the simulated camera serves.

Determinism is the point: every frame is a pure function of (scene, frame index) — generators are seeded per
scene and per frame, never the global random state — so the same scene gives byte-identical raw frames on every
run and in any order of access, and tests can re-render one frame with a single actor to check its box.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.ports import Frame
from vigie.sim.background import Image16, make_background
from vigie.sim.cast import Cast, Track, scale_at
from vigie.sim.cutouts import PhotoBank, cutout_sprite
from vigie.sim.groundtruth import (
    GroundTruthBox,
    GroundTruthEvent,
    GroundTruthPlate,
    resolve_events,
    write_ground_truth,
)
from vigie.sim.scene import ActorKind, Scene, SceneError, Style
from vigie.sim.situations import build_cast
from vigie.sim.sprites import Sprite, draw_sprite

_NOISE_BANK = 8
"""Number of precomputed sensor-noise fields cycled through (cheaper than fresh noise for every frame)."""
_STEPS_PER_S = 4.0
"""Walking cadence: how often a walking person's legs change pose."""


class PhotorealNeeded(SceneError):
    """A ``style: photoreal`` scene was asked to render without the cut-out bank it needs."""


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One raw frame (H×W×3 BGR uint8) and the boxes of the actors drawn in it, in drawing order."""

    index: int
    time_s: float
    image: Frame
    boxes: tuple[GroundTruthBox, ...]
    plates: tuple[GroundTruthPlate, ...] = ()
    """The number plates drawn in this frame (vehicles seen from the rear), with their text."""

    @property
    def number(self) -> int:
        """1-based frame number, as in MOTChallenge files."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What ``render`` wrote."""

    video_path: Path
    gt_dir: Path | None
    frames: int
    fps: int
    width: int
    height: int
    events: tuple[GroundTruthEvent, ...]
    elapsed_s: float


class SceneRenderer:
    """Renders any frame of one scene on demand; holds the background and noise, no per-frame state."""

    def __init__(self, scene: Scene, photo: PhotoBank | None = None) -> None:
        self.scene = scene
        self.cast: Cast = build_cast(scene)
        self.photo = photo
        """With a bank, people and vehicles are cut-outs of real footage over a real background (photo-real)."""
        if photo is None and scene.background.style is Style.PHOTOREAL:
            raise PhotorealNeeded(
                f"scene {scene.name!r} is laid out for a real background (background.style: photoreal): render it "
                "with the data folder its people and vehicles are cut from (vigie sim render/serve --photoreal "
                "DATA_DIR, the folder holding tracking/tud-campus)"
            )
        if photo is None:
            self.background = make_background(scene.background, scene.seed, scene.width, scene.height)
        else:
            self.background = photo.backdrop(scene.width, scene.height).astype(np.int16)
        rng = np.random.default_rng([scene.seed, 5])
        sigma = scene.background.lighting_noise
        self._noise = np.clip(
            np.rint(rng.normal(0.0, sigma, size=(_NOISE_BANK, scene.height, scene.width))), -127, 127
        ).astype(np.int16)
        phases = np.random.default_rng([scene.seed, 4]).uniform(0.0, 2 * math.pi, size=2)
        self._phases = (float(phases[0]), float(phases[1]))

    @property
    def frame_count(self) -> int:
        return self.scene.frame_count

    def time_of(self, index: int) -> float:
        return index / self.scene.fps

    def frames(self) -> Iterator[RenderedFrame]:
        for index in range(self.frame_count):
            yield self.frame(index)

    def sprites(self, index: int, only: Iterable[int] | None = None) -> list[tuple[Track, Sprite]]:
        """Sprites of the actors present at frame ``index``, far (small y) to near, then by id."""
        t = self.time_of(index)
        wanted = None if only is None else set(only)
        drawn: list[tuple[Track, Sprite]] = []
        for track in self.cast.tracks:
            if (wanted is not None and track.id not in wanted) or not track.present(t):
                continue
            x, y = track.position(t)
            step = int(t * _STEPS_PER_S) % 2 + 1 if track.moving(t) else 0
            foot = (round(x * self.scene.width), round(y * self.scene.height))
            scale = scale_at(self.scene, y)
            size = (max(2, round(track.width_px * scale)), max(2, round(track.height_px * scale)))
            cutout = None
            # Plate-carrying vehicles stay drawn: their plate must be readable, and its text is the ground truth.
            if self.photo is not None and track.plate is None:
                cutout = self.photo.cutout_for(track.kind, track.id, self.scene.seed)
            if cutout is not None:
                fallen = track.fallen(t)
                if self.photo is not None and track.kind is ActorKind.PERSON and not fallen and track.moving(t):
                    ahead, behind = track.position(t + 0.05)[0], track.position(t - 0.05)[0]
                    cutout = self.photo.pose(cutout, t, 0 if ahead == behind else (1 if ahead > behind else -1))
                drawn.append((track, cutout_sprite(cutout, size, foot, fallen=fallen)))
                continue
            sprite = draw_sprite(
                track.kind,
                size,
                foot,
                track.colour,
                step=step,
                fallen=track.fallen(t),
                view=track.view,
                plate=track.plate,
            )
            drawn.append((track, sprite))
        drawn.sort(key=lambda item: (item[1].top + item[1].mask.shape[0], item[0].id))
        return drawn

    def frame(self, index: int, only: Iterable[int] | None = None) -> RenderedFrame:
        """Render frame ``index`` (0-based); ``only`` restricts the actors drawn (for tests and debugging)."""
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.frame_count - 1}")
        canvas = self.background.copy()
        labels = np.zeros(canvas.shape[:2], dtype=np.int32)
        placed: list[tuple[Track, Sprite, tuple[int, int, int, int], int, int]] = []
        for label, (track, sprite) in enumerate(self.sprites(index, only), start=1):
            drawn = _paint(canvas, labels, sprite, label)
            if drawn is not None:
                placed.append((track, sprite, drawn[0], drawn[1], label))
        boxes = []
        plates = []
        for track, sprite, (x, y, w, h), painted, label in placed:
            visible = int(np.count_nonzero(labels[y : y + h, x : x + w] == label))
            boxes.append(GroundTruthBox(track.id, track.kind, x, y, w, h, round(visible / painted, 3)))
            if sprite.plate_box is not None and track.plate is not None:
                plate = _plate_truth(labels, track, sprite, label)
                if plate is not None:
                    plates.append(plate)
        t = self.time_of(index)
        for number, fire in enumerate(self.cast.fires):
            fire.paint(canvas, t, np.random.default_rng([self.scene.seed, 7, index, number]))
        self._light(canvas, index)
        image = np.clip(canvas, 0, 255).astype(np.uint8)
        return RenderedFrame(index, self.time_of(index), image, tuple(boxes), tuple(plates))

    def _light(self, canvas: Image16, index: int) -> None:
        """Global slow drift, sensor noise and flickering regions, applied to the whole picture."""
        t = self.time_of(index)
        drift = self.scene.background.lighting_drift
        offset = drift * math.sin(2 * math.pi * t / 23.0 + self._phases[0])
        offset += 0.4 * drift * math.sin(2 * math.pi * t / 7.3 + self._phases[1])
        pick = int(np.random.default_rng([self.scene.seed, 6, index]).integers(_NOISE_BANK))
        canvas += (self._noise[pick] + round(offset))[..., None].astype(np.int16)
        for flicker in self.cast.flickers:
            amount = flicker.offset(t)
            if amount:
                r = flicker.region
                x0, y0 = round(r.x * self.scene.width), round(r.y * self.scene.height)
                x1, y1 = round((r.x + r.w) * self.scene.width), round((r.y + r.h) * self.scene.height)
                canvas[y0:y1, x0:x1] += round(amount)


def _plate_truth(labels: npt.NDArray[np.int32], track: Track, sprite: Sprite, label: int) -> GroundTruthPlate | None:
    """The plate of ``track`` as drawn: its box clipped to the frame, and the fraction of it left visible (in the
    frame, not hidden by a nearer actor)."""
    assert sprite.plate_box is not None and track.plate is not None
    height, width = labels.shape
    px, py, pw, ph = sprite.plate_box
    x0, y0 = max(0, sprite.left + px), max(0, sprite.top + py)
    x1, y1 = min(width, sprite.left + px + pw), min(height, sprite.top + py + ph)
    if x0 >= x1 or y0 >= y1:
        return None
    shown = int(np.count_nonzero(labels[y0:y1, x0:x1] == label))
    return GroundTruthPlate(track.id, track.plate, x0, y0, x1 - x0, y1 - y0, round(shown / (pw * ph), 3))


def _paint(
    canvas: Image16, labels: npt.NDArray[np.int32], sprite: Sprite, label: int
) -> tuple[tuple[int, int, int, int], int] | None:
    """Composite a sprite, clipped to the frame; return its drawn box (x, y, w, h) and painted pixel count."""
    height, width = labels.shape
    sh, sw = sprite.mask.shape
    x0, y0 = max(sprite.left, 0), max(sprite.top, 0)
    x1, y1 = min(sprite.left + sw, width), min(sprite.top + sh, height)
    if x0 >= x1 or y0 >= y1:
        return None
    mask = sprite.mask[y0 - sprite.top : y1 - sprite.top, x0 - sprite.left : x1 - sprite.left]
    painted = int(np.count_nonzero(mask))
    if painted == 0:
        return None
    region = canvas[y0:y1, x0:x1]
    pixels = sprite.image[y0 - sprite.top : y1 - sprite.top, x0 - sprite.left : x1 - sprite.left]
    if sprite.alpha is None:
        region[mask] = pixels[mask]
    else:
        _contact_shadow(canvas, (sprite.left + sw // 2, sprite.top + sh), sw)
        alpha = sprite.alpha[y0 - sprite.top : y1 - sprite.top, x0 - sprite.left : x1 - sprite.left, None]
        region[:] = np.rint(region * (1.0 - alpha) + pixels * alpha).astype(np.int16)
    labels[y0:y1, x0:x1][mask] = label
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    box = (x0 + int(cols[0]), y0 + int(rows[0]), int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1)
    return box, painted


def _contact_shadow(canvas: Image16, foot: tuple[int, int], width: int, opacity: float = 0.35) -> None:
    """Darken a soft ellipse a little wider than a cut-out and a fifth as tall, centred on its foot point: the
    shadow that grounds a pasted object (only the rows and columns it covers are touched)."""
    height, frame_w = canvas.shape[:2]
    ax, ay = max(2, round(width * 0.55)), max(1, round(width * 0.12))
    pad = 2 * ay
    x0, x1 = max(0, foot[0] - ax - pad), min(frame_w, foot[0] + ax + pad + 1)
    y0, y1 = max(0, foot[1] - ay - pad), min(height, foot[1] + ay + pad + 1)
    if x0 >= x1 or y0 >= y1:
        return
    layer = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.ellipse(layer, (foot[0] - x0, foot[1] - y0), (ax, ay), 0, 0, 360, 1.0, thickness=cv2.FILLED)
    layer = cv2.GaussianBlur(layer, (0, 0), max(1.0, ay * 0.8))
    region = canvas[y0:y1, x0:x1]
    region[:] = np.rint(region * (1.0 - opacity * layer)[:, :, None]).astype(np.int16)


def frames(scene: Scene) -> Iterator[RenderedFrame]:
    """Every frame of ``scene`` in order, with its ground-truth boxes (pixel coordinates, stable actor ids)."""
    return SceneRenderer(scene).frames()


def render(
    scene: Scene,
    out_path: Path,
    gt_dir: Path | None = None,
    photo: PhotoBank | None = None,
    *,
    images: bool = False,
) -> RenderResult:
    """Encode ``scene`` to H.264 in MP4 at ``out_path`` and, if ``gt_dir`` is given, write its ground truth.

    The video is written under a temporary name and moved into place only when everything (ground truth
    included) succeeded, so a failure never leaves a partial file behind.  The encoding has a fixed GOP of two
    seconds with SPS/PPS repeated before every keyframe, so an RTSP client joining a looped live feed starts
    decoding within two seconds. With ``photo``, people and vehicles are cut-outs of real footage over a real
    background (:mod:`vigie.sim.cutouts`). With ``images`` (and ``gt_dir``), every frame is also written as
    ``gt_dir/img1/000001.jpg…`` so the ground truth is a complete MOTChallenge sequence (``vigie eval detect``).
    """
    if images and gt_dir is None:
        raise ValueError("images are written beside the ground truth: give gt_dir too")
    started = time.monotonic()
    renderer = SceneRenderer(scene, photo)
    out_path = Path(out_path)
    partial = out_path.with_name(f".{out_path.name}.partial")
    boxes: list[tuple[GroundTruthBox, ...]] = []
    plates: list[tuple[GroundTruthPlate, ...]] = []
    try:
        _encode(renderer, partial, boxes, plates, Path(gt_dir) / "img1" if images and gt_dir is not None else None)
        events = resolve_events(renderer.cast, boxes, scene)
        if gt_dir is not None:
            write_ground_truth(Path(gt_dir), scene, boxes, events, plates)
        partial.replace(out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return RenderResult(
        video_path=out_path,
        gt_dir=gt_dir,
        frames=len(boxes),
        fps=scene.fps,
        width=scene.width,
        height=scene.height,
        events=tuple(events),
        elapsed_s=time.monotonic() - started,
    )


def _encode(
    renderer: SceneRenderer,
    path: Path,
    boxes: list[tuple[GroundTruthBox, ...]],
    plates: list[tuple[GroundTruthPlate, ...]],
    image_dir: Path | None = None,
) -> None:
    scene = renderer.scene
    if image_dir is not None:
        image_dir.mkdir(parents=True, exist_ok=True)
    gop = 2 * scene.fps
    options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
    }
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=scene.fps, options=options)
        stream.width, stream.height = scene.width, scene.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.time_base = Fraction(1, scene.fps)
        for rendered in renderer.frames():
            video_frame = av.VideoFrame.from_ndarray(rendered.image, format="bgr24")
            video_frame.pts = rendered.index
            video_frame.time_base = Fraction(1, scene.fps)
            container.mux(stream.encode(video_frame))
            if image_dir is not None:
                name = str(image_dir / f"{rendered.number:06d}.jpg")
                if not cv2.imwrite(name, rendered.image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                    raise OSError(f"cannot write {name}")
            boxes.append(rendered.boxes)
            plates.append(rendered.plates)
        container.mux(stream.encode(None))
