"""Where camera groups run: the nodes of the service and what each hosts (one node on a single host, many on a Ray
cluster). Read by the health view, the metrics and the audit of placement changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node as the supervisor sees it now."""

    node_id: str
    """Stable name of the node: the host name on a single host, Ray's node id on a cluster."""
    address: str
    """Where it is reached (IP address or host name); never credentials."""
    alive: bool
    groups: tuple[str, ...]
    """Worker groups placed on it now (``recorder-0``, ``analysis-1``)."""
    cameras: int
    """How many cameras those groups host."""
    resources: tuple[tuple[str, float], ...] = ()
    """Declared resources of the node (CPU, GPU, custom ones such as a site), sorted by name."""
    since: datetime | None = None
    """When it was first seen alive by this service (None: not known)."""
    draining: bool = False
    """An operator is taking it out of service (``vigie cluster drain``): its groups move elsewhere."""


@dataclass(frozen=True, slots=True)
class PlacementChange:
    """A camera group moved (node lost, rebalance) or was placed for the first time."""

    group: str
    cameras: tuple[str, ...]
    analysis: bool
    from_node: str | None
    to_node: str | None
    reason: str
    at: datetime
