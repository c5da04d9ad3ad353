"""Printable tables and JSON reports of evaluation results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def format_table(title: str, values: Mapping[str, float | int]) -> str:
    """A two-column text table; ratios are shown with three decimals."""
    width = max((len(k) for k in values), default=0)
    lines = [title, "-" * max(len(title), width + 12)]
    for key, value in values.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"{key.ljust(width)}  {shown:>9}")
    return "\n".join(lines)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
