"""A night thermal picture made from real silhouettes: what a thermal camera's detectors are measured on here.

The development data holds no real thermal footage. Rather than drawn shapes (tests/runtime/test_thermal_worker.py
draws ellipses and lines), this renders the people and vehicles of the photo-real cut-out bank
(:mod:`vigie.sim.cutouts`: real alpha masks cut out of TUD-Campus and a parking-lot clip) as heat, over a real
background turned into a night thermal scene:

- **scene**: the background photo's luminance, blurred (thermal optics and a 30–60 µm pitch resolve less than a
  visible sensor) and squeezed to a few grey levels of contrast (at night most surfaces sit near the air's
  temperature), plus a road that keeps the day's heat (warmer towards the bottom of the picture) and walls that
  release it (the photo's large bright structures, slightly warmer);
- **sensor**: white noise, the column stripes of an uncooled microbolometer, and a slow global drift (the camera's
  own warming and its flat-field corrections move every pixel together);
- **people**: the silhouette's alpha, warmest at the head (bare skin), cooler on the torso (clothes insulate), legs
  in between, shoes coolest, with the cut-out's own luminance detail as a faint internal texture (folds, bags,
  hair), soft-edged;
- **vehicles** (the bank's are seen from above): body near the air's temperature, glass colder (it reflects the
  night sky), the hood over the engine warm, the four wheel arches warm;
- **hot spots**: a small, much hotter irregular blob (a fire start, a brazier) — what ``hot_spots`` are for.

"Excess heat" is in grey levels above the scene's mean: a person at ``excess`` has a head ``excess`` levels warmer
than the average background. Ground truth is each object's box of alpha ≥ ``ALPHA_CUT``, written as a MOT16-layout
``gt/gt.txt`` (persons class 1, vehicles class 3) that ``vigie eval detect`` scores (persons) and
``bench/thermal_detect.py`` reads for vehicles, with the hot spots in ``gt/hot_spots.txt``.

What this is not: a radiometric simulation. Emissivity, the sky's reflection, wind and clothing vary far more on
real footage; the numbers measured on it say how the detectors read *heat-shaped* real silhouettes, not what a
real thermal camera gives (docs/detectors.md names a real dataset to score next).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigie.sim.cutouts import ALPHA_CUT, Cutout

Heat = npt.NDArray[np.float32]
"""A frame in grey levels as floats, before the sensor's noise and quantisation."""
Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]
"""x, y, w, h in pixels (x, y: top-left)."""

MOT_PERSON = 1
MOT_CAR = 3


@dataclass(frozen=True, slots=True)
class ThermalLook:
    """How the night scene and the sensor look, in 8-bit grey levels (white-hot)."""

    base: float = 80.0
    """The scene's mean level: the air's temperature."""
    contrast: float = 6.0
    """Levels per standard deviation of the photo's luminance (night: most surfaces near the air's temperature)."""
    blur_sigma: float = 2.0
    """Blur of the background photo, in pixels."""
    road_warmth: float = 10.0
    """Extra levels at the bottom of the picture (a road keeping the day's heat), fading to 0 at mid-height."""
    wall_warmth: float = 5.0
    """Extra levels on the photo's large bright structures (walls releasing the day's heat)."""
    noise: float = 2.0
    """Standard deviation of the white noise."""
    stripes: float = 1.0
    """Standard deviation of the per-column offset (fixed pattern noise of an uncooled microbolometer)."""
    drift: float = 6.0
    """Amplitude of the slow global drift."""
    drift_period: int = 300
    """Frames of one drift cycle."""
    optics_sigma: float = 0.8
    """Blur of the whole picture (the lens): soft edges."""


@dataclass(frozen=True, slots=True)
class Placed:
    """One object in one frame: a cut-out, where its bottom-centre stands, its height, how warm it is."""

    cutout: Cutout
    foot: tuple[int, int]
    height: int
    excess: float


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A small, much hotter blob (a fire start, a brazier): centre, radius in pixels, excess heat."""

    centre: tuple[int, int]
    radius: int
    excess: float


@dataclass(frozen=True, slots=True)
class ThermalFrame:
    """A rendered frame (8-bit grey) and its ground truth."""

    image: Image
    persons: tuple[Box, ...] = ()
    vehicles: tuple[Box, ...] = ()
    hot_spots: tuple[Box, ...] = ()


@dataclass(slots=True)
class ThermalRenderer:
    """Renders frames of one night thermal scene over a real background photo (BGR) of ``size`` (w, h)."""

    photo: Image
    size: tuple[int, int] = (640, 480)
    look: ThermalLook = field(default_factory=ThermalLook)
    seed: int = 0
    _scene: Heat = field(init=False)
    _stripes: Heat = field(init=False)
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._scene = night_scene(self.photo, self.size, self.look)
        width = self.size[0]
        self._stripes = (self._rng.normal(0, self.look.stripes, width).astype(np.float32))[None, :]

    def render(
        self,
        index: int,
        persons: Sequence[Placed] = (),
        vehicles: Sequence[Placed] = (),
        hot_spots: Sequence[HotSpot] = (),
    ) -> ThermalFrame:
        """Frame number ``index`` (it sets the drift) with these objects painted in, in the order given."""
        look = self.look
        heat = self._scene.copy()
        person_boxes = [b for b in (paint_person(heat, p, look.base) for p in persons) if b is not None]
        vehicle_boxes = [b for b in (paint_vehicle(heat, v, look.base) for v in vehicles) if b is not None]
        spot_boxes = [paint_hot_spot(heat, s, look.base, self._rng) for s in hot_spots]
        if look.optics_sigma > 0:
            heat = np.asarray(cv2.GaussianBlur(heat, (0, 0), look.optics_sigma), np.float32)
        heat += self._stripes
        heat += look.drift * float(np.sin(2 * np.pi * index / look.drift_period))
        heat += self._rng.normal(0, look.noise, heat.shape).astype(np.float32)
        image: Image = np.clip(np.rint(heat), 0, 255).astype(np.uint8)
        return ThermalFrame(image, tuple(person_boxes), tuple(vehicle_boxes), tuple(spot_boxes))


def night_scene(photo: Image, size: tuple[int, int], look: ThermalLook) -> Heat:
    """The background photo as a night thermal scene (before the sensor): blurred luminance at low contrast, a warm
    road at the bottom, warm walls on the large bright structures."""
    width, height = size
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if photo.ndim == 3 else photo
    grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    blurred = np.asarray(cv2.GaussianBlur(grey, (0, 0), look.blur_sigma), np.float32)
    spread = max(float(blurred.std()), 1.0)
    scene = look.base + look.contrast * (blurred - float(blurred.mean())) / spread
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)
    road = np.clip((rows - 0.5) / 0.5, 0.0, 1.0) ** 1.5
    scene += look.road_warmth * road[:, None]
    large = np.asarray(cv2.GaussianBlur(grey, (0, 0), max(width, height) / 40), np.float32)
    walls = np.clip((large - float(np.median(large))) / (spread * 2), 0.0, 1.0)
    scene += look.wall_warmth * walls * (1.0 - road[:, None])
    out: Heat = scene.astype(np.float32)
    return out


def _scaled(cutout: Cutout, height: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The cut-out scaled to ``height`` rows: its luminance (0–1) and its alpha (0–1)."""
    rgba = cutout.rgba
    src_h, src_w = rgba.shape[:2]
    width = max(2, round(src_w * height / src_h))
    interpolation = cv2.INTER_AREA if height < src_h else cv2.INTER_LINEAR
    scaled = cv2.resize(rgba, (width, height), interpolation=interpolation)
    lum = cv2.cvtColor(np.ascontiguousarray(scaled[:, :, :3]), cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    return lum, scaled[:, :, 3].astype(np.float32) / 255.0


def _texture(lum: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The cut-out's own detail (luminance minus its local mean), −1..1: folds, straps, hair."""
    size = max(3, (lum.shape[0] // 12) | 1)
    detail = lum - np.asarray(cv2.GaussianBlur(lum, (size, size), 0), np.float32)
    out: npt.NDArray[np.float32] = np.clip(detail * 6.0, -1.0, 1.0)
    return out


_HEAD, _TORSO, _LEGS = 0.14, 0.52, 0.93
"""Where, as a share of a person's height from the top, the head ends, the torso ends, the legs end (then shoes)."""
_PERSON_PARTS = (1.0, 0.6, 0.75, 0.45)
"""Warmth of head (skin), torso (clothes), legs, shoes, as a share of the person's excess heat."""


def person_heat(lum: npt.NDArray[np.float32], excess: float) -> npt.NDArray[np.float32]:
    """Heat above the air of a person's pixels (``lum``: the scaled cut-out's luminance), before its alpha."""
    height, width = lum.shape
    rows = np.arange(height, dtype=np.float32)[:, None] / max(height - 1, 1)
    head, torso, legs, shoes = _PERSON_PARTS
    parts = np.select([rows < _HEAD, rows < _TORSO, rows < _LEGS], [head, torso, legs], shoes).astype(np.float32)
    parts = np.asarray(cv2.GaussianBlur(np.repeat(parts, width, 1), (1, max(3, (height // 20) | 1)), 0))
    heat: npt.NDArray[np.float32] = (excess * (parts + 0.12 * _texture(lum))).astype(np.float32)
    return heat


def vehicle_heat(lum: npt.NDArray[np.float32], excess: float, engine_first: bool) -> npt.NDArray[np.float32]:
    """Heat above the air of a vehicle seen from above, lengthwise: body near the air, glass (the cut-out's dark
    parts) colder, the hood warm at one end, the four wheel arches warm."""
    height, width = lum.shape
    heat = np.full((height, width), 0.12 * excess, np.float32)
    glass = np.clip((0.35 - lum) / 0.25, 0.0, 1.0)
    heat -= 0.25 * excess * glass
    rows = np.arange(height, dtype=np.float32)[:, None] / max(height - 1, 1)
    hood = rows < 0.3 if engine_first else rows > 0.7
    heat += np.where(hood, excess * (1.0 - 0.25 * glass), 0.0).astype(np.float32)
    arches = np.zeros((height, width), np.float32)
    radius = max(1, int(0.08 * height))
    for fy in (0.2, 0.8):
        for fx in (0.12, 0.88):
            cv2.circle(arches, (int(fx * width), int(fy * height)), radius, 0.7 * excess, -1)
    heat = np.maximum(heat, arches)
    blur = max(3, (height // 15) | 1)
    out: npt.NDArray[np.float32] = np.asarray(cv2.GaussianBlur(heat, (blur, blur), 0), np.float32)
    return out + 0.05 * excess * _texture(lum)


def _paint(
    frame: Heat, body: npt.NDArray[np.float32], alpha: npt.NDArray[np.float32], foot: tuple[int, int]
) -> Box | None:
    """Blend ``body`` (absolute levels) into ``frame`` by ``alpha``, bottom-centre at ``foot``; the box of the
    visible pixels of alpha ≥ ALPHA_CUT, or None when none is visible."""
    height, width = alpha.shape
    left, top = foot[0] - width // 2, foot[1] - height
    fh, fw = frame.shape
    x1, y1, x2, y2 = max(0, left), max(0, top), min(fw, left + width), min(fh, top + height)
    if x1 >= x2 or y1 >= y2:
        return None
    a = alpha[y1 - top : y2 - top, x1 - left : x2 - left]
    b = body[y1 - top : y2 - top, x1 - left : x2 - left]
    region = frame[y1:y2, x1:x2]
    region[:] = region * (1.0 - a) + b * a
    ys, xs = np.nonzero(a >= ALPHA_CUT)
    if not len(ys):
        return None
    return (int(x1 + xs.min()), int(y1 + ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def paint_person(frame: Heat, person: Placed, air: float) -> Box | None:
    """Paint a person (its cut-out scaled to its height) into ``frame``; its ground-truth box."""
    lum, alpha = _scaled(person.cutout, person.height)
    return _paint(frame, air + person_heat(lum, person.excess), alpha, person.foot)


def paint_vehicle(frame: Heat, vehicle: Placed, air: float) -> Box | None:
    """Paint a vehicle (its cut-out scaled to its height, engine at the end chosen by its foot's parity)."""
    lum, alpha = _scaled(vehicle.cutout, vehicle.height)
    engine_first = vehicle.foot[0] % 2 == 0
    return _paint(frame, air + vehicle_heat(lum, vehicle.excess, engine_first), alpha, vehicle.foot)


def paint_hot_spot(frame: Heat, spot: HotSpot, air: float, rng: np.random.Generator) -> Box:
    """Paint an irregular hot blob (a flickering fire start: its outline changes every frame); its box."""
    r = spot.radius
    size = 2 * r + 1
    shape = np.zeros((size, size), np.float32)
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    radii = r * rng.uniform(0.6, 1.0, len(angles))
    points = np.stack([r + radii * np.cos(angles), r + radii * np.sin(angles)], 1).astype(np.int32)
    cv2.fillPoly(shape, [points], 1.0)
    alpha = np.asarray(cv2.GaussianBlur(shape, (3, 3), 0), np.float32)
    core = np.asarray(cv2.GaussianBlur(shape, (0, 0), max(1.0, r / 3)), np.float32)
    body = air + spot.excess * (0.6 + 0.4 * core / max(float(core.max()), 1e-6))
    box = _paint(frame, body, alpha, (spot.centre[0], spot.centre[1] + r + 1))
    return box if box is not None else (spot.centre[0], spot.centre[1], 1, 1)


def write_thermal_sequence(folder: Path, frames: Sequence[ThermalFrame], *, frame_rate: float = 5.0) -> Path:
    """Write frames as a MOTChallenge folder: ``img1/000001.png`` (lossless grey: a JPEG's blocks would add edges a
    thermal sensor does not make), ``gt/gt.txt`` in the MOT16 layout (persons class 1, vehicles class 3, one identity
    per box), ``gt/hot_spots.txt`` (7 columns) and ``seqinfo.ini``; ``vigie eval detect FOLDER`` scores the persons."""
    (folder / "img1").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    spots: list[str] = []
    identity = 0
    for index, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / "img1" / f"{index:06d}.png"), frame.image)
        for cls, boxes in ((MOT_PERSON, frame.persons), (MOT_CAR, frame.vehicles)):
            for x, y, w, h in boxes:
                identity += 1
                rows.append(f"{index},{identity},{x + 1},{y + 1},{w},{h},1,{cls},1")
        for x, y, w, h in frame.hot_spots:
            identity += 1
            spots.append(f"{index},{identity},{x + 1},{y + 1},{w},{h},1")
    (folder / "gt" / "gt.txt").write_text("".join(f"{r}\n" for r in rows))
    (folder / "gt" / "hot_spots.txt").write_text("".join(f"{r}\n" for r in spots))
    height, width = frames[0].image.shape[:2] if frames else (0, 0)
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate={frame_rate:g}\nseqLength={len(frames)}\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.png\n"
    )
    return folder


__all__ = [
    "HotSpot",
    "Placed",
    "ThermalFrame",
    "ThermalLook",
    "ThermalRenderer",
    "night_scene",
    "person_heat",
    "vehicle_heat",
    "write_thermal_sequence",
]
