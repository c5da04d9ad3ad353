"""The control plane's side of a Ray cluster: camera groups as Ray actors placed on the nodes by the resources they
declare, their messages collected into the one sink (database writer, audit chain), their moves seen and audited.

The same contract as :class:`~vigie.runtime.workers.supervisor.CameraSupervisor` on one host — the same groups
(:func:`~vigie.runtime.workers.supervisor.plan_groups`), the same sink, refusals (L1) and exit callbacks — with Ray
doing what the local supervisor does by hand:

- **placement** by resources: a group asks for ``cluster.recorder_resources`` / ``analysis_resources`` (CPU, GPU,
  memory, custom resources a node declares) and, for cameras of a zone, the node resource ``zone_<name>``; Ray's
  scheduler places it (``SPREAD``), nothing is hand-scheduled;
- **re-placement** when a node dies: every actor is created with ``max_restarts=-1``, so Ray restarts it on a node
  that has the resources as soon as the node is declared dead (health checks of the head: ``docs/cluster.md``);
- **one inference service per GPU node** (``cluster.inference``): the analysis groups of a node load their models
  through its :class:`~vigie.cluster.inference.InferenceService`, one copy of each model batching every group's
  frames; the services end with the control plane;
- **rebalancing** when a node joins: groups beyond a fair share of the busiest nodes are moved to it (stopped
  cleanly, then started there); the others are not touched;
- every move is logged, kept for the health view (:meth:`ClusterSupervisor.nodes`) and given to ``on_placement``
  (the service audits moves of analysis: the gate follows the camera);
- **recording outlives the control plane**: recorder actors are detached (named ``<group>.<generation>`` in the
  cluster's namespace). At stop they are not stopped: their outbox is drained and acknowledged one last time and
  their live endpoints stay recorded; at start each planned recording group adopts its running actor
  (:mod:`vigie.cluster.adoption`), drained from 0, switched by the refusals of the day (L1) before anything else.
  Analysis groups stay owned by this driver: analysis never runs without its audit writer.

Messages are pulled by :meth:`GroupHost.drain` calls, acknowledged by the next call (see :mod:`vigie.cluster.host`).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from vigie.cluster.actor import GroupActor, NodeStore
from vigie.cluster.adoption import ANALYSIS, RECORDER, actor_name, fingerprint, generations, is_recorder, verdict
from vigie.cluster.drains import drain_path, is_draining, read_drains
from vigie.cluster.host import Drained
from vigie.cluster.inference import NodeInference, end_services
from vigie.config.models import ClusterSettings, VigieConfig
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.clock import Clock
from vigie.domain.cluster import NodeStatus, PlacementChange
from vigie.domain.recording import Segment
from vigie.ingest.backoff import Backoff
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.analysis import AnalysisGroupSpec
from vigie.runtime.workers.group import GroupBeat, unpacked
from vigie.runtime.workers.recorder import RecorderSpec, RecordingHealth
from vigie.runtime.workers.supervisor import (
    Grouping,
    GroupSpec,
    SupervisedMessage,
    SupervisedSpec,
    plan_groups,
)

log = logging.getLogger(__name__)

NODES_EVERY_S = 1.0
JOIN_SETTLE_S = 3.0
"""A node seen alive this long is given groups (a node that flaps is not rebalanced onto)."""
STOP_S = 15.0
MOVING = "moving"
START_S = 60.0
"""How long a group's new node may take to load it (a move) before the move is given up."""
ZONE_RESOURCE = "zone_{}"
ZONE_SHARE = 0.001
"""What a group asks of its zone's resource: a node that declares the zone (1) takes up to a thousand groups."""


def _camera(spec: SupervisedSpec) -> str:
    return spec.camera_id if isinstance(spec, RecorderSpec) else spec.stream.camera_id


@dataclass(frozen=True, slots=True)
class PlannedGroup:
    """A camera group and what it asks of a node."""

    spec: GroupSpec
    resources: Mapping[str, float]
    zone: str | None = None

    @property
    def analysis(self) -> bool:
        return isinstance(self.spec, AnalysisGroupSpec)

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(_camera(c) for c in self.spec.cameras)

    @property
    def fingerprint(self) -> str:
        kind = ANALYSIS if self.analysis else RECORDER
        return fingerprint(kind, self.cameras, self.spec, self.resources, self.zone)


def plan_cluster(
    specs: Sequence[SupervisedSpec],
    grouping: Grouping,
    settings: ClusterSettings,
    zone_of: Callable[[str], str | None],
    *,
    stall_s: float,
    backoff: Backoff,
) -> list[PlannedGroup]:
    """The groups of the local supervisor (:func:`plan_groups`), cut per zone first (a group never straddles two
    zones), each with the resources it asks: the kind's, plus its zone's."""
    by_zone: dict[str | None, list[SupervisedSpec]] = {}
    for spec in specs:
        by_zone.setdefault(zone_of(_camera(spec)), []).append(spec)
    planned: list[PlannedGroup] = []
    for zone, members in by_zone.items():
        for group in plan_groups(members, grouping, stall_s=stall_s, backoff=backoff):
            analysis = isinstance(group, AnalysisGroupSpec)
            resources = dict(settings.analysis_resources if analysis else settings.recorder_resources)
            if isinstance(group, AnalysisGroupSpec) and settings.inference != "group":
                load = NodeInference(settings.namespace, group.detectors, gpu_nodes_only=settings.inference == "auto")
                group = replace(group, load=load)  # noqa: PLW2901
            if zone is not None:
                group = replace(group, name=f"{zone}-{group.name}")  # noqa: PLW2901 (renamed copy)
                resources[ZONE_RESOURCE.format(zone)] = ZONE_SHARE
            planned.append(PlannedGroup(group, resources, zone))
    return planned


def zone_lookup(config: VigieConfig) -> Callable[[str], str | None]:
    """camera id → its zone (a site's zone before its commune's), from ``cluster.zones``."""
    zones = config.cluster.zones if config.cluster is not None else {}
    of_member = {member: zone for zone, members in zones.items() for member in members}
    found: dict[str, str | None] = {}
    for p in config.placements():
        found[p.camera.id] = of_member.get(f"{p.commune.id}/{p.site.id}") or of_member.get(p.commune.id)
    return found.get


def rebalance(placed: Mapping[str, str], nodes: Sequence[str], eligible: Callable[[str, str], bool]) -> dict[str, str]:
    """Which groups move where so that no node holds more than its fair share (the ceiling of groups per node),
    moving as few as possible: only groups of nodes above the share move, each to the least loaded node that may
    take it (``eligible(group, node)``: its resources and zone). Returns group → new node."""
    if not nodes:
        return {}
    load = {node: 0 for node in nodes}
    for node in placed.values():
        if node in load:
            load[node] += 1
    share = math.ceil(len(placed) / len(nodes))
    moves: dict[str, str] = {}
    for group, node in sorted(placed.items()):
        if node not in load or load[node] <= share:
            continue
        targets = sorted(
            (n for n in nodes if n != node and load[n] + 1 < load[node] and eligible(group, n)), key=load.__getitem__
        )
        if not targets:
            continue
        moves[group] = targets[0]
        load[node] -= 1
        load[targets[0]] += 1
    return moves


@dataclass(slots=True)
class _Member:
    spec: SupervisedSpec
    refused: str | None = None
    reported_offline: bool = False


@dataclass(slots=True)
class _Slot:
    plan: PlannedGroup
    members: dict[str, _Member]
    handle: Any = None
    generation: int = 0
    started_with: frozenset[str] = frozenset()
    """Cameras the current actor was created stopped (switches are sent relative to this)."""
    inflight: Any = None
    inflight_since: float = 0.0
    ack: int = 0
    incarnation: str | None = None
    node_id: str | None = None
    address: str = ""
    last_seen: float = 0.0
    unavailable_since: float | None = None
    target: str | None = None
    """A node the group should move to (rebalance), or None."""
    adopted: bool = False
    """The actor was found running at start (a previous control plane's): its first answer is checked."""
    stale: str | None = None
    """``replace`` or ``restart``: an adopted actor runs another plan (:func:`vigie.cluster.adoption.verdict`)."""
    fingerprint: str = ""

    @property
    def name(self) -> str:
        return self.plan.spec.name


@dataclass(slots=True)
class _Node:
    node_id: str
    address: str
    alive: bool
    resources: dict[str, float]
    since: datetime
    seen_at: float = field(default_factory=time.monotonic)


class ClusterSupervisor:
    """Camera groups as Ray actors (see the module docstring). ``on_placement`` gets every move (first placement
    included); ``on_exit(camera_id)`` is called for each camera of an analysis group whose actor ended or moved (its
    gates and open events are closed by the service, as on one host)."""

    def __init__(
        self,
        specs: Sequence[SupervisedSpec],
        sink: Callable[[SupervisedMessage], None],
        *,
        config: VigieConfig,
        settings: ClusterSettings,
        stall_timeout_s: float = 20.0,
        backoff: Backoff | None = None,
        tick: Callable[[], None] | None = None,
        refusal: Callable[[str], str | None] | None = None,
        on_exit: Callable[[str], None] | None = None,
        on_placement: Callable[[PlacementChange], None] | None = None,
        on_live: Callable[[str, tuple[str, ...], str | None, int], None] | None = None,
        clock: Clock = system_clock,
        grouping: Grouping | None = None,
    ) -> None:
        self._config = config
        self._store = NodeStore.of(config)
        self._settings = settings
        self._sink = sink
        self._tick = tick
        self._refusal = refusal or (lambda _camera_id: None)
        self._on_exit = on_exit or (lambda _camera_id: None)
        self._on_placement = on_placement or (lambda _change: None)
        self._on_live = on_live
        """``(group, cameras, host or None, port)``: where a recording group's live relay is (None: nowhere now)."""
        self._clock = clock
        self._stall = stall_timeout_s
        planned = plan_cluster(
            specs,
            grouping or Grouping(),
            settings,
            zone_lookup(config),
            stall_s=stall_timeout_s,
            backoff=backoff or Backoff(),
        )
        self._slots = {
            p.spec.name: _Slot(p, {_camera(m): _Member(m) for m in p.spec.cameras}, fingerprint=p.fingerprint)
            for p in planned
        }
        self._nodes: dict[str, _Node] = {}
        self._nodes_read = float("-inf")
        self._drains_read = float("-inf")
        self._pending_join = False
        self._drain_file = drain_path(config.storage.data_dir)
        self._drains: frozenset[str] = frozenset()
        self._drain_stuck_logged: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cluster-supervisor", daemon=True)
        self._ray: Any = None
        self._actor_class: Any = None
        self.moves: list[PlacementChange] = []
        """Every placement change since start, oldest first (bounded: the last 1,000)."""

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        import ray  # only cluster mode needs Ray loaded (≈ 1 s of imports)

        self._ray = ray
        # Ray's driver installs its own SIGTERM handler (it exits with 15): the service's own (a clean stop that
        # closes gates and signs a checkpoint) is put back
        kept = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        if not ray.is_initialized():
            ray.init(
                address=self._settings.address,
                namespace=self._settings.namespace,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        if kept is not None:
            signal.signal(signal.SIGTERM, kept)
        self._actor_class = ray.remote(GroupActor)
        self._read_nodes(force=True)
        self._adopt()
        self._thread.start()

    def stop(self, timeout_s: float = STOP_S) -> None:
        """Stop every analysis group at once, collect their last messages, end the actors. Recording groups go on
        (detached actors): their messages are collected and acknowledged one last time, their live endpoints stay
        recorded (their relays keep serving); the next control plane adopts them."""
        self._stopping.set()
        self._thread.join(5.0)
        if self._ray is None:
            return
        ray = self._ray
        ending = [slot for slot in self._slots.values() if slot.handle is not None and slot.plan.analysis]
        going_on = [slot for slot in self._slots.values() if slot.handle is not None and not slot.plan.analysis]
        stops = [slot.handle.stop.remote(timeout_s) for slot in ending]
        if stops:
            ray.wait(stops, num_returns=len(stops), timeout=timeout_s + 5)
        for slot in ending:
            self._final_drain(slot)
            ray.kill(slot.handle, no_restart=True)
            slot.handle = None
        for slot in going_on:
            self._final_drain(slot)  # acknowledged: what the service indexed is forgotten on the node
        if going_on:
            log.warning(
                "recording goes on on the nodes: %d recording group(s), %d camera(s), left running without a control "
                "plane; their reports wait on the nodes for the next `vigie serve` (`vigie cluster stop-recording` "
                "stops them)",
                len(going_on),
                sum(len(slot.members) for slot in going_on),
            )
        if self._settings.inference != "group":
            end_services(self._settings.namespace)  # detached (see vigie.cluster.inference): ended with their groups

    def _final_drain(self, slot: _Slot) -> None:
        for _ in range(100):
            try:
                drained: Drained = self._ray.get(slot.handle.drain.remote(slot.ack), timeout=10.0)
            except Exception as err:
                log.warning("%s: its last messages could not be collected (%s)", slot.name, type(err).__name__)
                return
            self._handle(slot, drained)
            if not drained.messages:
                return

    # --- adoption (recording groups a previous control plane left running) --------------------------------------

    def _adopt(self) -> None:
        """Take over the recording groups found running in the namespace: each planned group its highest generation
        (checked at its first answer, :meth:`_placed`); older generations, and recording groups the plan no longer
        has, stopped cleanly (their last segments reported and indexed) and ended."""
        ray = self._ray
        namespace = self._settings.namespace
        names = [e["name"] for e in ray.util.list_named_actors(all_namespaces=True) if e["namespace"] == namespace]
        ending: list[tuple[str, Any]] = []
        for group, gens in generations(names).items():
            slot = self._slots.get(group)
            if slot is not None and slot.plan.analysis:
                continue  # owned by the previous control plane's driver: ended with it
            handles = []
            for generation in gens:
                try:
                    handles.append((generation, ray.get_actor(actor_name(group, generation), namespace=namespace)))
                except ValueError:
                    continue  # ended meanwhile
            if not handles:
                continue
            if slot is None:
                ending.extend((actor_name(group, g), h) for g, h in handles if self._recorder(h))
                continue
            generation, handle = handles[-1]
            slot.handle, slot.adopted, slot.generation = handle, True, generation + 1
            log.info("%s (%d cameras): adopting its running actor", actor_name(group, generation), len(slot.members))
            ending.extend((actor_name(group, g), h) for g, h in handles[:-1])
        if ending:
            log.info("stopping %d recording actor(s) the plan no longer runs: %s", len(ending), [n for n, _ in ending])
            stops = [handle.stop.remote(STOP_S) for _, handle in ending]
            ray.wait(stops, num_returns=len(stops), timeout=STOP_S + 5)
            for name, handle in ending:
                self._collect(name, handle)
                ray.kill(handle, no_restart=True)

    def _recorder(self, handle: Any) -> bool:
        try:
            return is_recorder(self._ray.get(handle.fingerprint.remote(), timeout=10.0))
        except Exception:
            return False  # not answering (restarting, ending): left alone

    def _collect(self, name: str, handle: Any) -> None:
        """The messages of an actor being ended that no slot owns: its segments indexed (health of cameras this
        plan may not have is left out)."""
        ack = 0
        for _ in range(100):
            try:
                drained: Drained = self._ray.get(handle.drain.remote(ack), timeout=10.0)
            except Exception as err:
                log.warning("%s: its last messages could not be collected (%s)", name, type(err).__name__)
                return
            for message in drained.messages:
                if isinstance(message, Segment):
                    try:
                        self._sink(message)
                    except Exception:
                        log.exception("indexing a segment of %s failed", name)
            if not drained.messages:
                return
            ack = drained.last

    # --- views ------------------------------------------------------------------------------------------------

    def groups(self) -> dict[str, tuple[str, ...]]:
        return {name: slot.plan.cameras for name, slot in self._slots.items()}

    def placements(self) -> dict[str, str | None]:
        """Node id of every group now (None: not running anywhere yet, or its node was lost)."""
        return {name: (slot.node_id if slot.unavailable_since is None else None) for name, slot in self._slots.items()}

    def nodes(self) -> list[NodeStatus]:
        with self._lock:
            nodes = list(self._nodes.values())
        placed: dict[str, list[_Slot]] = {}
        for slot in self._slots.values():
            if slot.node_id is not None and slot.unavailable_since is None:
                placed.setdefault(slot.node_id, []).append(slot)
        return [
            NodeStatus(
                node_id=node.node_id,
                address=node.address,
                alive=node.alive,
                groups=tuple(sorted(s.name for s in placed.get(node.node_id, []))),
                cameras=len({camera for s in placed.get(node.node_id, []) for camera in s.members}),
                resources=tuple(sorted(node.resources.items())),
                since=node.since,
                draining=is_draining(node.node_id, self._drains),
            )
            for node in sorted(nodes, key=lambda n: n.node_id)
        ]

    # --- the loop ---------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._round()
            except Exception:
                log.exception("cluster supervision round failed")
                time.sleep(self._settings.poll_s)
            if self._tick is not None:
                try:
                    self._tick()
                except Exception:
                    log.exception("the sink's tick failed")

    def _round(self) -> None:
        now = time.monotonic()
        if self._read_nodes():
            self._plan_moves()
        self._plan_drains()
        self._replace_stale()
        moving = [slot for slot in self._slots.values() if slot.target is not None]
        if moving:
            self._move(moving)
        for slot in self._slots.values():
            self._switch(slot)
            if slot.handle is None and len(self._refused(slot)) < len(slot.members):
                self._create(slot, target=None)
            if slot.handle is not None and slot.inflight is None:
                slot.inflight = slot.handle.drain.remote(slot.ack)
                slot.inflight_since = now
        inflight = {slot.inflight: slot for slot in self._slots.values() if slot.inflight is not None}
        if not inflight:
            time.sleep(self._settings.poll_s)
            return
        ready, _ = self._ray.wait(list(inflight), num_returns=len(inflight), timeout=self._settings.poll_s)
        for ref in ready:
            slot = inflight[ref]
            slot.inflight = None
            try:
                drained: Drained = self._ray.get(ref)
            except Exception as err:  # the actor is restarting (node lost, crash) or gone
                self._unavailable(slot, f"{type(err).__name__}: its node or process was lost; Ray places it again")
                continue
            self._handle(slot, drained)
        now = time.monotonic()
        for slot in inflight.values():
            if slot.inflight is not None and now - slot.inflight_since > self._stall:
                # a drain unanswered this long: the actor hangs (its node is slow or gone); Ray restarts it
                self._unavailable(slot, f"no answer for {now - slot.inflight_since:.0f} s; restarting it")
                self._ray.kill(slot.handle, no_restart=False)
                slot.inflight = None
        if len(ready) == len(inflight):
            time.sleep(self._settings.poll_s)  # all answered at once: wait the interval before asking again

    def _handle(self, slot: _Slot, drained: Drained) -> None:
        now = time.monotonic()
        slot.last_seen = now
        if drained.standby:  # loaded for a move, then restarted by Ray (its node lost): it must run
            slot.handle.begin.remote()
        if drained.incarnation != slot.incarnation or drained.node_id != slot.node_id:
            self._placed(slot, drained)
        slot.unavailable_since = None
        if drained.messages:
            slot.ack = drained.last
        for message in unpacked(drained.messages):
            if isinstance(message, GroupBeat):
                continue
            member = slot.members.get(message.camera_id)
            if member is not None and isinstance(message, CameraHealth | RecordingHealth):
                member.reported_offline = message.state is HealthState.OFFLINE
            try:
                self._sink(message)
            except Exception:
                log.exception("handling a message of %s failed", slot.name)

    def _replace_stale(self) -> None:
        """Adopted actors that run another plan: replaced like a move (same cameras), or stopped to start anew."""
        for slot in self._slots.values():
            if slot.stale is None or slot.handle is None or slot.incarnation is None:
                continue
            stale, slot.stale = slot.stale, None
            if stale == "replace" and slot.node_id is not None:
                log.info("%s: its configuration changed while it ran; replaced (make before break)", slot.name)
                slot.target = slot.node_id
            else:
                log.info("%s: its cameras changed while it ran; stopped, started again", slot.name)
                self._end(slot)  # the next round creates it with the plan

    def _placed(self, slot: _Slot, drained: Drained) -> None:
        """The group answered from a new actor (first start, restart, move, adoption): record where, re-send
        switches."""
        before = slot.node_id if slot.incarnation is not None else None
        was_restart = slot.incarnation is not None
        adopted, slot.adopted = slot.adopted and not was_restart, False
        if adopted:
            found = verdict(drained.fingerprint, slot.fingerprint)
            if not drained.running and not drained.standby:
                found = "restart"  # stopped (`vigie cluster stop-recording` that could not finish): started anew
            slot.stale = None if found == "adopt" else found
        if was_restart:
            slot.ack = 0  # a new actor numbers its messages from 1
            if slot.plan.analysis and slot.incarnation != MOVING and slot.unavailable_since is None:
                self._exited(slot)  # restarted between two drains: its gates closed as on any end
        slot.incarnation = drained.incarnation
        slot.node_id = drained.node_id
        slot.address = drained.address
        reason = "started" if not was_restart else ("moved" if before != drained.node_id else "restarted")
        if adopted:
            reason = "adopted"
        if slot.unavailable_since is not None and before != drained.node_id:
            reason = "node lost" if not self._alive(before) else "restarted elsewhere"
        change = PlacementChange(
            group=slot.name,
            cameras=slot.plan.cameras,
            analysis=slot.plan.analysis,
            from_node=before,
            to_node=drained.node_id,
            reason=reason,
            at=self._clock(),
        )
        self.moves.append(change)
        del self.moves[:-1000]
        log.info(
            "%s (%d cameras) %s on node %s (%s)",
            slot.name,
            len(slot.members),
            reason,
            drained.node_id[:12],
            drained.address,
        )
        try:
            self._on_placement(change)
        except Exception:
            log.exception("recording the placement of %s failed", slot.name)
        self._live(slot, drained.address if drained.live_port else None, drained.live_port)
        for camera_id, member in slot.members.items():  # the new actor started with its creation's stopped set
            stopped_now = member.refused is not None
            if adopted or stopped_now != (camera_id in slot.started_with):
                # adopted: switched as this control plane's refusals say (L1), whatever the previous one sent
                slot.handle.switch.remote(camera_id, not stopped_now, member.refused or "")

    def _live(self, slot: _Slot, host: str | None, port: int) -> None:
        if self._on_live is None or slot.plan.analysis:
            return
        try:
            self._on_live(slot.name, slot.plan.cameras, host, port)
        except Exception:
            log.exception("recording where %s's live views are served failed", slot.name)

    def _alive(self, node_id: str | None) -> bool:
        node = self._nodes.get(node_id or "")
        return node is not None and node.alive

    def _unavailable(self, slot: _Slot, reason: str) -> None:
        if slot.unavailable_since is not None:
            return
        slot.unavailable_since = time.monotonic()
        log.warning("%s (%d cameras) unavailable: %s", slot.name, len(slot.members), reason)
        self._live(slot, None, 0)
        at = self._clock()
        for member in slot.members.values():
            if member.refused is None and not member.reported_offline:
                member.reported_offline = True
                self._send_offline(member.spec, reason, at)
        if slot.plan.analysis:
            self._exited(slot)

    def _exited(self, slot: _Slot) -> None:
        for camera_id in slot.members:
            try:
                self._on_exit(camera_id)
            except Exception:
                log.exception("closing %s after its group ended failed", camera_id)

    def _send_offline(self, spec: SupervisedSpec, reason: str, at: datetime) -> None:
        message: SupervisedMessage
        if isinstance(spec, RecorderSpec):
            message = RecordingHealth(spec.camera_id, HealthState.OFFLINE, at, reason)
        else:
            message = CameraHealth(spec.stream.camera_id, HealthState.OFFLINE, at, reason)
        try:
            self._sink(message)
        except Exception:
            log.exception("reporting %s offline failed", _camera(spec))

    def _refused(self, slot: _Slot) -> frozenset[str]:
        return frozenset(c for c, m in slot.members.items() if m.refused is not None)

    def _switch(self, slot: _Slot) -> None:
        for camera_id, member in slot.members.items():
            reason = self._refusal(camera_id)
            if reason == member.refused:
                continue
            member.refused = reason
            if slot.handle is not None:
                slot.handle.switch.remote(camera_id, reason is None, reason or "")
            if reason is not None:
                log.warning("%s", reason)
                self._send_offline(member.spec, reason, self._clock())
                member.reported_offline = True
        if slot.handle is not None and len(self._refused(slot)) == len(slot.members):
            self._end(slot)  # every camera refused: no actor for nothing

    # --- actors -----------------------------------------------------------------------------------------------

    def _create(self, slot: _Slot, target: str | None, *, standby: bool = False) -> Any:
        """A new actor for the group (on ``target`` if it can, else where Ray's SPREAD puts it); ``standby``: loaded
        but not started (a move starts it once the old one stopped). Returns its handle; a started one becomes
        the slot's."""
        resources = dict(slot.plan.resources)
        options: dict[str, Any] = {
            "name": f"{slot.name}.{slot.generation}",
            "max_restarts": -1,
            "max_task_retries": 0,
            "num_cpus": resources.pop("CPU", 0.0),
            "num_gpus": resources.pop("GPU", 0.0),
            "resources": resources,
        }
        memory = resources.pop("memory", None)
        if memory:
            options["memory"] = memory
        if not slot.plan.analysis:  # recording goes on without the control plane (adopted by the next one)
            options["lifetime"] = "detached"
            options["namespace"] = self._settings.namespace
        if target is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=target, soft=True)
        else:
            options["scheduling_strategy"] = "SPREAD"
        slot.started_with = self._refused(slot)
        handle = self._actor_class.options(**options).remote(
            slot.plan.spec, slot.started_with, self._store, standby, slot.fingerprint
        )
        slot.generation += 1
        if not standby:
            slot.handle = handle
            slot.inflight = None
            slot.ack = 0
        return handle

    def _end(self, slot: _Slot) -> None:
        try:
            self._ray.get(slot.handle.stop.remote(STOP_S), timeout=STOP_S + 5)
            self._final_drain(slot)
        except Exception as err:
            log.warning("%s did not stop cleanly (%s)", slot.name, type(err).__name__)
        self._ray.kill(slot.handle, no_restart=True)
        slot.handle = None
        slot.inflight = None
        slot.incarnation = None
        if slot.plan.analysis:
            self._exited(slot)

    def _move(self, slots: list[_Slot]) -> None:
        """Make before break: each group is first loaded on its target, idle (its process started, its modules
        imported: most of a start), then stopped where it runs (its recorders finish and report their segments) and
        started at once on the target. A camera loses only the stop and its reconnection. A target that cannot
        load it in time keeps the group where it is (tried again at the next rebalance or drain round)."""
        ready: dict[str, Any] = {}
        for slot in slots:
            target, slot.target = slot.target, None
            ready[slot.name] = (slot, self._create(slot, target=target, standby=True))
        refs = {handle.drain.remote(0): name for name, (_, handle) in ready.items()}
        done, late = self._ray.wait(list(refs), num_returns=len(refs), timeout=START_S)
        for ref in late:
            slot, handle = ready.pop(refs[ref])
            log.warning("%s: its new node did not load it within %.0f s; it stays where it runs", slot.name, START_S)
            self._ray.kill(handle, no_restart=True)
        for ref in done:
            slot, handle = ready[refs[ref]]
            try:
                self._ray.get(ref)
            except Exception as err:
                log.warning("%s could not be loaded on its new node (%s); it stays", slot.name, type(err).__name__)
                self._ray.kill(handle, no_restart=True)
                continue
            before = slot.node_id
            if slot.handle is not None:
                self._end(slot)
            handle.begin.remote()
            slot.handle, slot.inflight, slot.ack = handle, None, 0
            slot.node_id = before  # the next answer, from the target, records the move
            slot.incarnation = MOVING

    # --- nodes ------------------------------------------------------------------------------------------------

    def _read_nodes(self, *, force: bool = False) -> bool:
        """Refresh the node list (every second); True when a node joined or came back."""
        now = time.monotonic()
        if not force and now - self._nodes_read < NODES_EVERY_S:
            return False
        self._nodes_read = now
        joined = False
        seen: dict[str, _Node] = {}
        for info in self._ray.nodes():
            node_id = info["NodeID"]
            alive = bool(info["Alive"])
            old = self._nodes.get(node_id)
            resources = {k: float(v) for k, v in info.get("Resources", {}).items() if not k.startswith("node:")}
            node = _Node(
                node_id,
                str(info.get("NodeManagerAddress", "")),
                alive,
                resources,
                old.since if old else self._clock(),
                old.seen_at if old and old.alive == alive else now,
            )
            if old is not None and old.alive and not alive:
                log.warning("node %s (%s) lost", node_id[:12], node.address)
            seen[node_id] = node
        with self._lock:
            previous = self._nodes
            self._nodes = seen
        for node_id, node in seen.items():
            old_node = previous.get(node_id)
            if node.alive and (old_node is None or not old_node.alive):
                log.info("node %s (%s) joined", node_id[:12], node.address)
                joined = True
        self._pending_join = joined or self._pending_join
        return self._pending_join and all(now - n.seen_at >= JOIN_SETTLE_S for n in seen.values() if n.alive)

    def _workers(self) -> list[str]:
        """Alive nodes that can host groups (they have CPU or a zone: the head started with no CPU hosts none), but
        those being drained."""
        return [
            n.node_id
            for n in self._nodes.values()
            if n.alive
            and (n.resources.get("CPU", 0) > 0 or any(k.startswith("zone_") for k in n.resources))
            and not is_draining(n.node_id, self._drains)
        ]

    def _plan_drains(self) -> None:
        """Groups on a node being drained go to the least loaded node that may take them (read every second)."""
        if self._nodes_read != self._drains_read:
            self._drains_read = self._nodes_read
            drains = read_drains(self._drain_file)
            if drains != self._drains:
                log.info("nodes being drained: %s", ", ".join(sorted(drains)) or "none")
                self._drains = drains
                self._drain_stuck_logged.clear()
        if not self._drains:
            return
        load: dict[str, int] = {node: 0 for node in self._workers()}
        for slot in self._slots.values():
            if slot.node_id in load and slot.unavailable_since is None:
                load[slot.node_id] += 1
        for slot in self._slots.values():
            if slot.target is not None or slot.incarnation == MOVING or slot.node_id is None:
                continue  # being moved already (its next answer, from the target, records where it runs)
            if not is_draining(slot.node_id, self._drains):
                continue
            targets = sorted((n for n in load if self._eligible(slot.name, n)), key=load.__getitem__)
            if not targets:
                if slot.name not in self._drain_stuck_logged:
                    self._drain_stuck_logged.add(slot.name)
                    log.warning("%s cannot leave node %s: no other node may take it", slot.name, slot.node_id[:12])
                continue
            slot.target = targets[0]
            load[targets[0]] += 1
            log.info("draining: %s moves to node %s", slot.name, targets[0][:12])

    def _eligible(self, group: str, node_id: str) -> bool:
        slot = self._slots[group]
        node = self._nodes[node_id]
        return all(node.resources.get(k, 0.0) >= v for k, v in slot.plan.resources.items() if v > 0)

    def _plan_moves(self) -> None:
        self._pending_join = False
        placed = {
            name: slot.node_id
            for name, slot in self._slots.items()
            if slot.node_id is not None
            and slot.unavailable_since is None
            and slot.handle is not None
            and slot.incarnation != MOVING
        }
        moves = rebalance(placed, self._workers(), self._eligible)
        for group, node_id in moves.items():
            log.info("rebalancing: %s moves to node %s", group, node_id[:12])
            self._slots[group].target = node_id
