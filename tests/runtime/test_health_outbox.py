"""A group's health reports leave together with its beat (``HealthOutbox``): fewer messages for the single writer,
without losing a change of state, a failure's reason, or a report when the queue is full."""

from __future__ import annotations

import queue
from typing import Any

from tests.support.clocks import FakeClock, Ticks
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.recording import Segment, SegmentState
from vigie.runtime.workers.group import HealthOutbox, HealthReports, unpacked
from vigie.runtime.workers.recorder import RecordingHealth

ONLINE, OFFLINE = HealthState.ONLINE, HealthState.OFFLINE


def health(clock: FakeClock, camera: str, state: HealthState, reason: str = "", fps: float = 5.0) -> CameraHealth:
    clock.advance(seconds=0.2)
    return CameraHealth(camera, state, clock(), reason, fps)


def drain(out: queue.Queue[Any]) -> list[Any]:
    items = []
    while not out.empty():
        items.append(out.get_nowait())
    assert all(isinstance(i, HealthReports) for i in items)
    return items


def sent(out: queue.Queue[Any]) -> list[Any]:
    return list(unpacked(drain(out)))


def test_heartbeats_leave_every_few_seconds_with_their_latest_figures() -> None:
    out: queue.Queue[Any] = queue.Queue()
    ticks, clock = Ticks(), FakeClock()
    box = HealthOutbox(out, "analysis-0", (CameraHealth,), every_s=5.0, monotonic=ticks)
    box.put(health(clock, "a", ONLINE, fps=4.0))
    box.put(health(clock, "b", ONLINE, fps=4.0))
    box.send()
    assert [(h.camera_id, h.fps_in) for h in sent(out)] == [("a", 4.0), ("b", 4.0)], "one message for the group"
    for second in range(1, 5):
        ticks.advance(1.0)
        box.put(health(clock, "a", ONLINE, fps=4.0 + second))
        box.send()
        assert sent(out) == [], "an unchanged camera's heartbeat waits"
    ticks.advance(1.0)
    box.put(health(clock, "a", ONLINE, fps=9.0))
    box.send()
    assert [(h.camera_id, h.fps_in) for h in sent(out)] == [("a", 9.0)], "its latest figures, 5 s later"


def test_a_change_of_state_and_every_failure_leave_with_the_next_beat_in_order() -> None:
    out: queue.Queue[Any] = queue.Queue()
    ticks, clock = Ticks(), FakeClock()
    box = HealthOutbox(out, "analysis-0", (CameraHealth,), every_s=5.0, monotonic=ticks)
    box.put(health(clock, "a", ONLINE))
    box.send()
    sent(out)
    ticks.advance(1.0)
    box.put(health(clock, "a", OFFLINE, "stream ended"))
    box.put(health(clock, "a", OFFLINE, "connection refused"))
    box.put(health(clock, "a", ONLINE))
    box.send()
    assert [(h.state, h.reason) for h in sent(out)] == [
        (OFFLINE, "stream ended"),
        (OFFLINE, "connection refused"),
        (ONLINE, ""),
    ]


def test_a_full_queue_keeps_the_reports_for_the_next_beat_and_other_messages_pass_at_once() -> None:
    out: queue.Queue[Any] = queue.Queue(maxsize=1)
    ticks, clock = Ticks(), FakeClock()
    box = HealthOutbox(out, "analysis-0", (CameraHealth,), every_s=5.0, monotonic=ticks)
    segment = Segment("a", "a/1.mp4", clock(), clock(), 10, "0" * 64, SegmentState.COMPLETE)
    box.put(segment)
    assert out.get_nowait() is segment, "anything but health goes to the queue as it comes"
    out.put("someone else's message")
    box.put(health(clock, "a", OFFLINE, "stream ended"))
    box.send()  # the queue is full: nothing lost, nothing waited for
    box.put(health(clock, "a", ONLINE, fps=3.0))
    out.get_nowait()
    ticks.advance(1.0)
    box.send()
    assert [(h.state, h.reason, h.fps_in) for h in sent(out)] == [(OFFLINE, "stream ended", 5.0), (ONLINE, "", 3.0)]


def test_a_recorders_new_segment_leaves_with_the_next_beat() -> None:
    out: queue.Queue[Any] = queue.Queue()
    ticks, clock = Ticks(), FakeClock()
    box = HealthOutbox(out, "recorder-0", (RecordingHealth,), every_s=5.0, monotonic=ticks)

    def writing(key: str) -> RecordingHealth:
        clock.advance(seconds=0.2)
        return RecordingHealth("a", ONLINE, clock(), packets_per_s=25.0, writing=key)

    box.put(writing("a/1.ts"))
    box.send()
    ticks.advance(1.0)
    box.put(writing("a/1.ts"))
    box.send()
    assert [h.writing for h in list(unpacked(drain(out)))] == ["a/1.ts"], "the same segment: a heartbeat, held"
    ticks.advance(1.0)
    box.put(writing("a/2.ts"))
    box.send()
    assert [h.writing for h in unpacked(drain(out))][-1] == "a/2.ts", "the segment a kill -9 would leave partial"
