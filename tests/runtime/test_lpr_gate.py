"""Plate reading is never opened by the simulated-footage exemption: on a demo camera as anywhere, it needs a real
activation (L34), which the catalogue only lets a state tenant have."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.clocks import T0
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.runtime.assembly.gates import SimulatedFootageRules
from vigie.runtime.assembly.governance import exemptible_modules

AT = T0


class _Rules:
    def __init__(self, rules: GateRules) -> None:
        self._rules = rules

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def test_plate_reading_is_not_exempted_on_simulated_footage() -> None:
    exempt = exemptible_modules(load_catalogue())
    assert "plate_reading" not in exempt
    assert {"motion", "intrusion", "fire_start"} <= set(exempt)
    gate = ActivationGate(SimulatedFootageRules(_Rules(GateRules()), frozenset({"sim1"}), exempt), lambda: AT)
    assert gate.allows("fire_start", "sim1", AT)
    assert not gate.allows("plate_reading", "sim1", AT)
    assert gate.activation_id("plate_reading", "sim1") is None


def test_the_gate_names_the_activation_a_module_runs_under() -> None:
    window = Window(42, AT - timedelta(days=1), AT + timedelta(days=30))
    rules = GateRules(windows={("plate_reading", "lpr1"): (window,)})
    gate = ActivationGate(SimulatedFootageRules(_Rules(rules), frozenset({"lpr1"}), ["motion"]), lambda: AT)
    assert gate.allows("plate_reading", "lpr1", AT)
    assert gate.activation_id("plate_reading", "lpr1") == 42
    assert not gate.allows("plate_reading", "lpr1", AT + timedelta(days=30))
    assert gate.activation_id("plate_reading", "lpr1") is None
