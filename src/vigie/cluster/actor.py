"""The Ray actor of a camera group, kept light: a node restarting a lost node's groups pays for what this module and
its arguments import before the first camera reconnects (the whole control plane's imports cost about 3 s of a
busy node; a recorder's, about 1.4 s: measured with a real Ray node). So analysis modules are imported only by
analysis groups, and the actor receives the few facts it needs of the configuration (:class:`NodeStore`), not the
configuration itself."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigie.cluster.host import Drained, GroupHost
    from vigie.config.models import VigieConfig
    from vigie.domain.recording import SegmentStore
    from vigie.ingest.tap_relay import RelayPlan, TapRelay

NODE_SPOOL_ENV = "VIGIE_NODE_SPOOL"
"""A node's own folder for the segments it records before upload (default: ``<data_dir>/segments``)."""
EXIT_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class NodeStore:
    """Where a node's recorders write (``spool``) and the S3 bucket they upload to; credentials are read from the
    node's own environment under the names given (never sent through Ray)."""

    spool: Path
    endpoint_url: str | None = None
    bucket: str = ""
    region: str = ""
    prefix: str = ""
    access_key_env: str = ""
    secret_key_env: str = ""
    relay: RelayPlan | None = None
    """How a recording group serves its live taps to the API processes (:mod:`vigie.ingest.tap_relay`); None: not."""

    @classmethod
    def of(cls, config: VigieConfig) -> NodeStore:
        from vigie.config.models import S3SegmentsSettings
        from vigie.ingest.tap_relay import RelayPlan
        from vigie.runtime.assembly.segments import spool_dir

        cluster = config.cluster
        relay = None if cluster is None else RelayPlan(cluster.live_port, cluster.live_ports, cluster.live_readers)
        settings = config.storage.segments
        if not isinstance(settings, S3SegmentsSettings):
            return cls(spool_dir(config), relay=relay)
        return cls(
            spool_dir(config),
            settings.endpoint_url,
            settings.bucket,
            settings.region,
            settings.prefix,
            settings.access_key_env,
            settings.secret_key_env,
            relay,
        )

    def open(self) -> SegmentStore | None:
        """The S3 store, or None for a local folder (a single host's: nothing to upload)."""
        if self.endpoint_url is None:
            return None
        from vigie.storage.segment_store import S3SegmentStore

        def credential(name: str, what: str) -> str:
            value = os.environ.get(name, "").strip()
            if not value:
                raise RuntimeError(
                    f"this node's environment lacks {name} (the S3 {what}): set it where `ray start` runs on this "
                    "node (docs/cluster.md)"
                )
            return value

        access = credential(self.access_key_env, "access key id")
        secret = credential(self.secret_key_env, "secret key")
        return S3SegmentStore(self.endpoint_url, self.bucket, access, secret, self.region, self.prefix)


class GroupActor:
    """The Ray actor around a :class:`~vigie.cluster.host.GroupHost` (``ray.remote(GroupActor)``); ends its process
    when the group ends by itself (threads stuck in reads to reclaim), for Ray to start a new one."""

    def __init__(
        self, spec: Any, stopped: frozenset[str], store: NodeStore, standby: bool = False, fingerprint: str = ""
    ) -> None:
        """``standby``: load everything (this process, the group's modules) but start the cameras only at
        :meth:`begin` (a move: the group still runs on its old node until then). ``fingerprint``: the control
        plane's digest of the group's plan, handed back with each drain (a later control plane adopting this actor
        compares it with its own plan)."""
        import ray

        from vigie.cluster.host import GroupHost
        from vigie.runtime.workers.recorder import RecorderGroupSpec

        recorder = isinstance(spec, RecorderGroupSpec)
        spool = store.spool
        node_spool = os.environ.get(NODE_SPOOL_ENV, "").strip()
        if node_spool and recorder:  # this node's own disk for its recordings
            spool = Path(node_spool)
            spec = replace(spec, cameras=tuple(replace(camera, root=spool) for camera in spec.cameras))
        if not recorder:
            import vigie.runtime.workers.analysis  # noqa: F401 - loaded now, not when the cameras start
        context = ray.get_runtime_context()
        self._args = (spec, stopped, store.open() if recorder else None, spool)
        self._relay_plan = store.relay if recorder else None
        self._address = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        self._host_class = GroupHost
        self._node_id = context.get_node_id()
        self._group = spec.name
        self._fingerprint = fingerprint
        self.host: GroupHost | None = None
        self._stopping = False
        if not standby:
            self.begin()

    def begin(self) -> None:
        """Start the group's cameras (once)."""
        if self.host is None:
            spec, stopped, store, spool = self._args
            self.host = self._host_class(
                spec,
                stopped,
                store=store,
                spool=spool,
                node_id=self._node_id,
                address=self._address,
                relay=self._relay(spec),
                fingerprint=self._fingerprint,
            )
            threading.Thread(target=self._watch, name="group-exit", daemon=True).start()

    def _relay(self, spec: Any) -> TapRelay | None:
        """The group's live relay, with the key from this node's environment; None (logged) without one."""
        if self._relay_plan is None:
            return None
        import logging

        from vigie.ingest.tap_relay import KEY_ENV, RelayError, TapRelay, node_key, taps_of

        log = logging.getLogger(__name__)
        try:
            key = node_key(os.environ)
            if key is None:
                log.warning("%s: no live view from this node: %s unset where `ray start` ran", self._group, KEY_ENV)
                return None
            return TapRelay(taps_of(spec.cameras), key, self._relay_plan)
        except (ValueError, RelayError) as err:
            log.error("%s: no live view from this node: %s", self._group, err)
            return None

    def _watch(self) -> None:
        assert self.host is not None
        while self.host.exit_code is None or self._stopping:
            time.sleep(0.5)
        deadline = time.monotonic() + EXIT_AFTER_S
        while self.host.pending() and time.monotonic() < deadline:
            time.sleep(0.5)  # its last messages collected first (or after a minute)
        os._exit(self.host.exit_code or 1)

    def drain(self, ack: int) -> Drained:
        if self.host is None:
            from vigie.cluster.host import Drained

            return Drained(
                self._group,
                self._node_id,
                "",
                os.getpid(),
                "",
                ack + 1,
                (),
                False,
                standby=True,
                fingerprint=self._fingerprint,
            )
        return self.host.drain(ack)

    def fingerprint(self) -> str:
        """The plan this actor was created with (:func:`vigie.cluster.adoption.fingerprint`): cheap, no messages."""
        return self._fingerprint

    def switch(self, camera_id: str, run: bool, reason: str) -> None:
        if self.host is not None:
            self.host.switch(camera_id, run, reason)

    def stop(self, timeout_s: float) -> bool:
        self._stopping = True
        return self.host.stop(timeout_s) if self.host is not None else True
