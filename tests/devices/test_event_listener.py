"""One thread listens to many simulated ONVIF cameras' events over real HTTP: subscribing is bounded, a lost
subscription is made again, failures back off up to a cap, and stopping leaves no thread."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.onvif_sim import PASSWORD, USERNAME, device_specs, multisensor_spec
from tests.support.waiting import wait_for
from vigie.devices.event_listener import (
    CameraEventListener,
    EventSource,
    SubscriptionState,
    onvif_subscribe,
    retry_after,
)
from vigie.devices.onvif_events import CameraEvent
from vigie.sim.onvif import OnvifSimulator, SimTopic


class DeviceClock:
    """The devices' wall clock: the host's, moved forward when the test says (subscriptions expire on it)."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def device_clock() -> DeviceClock:
    return DeviceClock()


@pytest.fixture
def simulator(device_clock: DeviceClock) -> Iterator[OnvifSimulator]:
    with OnvifSimulator(device_specs(12), clock=device_clock) as sim:
        yield sim


def sources(sim: OnvifSimulator, count: int) -> list[EventSource]:
    return [EventSource(f"cam-{i:03d}", *sim.address(f"cam-{i:03d}"), USERNAME, PASSWORD) for i in range(count)]


class Received:
    def __init__(self) -> None:
        self.events: list[tuple[str, CameraEvent]] = []
        self._lock = threading.Lock()

    def __call__(self, camera_id: str, event: CameraEvent) -> None:
        with self._lock:
            self.events.append((camera_id, event))

    def active(self, camera_id: str, kind: str) -> bool:
        with self._lock:
            return any(c == camera_id and e.kind == kind and e.active for c, e in self.events)


def subscribed(listener: CameraEventListener) -> Callable[[], bool]:
    return lambda: all(s.state is SubscriptionState.SUBSCRIBED for s in listener.subscriptions())


def test_the_retry_delay_doubles_up_to_its_cap() -> None:
    assert [retry_after(n, 2.0, 300.0) for n in (1, 2, 3, 8, 9, 50)] == [2.0, 4.0, 8.0, 256.0, 300.0, 300.0]


def test_many_cameras_subscribe_a_few_at_a_time_on_one_thread(simulator: OnvifSimulator) -> None:
    connecting = peak = 0
    lock = threading.Lock()
    real = onvif_subscribe(pull_timeout_s=2.0)

    def counted(source: EventSource, on_subscribed: Callable[[], object]) -> AsyncIterator[CameraEvent]:
        nonlocal connecting, peak
        with lock:
            connecting += 1
            peak = max(peak, connecting)

        def done() -> None:
            nonlocal connecting
            with lock:
                connecting -= 1
            on_subscribed()

        return real(source, done)

    received = Received()
    listener = CameraEventListener(sources(simulator, 12), received, subscribe=counted, max_connecting=3)
    before = {t.ident for t in threading.enumerate()}
    listener.start()
    try:
        wait_for(subscribed(listener), 20, "every camera subscribed", context=listener.subscriptions)
        started = [t for t in threading.enumerate() if t.ident not in before]
        names = sorted(t.name for t in started)  # one thread for all of them, and its loop's few helpers
        assert names[0] == "camera-events" and all(n.startswith("camera-events-io") for n in names[1:]), names
        assert len(names) <= 5
        assert peak == 3
        simulator.raise_event("cam-007", SimTopic.IMAGE_TOO_DARK, True)
        wait_for(lambda: received.active("cam-007", "image_too_dark"), 10, "the event of cam-007")
    finally:
        listener.stop()
    assert not any(t.is_alive() for t in started)


def test_a_lost_subscription_is_made_again(simulator: OnvifSimulator, device_clock: DeviceClock) -> None:
    received = Received()
    listener = CameraEventListener(
        sources(simulator, 1), received, subscribe=onvif_subscribe(pull_timeout_s=1.0), retry_first_s=0.2
    )
    listener.start()
    try:
        wait_for(subscribed(listener), 15, "subscribed")
        device_clock.ahead = timedelta(minutes=2)  # past the subscription's end (1 min), within the token skew
        lost = wait_for(lambda: listener.subscriptions()[0].error, 15, "the subscription lost")
        assert "expired" in lost and PASSWORD not in lost, lost
        wait_for(subscribed(listener), 15, "subscribed again", context=listener.subscriptions)
        simulator.raise_event("cam-000", SimTopic.GLOBAL_SCENE_CHANGE, True)
        wait_for(lambda: received.active("cam-000", "scene_change"), 10, "an event after the new subscription")
    finally:
        listener.stop()


def test_stopping_does_not_wait_for_cameras_that_never_answered(simulator: OnvifSimulator) -> None:
    """A camera whose address takes the connection and never answers (a stuck device) does not hold the stop."""
    import socket

    silent = socket.create_server(("127.0.0.1", 0))
    try:
        stuck = EventSource("stuck", "127.0.0.1", silent.getsockname()[1], USERNAME, PASSWORD)
        listener = CameraEventListener([*sources(simulator, 1), stuck], Received())
        listener.start()
        wait_for(lambda: listener.subscriptions()[0].state is SubscriptionState.SUBSCRIBED, 15, "cam-000 subscribed")
        began = time.monotonic()
        listener.stop()
        assert time.monotonic() - began < 8
        assert not [t for t in threading.enumerate() if t.name.startswith("camera-events")]
    finally:
        silent.close()


def test_a_stop_right_after_the_start_ends_the_thread(simulator: OnvifSimulator) -> None:
    listener = CameraEventListener(sources(simulator, 3), Received())
    listener.start()
    began = time.monotonic()
    listener.stop()
    assert time.monotonic() - began < 6
    assert not [t for t in threading.enumerate() if t.name.startswith("camera-events")]


def test_a_housing_is_one_subscription_and_each_event_goes_to_the_sensor_it_names() -> None:
    """A multi-sensor camera is one device: one subscription for its sensors (a device holds a few), a scene change
    on sensor 2 marks sensor 2, a motion (named by its video source configuration) the sensor whose token it names
    or, when it names no sensor Vigie knows, every sensor of the housing."""
    with OnvifSimulator([multisensor_spec("quai", fixed=3)]) as sim:
        sensors = (("quai-s1", "Sensor1"), ("quai-s2", "Sensor2"), ("quai-s3", "Sensor3"))
        housing = EventSource("device:quai", *sim.address("quai"), USERNAME, PASSWORD, sensors)
        assert housing.cameras == ("quai-s1", "quai-s2", "quai-s3")
        received = Received()
        calls = 0
        real = onvif_subscribe(pull_timeout_s=1.0)

        def counted(source: EventSource, on_subscribed: Callable[[], object]) -> AsyncIterator[CameraEvent]:
            nonlocal calls
            calls += 1
            return real(source, on_subscribed)

        listener = CameraEventListener([housing], received, subscribe=counted)
        listener.start()
        try:
            wait_for(subscribed(listener), 20, "the housing's subscription")
            sim.raise_event("quai", SimTopic.GLOBAL_SCENE_CHANGE, True, source="Sensor2")
            wait_for(lambda: received.active("quai-s2", "scene_change"), 10, "sensor 2's scene change")
            sim.raise_event("quai", SimTopic.MOTION, True, source="Sensor3")
            wait_for(lambda: any(e.kind == "motion" and e.active for _, e in received.events), 10, "the motion")
        finally:
            listener.stop()
        assert calls == 1, "one subscription for the housing"
        assert not received.active("quai-s1", "scene_change") and not received.active("quai-s3", "scene_change")
        motion = sorted(camera for camera, e in received.events if e.kind == "motion" and e.active)
        # the motion names the sensor's video source *configuration* token, not its source token: Vigie cannot tell
        # which sensor it is about, and marks the housing's every sensor rather than none
        assert motion == ["quai-s1", "quai-s2", "quai-s3"]
