"""Plate reading in a camera worker's analysis step, as ``vigie serve`` builds it (``camera_analysis`` with the
production reader and voter): a dedicated LPR camera reads each simulated car's plate once, under the activation it
ran under, keeping only the plate's crop; without an activation nothing is read, and closing the gate forgets the
votes under way; a municipal demo camera never reads, even configured to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from tests.support.clocks import T0
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.plates import PlateReading, PlateReadingConfig
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.plates import PlateRead
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.ingest.reader import StreamSpec
from vigie.runtime.assembly.demo import demo_config
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.workers.analysis import WorkerSpec, camera_analysis
from vigie.runtime.workers.plates import plate_tools
from vigie.sim import SceneRenderer, builtin_scene_path, load_scene
from vigie.sim.plates import plate_picture
from vigie.sim.render import RenderedFrame
from vigie.sim.siv import normalised
from vigie.storage import create_engine_for, migrate

CAMERA = "lapi1"
ACTIVATION = 7


class FixedRules:
    def __init__(self, rules: GateRules) -> None:
        self._rules = rules

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def _gate(*windows: tuple[datetime, datetime]) -> ActivationGate:
    rules = GateRules(windows={("plate_reading", CAMERA): tuple(Window(ACTIVATION, a, b) for a, b in windows)})
    return ActivationGate(FixedRules(rules), lambda: T0)


def _spec(camera: str = CAMERA, commune: str = "pn-test") -> WorkerSpec:
    def no_gate(on_transition: object) -> ActivationGate:
        raise AssertionError("the test hands its own gate")

    return WorkerSpec(
        stream=StreamSpec(camera, "file:///unused.mp4", analysis_fps=5, analysis_width=960, pixel_format="bgr24"),
        motion=MotionConfig(),
        gate=no_gate,
        rules=(("plate_reading", {"lpr_camera": True}),),
        commune_id=commune,
    )


@cache
def _lane() -> tuple[RenderedFrame, ...]:
    renderer = SceneRenderer(load_scene(builtin_scene_path("lane")))
    return tuple(renderer.frames())


def _run(spec: WorkerSpec, gate: object, frames: Iterator[RenderedFrame] | None = None) -> list[PlateRead]:
    analysis = camera_analysis(spec, gate)  # type: ignore[arg-type]
    found: list[object] = []
    for frame in frames if frames is not None else iter(_lane()):
        found += analysis.process(frame.image, T0 + timedelta(seconds=frame.time_s))
    # a still, empty lane for two seconds: the last car's track ends
    empty = np.full_like(_lane()[0].image, 120)
    for step in range(1, 11):
        found += analysis.process(empty, T0 + timedelta(seconds=_lane()[-1].time_s + 0.2 * step))
    return [item for item in found if isinstance(item, PlateRead)]


def _plates_passing(frames: tuple[RenderedFrame, ...]) -> dict[str, int]:
    """Each car's plate and the frames where it is whole in the picture."""
    seen: dict[str, int] = {}
    for frame in frames:
        for plate in frame.plates:
            if plate.visibility == 1.0:
                seen[normalised(plate.text)] = seen.get(normalised(plate.text), 0) + 1
    return seen


def test_an_lpr_camera_reads_each_car_once_under_its_activation() -> None:
    reads = _run(_spec(), _gate((T0 - timedelta(days=1), T0 + timedelta(days=1))))
    expected = _plates_passing(_lane())
    assert len(expected) == 4 and "GE042ZR" in expected
    texts = [read.text for read in reads]
    assert sorted(texts) == sorted(expected), "one read per car, each right"
    for read in reads:
        assert read.activation_id == ACTIVATION and read.commune_id == "pn-test" and read.camera_id == CAMERA
        assert read.plate_format == "FR-SIV" and read.display == f"{read.text[:2]}-{read.text[2:5]}-{read.text[5:]}"
        assert read.frames >= 2 and 0.5 <= read.confidence <= 1.0
        crop = cv2.imdecode(np.frombuffer(read.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
        height, width = crop.shape[:2]
        assert height <= 64 and 3 <= width / height <= 8, "the plate alone, never the car or its occupants"
        assert read.box is not None and 0.3 < read.box.x < 0.6 and read.box.w < 0.2
        assert T0 <= read.at <= T0 + timedelta(seconds=30)


def test_nothing_is_read_without_an_activation() -> None:
    spec = _spec()
    analysis = camera_analysis(spec, _gate())
    found = []
    for frame in _lane()[50:80]:  # the scripted car passes
        found += analysis.process(frame.image, T0 + timedelta(seconds=frame.time_s))
    assert not [item for item in found if isinstance(item, PlateRead)]
    assert analysis.plates is not None and analysis.plates.frames_analysed == 0


def test_closing_the_gate_forgets_the_votes_under_way() -> None:
    """The activation ends while GE-042-ZR is in view (12-15.5 s): its frames read before the end never make a
    read, not even when another activation opens later."""
    end = T0 + timedelta(seconds=13.5)
    reopened = T0 + timedelta(seconds=17)
    reads = _run(_spec(), _gate((T0, end), (reopened, T0 + timedelta(days=1))))
    texts = {read.text for read in reads}
    assert "GE042ZR" not in texts
    assert {"QG868SH", "VK805JV"} <= texts, "the cars after the new activation are read"
    assert all(read.at < end or read.at >= reopened for read in reads)


def test_a_municipal_demo_camera_never_reads_even_configured_to(tmp_path: Path) -> None:
    """The demo's commune cameras show simulated footage, open to every other module without an activation; plate
    reading stays closed there (L34), so a municipal camera set up to read plates reads none."""
    modules = {"sim1": {"plate_reading": {"lpr_camera": True}}}
    config = demo_config(tmp_path, "127.0.0.1", 8080, {"sim1": "file:///lane.mp4"}, modules=modules)
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    engine.dispose()
    gate = DatabaseGateFactory(config, frozenset({"sim1"}), lambda: T0)(lambda change: None)
    assert gate.allows("motion", "sim1", T0), "simulated footage: other modules run"
    assert not gate.allows("plate_reading", "sim1", T0)
    reads = _run(_spec("sim1", "demo"), gate, iter(_lane()[50:90]))
    assert reads == []


def test_on_a_street_camera_only_the_detectors_vehicles_are_read() -> None:
    """Without ``lpr_camera`` the vehicles come from the camera's detector: its cars are read, while the same
    region reported as a person is never looked at (occupants are not analysed)."""
    frames = _lane()[55:85]  # 11-17 s: GE-042-ZR drives through, alone

    def run(cls: ObjectClass) -> list[PlateRead]:
        reading = PlateReading(CAMERA, "pn-test", PlateReadingConfig(), plate_tools(), _gate((T0, T0 + timedelta(1))))
        reads: list[PlateRead] = []
        for frame in frames:
            boxes = [(b.x, b.y, b.x + b.w, b.y + b.h) for b in frame.boxes]
            found = Detections.create(boxes, [0.9] * len(boxes), [int(cls)] * len(boxes))
            reads += reading.process(frame.image, T0 + timedelta(seconds=frame.time_s), 0.2, lambda f=found: f)
        reads += reading.process(frames[0].image, T0 + timedelta(seconds=30), 0.2, Detections)
        return reads

    assert [read.text for read in run(ObjectClass.CAR)] == ["GE042ZR"]
    assert run(ObjectClass.PERSON) == []


def test_nothing_behind_a_vehicles_windows_is_read() -> None:
    """A plate held up behind the rear window (where occupants sit) is never read: only the lower part of a detected
    vehicle is looked at; the bumper's plate is."""
    reading = PlateReading(CAMERA, "pn-test", PlateReadingConfig(), plate_tools(), _gate((T0, T0 + timedelta(1))))
    reads: list[PlateRead] = []
    for frame in _lane()[55:85]:
        image = frame.image.copy()
        boxes = []
        for b in frame.boxes:
            sign = plate_picture("AB-123-CD", b.w // 3)
            top, left = b.y + b.h // 10, b.x + b.w // 3
            rows = slice(max(0, top), min(image.shape[0], top + sign.shape[0]))
            if rows.stop > rows.start:
                image[rows, left : left + sign.shape[1]] = sign[rows.start - top : rows.stop - top]
            boxes.append((b.x, b.y, b.x + b.w, b.y + b.h))
        found = Detections.create(boxes, [0.9] * len(boxes), [int(ObjectClass.CAR)] * len(boxes))
        reads += reading.process(image, T0 + timedelta(seconds=frame.time_s), 0.2, lambda f=found: f)
    reads += reading.process(_lane()[0].image, T0 + timedelta(seconds=30), 0.2, Detections)
    assert [read.text for read in reads] == ["GE042ZR"]


def _two_cars_side_by_side() -> list[np.ndarray]:
    """Two cars driving up two lanes side by side, in view together (960×540, 5 fps): two seconds of empty road for
    the motion detector's background, 14 frames of both cars, two seconds of empty road."""
    road = np.full((540, 960, 3), 110, np.uint8)
    cars = [(110, "GE-042-ZR", (120, 40, 30)), (560, "AB-123-CD", (40, 40, 140))]
    frames = [road.copy() for _ in range(10)]
    for step in range(14):
        image = road.copy()
        top = 300 - 14 * step
        for left, text, colour in cars:
            image[top : top + 220, left : left + 300] = colour
            plate = plate_picture(text, 150)
            y, x = top + 220 - plate.shape[0] - 20, left + 75
            image[y : y + plate.shape[0], x : x + plate.shape[1]] = plate
        frames.append(image)
    return frames + [road.copy() for _ in range(10)]


def test_an_lpr_camera_reads_two_cars_in_view_together() -> None:
    """The moving region holds both cars: each plate found is a read of its own text's track, so both are read,
    once each (one region, one vehicle track, would vote one plate and lose the other)."""
    config = PlateReadingConfig(lpr_camera=True)
    reading = PlateReading(CAMERA, "pn-test", config, plate_tools(), _gate((T0, T0 + timedelta(days=1))))
    reads: list[PlateRead] = []
    for number, image in enumerate(_two_cars_side_by_side()):
        reads += reading.process(image, T0 + timedelta(seconds=0.2 * number), 0.2)
    reads += reading.process(np.full((540, 960, 3), 110, np.uint8), T0 + timedelta(seconds=30), 0.2)
    assert sorted(read.text for read in reads) == ["AB123CD", "GE042ZR"]
    assert all(read.frames >= 2 and read.activation_id == ACTIVATION for read in reads)
    left = next(read for read in reads if read.text == "GE042ZR")
    assert left.box is not None and left.box.x < 0.5, "each read carries its own plate's box"
