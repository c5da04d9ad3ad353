"""Auto-tracking on the simulated dome: a boxed walker stays in the central third while it walks, the dome is
measured before it is driven, and nothing moves unless the governance gate allows the module (injected clock, no
sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from pydantic import ValidationError

from tests.support.dome_walk import in_central_third, operator_box
from vigie.analytics.autotrack import (
    MODULE,
    AutoTracking,
    AutoTrackingConfig,
    AutoTrackingRefused,
    StopReason,
)
from vigie.analytics.autotrack_control import DomeCommand, MoveModel, calibrate
from vigie.config.models import CameraSetting, CommuneKind
from vigie.domain.geometry import Box
from vigie.domain.ptz import DomeOptics, PtzStatus, PtzVector, View
from vigie.governance.catalogue import load_catalogue
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import Panorama, panorama, walkers_at

WIDTH, HEIGHT = 640, 360
FPS = 10.0
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)  # the frames' timestamps are ORIGIN + the dome's clock; any origin works
WALKER = 1  # the walker crossing the square at -3.5°/s, swaying up and down


class ManualClock:
    def __init__(self, now: float = 5.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def at(self) -> datetime:
        return ORIGIN + timedelta(seconds=self.now)


class SwitchGate:
    """A governance gate opened and closed by the test, saying which activation opened it."""

    def __init__(self, open_: bool = True) -> None:
        self.open = open_
        self.asked: list[str] = []

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        self.asked.append(module)
        return self.open and module == MODULE and camera_id == "cam-dome"

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()

    def activation_id(self, module: str, camera_id: str) -> int | None:
        return 7 if self.open else None


@pytest.fixture(scope="module")
def world() -> Panorama:
    return panorama()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def dome_beside_walker(world: Panorama, clock: ManualClock, optics: DomeOptics | None = None) -> SimulatedDome:
    """A dome at its widest zoom, looking 8° of pan beside the walker and 3° above it."""
    optics = optics or DomeOptics()
    walker = walkers_at(clock.now)[WALKER]
    home = optics.from_angles(walker.pan_deg + 8.0, walker.tilt_deg + 3.0, optics.hfov_wide_deg)
    return SimulatedDome(optics, world, clock, home=home)


def view_of(dome: SimulatedDome) -> View:
    return dome.view(WIDTH, HEIGHT)


def tracker(gate: SwitchGate, clock: ManualClock, **settings: float) -> AutoTracking:
    config = AutoTrackingConfig.model_validate(settings)
    return AutoTracking("cam-dome", config, gate, DomeOptics(), clock.at)


def designate(tracking: AutoTracking, dome: SimulatedDome, clock: ManualClock) -> None:
    view = view_of(dome)
    box = operator_box(walkers_at(clock.now)[WALKER], view)
    frame = dome.frame(WIDTH, HEIGHT)
    tracking.designate(box, clock.at(), by="user:alice", frame=frame, position=dome.status().position)


def step(tracking: AutoTracking, dome: SimulatedDome, clock: ManualClock) -> list[DomeCommand]:
    """One frame: the clock moves on, the dome's picture and position go to the module, its commands to the dome."""
    clock.now += 1.0 / FPS
    position = dome.status().position
    commands = tracking.process(dome.frame(WIDTH, HEIGHT), position, clock.at())
    for command in commands:
        command.apply(dome)
    return commands


def test_a_designated_walker_stays_in_the_central_third_while_the_dome_follows_it(
    world: Panorama, clock: ManualClock
) -> None:
    dome = dome_beside_walker(world, clock)
    gate = SwitchGate()
    tracking = tracker(gate, clock)
    start_pan = view_of(dome).pan_deg
    designate(tracking, dome, clock)
    inside = 0
    frames = round(12 * FPS)
    for _ in range(frames):
        step(tracking, dome, clock)
        inside += in_central_third(walkers_at(clock.now)[WALKER], view_of(dome))
    assert inside / frames >= 0.9
    assert tracking.tracking
    assert start_pan - view_of(dome).pan_deg > 30  # it turned with the walker (-3.5°/s for 12 s), not in place
    (started,) = tracking.events()
    assert (started.kind, started.designated_by, started.activation_id) == ("autotracking.started", "user:alice", 7)
    assert set(gate.asked) == {MODULE}


def test_nothing_moves_without_an_open_gate_and_closing_it_forgets_the_target(
    world: Panorama, clock: ManualClock
) -> None:
    dome = dome_beside_walker(world, clock)
    gate = SwitchGate(open_=False)
    tracking = tracker(gate, clock)
    still = dome.status().position
    with pytest.raises(AutoTrackingRefused, match="not activated on camera cam-dome"):
        designate(tracking, dome, clock)
    for _ in range(10):
        assert step(tracking, dome, clock) == []
    assert dome.status().position == still and not tracking.tracking and tracking.events() == []

    gate.open = True
    designate(tracking, dome, clock)
    for _ in range(20):
        step(tracking, dome, clock)
    assert dome.status().moving
    gate.open = False
    assert step(tracking, dome, clock) == [DomeCommand("stop")]
    assert not tracking.tracking and not dome.status().moving
    _, stopped = tracking.events()
    assert (
        stopped.reason is StopReason.GATE_CLOSED
        and stopped.activation_id == 7
        and stopped.designated_by == "user:alice"
    )
    assert stopped.frames == 20 and stopped.duration_s == pytest.approx(2.1)

    stopped_at = dome.status().position
    gate.open = True  # reopened: the target was forgotten, nothing follows it until someone designates it again
    for _ in range(10):
        assert step(tracking, dome, clock) == []
    assert dome.status().position == stopped_at


def test_a_person_commanding_the_dome_takes_it_back_at_once(world: Panorama, clock: ManualClock) -> None:
    dome = dome_beside_walker(world, clock)
    holder: list[str] = []
    tracking = AutoTracking(
        "cam-dome",
        AutoTrackingConfig(),
        SwitchGate(),
        DomeOptics(),
        clock.at,
        held_by_person=lambda: holder[0] if holder else None,
    )
    designate(tracking, dome, clock)
    for _ in range(10):
        step(tracking, dome, clock)
    holder.append("user:bob")
    assert step(tracking, dome, clock) == []  # no stop either: the person's own command is the dome's next move
    assert not tracking.tracking
    _, stopped = tracking.events()
    assert (stopped.reason, stopped.by) == (StopReason.PERSON, "user:bob")

    holder.clear()
    designate(tracking, dome, clock)
    tracking.person_command("user:carol")
    assert not tracking.tracking and step(tracking, dome, clock) == []
    assert [(e.kind, e.by) for e in tracking.events()] == [
        ("autotracking.started", None),
        ("autotracking.ended", "user:carol"),
    ]


def test_the_session_ends_after_its_maximum_duration(world: Panorama, clock: ManualClock) -> None:
    dome = dome_beside_walker(world, clock)
    tracking = tracker(SwitchGate(), clock, max_duration_s=3.0)
    designate(tracking, dome, clock)
    commands = [step(tracking, dome, clock) for _ in range(40)]
    ended = next(i for i, sent in enumerate(commands) if DomeCommand("stop") in sent)
    assert ended in {29, 30}  # the frame at 3.0 s (the clock adds tenths: within a frame)
    assert all(sent == [] for sent in commands[ended + 1 :])
    _, stopped = tracking.events()
    assert stopped.reason is StopReason.TIMEOUT and stopped.duration_s == pytest.approx(3.0, abs=0.11)


def test_a_target_out_of_sight_is_lost_after_the_configured_frames(world: Panorama, clock: ManualClock) -> None:
    dome = dome_beside_walker(world, clock)
    tracking = tracker(SwitchGate(), clock, lost_after_frames=5)
    designate(tracking, dome, clock)
    away = SimulatedDome(DomeOptics(), world, clock, home=DomeOptics().from_angles(120.0, -20.0, 30.0))
    for n in range(1, 6):  # frames of a view where the walker is not: five misses in a row
        clock.now += 0.1
        tracking.process(away.frame(WIDTH, HEIGHT), away.status().position, clock.at())
        assert tracking.tracking == (n < 5)
    _, stopped = tracking.events()
    assert stopped.reason is StopReason.LOST and stopped.frames == 5


def test_calibration_measures_the_dome_instead_of_assuming_it(world: Panorama, clock: ManualClock) -> None:
    for top_speed in (120.0, 40.0):
        optics = DomeOptics(max_pan_tilt_speed_deg_s=top_speed, zoom_full_range_s=5.0)
        dome = dome_beside_walker(world, clock, optics)
        before = dome.status().position
        model = calibrate(dome, clock, clock.sleep, poll_s=0.01)
        assert model.pan.rate == pytest.approx(optics.pan_speed_generic(), rel=0.05)
        assert model.tilt.rate == pytest.approx(optics.tilt_speed_generic(), rel=0.05)
        assert model.zoom.rate == pytest.approx(optics.zoom_speed_generic(), rel=0.05)
        assert model.pan.latency_s < 0.02
        assert model.move_time(PtzVector(0.5, 0.0, 0.0)) == pytest.approx(90.0 / top_speed, rel=0.05)
        after = dome.status().position
        assert not dome.status().moving
        assert (after.pan, after.tilt, after.zoom) == pytest.approx((before.pan, before.tilt, before.zoom), abs=1e-9)
    assert MoveModel.nominal(DomeOptics()).pan.rate == pytest.approx(DomeOptics().pan_speed_generic())


class LateDome:
    """The simulated dome carrying out each command ``delay_s`` late, as a dome on a network does; it says IDLE
    until then."""

    def __init__(self, dome: SimulatedDome, clock: ManualClock, delay_s: float) -> None:
        self.dome, self.clock, self.delay_s = dome, clock, delay_s
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None:
        self.pending.append((self.clock.now + self.delay_s, partial(self.dome.relative_move, translation, speed)))

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None:
        self.pending.append((self.clock.now + self.delay_s, partial(self.dome.absolute_move, position, speed)))

    def status(self) -> PtzStatus:
        now = self.clock.now
        while self.pending and self.pending[0][0] <= now:
            self.clock.now, action = self.pending.pop(0)  # carried out at its due instant
            action()
        self.clock.now = now
        return self.dome.status()


def test_calibration_measures_a_dome_that_answers_late(world: Panorama, clock: ManualClock) -> None:
    optics = DomeOptics()
    model = calibrate(LateDome(dome_beside_walker(world, clock), clock, 0.3), clock, clock.sleep, poll_s=0.01)  # type: ignore[arg-type]
    assert model.pan.latency_s == pytest.approx(0.3, abs=0.02)
    assert model.pan.rate == pytest.approx(optics.pan_speed_generic(), rel=0.05)
    assert model.move_time(PtzVector(0.5, 0.0, 0.0)) == pytest.approx(0.3 + 90.0 / 120.0, rel=0.05)


def test_a_box_too_small_to_follow_is_refused_with_the_reason(world: Panorama, clock: ManualClock) -> None:
    dome = dome_beside_walker(world, clock)
    tracking = tracker(SwitchGate(), clock)
    frame = dome.frame(WIDTH, HEIGHT)
    with pytest.raises(ValueError, match=r"at least 6×6 px .* draw a larger box"):
        tracking.designate(
            Box(0.5, 0.5, 0.005, 0.005), clock.at(), by="user:alice", frame=frame, position=dome.status().position
        )
    with pytest.raises(ValueError, match="not a box of the picture"):
        tracking.designate(
            Box(1.2, 0.5, 0.1, 0.1), clock.at(), by="user:alice", frame=frame, position=dome.status().position
        )
    assert not tracking.tracking and tracking.events() == []


def test_settings_refuse_an_empty_zoom_band_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match=r"zoom_low 0\.5 must be below zoom_high 0\.4"):
        AutoTrackingConfig(zoom_low=0.5, zoom_high=0.4)
    with pytest.raises(ValidationError, match="extra"):
        AutoTrackingConfig.model_validate({"max_duration": 10})


def test_the_catalogue_allows_auto_tracking_on_private_sites_only() -> None:
    catalogue = load_catalogue()
    module = catalogue.module(MODULE)
    assert module is not None and module.frameworks == ("site-prive",)
    for kind in CommuneKind:
        for setting in (CameraSetting.PUBLIC_STREET, CameraSetting.TRANSIT):
            assert catalogue.frameworks_for(MODULE, setting, kind) == ()
        assert [f.id for f in catalogue.frameworks_for(MODULE, CameraSetting.PRIVATE_SITE, kind)] == ["site-prive"]
