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

import fcntl
import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigie.sim.scene import ActorKind
from vigie.sim.sprites import Sprite

log = logging.getLogger(__name__)

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
    from_above: bool = False
    """Seen from overhead (the parking clip's cars): turned a quarter to fit a box of the other orientation."""
    track: int = 0
    """The identity of the person in their sequence's ground truth (0: none): a track's cut-outs, frame by frame,
    are the successive poses of one walk."""
    facing: int = 0
    """Which way the person walks in their footage: 1 right, -1 left, 0 unknown."""

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


def _read_gt(path: Path) -> dict[int, list[tuple[int, tuple[int, int, int, int]]]]:
    """Per frame, each ground-truth row's identity and box (0-based pixels)."""
    rows: dict[int, list[tuple[int, tuple[int, int, int, int]]]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(",")
        frame, identity = int(float(fields[0])), int(float(fields[1]))
        x, y, w, h = (round(float(v)) for v in fields[2:6])
        rows.setdefault(frame, []).append((identity, (x - 1, y - 1, w, h)))  # MOTChallenge is 1-based
    return rows


def _headings(rows: dict[int, list[tuple[int, tuple[int, int, int, int]]]]) -> dict[int, int]:
    """Which way each identity walks over the sequence: 1 right, -1 left, 0 (hardly moves)."""
    centres: dict[int, list[tuple[int, float]]] = {}
    for frame, entries in rows.items():
        for identity, (x, _, w, _) in entries:
            centres.setdefault(identity, []).append((frame, x + w / 2))
    out: dict[int, int] = {}
    for identity, points in centres.items():
        points.sort()
        shift = points[-1][1] - points[0][1]
        out[identity] = 0 if abs(shift) < 10 else (1 if shift > 0 else -1)
    return out


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
    rows = _read_gt(gt_path)
    headings = _headings(rows)
    bank: list[Cutout] = []
    for index, frame in enumerate(frames, start=1):
        frame_boxes = [box for _, box in rows.get(index, [])]
        for identity, box in rows.get(index, []):
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
                    track=identity,
                    facing=headings.get(identity, 0),
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
            bank.append(Cutout(VEHICLE, rgba, f"{clip.name} frame {index}", index, (x, y, w, h), from_above=True))
    return _pick(bank, limit, seed)


def _read_plate_boxes(folder: Path) -> list[tuple[Path, tuple[int, int, int, int]]]:
    """The photos of a plate folder (``file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>TEXT`` per ``.txt``, the format of
    ``vigie eval plates``) with their plate box; the text is not read."""
    rows: list[tuple[Path, tuple[int, int, int, int]]] = []
    for label in sorted(folder.glob("*.txt")):
        for line in label.read_text(errors="replace").splitlines():
            fields = line.split("\t")
            if len(fields) < 5 or not fields[0].strip():
                continue
            try:
                x, y, w, h = (round(float(v)) for v in fields[1:5])
            except ValueError:
                continue
            image = folder / fields[0].strip()
            if image.is_file() and w > 0 and h > 0:
                rows.append((image, (x, y, w, h)))
    return rows


def photo_vehicle_cutouts(
    folder: Path,
    *,
    side: int = 280,
    iterations: int = 3,
    limit: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> list[Cutout]:
    """Vehicles cut out of photos of cars with an annotated plate (a folder in the plate format, e.g.
    ``plates-fr-dev``: cars from the front, the rear and three-quarter views, as a street camera sees them).

    Each photo is scaled to ``side`` pixels on its long side and segmented by GrabCut initialised from a mask: the
    plate box is the vehicle for sure, a car-sized region around it (two plate widths each side, 2.2 above, 0.6 below)
    probably the vehicle, a thin frame of the photo surely not, the rest probably not. The blob
    holding the plate, holes filled, is the vehicle; it is kept when it touches neither side nor the bottom of the
    photo (a cut vehicle), fills 50–95 % of its box, is 0.7 to 3.5 times as wide as tall, at least 2.6 plate widths
    wide and 1.8 tall with the plate in its lower half and its bottom (the wheels) at least a third of a plate width
    below the plate (a whole vehicle, not a part of one). The plate itself is
    blurred in the cut-out: a simulated scene's plates are drawn with their ground truth, and a real plate read
    off a pasted car would be a reading no scene knows of.

    Why GrabCut here (unlike people and the parking clip's cars): a photo is one frame, no moving object to take a
    background from; its colour models are seeded from OpenCV's RNG, which is per thread and re-seeded
    (``cv2.setRNGSeed``) before each photo, so the same photos always give the same cut-outs.

    GrabCut is nearly all of a bank's cost (about a minute for the development photos). With ``cache_dir`` its
    results, the vehicles' masks, are kept there (:func:`_cached_masks`) and reused while the photos, their plate
    boxes, the parameters, :data:`CUTOUT_CACHE_VERSION` and OpenCV's version are the same; the pixels always come
    from the photos read now.
    """
    rows = _read_plate_boxes(folder)
    if not rows:
        raise CutoutDataError(f"{folder} holds no photo with a plate box (file, x, y, w, h, TEXT per .txt line)")
    photos = [_read_photo(image_path, side) for image_path, _ in rows]  # only the scaled pixels are kept
    smalls = [None if photo is None else photo[1] for photo in photos]

    def segment(index: int) -> Mask | None:
        small = smalls[index]
        return None if small is None else _vehicle_mask(small[0], _scaled_plate(rows[index][1], small), iterations)

    # GrabCut releases the GIL and OpenCV's RNG is per thread (seeded in each call): threads, same cut-outs.
    def segment_all() -> list[Mask | None]:
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            return list(pool.map(segment, range(len(rows))))

    if cache_dir is None:
        masks = segment_all()
    else:
        material = [CUTOUT_CACHE_VERSION, cv2.__version__, f"side={side}", f"iterations={iterations}"]
        material += [
            f"{path.name}:{plate}:{'-' if photo is None else photo[0]}"
            for (path, plate), photo in zip(rows, photos, strict=True)
        ]
        shapes = [None if small is None else small[0].shape[:2] for small in smalls]
        masks = _cached_masks(cache_dir, f"vehicles-{folder.name}", material, shapes, segment_all)
    bank: list[Cutout] = []
    for (image_path, plate), small, mask in zip(rows, smalls, masks, strict=True):
        if small is None or mask is None:
            continue
        segmented = _vehicle_cutout(small[0], _scaled_plate(plate, small), small[1], mask)
        if segmented is not None:
            bank.append(Cutout(VEHICLE, segmented[0], f"{image_path.name} plate {plate}", 0, segmented[1]))
    return _pick(bank, limit, seed)


def _read_photo(path: Path, side: int) -> tuple[str, tuple[Image, float]] | None:
    """A photo's SHA-256 and its pixels scaled to ``side`` (:func:`_scaled`), both from the same bytes (what is
    hashed is what is cut), or None when OpenCV cannot decode it."""
    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    return hashlib.sha256(data).hexdigest(), _scaled(np.ascontiguousarray(image), side)


def _scaled(image: Image, side: int) -> tuple[Image, float]:
    """The image scaled to ``side`` pixels on its long side (never enlarged), and the scale."""
    full_h, full_w = image.shape[:2]
    scale = min(1.0, side / max(full_h, full_w))
    small: Image = np.asarray(
        cv2.resize(image, (round(full_w * scale), round(full_h * scale)), interpolation=cv2.INTER_AREA), np.uint8
    )
    return small, scale


def _scaled_plate(plate: tuple[int, int, int, int], small: tuple[Image, float]) -> tuple[int, int, int, int]:
    """The plate box in the scaled photo, clipped to it (at least a pixel)."""
    height, width = small[0].shape[:2]
    px, py, pw, ph = (round(v * small[1]) for v in plate)
    px, py = max(0, min(width - 1, px)), max(0, min(height - 1, py))
    return px, py, max(1, min(width - px, pw)), max(1, min(height - py, ph))


def _border(small: Image) -> int:
    """The photo's frame that GrabCut is told is surely not the vehicle, in pixels."""
    return max(2, round(0.02 * int(max(small.shape[:2]))))


def _vehicle_mask(small: Image, plate: tuple[int, int, int, int], iterations: int) -> Mask | None:
    """GrabCut's vehicle in the scaled photo: the blob holding the plate, holes filled (None: the plate's centre is
    not the vehicle)."""
    height, width = small.shape[:2]
    px, py, pw, ph = plate
    mask = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    centre = px + pw / 2
    x0, x1 = int(max(0, centre - 2 * pw)), int(min(width, centre + 2 * pw))
    y0, y1 = int(max(0, py - 2.2 * pw)), int(min(height, py + ph + 0.6 * pw))
    mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
    mask[py : py + ph, px : px + pw] = cv2.GC_FGD
    border = _border(small)
    mask[:border] = cv2.GC_BGD
    mask[:, :border] = cv2.GC_BGD
    mask[:, -border:] = cv2.GC_BGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(small, mask, None, background_model, foreground_model, iterations, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    vehicle = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    vehicle = cv2.morphologyEx(vehicle, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    _, labels = cv2.connectedComponents(vehicle, connectivity=8)
    label = labels[py + ph // 2, px + pw // 2]
    if label == 0:
        return None
    return _largest_blob_filled(labels == label)


def _vehicle_cutout(
    small: Image, plate: tuple[int, int, int, int], scale: float, blob: Mask
) -> tuple[Image, tuple[int, int, int, int]] | None:
    """The cut-out of the vehicle ``blob`` (of the scaled photo ``small``), plate blurred, and its box in the photo;
    None when the blob is not a whole vehicle."""
    height, width = small.shape[:2]
    px, py, pw, ph = plate
    border = _border(small)
    ys, xs = np.nonzero(blob)
    if not len(ys):
        return None
    left, right, top, bottom = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    if left <= border + 1 or right >= width - border - 1 or bottom >= height - 2:
        return None
    fill = float(blob[top:bottom, left:right].mean())
    if not 0.5 <= fill <= 0.95 or not 0.7 <= (right - left) / (bottom - top) <= 3.5:
        return None
    # A whole vehicle, not a part of one (a tail light, the back of a trailer): a plate is 0.52 m wide, a car seen
    # from the front is about 3.4 plate widths wide and 2.8 tall, with its plate in its lower half.
    # Its wheels reach the ground a third of a plate width or more below the plate.
    if right - left < 2.6 * pw or bottom - top < 1.8 * pw or py + ph / 2 < top + 0.45 * (bottom - top):
        return None
    if bottom < py + ph + 0.35 * pw:
        return None
    pixels = small.copy()
    plate_region = pixels[py : py + ph, px : px + pw]
    pixels[py : py + ph, px : px + pw] = cv2.GaussianBlur(plate_region, (0, 0), max(2.0, ph / 3))
    rgba = _rgba(pixels[top:bottom, left:right], blob[top:bottom, left:right])
    box = (round(left / scale), round(top / scale), round((right - left) / scale), round((bottom - top) / scale))
    return rgba, box


CUTOUT_CACHE_VERSION = "1"
"""Bumped whenever a change of this module changes the masks a cache holds (the segmentation, its parameters' meaning,
the cache's format): every mask cached by an earlier version is then ignored and segmented again."""


def default_cutout_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vigie/cutouts`` (``~/.cache/vigie/cutouts`` by default): where a photo bank's GrabCut masks
    are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vigie" / "cutouts"


def _cached_masks(
    cache_dir: Path,
    name: str,
    material: Sequence[str],
    shapes: Sequence[tuple[int, ...] | None],
    compute: Callable[[], list[Mask | None]],
) -> list[Mask | None]:
    """The masks ``compute`` gives (one per input, None for none, each of its ``shapes``), computed once per
    ``material`` (everything they are a function of) and kept in ``cache_dir/<name>-<hash of material>.npz``.

    Written to a temporary file then renamed (a reader never sees half a file); computed under an exclusive lock
    on ``<that file>.lock`` so that processes started together (pytest's workers, the demo's) wait for the one that
    computes rather than all computing. The file holds masks only, never pixels: the cut-outs' pixels are always
    read from the source files hashed now, so whoever can write the cache can at most change which pixels of those
    files are cut (and the whole-vehicle checks still apply), never bring in other footage. A file that does not
    read back as masks of the expected shapes (truncated, another format) is computed again and replaced."""
    key = hashlib.sha256("\n".join(material).encode()).hexdigest()[:24]
    path = cache_dir / f"{name}-{key}.npz"
    cache_dir.mkdir(parents=True, exist_ok=True)
    # fcntl.flock rather than a lock-file library: the kernel releases it when the holder dies (no stale lock to
    # clean up), and it is two calls of the standard library on the only platform Vigie runs on.
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cached = _read_masks(path, shapes)
            if cached is not None:
                return cached
            masks = compute()
            partial = path.with_suffix(".partial")  # one writer at a time: under the lock
            arrays = {f"m{i}": np.packbits(mask) for i, mask in enumerate(masks) if mask is not None}
            arrays["present"] = np.array([m is not None for m in masks], np.uint8)
            with partial.open("wb") as stream:
                np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as its options
            partial.replace(path)
            return masks
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_masks(path: Path, shapes: Sequence[tuple[int, ...] | None]) -> list[Mask | None] | None:
    """The masks kept at ``path`` if it holds one per shape (None where the input has none), else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            present = stored["present"]
            if present.dtype != np.uint8 or present.shape != (len(shapes),):
                return None
            masks: list[Mask | None] = []
            for i, shape in enumerate(shapes):
                if not present[i]:
                    masks.append(None)
                    continue
                if shape is None:
                    return None
                size = int(np.prod(shape))
                packed = stored[f"m{i}"]
                if packed.dtype != np.uint8 or packed.shape != ((size + 7) // 8,):
                    return None
                masks.append(np.unpackbits(packed, count=size).reshape(shape).astype(bool))
            return masks
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        log.warning("cut-out cache %s is unreadable: segmenting again", path)
        return None


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


GLASS_FRONT_ROWS = (0.25, 0.56)
"""Rows (fractions of the height) of TUD-Campus's glass front, behind which people sit all through the sequence."""


def quiet_glass_front(background: Image) -> Image:
    """TUD-Campus's background with the band behind its glass front blurred: the people seated inside are in every
    frame of the sequence, so they are in its median, and a detector finds them (about two persons a frame that no
    ground truth knows: they are not actors of the scene). Blurred, they are shapes behind glass; the façade's
    lines, lights and colours stay."""
    height = background.shape[0]
    top, bottom = round(GLASS_FRONT_ROWS[0] * height), round(GLASS_FRONT_ROWS[1] * height)
    out = background.copy()
    out[top:bottom] = cv2.GaussianBlur(background, (0, 0), max(2.0, height / 80))[top:bottom]
    return out


POSE_RATE = 25.0
"""Poses a second of a walking cut-out: TUD-Campus's frame rate, so a walk plays at its own pace."""

PHOTO_VEHICLE_FOLDERS = ("plates-fr-dev", "plates-dev")
"""Folders of the data folder whose photos of cars (plate format) give the street-level vehicles, in this order."""


@dataclass(frozen=True, slots=True)
class PhotoBank:
    """What a photo-real render takes from the user's data folder: cut-outs of people and vehicles, a real
    background (the median frame of TUD-Campus, a car park in front of a building), and the footage it came from."""

    people: tuple[Cutout, ...]
    vehicles: tuple[Cutout, ...]
    background: Image
    sources: tuple[tuple[str, str], ...] = ()
    """Every file the bank was made from: (path in the data folder, SHA-256), sorted. What a render shows is a
    function of these files and the scene, so they say which footage a photo-real render contains."""

    @classmethod
    def from_data(cls, folder: Path, cache_dir: Path | None = None) -> PhotoBank:
        """Build the bank from a data folder holding ``tracking/tud-campus`` (people, background) and photos of
        cars with an annotated plate (``plates-fr-dev``, ``plates-dev``: street-level vehicles), or else the
        parking-lot clip ``video/car-detection.mp4`` (cars seen from above).

        The photos' GrabCut masks (nearly all of the cost: about a minute) are kept in ``cache_dir``
        (:func:`default_cutout_cache_dir` when not given) for the next process: see :func:`photo_vehicle_cutouts`."""
        sequence = folder / "tracking" / "tud-campus"
        clip = folder / "video" / "car-detection.mp4"
        photo_folders = [folder / name for name in PHOTO_VEHICLE_FOLDERS if (folder / name).is_dir()]
        tud = [*sorted((sequence / "img1").glob("*.jpg")), sequence / "gt" / "gt.txt"]
        photos = [p for d in photo_folders for p in sorted(d.iterdir()) if p.suffix.lower() in (".jpg", ".txt")]
        candidates = [p for p in [*tud, *photos, clip] if p.is_file()]
        digests = {p: _sha256(p) for p in candidates}
        key = tuple(sorted((p.relative_to(folder).as_posix(), d) for p, d in digests.items()))
        if key in _BANKS:  # the same footage, byte for byte: the same bank (building it costs about a minute)
            return _BANKS[key]
        people = person_cutouts(sequence)
        cache = cache_dir if cache_dir is not None else default_cutout_cache_dir()
        vehicles = [cutout for d in photo_folders for cutout in photo_vehicle_cutouts(d, cache_dir=cache)]
        used = [*tud, *photos]
        if not vehicles:
            vehicles = vehicle_cutouts(clip)
            used.append(clip)
        if not people or not vehicles:
            raise CutoutDataError(f"{folder} gave {len(people)} people and {len(vehicles)} vehicles; need both")
        frames = [np.asarray(cv2.imread(str(p)), np.uint8) for p in sorted((sequence / "img1").glob("*.jpg"))]
        sources = tuple(sorted((p.relative_to(folder).as_posix(), digests[p]) for p in used))
        bank = cls(tuple(people), tuple(vehicles), quiet_glass_front(median_background(frames)), sources)
        _BANKS[key] = bank
        return bank

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

    def pose(self, still: Cutout, t: float, heading: int) -> Cutout:
        """The pose of a walking person at time ``t`` (seconds) who wears ``still``: the cut-outs of the same
        track of the same sequence, frame after frame from ``still``'s, at the footage's 25 frames a second (so a
        walk is a real walk, legs and arms moving, repeated), turned to face ``heading`` (1 right, -1 left) when
        the person walked the other way in their footage. ``still`` itself when it has no track."""
        walk = sorted((c for c in self.people if c.track == still.track and still.track > 0), key=lambda c: c.frame)
        if len(walk) < 2:
            chosen = still
        else:
            start = next(i for i, c in enumerate(walk) if c.frame == still.frame)
            chosen = walk[(start + int(t * POSE_RATE)) % len(walk)]
        if heading and chosen.facing and heading != chosen.facing:
            return replace(chosen, rgba=np.ascontiguousarray(chosen.rgba[:, ::-1]), facing=heading)
        return chosen

    def cutout_for(self, kind: ActorKind, actor_id: int, seed: int) -> Cutout | None:
        """The cut-out an actor wears for the whole scene (a function of the scene seed and its id), or None for a
        kind the bank has none of (bags)."""
        choices = {ActorKind.PERSON: self.people, ActorKind.VEHICLE: self.vehicles}.get(kind)
        if not choices:
            return None
        index = int(np.random.default_rng([seed, 20, actor_id]).integers(len(choices)))
        return choices[index]


PINNED_SOURCES = Path(__file__).with_name("photo-sources.json")
"""The SHA-256 of the public footage whose cut-outs the demo may show on cameras it analyses without an activation
(TUD-Campus, the parking-lot clip, the development plate photos). Anything else can be rendered (``vigie sim``),
never passed off as simulated footage: real people of one's own cameras composited over a background are real
footage."""


_BANKS: dict[tuple[tuple[str, str], ...], PhotoBank] = {}
"""Banks built in this process, by the path and SHA-256 of every file they may be made from."""


def unpinned_sources(bank: PhotoBank) -> list[str]:
    """The bank's source files that are not the pinned public footage (by path in the data folder and SHA-256)."""
    pinned: dict[str, str] = json.loads(PINNED_SOURCES.read_text(encoding="utf-8"))["files"]
    return [name for name, digest in bank.sources if pinned.get(name) != digest]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cutout_sprite(
    cutout: Cutout, size: tuple[int, int], foot: tuple[int, int], *, fallen: bool = False, feather: float = 1.0
) -> Sprite:
    """The cut-out as a renderer sprite for an actor of box ``size`` (w, h): scaled to its height, its bottom-centre
    at ``foot``, its mask the pixels of alpha ≥ ``ALPHA_CUT`` (the ground truth stays the exact set of pixels that
    are mostly the object) and its opacity feathered over about ``feather`` pixels (the renderer blends the edges
    and lays a contact shadow). A vehicle seen from above lengthwise is turned a quarter for a wide box (and back);
    a ``fallen`` person is the standing cut-out laid on its side, as long as the person was tall."""
    rgba = cutout.rgba
    if cutout.from_above and (size[0] > size[1]) != (rgba.shape[1] > rgba.shape[0]):
        rgba = np.ascontiguousarray(np.rot90(rgba))
    if fallen:
        rgba = np.ascontiguousarray(np.rot90(rgba))
    src_h, src_w = rgba.shape[:2]
    if fallen:
        width = max(4, size[1])
        height = max(2, round(src_h * width / src_w))
    else:
        height = max(4, size[1])
        width = max(2, round(src_w * height / src_h))
    interpolation = cv2.INTER_AREA if height < src_h else cv2.INTER_LINEAR
    scaled = cv2.resize(rgba, (width, height), interpolation=interpolation)
    alpha = scaled[:, :, 3].astype(np.float32) / np.float32(255.0)
    mask: Mask = alpha >= ALPHA_CUT
    if feather > 0:
        alpha = (cv2.GaussianBlur(alpha, (0, 0), feather / 2) * (alpha > 0.02)).astype(np.float32)
    return Sprite(foot[0] - width // 2, foot[1] - height, scaled[:, :, :3].astype(np.int16), mask, alpha=alpha)
