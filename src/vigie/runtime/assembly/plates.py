"""Builds the plate-reading store (LAPI, issue 18) from the configuration: used by ``vigie serve`` (which also runs
its L35 purge every :data:`~vigie.services.plates.PURGE_EVERY_S`) and by the ``vigie lapi`` commands."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.governance.gate import ActivationGate, ClosedGate, GateRefusal, GateTransition
from vigie.lpr.hitlists import key_id, load_public_key
from vigie.runtime.assembly.audit import keys_dir
from vigie.runtime.assembly.auth import directory
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.services.alerts import AlertService
from vigie.services.plates import HitListKeys, PlateGate, PlateService
from vigie.storage.plates import SqlPlateRepo

HIT_LIST_KEYS_DIR = "hit-lists"
"""``<data_dir>/keys/hit-lists/<tenant id>/*.pem``: the Ed25519 public keys a tenant's hit lists are signed with."""


def hit_list_keys(config: VigieConfig) -> HitListKeys:
    """The public keys registered for each tenant's hit-list signatures, read at each import (adding a key needs
    no restart); a file that is not an Ed25519 PEM public key stops the import with its name."""
    root = keys_dir(config) / HIT_LIST_KEYS_DIR

    def keys(commune_id: str) -> Mapping[str, Ed25519PublicKey]:
        folder = root / commune_id
        found: dict[str, Ed25519PublicKey] = {}
        for path in sorted(folder.glob("*.pem")) if folder.is_dir() else ():
            key = load_public_key(path.read_bytes(), str(path))
            found[key_id(key)] = key
        return found

    return keys


def hit_list_key_folder(config: VigieConfig, commune_id: str) -> Path:
    return keys_dir(config) / HIT_LIST_KEYS_DIR / commune_id


def _answer_only(change: GateTransition | GateRefusal) -> None:
    """The service's own gate only answers whether a read may be stored: the camera workers' gates audit when
    ``plate_reading`` opens and closes; auditing here too would write every transition twice."""


class _GateOnFirstRead:
    """Builds its gate (an engine, and a listener on PostgreSQL) at the first read: an API process, which never
    stores reads, never opens them."""

    def __init__(self, build: Callable[[], ActivationGate]) -> None:
        self._build = build
        self._gate: ActivationGate | None = None
        self._lock = threading.Lock()

    def _built(self) -> ActivationGate:
        with self._lock:
            if self._gate is None:
                self._gate = self._build()
            return self._gate

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return self._built().allows(module, camera_id, at)

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return self._built().zones(module, camera_id)

    def activation_id(self, module: str, camera_id: str) -> int | None:
        return self._built().activation_id(module, camera_id)


def service_gate(config: VigieConfig, simulated_cameras: frozenset[str], clock: Clock) -> PlateGate:
    """The activation gate of the process that stores reads, built like a worker's (the database's governance
    version, re-checked seals) at the first read: a read is stored only if ``plate_reading`` is open on its camera
    at its time."""
    factory = DatabaseGateFactory(config, simulated_cameras, clock)

    def build() -> ActivationGate:
        gate = factory(_answer_only)
        if not isinstance(gate, ActivationGate):  # pragma: no cover - a wiring mistake, not a read's
            raise TypeError(f"the database gate is a {type(gate).__name__}, which does not name activations")
        return gate

    return _GateOnFirstRead(build)


def open_plate_service(
    config: VigieConfig,
    store: Engine | SqlPlateRepo,
    audit: AuditSink,
    clock: Clock,
    alerts: AlertService,
    *,
    gate: PlateGate | None = None,
) -> PlateService:
    """The plate store over ``store`` (a database, or its repository). Without ``gate`` (the ``vigie lapi``
    commands, which only query and import) every read handed to it is refused."""
    return PlateService(
        store if isinstance(store, SqlPlateRepo) else SqlPlateRepo(store),
        alerts,
        audit,
        clock,
        directory=directory(config),
        gate=ClosedGate() if gate is None else gate,
        keys=hit_list_keys(config),
    )
