"""A thermal camera configured from YAML, the activations around a fixed instant and an audit that keeps the model
registrations' records: what the thermal worker tests build their cameras from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigie.config import load_config_text
from vigie.config.models import Camera
from vigie.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, seal
from vigie.domain.ports import Gate
from vigie.governance.gate import ActivationGate, GateRules, Window

T0 = datetime(2026, 12, 4, 22, tzinfo=UTC)
CAMERA = "bois-1"


def camera(kind: str, detector: str) -> Camera:
    """One camera of kind ``kind`` whose ``analysis`` block holds ``detector`` (YAML, indented for that block)."""
    text = f"""version: 1
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: bois
        name: Bois communal
        cameras:
          - id: {CAMERA}
            name: Lisière du bois
            kind: {kind}
            main_stream: rtsp://cam.example.invalid/thermal
            location: {{lat: 45.74, lon: 4.91}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: 2026-01-01
              valid_until: 2099-12-31
              purposes: [rescue_fire]
              retention_days: 7
            analysis:
              fps: 5
              detector: {detector}
"""
    return load_config_text(text, "thermal.yaml").communes[0].sites[0].cameras[0]


class Audit:
    """Keeps the model registrations' audit records (the chain itself is tested in tests/governance)."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def append(self, event: AuditEvent) -> AuditRecord:
        prev = self.records[-1].hash if self.records else GENESIS_HASH
        record = seal(len(self.records) + 1, event, T0, prev)
        self.records.append(record)
        return record


def no_gate_factory(on_transition: object) -> Gate:
    raise AssertionError("the tests build the gate themselves")


class Rules:
    """Activations of ``modules`` on the camera around T0 (none: what a fresh install has)."""

    def __init__(self, *modules: str) -> None:
        window = (Window(1, T0 - timedelta(hours=1), T0 + timedelta(hours=1)),)
        self._rules = GateRules(windows={(m, CAMERA): window for m in modules})

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def gate(*modules: str) -> ActivationGate:
    return ActivationGate(Rules(*modules), lambda: T0, cache_ttl_s=0)
