"""docs/configuration.md shows the real output of `vigie config check examples/invalid.yaml`, and its
short example is a valid configuration."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from vigie.config import check_command, load_config_text

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_documented_output_matches_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- invalid-output:", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    documented = block.splitlines()[1:]  # after the `$ vigie config check` line
    monkeypatch.chdir(ROOT)
    err = io.StringIO()
    assert check_command(Path("examples") / "invalid.yaml", stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().splitlines() == documented


def test_short_example_in_the_docs_is_valid() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"## A short example\n\n```yaml\n(.*?)```", text, re.S)
    assert example is not None
    config = load_config_text(example.group(1), "docs example")
    assert config.camera_count == 1
