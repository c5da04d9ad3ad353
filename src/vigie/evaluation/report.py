"""Printable tables and JSON reports of evaluation results, with the file layouts they were computed from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigie.evaluation.motfile import MotFile
from vigie.evaluation.sequence import SequenceInfo


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


def format_files(files: Mapping[str, MotFile], info: SequenceInfo) -> str:
    """One line per file read, with the layout it was read as: a wrong guess shows here, not as bad scores."""
    lines = [f"{name}: {len(file)} rows, {file.layout.description}" for name, file in files.items()]
    seqinfo = "seqinfo.ini" if info.from_seqinfo else "no seqinfo.ini"
    lines.append(f"frames: from {info.frames_from} ({seqinfo}), {info.frame_rate:g} fps")
    return "\n".join(lines)


def files_json(files: Mapping[str, MotFile], info: SequenceInfo) -> dict[str, Any]:
    """The same as :func:`format_files`, for JSON reports."""
    return {
        "files": {name: {"layout": str(file.layout), "rows": len(file)} for name, file in files.items()},
        "frames_from": info.frames_from,
        "seqinfo": info.from_seqinfo,
    }
