"""Handlers of ``vigie cluster``: the node table read from Ray and the actors themselves, and the drain file."""

from __future__ import annotations

import logging
import sys
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
