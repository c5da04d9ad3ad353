"""What a camera's own events become: tampering a stream alarm shown in the camera's health while it lasts (L18),
motion an observation only where the gate opens ``motion`` (L22) — dropped and counted otherwise, and when the
gate cannot answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.support.clocks import T0, FakeClock
from vigie.devices.onvif_events import CameraEvent
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm, StreamAlarmKind
from vigie.domain.observation import Observation
from vigie.services.camera_events import (
    CameraEventRouter,
    DeviceAlarmStatus,
    merged_stream_alarms,
    with_device_alarms,
)
from vigie.storage import SqlCameraStatusRepo, create_engine_for, migrate

SCENE = "tns1:VideoSource/GlobalSceneChange/ImagingService"
MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
BLURRY_TOPIC = "tns1:VideoSource/ImageTooBlurry/ImagingService"


class MotionAllowedOn:
    """A gate that opens ``motion`` on some cameras (what the activation gate answers, without its database)."""

    def __init__(self, *cameras: str, broken: bool = False) -> None:
        self.cameras, self.broken = set(cameras), broken

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        if self.broken:
            raise OSError("the governance tables cannot be read")
        return module == "motion" and camera_id in self.cameras

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


def scene(active: bool, source: str = "src-1") -> CameraEvent:
    return CameraEvent("scene_change", active, SCENE, source)


def motion() -> CameraEvent:
    return CameraEvent("motion", True, MOTION, "src-1")


def router(gate: MotionAllowedOn, clock: FakeClock) -> tuple[CameraEventRouter, list[StreamAlarm | Observation]]:
    emitted: list[StreamAlarm | Observation] = []
    return CameraEventRouter(["cam-1", "cam-2"], gate, clock, emitted.append, inbox_size=8), emitted


def test_an_alarm_is_raised_once_and_cleared_when_the_last_source_stops_reporting_it() -> None:
    clock = FakeClock(T0)
    events, emitted = router(MotionAllowedOn(), clock)
    events.offer("cam-1", scene(False))  # the initial state of a property: nothing to say
    events.offer("cam-1", scene(True, "src-1"))
    events.offer("cam-1", scene(True, "src-2"))  # a second sensor of the same camera
    events.deliver()
    assert [(a.kind, a.cleared) for a in emitted if isinstance(a, StreamAlarm)] == [
        (StreamAlarmKind.SCENE_CHANGED, False)
    ]
    assert events.active("cam-1") == [StreamAlarmKind.SCENE_CHANGED] and events.active("cam-2") == []
    clock.advance(seconds=30)
    events.offer("cam-1", scene(False, "src-1"))
    events.deliver()
    assert len(emitted) == 1, "still reported by src-2"
    events.offer("cam-1", scene(False, "src-2"))
    events.deliver()
    cleared = emitted[-1]
    assert isinstance(cleared, StreamAlarm) and cleared.cleared and cleared.at == T0 + timedelta(seconds=30)
    assert SCENE in cleared.detail and events.active("cam-1") == []


def blurred(active: bool) -> CameraEvent:
    return CameraEvent("image_too_blurry", active, BLURRY_TOPIC, "src-1")


def picture(kind: StreamAlarmKind, cleared: bool, at: datetime, camera: str = "cam-1") -> StreamAlarm:
    """A transition Vigie's own picture check sends (ingest.alarms, through the analysis worker)."""
    return StreamAlarm(kind, camera, at, "picture blurred for 5 s (20% of its reference sharpness)", cleared)


def test_a_blur_seen_by_the_camera_and_by_the_picture_check_is_one_alarm() -> None:
    clock = FakeClock(T0)
    events, emitted = router(MotionAllowedOn(), clock)
    sink: list[object] = []
    workers = merged_stream_alarms(events, sink.append)
    blurry = StreamAlarmKind.IMAGE_TOO_BLURRY
    events.offer("cam-1", blurred(True))
    events.deliver()
    assert [(a.kind, a.cleared) for a in emitted if isinstance(a, StreamAlarm)] == [(blurry, False)]
    workers(picture(blurry, False, T0 + timedelta(seconds=6)))
    assert sink == [], "the camera's report holds the episode: not raised twice"
    events.offer("cam-1", blurred(False))
    events.deliver()
    assert len(emitted) == 1, "the picture is still blurred: the episode goes on"
    assert events.active("cam-1") == [], "the camera no longer reports it (its health says what the camera says)"
    cleared = picture(blurry, True, T0 + timedelta(seconds=60))
    workers(cleared)
    assert sink == [cleared], "the last source stops: cleared once"


def test_the_picture_check_first_then_the_camera_is_one_alarm_and_other_alarms_pass() -> None:
    clock = FakeClock(T0)
    events, emitted = router(MotionAllowedOn(), clock)
    sink: list[object] = []
    workers = merged_stream_alarms(events, sink.append)
    blurry = StreamAlarmKind.IMAGE_TOO_BLURRY
    raised = picture(blurry, False, T0)
    workers(raised)
    events.offer("cam-1", blurred(True))
    events.offer("cam-1", blurred(False))
    events.deliver()
    assert sink == [raised] and emitted == [], "the camera's report joins the picture check's episode"
    frozen = StreamAlarm(StreamAlarmKind.FROZEN_PICTURE, "cam-1", T0, "picture unchanged for 60 s")
    elsewhere = picture(blurry, False, T0, camera="cam-9")  # a camera not listened to
    health = CameraHealth("cam-1", HealthState.ONLINE, T0)
    for message in (frozen, elsewhere, health):
        workers(message)
    assert sink == [raised, frozen, elsewhere, health], "what cameras cannot report, and the rest, pass as sent"


def test_camera_side_motion_needs_the_gate_and_is_otherwise_counted_not_kept() -> None:
    clock = FakeClock(T0)
    events, emitted = router(MotionAllowedOn("cam-2"), clock)
    for camera in ("cam-1", "cam-1", "cam-2"):
        events.offer(camera, motion())
    events.offer("cam-9", motion())  # not a camera of this service: ignored
    events.deliver()
    assert [(o.camera_id, o.module, o.at) for o in emitted if isinstance(o, Observation)] == [("cam-2", "motion", T0)]
    received, dropped, overflowed = events.counts()
    assert dropped == {"cam-1": 2} and received[("cam-1", "motion")] == 2 and overflowed == 0


def test_a_gate_that_cannot_answer_drops_camera_side_motion() -> None:
    events, emitted = router(MotionAllowedOn("cam-1", broken=True), FakeClock(T0))
    events.offer("cam-1", motion())
    events.deliver()
    assert emitted == [] and events.counts()[1] == {"cam-1": 1}


def test_a_full_inbox_loses_the_oldest_events_and_counts_them() -> None:
    events, _ = router(MotionAllowedOn(), FakeClock(T0))
    for _ in range(10):
        events.offer("cam-1", motion())
    assert events.deliver() == 8 and events.counts()[2] == 2


def test_the_health_shows_the_alarm_while_it_lasts_whatever_the_workers_report(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    clock = FakeClock(T0)
    events, _ = router(MotionAllowedOn(), clock)
    status = DeviceAlarmStatus(SqlCameraStatusRepo(engine), events, clock)
    status.record(CameraHealth("cam-1", HealthState.ONLINE, T0, fps_in=5.0))
    clock.advance(seconds=1)
    events.offer("cam-1", scene(True))
    events.deliver()  # written at once, not at the workers' next report
    (shown,) = status.latest()
    assert (shown.state, shown.reason, shown.fps_in) == (HealthState.DEGRADED, "the camera reports scene_changed", 5.0)
    status.record_many([CameraHealth("cam-1", HealthState.ONLINE, T0 + timedelta(seconds=5))])
    assert status.latest()[0].state is HealthState.DEGRADED
    clock.advance(seconds=10)
    events.offer("cam-1", scene(False))
    events.deliver()
    assert (status.latest()[0].state, status.latest()[0].reason) == (HealthState.ONLINE, "")


def test_an_offline_camera_stays_offline_with_both_reasons() -> None:
    health = CameraHealth("cam-1", HealthState.OFFLINE, T0, reason="no packets")
    shown = with_device_alarms(health, [StreamAlarmKind.IMAGE_TOO_DARK, StreamAlarmKind.SCENE_CHANGED])
    assert (shown.state, shown.reason) == (
        HealthState.OFFLINE,
        "no packets; the camera reports image_too_dark, scene_changed",
    )
