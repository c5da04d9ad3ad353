"""Where a camera's live tap can be read from in cluster mode (issue 17).

A recorder's live tap (:mod:`vigie.ingest.tap`) is a Unix socket on the node that records the camera; the API
processes, on other machines, read it through that node's relay (:mod:`vigie.ingest.tap_relay`). The control plane
(``vigie serve``) knows where each recording group runs and records here, in the database every API process reads,
the relay of each camera: set when the group starts or moves, cleared when its node is lost or the service stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LiveEndpoint:
    """The relay that serves a camera's tap: ``host:port`` of the node, and the group that records it."""

    camera_id: str
    host: str
    port: int
    group: str
    since: datetime

    @property
    def authority(self) -> str:
        """``host:port`` as a URL writes it (an IPv6 address in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class LiveEndpointReader(Protocol):
    def get(self, camera_id: str) -> LiveEndpoint | None:
        """Where the camera's tap is served now (None: recorded nowhere, or its node offers no relay)."""
        ...


class LiveEndpoints(LiveEndpointReader, Protocol):
    def put(self, group: str, cameras: Iterable[str], host: str, port: int, since: datetime) -> None:
        """The group's cameras are served by ``host:port`` from now on."""
        ...

    def clear(self, cameras: Iterable[str], group: str | None = None) -> int:
        """The cameras are served nowhere (their node lost, the service stopped); with ``group``, only rows that
        group wrote (a newer placement of the camera by another group is kept). Returns the rows removed."""
        ...
