"""Event modules on the photo-real `plaza` scene with a real detector: `vigie sim render plaza --photoreal` once
(cut-outs of real people and vehicles over TUD-Campus's car park), then `vigie eval events` with YOLOX-Nano at
5 fps, as docs/event-modules.md ("Measured") reports (eval/photoreal/measure.sh re-runs it all).

The figures asserted are those measured, a notch under where a frame of sampling could move them: a module or a
detector path that stops finding the scripted situation, or starts raising on passers-by, fails. Skipped without
the development data (the model, TUD-Campus and the vehicle photos in ../shared/data).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.onnx_models import DATA, MODELS, REAL_MODELS, TUD, require
from vigie.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def plaza(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plaza scene rendered photo-real once (≈ 45 s: the cut-out bank, then 600 frames). For the session, not
    the module: a pytest-xdist worker that ran another module's test between two of these tore a module fixture
    down and rendered it all again."""
    require(MODELS / REAL_MODELS["yolox"])
    require(TUD)
    folder = tmp_path_factory.mktemp("plaza")
    argv = ["sim", "render", "plaza", "-o", str(folder / "plaza.mp4"), "--gt", str(folder / "gt"), "--photoreal"]
    assert main([*argv, str(DATA)]) == 0
    return folder


MODULES = (
    "abandoned_object",
    "wrong_way",
    "intrusion",
    "loitering",
    "stationary_vehicle",
    "person_on_ground",
    "density",
)


@pytest.fixture(scope="session")
def results(plaza: Path) -> dict[str, dict[str, Any]]:
    """Every module measured on the plaza, evaluated in one pass (one decode, one YOLOX-Nano run): by name."""
    out = plaza / "results.json"
    argv = [
        "eval", "events", str(plaza / "plaza.mp4"), str(plaza / "gt" / "events.json"),
        *(arg for module in MODULES for arg in ("--module", module)),
        "--settings", "plaza", "--model", str(MODELS / REAL_MODELS["yolox"]), "--format", "yolox",
        "--json", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    written: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return {result["module"]: result for result in written["results"]}


def test_abandoned_object_finds_the_left_bag_about_ten_seconds_after_its_owner_walks_off(
    results: dict[str, dict[str, Any]],
) -> None:
    result = results["abandoned_object"]
    metrics = result["metrics"]
    # Measured: the bag, 12 s after the drop (the owner is out of reach at ~14 s, then 10 s unattended); nothing on
    # the fallen person, whom the detector does not see once lying (a piece of them, cut off by a passer-by's box,
    # raised an alert until candidates inside a foreground region larger than any object were dropped).
    assert (metrics["events"], metrics["detected"]) == (1, 1)
    assert metrics["mean_delay_s"] == pytest.approx(12.0, abs=1.5)
    assert metrics["false_positives"] == 0
    x, y, w, h = result["hits"][0]["region"]
    assert 0.10 <= x + w / 2 <= 0.25 and 0.6 <= y + h <= 0.8  # where the bag was put down, on the left


def test_wrong_way_flags_the_walker_against_the_flow_and_none_of_the_others(results: dict[str, dict[str, Any]]) -> None:
    metrics = results["wrong_way"]["metrics"]
    # Eight walkers left to right along the building, one right to left; measured: 1 of 1, 1.6 s, no other hit.
    assert (metrics["events"], metrics["detected"], metrics["false_positives"]) == (1, 1, 0)
    assert metrics["mean_delay_s"] <= 3.0


def test_intrusion_and_loitering_find_the_corner_visits_and_nothing_else(results: dict[str, dict[str, Any]]) -> None:
    intrusion = results["intrusion"]["metrics"]
    # Three visits of the corner zone; measured 2 of 3 (the third, 1.5 s by a crowd member among others, is missed).
    assert intrusion["events"] == 3 and intrusion["detected"] >= 2 and intrusion["false_positives"] == 0
    assert intrusion["max_delay_s"] <= 1.5
    loitering = results["loitering"]["metrics"]
    # Two visits of more than 3 s; measured 2 of 2 at 3.2 s.
    assert (loitering["events"], loitering["detected"], loitering["false_positives"]) == (2, 2, 0)
    assert loitering["max_delay_s"] <= 4.0


def test_stationary_vehicle_finds_the_parked_car_and_person_on_ground_and_density_raise_nothing_wrong(
    results: dict[str, dict[str, Any]],
) -> None:
    vehicle = results["stationary_vehicle"]["metrics"]
    # Measured: 1 of 1, 21.6 s (15 s + the track lost while the wrong-way walker passes in front of the car).
    assert (vehicle["events"], vehicle["detected"], vehicle["false_positives"]) == (1, 1, 0)
    assert vehicle["max_delay_s"] <= 25.0
    # YOLOX-Nano sees neither the lying cut-out nor more than one or two of the eight people in the gathered crowd:
    # these two miss their event (docs/event-modules.md), but a missed object must not become a false alert.
    for module in ("person_on_ground", "density"):
        assert results[module]["metrics"]["false_positives"] == 0, module
