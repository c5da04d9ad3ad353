"""Handlers of ``vigie cluster``: the node table read from Ray and the actors themselves, the drain file, and the
end of the recording that goes on while the control plane is stopped."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vigie.cluster.drains import MIN_PREFIX, drain_path, is_draining, read_drains, write_drains
from vigie.cluster.host import Drained
from vigie.config import ConfigError, format_issues, load_config
from vigie.config.models import VigieConfig

NOT_CLUSTER = "{path} has no `cluster` section: this installation runs its cameras on one host (docs/cluster.md)"


def _cluster_config(path: Path) -> VigieConfig | None:
    try:
        config = load_config(path)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        return None
    if config.cluster is None:
        print(NOT_CLUSTER.format(path=path), file=sys.stderr)
        return None
    return config


def drain_command(path: Path, node: str, *, drain: bool) -> int:
    config = _cluster_config(path)
    if config is None:
        return 2
    node = node.strip()
    if len(node) < MIN_PREFIX:
        print(
            f"name the node by its id or a prefix of {MIN_PREFIX} characters at least (`vigie cluster nodes`)",
            file=sys.stderr,
        )
        return 2
    file = drain_path(config.storage.data_dir)
    drains = read_drains(file)
    changed = drains | {node} if drain else frozenset(d for d in drains if d != node)
    if changed == drains:
        print(f"{node} is {'already' if drain else 'not'} being drained")
        return 0
    write_drains(file, changed)
    if drain:
        print(
            f"{node}: its camera groups move to other nodes within seconds; `vigie cluster nodes` shows when it "
            "holds none, then it can be stopped (`ray stop` on it)"
        )
    else:
        print(f"{node} may take camera groups again (a node that joins anew is given its share by itself)")
    return 0


def live_key_command(path: Path) -> int:
    """Print the live tap key (HKDF of the keys folder's accounts key, :mod:`vigie.ingest.tap_relay`) for the nodes'
    environment; the same on every run and every process sharing the keys folder."""
    from vigie.governance.keys_folder import KeyStorageError, SealedSecretError, WrongPassphraseError
    from vigie.ingest.tap_relay import KEY_ENV, KEY_PURPOSE
    from vigie.runtime.assembly.auth import shared_key

    config = _cluster_config(path)
    if config is None:
        return 2
    try:
        key = shared_key(config, KEY_PURPOSE)
    except (KeyStorageError, SealedSecretError, WrongPassphraseError) as err:
        print(f"the keys folder cannot give the live tap key: {err}", file=sys.stderr)
        return 2
    print(key.hex())
    print(f"set it as {KEY_ENV} in the environment of `ray start` on every node (docs/cluster.md)", file=sys.stderr)
    return 0


def nodes_command(path: Path) -> int:
    config = _cluster_config(path)
    if config is None:
        return 2
    assert config.cluster is not None
    import ray

    ray.init(
        address=config.cluster.address,
        namespace=config.cluster.namespace,
        logging_level=logging.ERROR,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        groups: dict[str, list[str]] = {}
        for name in ray.util.list_named_actors(all_namespaces=False):
            try:
                reply: Any = ray.get(ray.get_actor(name).drain.remote(0), timeout=10)  # acknowledges nothing
            except Exception as err:  # restarting (its node was lost), or stopping
                print(f"{name}: no answer now ({type(err).__name__}); not listed", file=sys.stderr)
                continue
            if isinstance(reply, Drained):
                groups.setdefault(reply.node_id, []).append(reply.group)
        drains = read_drains(drain_path(config.storage.data_dir))
        print(f"{'node':<14} {'address':<16} {'state':<9} {'CPU':>5} {'GPU':>5}  groups")
        table: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
        for node in sorted(table, key=lambda n: (not n["Alive"], n["NodeID"])):
            node_id = node["NodeID"]
            state = "alive" if node["Alive"] else "dead"
            if node["Alive"] and is_draining(node_id, drains):
                state = "draining"
            resources = node.get("Resources", {})
            names = sorted(groups.get(node_id, []))
            print(
                f"{node_id[:12]:<14} {node.get('NodeManagerAddress', ''):<16} {state:<9} "
                f"{resources.get('CPU', 0):>5.0f} {resources.get('GPU', 0):>5.0f}  {', '.join(names) or '-'}"
            )
    finally:
        ray.shutdown()
    return 0


STOP_S = 15.0


def stop_recording_command(path: Path) -> int:
    """Stop every recording group of the installation's namespace (a maintenance: an upgrade of the nodes): each
    finishes the segment it was writing and uploads it; its reports are indexed here, batch by batch, before the
    actor is told they are handled (so its spool copies go only once indexed), then the actor ends. Refused while
    ``vigie serve`` runs (it would start them again: stop it first). Not written to the audit chain, as a drain is
    not (an act on the cluster by whoever runs it, touching no footage); the recording gap shows in each camera's
    history, and the next ``vigie serve`` records ``service.started``."""
    from vigie.cluster.adoption import actor_name, generations, is_recorder
    from vigie.runtime.assembly.service import ALIVE_EVERY_S, ALIVE_FILE, alive_pid, read_alive
    from vigie.services.host import process_exists
    from vigie.storage.database import create_engine_for
    from vigie.storage.recording import SqlSegmentIndex

    config = _cluster_config(path)
    if config is None:
        return 2
    assert config.cluster is not None
    alive_file = config.storage.data_dir / ALIVE_FILE
    heartbeat, pid = read_alive(alive_file), alive_pid(alive_file)
    fresh = heartbeat is not None and datetime.now(UTC) - heartbeat < timedelta(seconds=3 * ALIVE_EVERY_S)
    if fresh and pid is not None and process_exists(pid):
        print(
            f"`vigie serve` is running (pid {pid}, {alive_file}): it would start the recording groups again. "
            "Stop it first, then run this again",
            file=sys.stderr,
        )
        return 2
    import ray

    namespace = config.cluster.namespace
    ray.init(
        address=config.cluster.address,
        namespace=namespace,
        logging_level=logging.ERROR,
        log_to_driver=False,
        configure_logging=False,
    )
    index = SqlSegmentIndex(create_engine_for(config.storage.database_url))
    try:
        recorders: list[tuple[str, Any]] = []
        names = [e["name"] for e in ray.util.list_named_actors(all_namespaces=True) if e["namespace"] == namespace]
        for group, gens in sorted(generations(names).items()):
            for generation in gens:
                name = actor_name(group, generation)
                try:
                    handle = ray.get_actor(name, namespace=namespace)
                    if is_recorder(str(ray.get(handle.fingerprint.remote(), timeout=10))):
                        recorders.append((name, handle))
                except Exception as err:  # ended meanwhile, or restarting (its node was lost)
                    print(f"{name}: no answer now ({type(err).__name__}); not stopped", file=sys.stderr)
        if not recorders:
            print(f"no recording group runs in namespace {namespace}")
            return 0
        print(f"stopping {len(recorders)} recording group(s): {', '.join(n for n, _ in recorders)}")
        stops = [handle.stop.remote(STOP_S) for _, handle in recorders]
        ray.wait(stops, num_returns=len(stops), timeout=STOP_S + 10)
        failed = 0
        indexed = 0
        for name, handle in recorders:
            try:
                indexed += _index_reports(ray, handle, index)
            except Exception as err:
                failed += 1
                print(
                    f"{name}: its last reports could not be indexed ({type(err).__name__}: {err}); its actor is left "
                    "stopped with them (the next `vigie serve` collects them and starts it again)",
                    file=sys.stderr,
                )
                continue
            ray.kill(handle, no_restart=True)
        print(f"{indexed} segment(s) indexed; recording starts again with `vigie serve`")
        return 1 if failed else 0
    finally:
        ray.shutdown()


def _index_reports(ray: Any, handle: Any, index: Any) -> int:
    """Index a stopped group's segment reports, each batch before it is acknowledged; the number indexed anew."""
    from vigie.domain.recording import Segment

    ack, added = 0, 0
    for _ in range(1000):
        drained: Drained = ray.get(handle.drain.remote(ack), timeout=30)
        if not drained.messages:
            return added
        added += index.add_many([m for m in drained.messages if isinstance(m, Segment)])
        ack = drained.last
    return added
