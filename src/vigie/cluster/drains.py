"""Nodes an operator is taking out of service (a rolling restart, maintenance): ``vigie cluster drain NODE`` writes
them to ``<data_dir>/cluster-drain.json`` on the control plane's host; the control plane reads it every second and
moves the node's groups to other nodes — each group stopped cleanly first (its recorders finish and upload the
segment they were writing), so a camera loses only its reconnect time — then the node can be stopped.

A file beside the service rather than an API call: draining is an act on the host by whoever runs the cluster
(shell access to the control plane), it needs the service neither up nor reachable, and it touches no footage and
no governance (the moves of analysis it causes are audited like any other).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

DRAIN_FILE = "cluster-drain.json"
MIN_PREFIX = 6
"""A node is named by its Ray node id or a unique prefix of it this long at least."""


def drain_path(data_dir: Path) -> Path:
    return data_dir / DRAIN_FILE


def read_drains(path: Path) -> frozenset[str]:
    """The node ids (or prefixes) being drained; none when the file is missing or unreadable (never fail the loop)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    nodes = data.get("nodes", []) if isinstance(data, dict) else []
    return frozenset(str(n) for n in nodes if isinstance(n, str) and len(n) >= MIN_PREFIX)


def write_drains(path: Path, nodes: frozenset[str]) -> None:
    """Replace the file atomically (the control plane never reads half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".drain-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"nodes": sorted(nodes)}, out)
    os.replace(tmp, path)


def is_draining(node_id: str, drains: frozenset[str]) -> bool:
    return any(node_id.startswith(prefix) for prefix in drains)
