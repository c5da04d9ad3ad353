"""Where a camera's live view is read in cluster mode, decided without a cluster (issue 17): the control plane records
a recording group's relay when the group answers from a node, a new one when it answers from another, nothing for
a node without a relay, and forgets it when the group is lost; API processes read every tap through a relay, a
masked camera's with no fallback to its raw streams. A group a restarting control plane adopts is switched by the
day's refusals (L1) and replaced when its plan changed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.configs import camera_data
from vigie.cluster.host import Drained
from vigie.cluster.supervisor import ClusterSupervisor
from vigie.config.models import VigieConfig
from vigie.domain.camera import HealthState
from vigie.ingest.tap_relay import relayed_url
from vigie.runtime.assembly.live import passthrough_specs
from vigie.runtime.assembly.service import recorder_spec
from vigie.runtime.workers.recorder import RecordingHealth

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def cluster_config(tmp_path: Path) -> VigieConfig:
    masked = camera_data(id="m1", name="m1")
    masked["zones"] = [{"kind": "privacy_mask", "id": "p", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]]}]
    data: dict[str, Any] = {
        "version": 1,
        "storage": {
            "database_url": "postgresql+psycopg://vigie@db.example.invalid/vigie",
            "data_dir": str(tmp_path / "data"),
            "segments": {"kind": "s3", "endpoint_url": "http://s3.example.invalid:8333", "bucket": "vigie"},
        },
        "workers": {"recording_cameras_per_process": 2},
        "cluster": {"address": "head.example.invalid:6379"},
        "communes": [
            {
                "id": "lyon",
                "name": "Lyon",
                "kind": "municipal",
                "sites": [{"id": "gare", "name": "gare", "cameras": [masked, camera_data(id="g1", name="g1")]}],
            }
        ],
    }
    return VigieConfig.model_validate(data)


def test_the_control_plane_records_where_each_recording_group_serves_its_live_view(tmp_path: Path) -> None:
    config = cluster_config(tmp_path)
    assert config.cluster is not None
    specs = [recorder_spec(p.camera, Path("/spool"), 10.0, data_dir=tmp_path) for p in config.placements()]
    served: list[tuple[str, tuple[str, ...], str | None, int]] = []
    supervisor = ClusterSupervisor(
        specs,
        lambda _message: None,
        config=config,
        settings=config.cluster,
        on_live=lambda *args: served.append(args),
        clock=lambda: T0,
    )
    [(name, slot)] = list(supervisor._slots.items())

    def answer(node: str, address: str, port: int, incarnation: str) -> None:
        supervisor._handle(slot, Drained(name, node, address, 1, incarnation, 1, (), True, live_port=port))

    answer("node-a", "10.0.0.5", 7460, "i1")
    answer("node-a", "10.0.0.5", 7460, "i1")  # the same actor again: nothing new
    assert served == [(name, ("m1", "g1"), "10.0.0.5", 7460)]
    supervisor._unavailable(slot, "node lost")
    assert served[-1] == (name, ("m1", "g1"), None, 0), "its readers must not be sent to a lost node"
    answer("node-b", "10.0.0.6", 7461, "i2")  # Ray placed it again elsewhere
    assert served[-1] == (name, ("m1", "g1"), "10.0.0.6", 7461)
    answer("node-c", "10.0.0.7", 0, "i3")  # a node without the live tap key: no relay
    assert served[-1] == (name, ("m1", "g1"), None, 0)
    assert [change.to_node for change in supervisor.moves] == ["node-a", "node-b", "node-c"]


def test_in_cluster_mode_every_tap_is_read_through_a_relay_and_a_masked_camera_has_no_fallback(
    tmp_path: Path,
) -> None:
    cameras = [p.camera for p in cluster_config(tmp_path).placements()]
    specs = passthrough_specs(cameras, tmp_path / "data", relayed=True)
    assert specs["m1", "full"].url == specs["m1", "wall"].url == relayed_url("m1")
    assert specs["m1", "full"].fallback_url is None, "a masked camera never falls back to its raw stream (L6)"
    assert specs["g1", "full"].url == relayed_url("g1")
    assert specs["g1", "full"].fallback_url == cameras[1].main_stream, "an unmasked one reads the camera meanwhile"


class _Calls:
    """What a control plane sends an actor (``handle.switch.remote(...)``), kept: the actor is not started here."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def __getattr__(self, method: str) -> Any:
        calls = self.sent

        class _Remote:
            @staticmethod
            def remote(*args: Any) -> None:
                calls.append((method, *args))

        return _Remote()


def test_a_group_adopted_at_start_is_switched_by_today_s_refusals_and_replaced_if_its_plan_changed(
    tmp_path: Path,
) -> None:
    config = cluster_config(tmp_path)
    assert config.cluster is not None
    specs = [recorder_spec(p.camera, Path("/spool"), 10.0, data_dir=tmp_path) for p in config.placements()]
    served: list[tuple[str, tuple[str, ...], str | None, int]] = []
    sent: list[Any] = []
    ended = "g1: authorisation 2024-DS-1 ended while the control plane was away"
    supervisor = ClusterSupervisor(
        specs,
        sent.append,
        config=config,
        settings=config.cluster,
        refusal={"g1": ended}.get,
        on_live=lambda *args: served.append(args),
        clock=lambda: T0,
    )
    [(name, slot)] = list(supervisor._slots.items())

    def adopt(found: str) -> _Calls:
        actor = _Calls()
        slot.handle, slot.adopted, slot.incarnation, slot.node_id = actor, True, None, None  # as found at start
        supervisor._switch(slot)  # the first round: today's refusals (L1), before anything else
        supervisor._handle(
            slot, Drained(name, "node-a", "10.0.0.5", 1, "i1", 1, (), True, live_port=7460, fingerprint=found)
        )
        return actor

    actor = adopt(slot.fingerprint)
    assert ("switch", "g1", False, ended) in actor.sent, "an authorisation that ended meanwhile: stopped at once"
    assert ("switch", "m1", True, "") in actor.sent, "the others switched as today says, whatever was sent before"
    offline = [m for m in sent if isinstance(m, RecordingHealth) and m.state is HealthState.OFFLINE]
    assert [m.camera_id for m in offline] == ["g1"]
    assert served[-1] == (name, ("m1", "g1"), "10.0.0.5", 7460), "its live relay recorded again"
    assert supervisor.moves[-1].reason == "adopted" and slot.stale is None and slot.ack == 0
    kind, cameras, _whole = slot.fingerprint.split("/")
    adopt(f"{kind}/{cameras}/0123456789abcdef")  # the same cameras, another configuration
    assert slot.stale == "replace"
    supervisor._replace_stale()
    assert slot.target == "node-a", "replaced make before break, as a move"
    adopt(f"{kind}/0123456789abcdef/0123456789abcdef")  # other cameras
    assert slot.stale == "restart", "stopped before a new one starts: never two recorders on a camera"
