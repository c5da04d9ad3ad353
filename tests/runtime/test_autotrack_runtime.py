"""Auto-tracking as ``vigie serve`` runs it (:class:`AutoTrackingRunner` on :class:`PtzService`), on the simulated
dome and a clock the frames move: an operator boxes a walker and the dome keeps it in the central third; nothing
starts without an activation; revoking or letting the activation expire stops the dome; a person's command takes
the dome at once; the session's start and end are audited, its moves counted, not written one by one. The real
governance gate (:class:`ActivationGate`) decides, over rules the test changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.support.audit_sinks import ListAudit
from tests.support.dome_walk import (
    HEIGHT,
    WALKER,
    WIDTH,
    DomeClock,
    WalkFeed,
    dome_beside_walker,
    operator_box,
)
from tests.support.viewers import signed_in_viewer
from tests.support.waiting import wait_for
from vigie.analytics.autotrack import MODULE, AutoTrackingConfig
from vigie.devices.masks import PtzMask
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.ptz import DomeOptics, PtzVector
from vigie.domain.users import Role
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.runtime.assembly.autotrack import AutoTrackingRunner, TrackedDome, masked
from vigie.runtime.assembly.governance import exemptible_modules
from vigie.services.ptz import PtzCommand, PtzCommandKind, PtzService
from vigie.services.ptz_tracking import TrackingBusyError, TrackingRefusedError
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import Panorama, panorama, walkers_at

DOME = "cam-dome"
ACTIVATION = 7


class Rules:
    """The governance rules as the database would give them; the test records, revokes or lets activations end."""

    def __init__(self) -> None:
        self.current = GateRules()

    def rules(self, now: datetime) -> GateRules:
        return self.current

    def activate(self, starts: datetime, ends: datetime) -> None:
        self.current = GateRules(windows={(MODULE, DOME): (Window(ACTIVATION, starts, ends),)})

    def revoke(self) -> None:
        """As the rules are compiled from the database once the revocation is recorded: its window is gone."""
        self.current = GateRules(windows={}, revoked=frozenset({ACTIVATION}))


class Rig:
    def __init__(self, world: Panorama, *, frames: int = 100) -> None:
        self.clock = DomeClock()
        self.dome = dome_beside_walker(world, self.clock)
        self.audit = ListAudit()
        self.ptz = PtzService({DOME: self.dome}, self.audit, self.clock.at)
        self.rules = Rules()
        self.gate = ActivationGate(self.rules, self.clock.at, cache_ttl_s=0.0)
        self.feed = WalkFeed(self.dome, self.clock, frames=frames)
        tracked = TrackedDome(DOME, "rtsp://unused.invalid/dome", DomeOptics(), (), AutoTrackingConfig(), 0.5)
        self.runner = AutoTrackingRunner(self.ptz, self.gate, {DOME: tracked}, self.clock.at, frames=self.feed)
        self.ptz.attach_tracking(self.runner)

    def box(self) -> Box:
        return operator_box(walkers_at(self.clock.now)[WALKER], self.dome.view(WIDTH, HEIGHT))

    def events(self, action: AuditAction) -> list[dict[str, object]]:
        return [dict(e.details, actor=e.actor) for e in self.audit.events if e.action is action]

    def ended(self) -> dict[str, object]:
        (end,) = wait_for(lambda: self.events(AuditAction.AUTOTRACKING_ENDED), 10, "the session's end")
        return end

    def close(self) -> None:
        self.feed.release()
        self.runner.close()


@pytest.fixture(scope="module")
def world() -> Panorama:
    return panorama()


@pytest.fixture
def rig(world: Panorama) -> Iterator[Rig]:
    made = Rig(world)
    yield made
    made.close()


ALICE = signed_in_viewer((DOME,), username="alice", roles=(Role.OPERATOR,))
BOB = signed_in_viewer((DOME,), username="bob", roles=(Role.SUPERVISOR,))


def test_the_dome_follows_a_walker_under_an_activation_and_the_session_is_audited(rig: Rig) -> None:
    rig.rules.activate(rig.clock.at() - timedelta(hours=1), rig.clock.at() + timedelta(hours=1))
    box = rig.box()
    state = rig.ptz.track(ALICE, DOME, box)
    assert state.active and state.designated_by == "alice" and state.activation_id == ACTIVATION
    assert rig.feed.walked.wait(30), "the 10 s walk was not followed to its end"
    inside = float(np.mean(rig.feed.inside))
    assert inside >= 0.9, f"the walker was in the central third {inside:.0%} of the time"
    assert rig.ptz.view(ALICE, DOME).tracking.active
    assert rig.ptz.untrack(ALICE, DOME)
    end = rig.ended()
    assert end["reason"] == "ended_by_operator" and end["by"] == "alice" and end["actor"] == "alice"
    assert isinstance(end["moves"], int) and end["moves"] >= 10, end
    assert end["frames"] == 99 and end["activation"] == ACTIVATION
    (start,) = rig.events(AuditAction.AUTOTRACKING_STARTED)
    assert start["actor"] == "alice" and start["activation"] == ACTIVATION and start["module"] == MODULE
    assert start["box"] == {k: round(getattr(box, k), 4) for k in ("x", "y", "w", "h")}
    assert rig.events(AuditAction.PTZ_MOVED) == [], "the tracker's moves are counted, not one entry each"
    view = rig.ptz.view(ALICE, DOME).tracking
    assert not view.active and view.ended_reason == "ended_by_operator" and view.ended_by == "alice"
    moved_at = rig.dome.status().position
    rig.clock.advance(2.0)
    assert rig.dome.status().position == moved_at and not rig.dome.status().moving, "the dome stopped at the stop"
    print(f"central third (runtime, 10 s at 10 fps): {inside:.3f}; moves: {end['moves']}")


def test_nothing_starts_without_an_activation(rig: Rig) -> None:
    with pytest.raises(TrackingRefusedError, match=rf"{MODULE} needs an activation covering this camera"):
        rig.ptz.track(ALICE, DOME, rig.box())
    assert rig.feed.opened == 0, "the dome's picture was not even read"
    assert rig.audit.events == [] and rig.runner.active == []
    # an activation that has not begun, or has ended, is none
    rig.rules.activate(rig.clock.at() + timedelta(minutes=5), rig.clock.at() + timedelta(hours=1))
    with pytest.raises(TrackingRefusedError):
        rig.ptz.track(ALICE, DOME, rig.box())


def test_the_activation_revoked_stops_the_dome(rig: Rig) -> None:
    rig.rules.activate(rig.clock.at() - timedelta(hours=1), rig.clock.at() + timedelta(hours=1))
    rig.feed.frames = 30
    rig.ptz.track(ALICE, DOME, rig.box())
    assert rig.feed.walked.wait(20), "three seconds of walk"
    rig.rules.revoke()
    rig.feed.more(5)
    end = rig.ended()
    assert end["reason"] == "gate_closed" and end["actor"] == "system:autotracking" and "by" not in end
    stopped = rig.dome.status()
    rig.clock.advance(2.0)
    assert not rig.dome.status().moving and rig.dome.status().position == stopped.position
    assert rig.runner.active == []


def test_the_activation_expiring_mid_walk_stops_the_dome(rig: Rig) -> None:
    rig.rules.activate(rig.clock.at() - timedelta(hours=1), rig.clock.at() + timedelta(seconds=3))
    rig.ptz.track(ALICE, DOME, rig.box())
    end = rig.ended()
    assert end["reason"] == "gate_closed"
    assert isinstance(end["frames"], int) and 25 <= end["frames"] <= 31, end  # 3 s at 10 fps


def test_a_persons_joystick_ends_the_session_and_takes_the_dome(rig: Rig) -> None:
    rig.rules.activate(rig.clock.at() - timedelta(hours=1), rig.clock.at() + timedelta(hours=1))
    rig.feed.frames = 20
    rig.ptz.track(ALICE, DOME, rig.box())
    assert rig.feed.walked.wait(20), "two seconds of walk"
    left = PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(-0.4, 0.0, 0.0), timeout_s=1.2)
    rig.ptz.command(BOB, DOME, left)
    end = rig.ended()
    assert end["reason"] == "person_command" and end["by"] == "bob" and end["actor"] == "bob"
    actions = [e.action for e in rig.audit.events]
    assert actions[-2:] == [AuditAction.AUTOTRACKING_ENDED, AuditAction.PTZ_MOVED], "the end, then bob's move"
    view = rig.ptz.view(BOB, DOME)
    assert view.lock is not None and view.lock.holder == "bob" and not view.tracking.active
    entries = len(rig.audit.events)
    rig.feed.more(10)  # the stream goes on: the session takes one more picture, sees it is over and lets go
    wait_for(lambda: rig.feed.given == 21, 10, "the session's last look")
    time.sleep(0.3)
    assert rig.feed.given == 21 and rig.runner.active == [] and len(rig.audit.events) == entries
    assert rig.dome.status().moving, "bob's move is the dome's: the tracker sent nothing after it"
    assert [e.action for e in rig.audit.events][-1] is AuditAction.PTZ_MOVED


def test_the_service_follows_a_bounded_number_of_targets(world: Panorama) -> None:
    rig = Rig(world)
    try:
        tracked = rig.runner.domes[DOME]
        others = {f"dome-{i}": replace(tracked, camera_id=f"dome-{i}") for i in range(2)}
        ptz = PtzService(
            {DOME: rig.dome, **{c: dome_beside_walker(world, rig.clock) for c in others}}, rig.audit, rig.clock.at
        )
        runner = AutoTrackingRunner(
            ptz, OpenGate(), {DOME: tracked, **others}, rig.clock.at, frames=rig.feed, max_sessions=2
        )
        ptz.attach_tracking(runner)
        people = signed_in_viewer((DOME, *others), username="alice", roles=(Role.OPERATOR,))
        ptz.track(people, "dome-0", rig.box())
        ptz.track(people, "dome-1", rig.box())
        with pytest.raises(TrackingBusyError, match=r"already follows 2 targets at once \(at most 2: dome-0, dome-1\)"):
            ptz.track(people, DOME, rig.box())
        runner.close()
        ended = [e.details["reason"] for e in rig.audit.events if e.action is AuditAction.AUTOTRACKING_ENDED]
        assert ended == ["service_stopped", "service_stopped"]
    finally:
        rig.close()


class OpenGate:
    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return module == MODULE

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


def test_the_tracker_never_sees_a_private_window(world: Panorama) -> None:
    """The dome's pan/tilt masks are blacked out, from the dome's reported position, before the tracker's frame."""
    clock = DomeClock()
    dome = SimulatedDome(DomeOptics(), world, clock, walkers=False)
    view = dome.view(WIDTH, HEIGHT)
    window = PtzMask(
        "fenetre",
        ((view.pan_deg - 5, -3.0), (view.pan_deg + 5, -3.0), (view.pan_deg + 5, 3.0), (view.pan_deg - 5, 3.0)),
    )
    frame = dome.frame(WIDTH, HEIGHT)
    out = masked(frame, (window,), DomeOptics(), [dome.status().position])
    centre = out[HEIGHT // 2 - 5 : HEIGHT // 2 + 5, WIDTH // 2 - 5 : WIDTH // 2 + 5]
    assert not centre.any(), "the private window is black"
    assert (out[:20] == frame[:20]).all(), "the rest is untouched"


def test_autotracking_is_never_exempted_on_simulated_footage() -> None:
    """It drives a physical dome: the demo's simulated cameras never run it without a real activation."""
    catalogue = load_catalogue()
    assert MODULE in {m.id for m in catalogue.modules}
    exempt = exemptible_modules(catalogue)
    assert MODULE not in exempt and "motion" in exempt


def test_a_dome_that_may_not_be_streamed_cannot_follow(world: Panorama) -> None:
    """Its authorisation lapsed (L1): the same refusal as its live view, even under an activation."""
    rig = Rig(world)
    try:
        rig.rules.activate(rig.clock.at() - timedelta(hours=1), rig.clock.at() + timedelta(hours=1))
        lapsed = "camera cam-dome: its prefectoral authorisation 2024-DS-0142 ended on 2025-12-31"
        runner = AutoTrackingRunner(
            rig.ptz, rig.gate, rig.runner.domes, rig.clock.at, frames=rig.feed, refusal=lambda _: lapsed
        )
        rig.ptz.attach_tracking(runner)
        with pytest.raises(TrackingRefusedError, match="may not be streamed now, so it cannot follow: camera cam-dome"):
            rig.ptz.track(ALICE, DOME, rig.box())
        assert rig.feed.opened == 0 and rig.audit.events == []
    finally:
        rig.close()
