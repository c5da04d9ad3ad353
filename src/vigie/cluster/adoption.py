"""Recording groups that outlive their control plane: what a starting ``vigie serve`` finds running on the cluster,
and whether it may take it over.

A recording group's actor is *detached* (:mod:`vigie.cluster.supervisor`): when the control plane stops or restarts,
its cameras go on recording on their nodes and their reports wait in the actor's outbox (:mod:`vigie.cluster.host`).
The next control plane must *adopt* that actor rather than start a second one — two recorders on one camera would
fight for its sessions and write duplicate segments — but only if it still runs the group the configuration plans:

- each actor is named ``<group>.<generation>`` in the installation's namespace; a group's highest generation is the
  one to adopt (a move the control plane's end interrupted left a newer standby: adopting it and stopping the older
  one completes the move);
- each actor holds the :func:`fingerprint` of the plan it was created with, ``<kind>/<cameras>/<everything>``: the
  same fingerprint is adopted as is; the same cameras with another configuration (a URL, the segment length,
  masks, resources) are replaced make-before-break like a move; other cameras are stopped first, then started
  anew (never two recorders on a camera).

Pure functions of their inputs (no Ray): :mod:`vigie.cluster.supervisor` and ``vigie cluster stop-recording`` use them.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any, Literal

ACTOR_NAME = re.compile(r"^(?P<group>.+)\.(?P<generation>\d+)$")
RECORDER = "recorder"
ANALYSIS = "analysis"
Verdict = Literal["adopt", "replace", "restart"]


def actor_name(group: str, generation: int) -> str:
    return f"{group}.{generation}"


def generations(names: Iterable[str]) -> dict[str, list[int]]:
    """Group → the generations of its live actors, lowest first, from the actor names of the namespace (other
    names, e.g. the nodes' inference services, are left out)."""
    found: dict[str, list[int]] = {}
    for name in names:
        match = ACTOR_NAME.match(name)
        if match is not None:
            found.setdefault(match["group"], []).append(int(match["generation"]))
    return {group: sorted(gens) for group, gens in found.items()}


def fingerprint(
    kind: str, cameras: Iterable[str], spec: Any, resources: Mapping[str, float], zone: str | None = None
) -> str:
    """``<kind>/<digest of the camera ids>/<digest of the whole plan>``: stable across processes and restarts (the
    plan's fields, never an object's address; a function field such as the clock is left out). Only digests: a
    camera URL's credentials never appear."""
    ids = _digest(sorted(cameras))
    whole = _digest([_canonical(spec), sorted(resources.items()), zone])
    return f"{kind}/{ids}/{whole}"


def is_recorder(found: str) -> bool:
    return found.startswith(f"{RECORDER}/")


def verdict(found: str, planned: str) -> Verdict:
    """What a control plane does with a running group created with fingerprint ``found`` that its plan describes as
    ``planned``: adopt it as is, replace it make-before-break (same cameras, other settings), or stop it and start
    it again (other cameras: never two recorders on one camera, even for the seconds of a move)."""
    if found == planned:
        return "adopt"
    if found.split("/")[:2] == planned.split("/")[:2]:
        return "replace"
    return "restart"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:  # noqa: PLR0911 (one case per kind of value)
    """A JSON-able form of a plan: dataclasses field by field (functions left out), paths and enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            **{
                f.name: _canonical(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if not _is_function(getattr(value, f.name))
            },
        }
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return sorted((str(k), _canonical(v)) for k, v in value.items())
    if isinstance(value, list | tuple | frozenset | set):
        items = [_canonical(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, frozenset | set) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return type(value).__qualname__  # an object without fields to compare: its kind only (never its address)


def _is_function(value: Any) -> bool:
    return callable(value) and not dataclasses.is_dataclass(value)
