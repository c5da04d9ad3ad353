"""Placement decisions of the cluster mode that need no cluster: groups per zone with the resources they ask,
rebalancing that moves as few groups as possible, and the configuration's refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tests.support.configs import camera_data
from vigie.cluster.adoption import actor_name, generations, is_recorder, verdict
from vigie.cluster.inference import NodeInference
from vigie.cluster.supervisor import ZONE_RESOURCE, plan_cluster, rebalance, zone_lookup
from vigie.config.models import VigieConfig
from vigie.ingest.backoff import Backoff
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.assembly.service import grouping, recorder_spec, worker_spec


def cluster_config(tmp_path: Path, **cluster: Any) -> VigieConfig:
    def site(site_id: str, cameras: list[str]) -> dict[str, Any]:
        return {"id": site_id, "name": site_id, "cameras": [camera_data(id=c, name=c) for c in cameras]}

    data: dict[str, Any] = {
        "version": 1,
        "storage": {
            "database_url": "postgresql+psycopg://vigie@db.example.invalid/vigie",
            "data_dir": str(tmp_path / "data"),
            "segments": {"kind": "s3", "endpoint_url": "http://s3.example.invalid:8333", "bucket": "vigie"},
        },
        "workers": {"recording_cameras_per_process": 2, "analysis_cameras_per_process": 4},
        "cluster": {"address": "head.example.invalid:6379", **cluster},
        "communes": [
            {
                "id": "lyon",
                "name": "Lyon",
                "kind": "municipal",
                "sites": [site("gare", ["g1", "g2", "g3"]), site("parc", ["p1", "p2"])],
            },
            {"id": "tcl", "name": "Transports", "kind": "municipal", "sites": [site("metro", ["m1", "m2", "m3"])]},
        ],
    }
    return VigieConfig.model_validate(data)


def planned(config: VigieConfig) -> list[Any]:
    gate = DatabaseGateFactory(config, frozenset())
    cameras = [p.camera for p in config.placements()]
    specs = [worker_spec(c, gate) for c in cameras] + [recorder_spec(c, Path("/spool"), 10.0) for c in cameras]
    assert config.cluster is not None
    return plan_cluster(
        specs, grouping(config.workers), config.cluster, zone_lookup(config), stall_s=20.0, backoff=Backoff()
    )


def test_groups_never_straddle_a_zone_and_ask_for_its_resource(tmp_path: Path) -> None:
    config = cluster_config(
        tmp_path,
        zones={"transit": ["tcl"], "gare": ["lyon/gare"]},
        recorder_resources={"CPU": 0.5, "recording_disk": 1},
        analysis_resources={"CPU": 2, "GPU": 0.25},
    )
    groups = planned(config)
    by_name = {g.spec.name: g for g in groups}
    zone_of = zone_lookup(config)
    for group in groups:
        zones = {zone_of(camera) for camera in group.cameras}
        assert len(zones) == 1, f"{group.spec.name} straddles zones {zones}"
        zone = zones.pop()
        assert group.zone == zone
        if zone is not None:
            assert group.resources[ZONE_RESOURCE.format(zone)] > 0
            assert group.spec.name.startswith(f"{zone}-")
        expected = {"CPU": 2, "GPU": 0.25} if group.analysis else {"CPU": 0.5, "recording_disk": 1}
        assert {k: v for k, v in group.resources.items() if not k.startswith("zone_")} == expected
    assert by_name["transit-recorder-1"].cameras == ("m3",)  # two per recorder group: m1 m2 | m3
    assert {c for g in groups if g.zone is None for c in g.cameras} == {"p1", "p2"}
    assert len({g.spec.name for g in groups}) == len(groups), "group names are unique (actor names)"
    recorded = sorted(c for g in groups if not g.analysis for c in g.cameras)
    assert recorded == sorted(p.camera.id for p in config.placements()), "every camera recorded exactly once"


def test_a_joining_node_takes_the_excess_of_the_busiest_and_nothing_else_moves() -> None:
    placed = {f"g{i}": "a" for i in range(6)} | {f"h{i}": "b" for i in range(3)}
    moves = rebalance(placed, ["a", "b", "c"], lambda _group, _node: True)
    assert moves == {"g0": "c", "g1": "c", "g2": "c"}, "three of a's six go to the new node, b's three stay"
    balanced = {"g0": "a", "g1": "b", "g2": "c"}
    assert rebalance(balanced, ["a", "b", "c"], lambda _g, _n: True) == {}, "a balanced cluster moves nothing"
    uneven_by_one = {"g0": "a", "g1": "a", "g2": "b"}
    assert rebalance(uneven_by_one, ["a", "b"], lambda _g, _n: True) == {}, "one more is not worth a restart"


def test_rebalancing_keeps_groups_on_nodes_that_may_take_them() -> None:
    placed = {f"g{i}": "a" for i in range(4)}
    only_even = rebalance(placed, ["a", "z"], lambda group, node: node != "z" or int(group[1:]) % 2 == 0)
    assert set(only_even) <= {"g0", "g2"} and set(only_even.values()) <= {"z"}
    assert rebalance(placed, ["a", "z"], lambda _g, node: node != "z") == {}, "a node of another zone takes none"
    assert rebalance(placed, [], lambda _g, _n: True) == {}


def test_cluster_mode_refuses_what_one_host_only_has(tmp_path: Path) -> None:
    good = cluster_config(tmp_path).model_dump(mode="json")
    sqlite = yaml.safe_load(yaml.safe_dump(good))
    sqlite["storage"]["database_url"] = f"sqlite:///{tmp_path / 'vigie.db'}"
    with pytest.raises(ValidationError, match="cluster mode needs PostgreSQL"):
        VigieConfig.model_validate(sqlite)
    files = yaml.safe_load(yaml.safe_dump(good))
    files["storage"]["segments"] = {"kind": "file"}
    with pytest.raises(ValidationError, match="cluster mode needs an S3 segment store"):
        VigieConfig.model_validate(files)
    unknown = yaml.safe_load(yaml.safe_dump(good))
    unknown["cluster"]["zones"] = {"north": ["lyon/nowhere"]}
    with pytest.raises(ValidationError, match="lyon/nowhere: no such commune"):
        VigieConfig.model_validate(unknown)
    typo = yaml.safe_load(yaml.safe_dump(good))
    typo["cluster"]["adress"] = "x:1"
    with pytest.raises(ValidationError, match="adress"):
        VigieConfig.model_validate(typo)


def test_analysis_groups_load_their_models_through_their_nodes_service_as_configured(tmp_path: Path) -> None:
    def loaders(**cluster: Any) -> list[Any]:
        return [g.spec.load for g in planned(cluster_config(tmp_path, namespace="metropole", **cluster)) if g.analysis]

    by_default = loaders()
    assert by_default and all(isinstance(load, NodeInference) for load in by_default)
    assert all(load.gpu_nodes_only for load in by_default), "by default the service on GPU nodes only"
    for load, spec in zip(loaders(inference="node"), (g.spec for g in planned(cluster_config(tmp_path)) if g.analysis)):
        assert isinstance(load, NodeInference) and not load.gpu_nodes_only
        assert load.namespace == "metropole", "the service is found in this installation's namespace"
        assert load.settings == spec.detectors, "it runs the models as workers.detector says"
    assert loaders(inference="group") == [None] * len(by_default), "a session per group, as on one host"
    with pytest.raises(ValidationError, match="inference"):
        cluster_config(tmp_path, inference="gpu")


def test_a_restarting_control_plane_adopts_a_group_running_its_plan_and_only_that(tmp_path: Path) -> None:
    base = cluster_config(tmp_path, recorder_resources={"CPU": 0.5}).model_dump(mode="json")

    def fingerprints(data: dict[str, Any]) -> dict[str, str]:
        return {g.spec.name: g.fingerprint for g in planned(VigieConfig.model_validate(data))}

    def changed(edit: Any) -> dict[str, str]:
        data = yaml.safe_load(yaml.safe_dump(base))
        edit(data)
        return fingerprints(data)

    running = fingerprints(base)
    assert fingerprints(yaml.safe_load(yaml.safe_dump(base))) == running, "the same plan, the same fingerprint"
    assert all(verdict(f, f) == "adopt" for f in running.values())
    assert all(is_recorder(f) == name.startswith("recorder") for name, f in running.items())
    assert all("example.invalid" not in f and "rtsp" not in f for f in running.values()), "digests, never URLs"

    def new_url(data: dict[str, Any]) -> None:
        data["communes"][0]["sites"][0]["cameras"][0]["main_stream"] = "rtsp://g1-new.example.invalid/s"

    after_url = changed(new_url)  # g1 and g2 share recorder-0
    assert verdict(running["recorder-0"], after_url["recorder-0"]) == "replace", "same cameras: make before break"
    assert all(after_url[g] == running[g] for g in running if g not in {"recorder-0", "analysis-0"})

    def more_cpu(data: dict[str, Any]) -> None:
        data["cluster"]["recorder_resources"] = {"CPU": 1.0}

    assert verdict(running["recorder-1"], changed(more_cpu)["recorder-1"]) == "replace", "it holds the old share"

    def camera_removed(data: dict[str, Any]) -> None:
        del data["communes"][0]["sites"][0]["cameras"][0]

    regrouped = changed(camera_removed)  # g2 g3 | p1 p2 | m1 m2 | m3: every group's cameras change
    assert verdict(running["recorder-0"], regrouped["recorder-0"]) == "restart", "other cameras: stop, then start"


def test_actor_names_give_each_group_its_running_generations() -> None:
    names = ["recorder-0.3", "recorder-0.12", "transit-recorder-1.0", "vigie-inference-3f9c0a12", "analysis-0.2"]
    assert generations(names) == {"recorder-0": [3, 12], "transit-recorder-1": [0], "analysis-0": [2]}
    assert actor_name("recorder-0", 13) == "recorder-0.13"
