"""Photo-real compositing, first piece: people and vehicles cut out of real footage, pasted over real backgrounds.

The drawn sprites (:mod:`vigie.sim.sprites`) are barely seen by COCO detectors; cut-outs of real people and cars
are. Everything is built at run time from the user's data folder (nothing downloaded, nothing committed):

- people from a MOTChallenge sequence with ground-truth boxes (TUD-Campus): the sequence's median frame is the
  background, ``|frame − background|`` inside each unoccluded box, cleaned by morphology and reduced to its largest
  blob with holes filled, is the person's alpha;
- vehicles from a clip with moving cars (the parking-lot clip): the same median background, moving blobs of car
  size become RGBA cut-outs.

Why difference + morphology rather than GrabCut initialised by the box: GrabCut seeds its colour models with
k-means drawing from OpenCV's global RNG, so the same input can give different masks from one call to the next
(the bank must be deterministic), it costs ~10× more per box, and in these clips the people and cars move, so the
median background is clean and the difference already separates them; the fill-ratio filter rejects the boxes
where it does not (a person standing still is part of the median, a box mostly covered by someone else).

:func:`composite` places a cut-out with its foot point (bottom-centre) at a pixel, scaled to a height given by the
caller (perspective is the caller's), with feathered edges, a soft contact shadow and a light colour match to the
background; it returns the ground truth as the composited alpha's mask and box.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigie.sim.scene import ActorKind
from vigie.sim.sprites import Sprite

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

PERSON = "person"
VEHICLE = "vehicle"

MIN_FILL = 0.3
"""A person mask filling less of its box than this is rejected (standing still, washed out)."""
MAX_FILL = 0.85
"""A mask filling more of its box than this is rejected (the box is mostly background change, not a silhouette)."""
ALPHA_CUT = 0.5
"""A composited pixel belongs to the object (ground truth) when its alpha is at least this."""


class CutoutDataError(ValueError):
    """The data folder does not hold what a cut-out bank is built from."""


@dataclass(frozen=True, slots=True)
class Cutout:
    """An object cut out of real footage: BGR pixels and an alpha (0–255) whose non-zero part is the object."""

    kind: str
    rgba: Image
    source: str
    """Where it was cut from (file and frame), for a report."""
    frame: int = 0
    """The frame it was cut from: 1-based image number of a sequence, 0-based frame index of a clip."""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    """Its box in that frame (x, y, w, h, pixels): the same object in its own footage, for comparison."""

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgba.shape[1]), int(self.rgba.shape[0])


@dataclass(frozen=True, slots=True)
class Composite:
    """A frame with one object pasted in, and its ground truth: the pixels with alpha ≥ ALPHA_CUT and their box."""

    frame: Image
    mask: Mask
    box: tuple[int, int, int, int]
    """x, y, w, h in pixels (x, y: top-left)."""


def median_background(frames: Sequence[Image]) -> Image:
    """The per-pixel median of frames: what stays when whatever moves is removed."""
    if not frames:
        raise CutoutDataError("no frames to take a median background from")
    median: Image = np.median(np.stack(frames), axis=0).astype(np.uint8)
    return median


def read_clip(path: Path, *, step: int = 1, limit: int | None = None) -> list[Image]:
    """Every ``step``-th frame of a clip (BGR), at most ``limit`` of them."""
    if not path.is_file():
        raise CutoutDataError(f"clip {path} does not exist; give the folder holding video/*.mp4")
    capture = cv2.VideoCapture(str(path))
    frames: list[Image] = []
    index = 0
    try:
        while limit is None or len(frames) < limit:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                frames.append(np.ascontiguousarray(frame))
            index += 1
    finally:
        capture.release()
    if not frames:
        raise CutoutDataError(f"clip {path} has no frame OpenCV can decode")
    return frames


def _foreground(frame: Image, background: Image, threshold: int, close: int = 7) -> Mask:
    """Pixels that differ from the background by more than ``threshold`` in some channel, opened (specks out) then
    closed with a ``close``-pixel disc (gaps where the object's colour matches the background filled)."""
    diff = cv2.absdiff(frame, background).max(axis=2)
    mask = (diff > threshold).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close))
    padded = cv2.copyMakeBorder(mask, close, close, close, close, cv2.BORDER_CONSTANT, value=0)
    mask = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[close:-close, close:-close]
    return mask.astype(bool)


def _largest_blob_filled(mask: Mask) -> Mask:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blob = (labels == best).astype(np.uint8)
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(blob)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    result: Mask = filled.astype(bool)
    return result


def _rgba(pixels: Image, mask: Mask) -> Image:
    return np.dstack([pixels, mask.astype(np.uint8) * 255])


def _read_gt(path: Path) -> dict[int, list[tuple[int, int, int, int]]]:
    rows: dict[int, list[tuple[int, int, int, int]]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(",")
        frame = int(float(fields[0]))
        x, y, w, h = (round(float(v)) for v in fields[2:6])
        rows.setdefault(frame, []).append((x - 1, y - 1, w, h))  # MOTChallenge is 1-based
    return rows


def _overlaps(box: tuple[int, int, int, int], others: Sequence[tuple[int, int, int, int]]) -> bool:
    x, y, w, h = box
    for ox, oy, ow, oh in others:
        if (ox, oy, ow, oh) == box:
            continue
        if min(x + w, ox + ow) > max(x, ox) and min(y + h, oy + oh) > max(y, oy):
            return True
    return False


def person_cutouts(
    sequence: Path, *, threshold: int = 30, min_height: int = 100, limit: int | None = None, seed: int = 0
) -> list[Cutout]:
    """People cut out of a MOTChallenge sequence (``img1/*.jpg`` + ``gt/gt.txt``), e.g. TUD-Campus.

    A gt box is used when it overlaps no other box of its frame (occluded people are skipped), lies inside the
    image and is at least ``min_height`` pixels tall; its mask must fill ``MIN_FILL``–``MAX_FILL`` of the box.
    ``limit`` keeps that many, drawn with ``seed`` (the same seed gives the same cut-outs).
    """
    images = sorted((sequence / "img1").glob("*.jpg"))
    gt_path = sequence / "gt" / "gt.txt"
    if not images or not gt_path.is_file():
        raise CutoutDataError(f"{sequence} is not a MOTChallenge sequence with img1/*.jpg and gt/gt.txt")
    frames = [np.ascontiguousarray(cv2.imread(str(p))) for p in images]
    background = median_background(frames)
    height, width = background.shape[:2]
    boxes = _read_gt(gt_path)
    bank: list[Cutout] = []
    for index, frame in enumerate(frames, start=1):
        frame_boxes = boxes.get(index, [])
        for box in frame_boxes:
            x, y, w, h = box
            if h < min_height or x < 0 or y < 0 or x + w > width or y + h > height or _overlaps(box, frame_boxes):
                continue
            crop = frame[y : y + h, x : x + w]
            close = max(7, h // 10) | 1
            mask = _largest_blob_filled(_foreground(crop, background[y : y + h, x : x + w], threshold, close))
            fill = float(mask.mean())
            if not MIN_FILL <= fill <= MAX_FILL:
                continue
            ys, xs = np.nonzero(mask)
            top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            # A person's box is tall: a blob much shorter than the gt box lost the legs or the head.
            if bottom - top < 0.8 * h:
                continue
            bank.append(
                Cutout(
                    PERSON,
                    _rgba(crop[top:bottom, left:right], mask[top:bottom, left:right]),
                    f"{images[index - 1].name} box {x + 1},{y + 1},{w},{h}",
                    index,
                    (int(x + left), int(y + top), int(right - left), int(bottom - top)),
                )
            )
    return _pick(bank, limit, seed)


def vehicle_cutouts(
    clip: Path,
    *,
    threshold: int = 35,
    min_area: int = 4000,
    max_area: int = 120000,
    step: int = 6,
    limit: int | None = None,
    seed: int = 0,
) -> list[Cutout]:
    """Vehicles cut out of a clip with moving cars (e.g. the parking-lot clip): moving blobs of car size.

    The background is the median of the clip; every ``step``-th frame, each connected moving blob whose area is
    ``min_area``–``max_area`` pixels, whose box is 1:3 to 3:1 wide, which fills 45–95 % of its box and does not touch
    the border becomes a cut-out.
    """
    frames = read_clip(clip)
    background = median_background(frames[:: max(1, len(frames) // 60)])
    height, width = background.shape[:2]
    bank: list[Cutout] = []
    for index in range(0, len(frames), step):
        frame = frames[index]
        # The camera's exposure drifts: bring the frame's overall level to the background's before differencing.
        gain = float(np.median(background)) / max(1.0, float(np.median(frame)))
        level = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        mask = _foreground(level, background, threshold, close=15)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if not min_area <= area <= max_area or not 1 / 3 <= w / h <= 3:
                continue
            if x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1:
                continue
            blob = _largest_blob_filled(labels[y : y + h, x : x + w] == label)
            if not 0.45 <= float(blob.mean()) <= 0.95:
                continue
            rgba = _rgba(frame[y : y + h, x : x + w], blob)
            bank.append(Cutout(VEHICLE, rgba, f"{clip.name} frame {index}", index, (x, y, w, h)))
    return _pick(bank, limit, seed)


def _pick(bank: list[Cutout], limit: int | None, seed: int) -> list[Cutout]:
    if limit is None or limit >= len(bank):
        return bank
    chosen = np.random.default_rng(seed).choice(len(bank), size=limit, replace=False)
    return [bank[i] for i in sorted(chosen)]


def composite(
    frame: Image,
    cutout: Cutout,
    foot: tuple[int, int],
    height: int,
    *,
    shadow_opacity: float = 0.35,
    feather: int = 2,
    colour_match: float = 0.3,
) -> Composite:
    """Paste ``cutout`` with its bottom-centre at pixel ``foot``, scaled to ``height`` pixels tall.

    Edges are feathered over about ``feather`` pixels; a blurred dark ellipse under the feet (``shadow_opacity``:
    0 none, 1 black) grounds the object; ``colour_match`` (0–1) moves the cut-out's per-channel mean and spread that
    far towards the background's under it. The ground truth is the part pasted with alpha ≥ ``ALPHA_CUT``.
    """
    if height < 4:
        raise ValueError(f"height {height} px is too small to paste an object; give at least 4")
    if not 0.0 <= shadow_opacity <= 1.0 or not 0.0 <= colour_match <= 1.0:
        raise ValueError("shadow_opacity and colour_match are fractions in [0, 1]")
    src_w, src_h = cutout.size
    width = max(2, round(src_w * height / src_h))
    interpolation = cv2.INTER_AREA if height < src_h else cv2.INTER_LINEAR
    scaled = cv2.resize(cutout.rgba, (width, height), interpolation=interpolation)
    pixels = scaled[:, :, :3].astype(np.float32)
    alpha = scaled[:, :, 3].astype(np.float32) / np.float32(255.0)
    if feather > 0:
        alpha = (cv2.GaussianBlur(alpha, (0, 0), feather / 2) * (alpha > 0.02)).astype(np.float32)
    out = frame.astype(np.float32)
    frame_h, frame_w = frame.shape[:2]
    left, top = foot[0] - width // 2, foot[1] - height
    if shadow_opacity > 0:
        _shadow(out, foot, width, shadow_opacity)
    # The part of the cut-out inside the frame.
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(frame_w, left + width), min(frame_h, top + height)
    if x0 >= x1 or y0 >= y1:
        raise ValueError(f"an object {width}×{height} px with its foot at {foot} lies outside the frame")
    sub_alpha = alpha[y0 - top : y1 - top, x0 - left : x1 - left]
    sub_pixels = pixels[y0 - top : y1 - top, x0 - left : x1 - left]
    region = out[y0:y1, x0:x1]
    inside = sub_alpha > ALPHA_CUT
    if colour_match > 0 and inside.any():
        obj_mean, obj_std = sub_pixels[inside].mean(axis=0), sub_pixels[inside].std(axis=0) + 1.0
        bg_mean, bg_std = region.reshape(-1, 3).mean(axis=0), region.reshape(-1, 3).std(axis=0) + 1.0
        target_mean = obj_mean + colour_match * (bg_mean - obj_mean)
        target_std = obj_std * (1.0 + colour_match * (bg_std / obj_std - 1.0))
        sub_pixels = (sub_pixels - obj_mean) * (target_std / obj_std) + target_mean
    blend = sub_alpha[:, :, None]
    out[y0:y1, x0:x1] = region * (1.0 - blend) + sub_pixels * blend
    mask = np.zeros((frame_h, frame_w), bool)
    mask[y0:y1, x0:x1] = inside
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError(f"nothing of the object at {foot} is visible in the frame")
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return Composite(np.clip(out + 0.5, 0, 255).astype(np.uint8), mask, box)


def _shadow(out: npt.NDArray[np.float32], foot: tuple[int, int], width: int, opacity: float) -> None:
    """Darken a blurred ellipse a little wider than the object and about a fifth as tall as wide, centred on the
    foot point."""
    layer: npt.NDArray[np.float32] = np.zeros(out.shape[:2], np.float32)
    axes = (max(2, round(width * 0.55)), max(1, round(width * 0.12)))
    cv2.ellipse(layer, foot, axes, 0, 0, 360, 1.0, thickness=cv2.FILLED)
    layer = cv2.GaussianBlur(layer, (0, 0), max(1.0, axes[1] * 0.8)).astype(np.float32)
    out *= (1.0 - opacity * layer)[:, :, None]


def placements(
    rng: np.random.Generator, frame_size: tuple[int, int], heights: Sequence[int], aspect: float
) -> Iterator[tuple[tuple[int, int], int]]:
    """For each height, a foot point that keeps a box ``aspect``·height wide fully inside the frame."""
    width, height = frame_size
    for h in heights:
        half = int(h * aspect / 2) + 2
        x = int(rng.integers(half, max(half + 1, width - half)))
        y = int(rng.integers(h + 2, max(h + 3, height - 2)))
        yield (x, y), h


def write_mot_sequence(
    folder: Path, frames: Sequence[Image], boxes: Sequence[Sequence[tuple[int, int, int, int]]]
) -> Path:
    """Write frames and their boxes as a MOTChallenge folder (``img1/000001.jpg…``, 7-column ``gt/gt.txt``, 1-based
    pixels, one identity per box) that ``vigie eval detect`` reads."""
    if len(frames) != len(boxes):
        raise ValueError(f"{len(frames)} frames but boxes for {len(boxes)}")
    (folder / "img1").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    identity = 0
    for index, (frame, frame_boxes) in enumerate(zip(frames, boxes, strict=True), start=1):
        cv2.imwrite(str(folder / "img1" / f"{index:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        for x, y, w, h in frame_boxes:
            identity += 1
            rows.append(f"{index},{identity},{x + 1},{y + 1},{w},{h},1")
    (folder / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    return folder


@dataclass(frozen=True, slots=True)
class PhotoBank:
    """What a photo-real render takes from the user's data folder: cut-outs of people and vehicles, and a real
    background (the median frame of TUD-Campus, a street in front of a building)."""

    people: tuple[Cutout, ...]
    vehicles: tuple[Cutout, ...]
    background: Image

    @classmethod
    def from_data(cls, folder: Path) -> PhotoBank:
        """Build the bank from a data folder holding ``tracking/tud-campus`` and ``video/car-detection.mp4``."""
        sequence = folder / "tracking" / "tud-campus"
        people = person_cutouts(sequence)
        vehicles = vehicle_cutouts(folder / "video" / "car-detection.mp4")
        if not people or not vehicles:
            raise CutoutDataError(f"{folder} gave {len(people)} people and {len(vehicles)} vehicles; need both")
        frames = [np.asarray(cv2.imread(str(p)), np.uint8) for p in sorted((sequence / "img1").glob("*.jpg"))]
        return cls(tuple(people), tuple(vehicles), median_background(frames))

    def backdrop(self, width: int, height: int) -> Image:
        """The background cropped to the aspect of ``width``×``height`` (centred) and resized to it."""
        src_h, src_w = self.background.shape[:2]
        if src_w * height > width * src_h:
            crop_w = round(src_h * width / height)
            x0 = (src_w - crop_w) // 2
            cropped = self.background[:, x0 : x0 + crop_w]
        else:
            crop_h = round(src_w * height / width)
            y0 = (src_h - crop_h) // 2
            cropped = self.background[y0 : y0 + crop_h]
        resized: Image = np.asarray(cv2.resize(cropped, (width, height), interpolation=cv2.INTER_AREA), np.uint8)
        return resized

    def cutout_for(self, kind: ActorKind, actor_id: int, seed: int) -> Cutout | None:
        """The cut-out an actor wears for the whole scene (a function of the scene seed and its id), or None for a
        kind the bank has none of (bags)."""
        choices = {ActorKind.PERSON: self.people, ActorKind.VEHICLE: self.vehicles}.get(kind)
        if not choices:
            return None
        index = int(np.random.default_rng([seed, 20, actor_id]).integers(len(choices)))
        return choices[index]


def cutout_sprite(cutout: Cutout, size: tuple[int, int], foot: tuple[int, int]) -> Sprite:
    """The cut-out as a renderer sprite for an actor of box ``size`` (w, h): scaled to its height, its bottom-centre
    at ``foot``, its mask the pixels of alpha ≥ ``ALPHA_CUT`` (hard-edged, so the ground truth stays the exact set of
    painted pixels). A vehicle seen from above lengthwise is turned a quarter for a wide box (and back)."""
    rgba = cutout.rgba
    if cutout.kind == VEHICLE and (size[0] > size[1]) != (rgba.shape[1] > rgba.shape[0]):
        rgba = np.ascontiguousarray(np.rot90(rgba))
    src_h, src_w = rgba.shape[:2]
    height = max(4, size[1])
    width = max(2, round(src_w * height / src_h))
    interpolation = cv2.INTER_AREA if height < src_h else cv2.INTER_LINEAR
    scaled = cv2.resize(rgba, (width, height), interpolation=interpolation)
    mask: Mask = scaled[:, :, 3] >= round(ALPHA_CUT * 255)
    return Sprite(foot[0] - width // 2, foot[1] - height, scaled[:, :, :3].astype(np.int16), mask)
