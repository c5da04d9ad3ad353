"""Objects in recorded footage: what the shared detector and the tracker find in one camera's segments over a
window, each finished track turned into a :class:`~vigie.domain.case_objects.CaseObject` of a case.

Pictures are decoded with PyAV, sampled at ``ObjectSearchParams.fps`` of footage time, sent to the detector in
batches (``detect_batch``: one session call for many pictures, the batched throughput the issue's goal compares
with), tracked by :class:`~vigie.analytics.track.ByteTracker` in time order, and each track closed when the footage
ends (or the tracker drops it) becomes one object:

- class by majority vote of its detections (COCO car, bus, truck, motorcycle, bicycle, person, handbag / backpack /
  suitcase as bag: ``vigie.analytics.detect.classes``). **No van**: COCO has no van class, and a box's aspect and
  size do not tell a van from a car or a small truck at the sizes and angles of street cameras (a car seen from the
  side is as long as a van seen from the front); a detector trained with a van class will fill it later;
- colour, for cars, trucks and buses only, from the central part of the largest box (:func:`vehicle_colour`); never
  for a person, a two-wheeler (what a colour namer reads there is mostly the rider's clothes) or a bag (L25);
- direction: the displacement of the box's bottom centre (where it touches the ground) from its first to its last
  sighting, as a compass heading given the camera's heading (where the camera looks, image up = that heading);
  None when the camera has no heading or the object moved less than ``min_travel`` of the picture;
- zones entered (an analysis zone containing the bottom centre at some sighting) and lines crossed (the path
  between two sightings crosses a directed line in its counted direction);
- the largest box and its instant as the thumbnail.

Pure analytics: reads the files it is given; which files, for which case and who asked belong to the case service.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.batching import BatchDetector
from vigie.analytics.forensics.motion_region import RecordedFile, SegmentUnreadableError, open_recorded
from vigie.analytics.track import ByteTracker
from vigie.analytics.track.bytetrack import ByteTrackerConfig
from vigie.domain.case_objects import COLOURED_CLASSES, CaseObject, Direction, ObjectClass, VehicleColour
from vigie.domain.detections import Detections
from vigie.domain.detections import ObjectClass as DetectedClass
from vigie.domain.geometry import Box, Point

Image = npt.NDArray[np.uint8]

_CLASSES: dict[int, ObjectClass] = {
    int(DetectedClass.PERSON): ObjectClass.PERSON,
    int(DetectedClass.BICYCLE): ObjectClass.BICYCLE,
    int(DetectedClass.CAR): ObjectClass.CAR,
    int(DetectedClass.MOTORCYCLE): ObjectClass.MOTORCYCLE,
    int(DetectedClass.BUS): ObjectClass.BUS,
    int(DetectedClass.TRUCK): ObjectClass.TRUCK,
    int(DetectedClass.BAG): ObjectClass.BAG,
}
"""The detector's classes kept by a forensic search (motion and hot spots are not objects)."""
_COMPASS = (
    Direction.NORTH,
    Direction.NORTH_EAST,
    Direction.EAST,
    Direction.SOUTH_EAST,
    Direction.SOUTH,
    Direction.SOUTH_WEST,
    Direction.WEST,
    Direction.NORTH_WEST,
)


class ObjectSearchError(ValueError):
    """A search asked with parameters that cannot work; the message names the parameter and the accepted range."""


@dataclass(frozen=True, slots=True)
class NamedZone:
    """An analysis zone drawn on the camera: its id and polygon (normalised points)."""

    name: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class NamedLine:
    """A directed line drawn on the camera; ``direction`` as ``vigie.config.zones.LineDirection``:
    ``left_to_right``, ``right_to_left`` or ``both`` (seen from the first point towards the second)."""

    name: str
    start: Point
    end: Point
    direction: str = "both"

    def side(self, point: Point) -> int:
        (x0, y0), (x1, y1) = self.start, self.end
        cross = (x1 - x0) * (point[1] - y0) - (y1 - y0) * (point[0] - x0)
        return (cross > 0) - (cross < 0)  # image y grows downwards: negative is the viewer's left


@dataclass(frozen=True, slots=True)
class CameraLayout:
    """What the search knows of the camera: where it looks (degrees from north, None: unknown) and its zones."""

    heading: float | None = None
    zones: tuple[NamedZone, ...] = ()
    lines: tuple[NamedLine, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectSearchParams:
    """How the footage is sampled and which tracks are kept."""

    fps: float = 5.0
    """Pictures analysed per second of footage (0.5 to 30)."""
    batch: int = 16
    """Pictures per detector call (1 to 256)."""
    min_frames: int = 3
    """Tracks seen on fewer analysed pictures are dropped (a flicker of the detector, not an object)."""
    min_travel: float = 0.05
    """Least displacement (fraction of the picture's diagonal) that gives a direction."""
    tracking: ByteTrackerConfig = field(
        default_factory=lambda: ByteTrackerConfig(high_score=0.3, new_track_score=0.35, low_score=0.1, max_age=2.0)
    )
    """The tracker's tuning. Lower scores than live analysis: the detector's own threshold (0.3 for YOLOX) already
    cut the noise, a search after the fact wants every object a person may look at (nothing alerts from it), and
    a small model's scores on a car seen from above rarely reach live tracking's 0.6 to start a track."""

    def __post_init__(self) -> None:
        if not 0.5 <= self.fps <= 30:
            raise ObjectSearchError(f"fps must be between 0.5 and 30 pictures a second (got {self.fps})")
        if not 1 <= self.batch <= 256:
            raise ObjectSearchError(f"batch must be between 1 and 256 pictures (got {self.batch})")
        if self.min_frames < 1:
            raise ObjectSearchError(f"min_frames must be at least 1 (got {self.min_frames})")
        if not 0 <= self.min_travel < 1:
            raise ObjectSearchError(f"min_travel must be in [0, 1) of the picture's diagonal (got {self.min_travel})")


@dataclass(frozen=True, slots=True)
class ObjectSearchResult:
    objects: tuple[CaseObject, ...]
    pictures: int
    """Pictures analysed (sent to the detector)."""
    media_seconds: float
    """Footage covered by the analysed pictures (first to last, per file)."""


@dataclass(slots=True)
class _Track:
    first: datetime
    last: datetime
    votes: Counter[ObjectClass] = field(default_factory=Counter)
    points: list[Point] = field(default_factory=list)
    """Bottom centre of the box at each sighting (normalised)."""
    best_area: float = -1.0
    best_box: Box | None = None
    best_at: datetime | None = None
    best_crop: Image | None = None
    sightings: int = 0


def vehicle_colour(crop: Image) -> VehicleColour | None:  # noqa: PLR0911 — one return per colour family
    """The body colour of a vehicle from a BGR crop of its box, or None when no colour dominates.

    Written by hand: no maintained library names a colour from pixels (colour-naming packages map one RGB value to
    the nearest of hundreds of names, which says "dim grey" of a white car in the shade; vehicle-colour classifiers
    are models, not libraries). The central half of the box is mostly body (the border is road, wheels and
    background); glass is dark and windscreens reflect the sky, so the pixels are voted in HSV and the strongest
    hue among saturated pixels wins when enough of them are saturated, else the brightness says black, grey,
    silver or white."""
    h, w = crop.shape[:2]
    if h < 4 or w < 4:
        return None
    centre = crop[h // 4 : h - h // 4, w // 4 : w - w // 4]
    hsv = cv2.cvtColor(np.ascontiguousarray(centre), cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    hue, sat, val = hsv[:, 0] * 2, hsv[:, 1], hsv[:, 2]  # hue in degrees
    coloured = (sat >= 90) & (val >= 60)
    if np.count_nonzero(coloured) >= 0.3 * len(hsv):
        hues = hue[coloured]
        vals = val[coloured]
        names = np.select(
            [hues < 15, hues < 40, hues < 70, hues < 170, hues < 260, hues < 330],
            [0, 1, 2, 3, 4, 5],
            default=0,
        )  # red, orange, yellow, green, blue, (purple → red family)
        counts = np.bincount(names, minlength=6)
        top = int(np.argmax(counts))
        if top == 1 and np.median(vals) < 150:
            return VehicleColour.BROWN  # a dark orange is brown
        return [
            VehicleColour.RED,
            VehicleColour.ORANGE,
            VehicleColour.YELLOW,
            VehicleColour.GREEN,
            VehicleColour.BLUE,
            VehicleColour.RED,
        ][top]
    if np.count_nonzero((sat >= 40) & (sat < 90) & (hue >= 20) & (hue < 50) & (val >= 120)) >= 0.4 * len(hsv):
        return VehicleColour.BEIGE
    brightness = float(np.median(val))
    if brightness < 60:
        return VehicleColour.BLACK
    if brightness < 140:
        return VehicleColour.GREY
    if brightness < 190:
        return VehicleColour.SILVER
    return VehicleColour.WHITE


def compass(dx: float, dy: float, heading: float) -> Direction:
    """The compass direction of a displacement (dx right, dy down the image) seen by a camera looking towards
    ``heading`` degrees from north (image up = that heading, image right = heading + 90°)."""
    bearing = (heading + math.degrees(math.atan2(dx, -dy))) % 360.0
    return _COMPASS[int(((bearing + 22.5) % 360.0) // 45.0)]


def _inside(point: Point, polygon: tuple[Point, ...]) -> bool:
    contour = np.asarray(polygon, np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def _crosses(line: NamedLine, a: Point, b: Point) -> bool:
    """Whether the path a→b crosses the segment ``line`` in a direction it counts."""
    before, after = line.side(a), line.side(b)
    if 0 in (before, after) or before == after:
        return False
    # the path's ends on either side of the line's support; the line's ends on either side of the path
    (x0, y0), (x1, y1) = line.start, line.end
    path = NamedLine("", a, b)
    if path.side((x0, y0)) == path.side((x1, y1)):
        return False
    if line.direction == "left_to_right":
        return before < 0 < after
    if line.direction == "right_to_left":
        return before > 0 > after
    return True


def _pictures(
    files: Sequence[RecordedFile], start: datetime, end: datetime, fps: float
) -> Iterator[tuple[datetime, Image]]:
    """(recorded instant, BGR picture) every 1/fps seconds of footage within [start, end), files in time order."""
    period = timedelta(seconds=1.0 / fps)
    due = start
    for recorded in sorted(files, key=lambda f: f.start):
        container = open_recorded(recorded)
        with container:
            if not container.streams.video:
                raise SegmentUnreadableError(f"segment {recorded.path} holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            origin: float | None = None
            try:
                for picture in container.decode(stream):
                    if picture.time is None:
                        continue
                    origin = float(picture.time) if origin is None else origin
                    at = recorded.start + timedelta(seconds=float(picture.time) - origin)
                    if at >= end:
                        break
                    if at < due:
                        continue
                    due = max(due + period, at)
                    yield at, np.asarray(picture.to_ndarray(format="bgr24"), np.uint8)
            except av.FFmpegError:
                continue  # damaged tail of a file cut while recording: what came before was read


def search_objects(
    files: Sequence[RecordedFile],
    start: datetime,
    end: datetime,
    detector: BatchDetector,
    *,
    case_id: int,
    camera_id: str,
    layout: CameraLayout | None = None,
    params: ObjectSearchParams | None = None,
    progress: Callable[[float], None] | None = None,
) -> ObjectSearchResult:
    """The objects seen in ``files`` (one camera's segments) within [start, end). ``progress`` is called with the
    fraction of the window's footage analysed so far."""
    params = params or ObjectSearchParams()
    layout = layout or CameraLayout()
    if not start < end:
        raise ObjectSearchError(f"start {start.isoformat()} is not before end {end.isoformat()}")
    tracker = ByteTracker(params.tracking)
    tracks: dict[int, _Track] = {}
    batch: list[tuple[datetime, Image]] = []
    previous: datetime | None = None
    pictures = 0
    span = (end - start).total_seconds()

    def flush() -> None:
        nonlocal previous, pictures
        if not batch:
            return
        found = detector.detect_batch([image for _, image in batch])
        for (at, image), detections in zip(batch, found, strict=True):
            period = (at - previous).total_seconds() if previous is not None else 1.0 / params.fps
            previous = at
            _follow(tracks, tracker.update(_kept(detections), period), at, image)
        pictures += len(batch)
        if progress is not None:
            progress(min(1.0, (batch[-1][0] - start).total_seconds() / span))
        batch.clear()

    first_at: datetime | None = None
    last_at: datetime | None = None
    for at, image in _prefetched(_pictures(files, start, end, params.fps), 2 * params.batch):
        first_at = at if first_at is None else first_at
        last_at = at
        batch.append((at, image))
        if len(batch) >= params.batch:
            flush()
    flush()
    # Every track is closed when the footage ends (ids are never reused, so one held since it was lost is whole).
    objects = [
        found
        for number, track in enumerate(sorted(tracks.values(), key=lambda t: t.first), start=1)
        if track.sightings >= params.min_frames
        and (found := _object(track, number, case_id, camera_id, layout, params)) is not None
    ]
    media = 0.0 if first_at is None or last_at is None else (last_at - first_at).total_seconds()
    return ObjectSearchResult(tuple(objects), pictures, media)


def _prefetched(pictures: Iterator[tuple[datetime, Image]], depth: int) -> Iterator[tuple[datetime, Image]]:
    """``pictures``, decoded by a thread of their own up to ``depth`` ahead: decoding (PyAV) and inference
    (onnxruntime) both run without the GIL, so the next batch decodes while the detector reads this one."""
    box: queue.Queue[tuple[datetime, Image] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: tuple[datetime, Image] | BaseException | None) -> bool:
        while not stop.is_set():  # the consumer may have gone (an error): never block on a full queue then
            try:
                box.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in pictures:
                if not offer(item):
                    return
            offer(None)
        except BaseException as err:  # handed to the consumer, raised there
            offer(err)

    thread = threading.Thread(target=produce, name="object-search-decode", daemon=True)
    thread.start()
    try:
        while (item := box.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _kept(detections: Detections) -> Detections:
    keep = np.isin(detections.class_ids, list(_CLASSES))
    return detections[keep]


def _follow(tracks: dict[int, _Track], found: Detections, at: datetime, image: Image) -> None:
    height, width = image.shape[:2]
    for box, class_id, track_id in zip(found.boxes, found.class_ids, found.track_ids, strict=True):
        x1, y1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
        x2, y2 = min(float(width), float(box[2])), min(float(height), float(box[3]))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        track = tracks.setdefault(int(track_id), _Track(at, at))
        track.last = at
        track.sightings += 1
        track.votes[_CLASSES[int(class_id)]] += 1
        track.points.append(((x1 + x2) / 2 / width, y2 / height))
        area = (x2 - x1) * (y2 - y1)
        if area > track.best_area:
            track.best_area = area
            track.best_box = Box(x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
            track.best_at = at
            track.best_crop = image[int(y1) : math.ceil(y2), int(x1) : math.ceil(x2)].copy()


def _object(  # noqa: PLR0917
    track: _Track, number: int, case_id: int, camera_id: str, layout: CameraLayout, params: ObjectSearchParams
) -> CaseObject | None:
    if track.best_box is None or track.best_at is None:
        return None
    kind = track.votes.most_common(1)[0][0]
    colour = None
    if kind in COLOURED_CLASSES and track.best_crop is not None:
        colour = vehicle_colour(track.best_crop)
    direction = None
    (ax, ay), (bx, by) = track.points[0], track.points[-1]
    if layout.heading is not None and math.hypot(bx - ax, by - ay) >= params.min_travel * math.sqrt(2):
        direction = compass(bx - ax, by - ay, layout.heading)
    zones = [z.name for z in layout.zones if any(_inside(p, z.polygon) for p in track.points)]
    lines = [
        line.name
        for line in layout.lines
        if any(_crosses(line, a, b) for a, b in zip(track.points, track.points[1:], strict=False))
    ]
    return CaseObject(
        case_id=case_id,
        camera_id=camera_id,
        track_id=number,
        object_class=kind,
        colour=colour,
        first_seen=track.first,
        last_seen=track.last,
        direction=direction,
        zones=tuple(zones),
        lines=tuple(lines),
        box=track.best_box,
        thumbnail_at=track.best_at,
    )


def thumbnail(files: Sequence[RecordedFile], at: datetime, box: Box, *, side: int = 256) -> bytes:
    """A JPEG of ``box`` (normalised, with a margin of a quarter of its size) on the recorded picture nearest to
    ``at``, scaled to at most ``side`` pixels a side. Raises :class:`SegmentUnreadableError` when no file holds it."""
    best: tuple[float, Any] | None = None
    for recorded in sorted(files, key=lambda f: f.start):
        if recorded.start > at + timedelta(seconds=1):
            break
        container = open_recorded(recorded)
        with container:
            stream = container.streams.video[0]
            origin: float | None = None
            try:
                for picture in container.decode(stream):
                    if picture.time is None:
                        continue
                    origin = float(picture.time) if origin is None else origin
                    offset = abs(
                        (recorded.start + timedelta(seconds=float(picture.time) - origin) - at).total_seconds()
                    )
                    if best is None or offset < best[0]:
                        best = (offset, picture.to_ndarray(format="bgr24"))
                    elif offset > best[0]:
                        break
            except av.FFmpegError:
                continue
    if best is None or best[0] > 1.0:
        raise SegmentUnreadableError(f"no recorded picture near {at.isoformat()}: the footage was not found")
    image: Image = best[1]
    height, width = image.shape[:2]
    mx, my = box.w * 0.25, box.h * 0.25
    x1, y1 = max(0, int((box.x - mx) * width)), max(0, int((box.y - my) * height))
    x2 = min(width, math.ceil((box.x + box.w + mx) * width))
    y2 = min(height, math.ceil((box.y + box.h + my) * height))
    crop = image[y1:y2, x1:x2]
    scale = min(1.0, side / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale)))
        crop = np.asarray(cv2.resize(crop, size), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise SegmentUnreadableError(f"the picture at {at.isoformat()} could not be encoded as JPEG")
    return bytes(jpeg.tobytes())


class FootageObjectSearch:
    """The forensic object search of a server's recordings, as the case service calls it: ``files`` lists the
    recorded files of a camera over a period (the segment index and store), ``detector`` gives the camera's shared
    detector (loaded on first use), ``layouts`` the cameras' headings and zones."""

    def __init__(
        self,
        files: Callable[[str, datetime, datetime], Sequence[RecordedFile]],
        detector: Callable[[str], BatchDetector],
        layouts: dict[str, CameraLayout] | None = None,
        params: ObjectSearchParams | None = None,
    ) -> None:
        self._files, self._detector = files, detector
        self._layouts, self._params = layouts or {}, params or ObjectSearchParams()

    def search(
        self,
        case_id: int,
        camera_id: str,
        start: datetime,
        end: datetime,
        progress: Callable[[float], None] | None = None,
    ) -> Sequence[CaseObject]:
        files = self._files(camera_id, start, end)
        if not files:
            return ()
        found = search_objects(
            files,
            start,
            end,
            self._detector(camera_id),
            case_id=case_id,
            camera_id=camera_id,
            layout=self._layouts.get(camera_id),
            params=self._params,
            progress=progress,
        )
        return found.objects

    def thumbnail(self, camera_id: str, at: datetime, box: Box) -> bytes:
        margin = timedelta(seconds=1)
        return thumbnail(self._files(camera_id, at - margin, at + margin), at, box)
