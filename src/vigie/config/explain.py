"""Turn pydantic's validation errors into what a person needs to fix the file: a plain message and a
concrete hint.

Input values are never echoed (they can hold credentials); hints are built from the models themselves
(field names, descriptions, allowed values).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from vigie.config.camera import MAX_RETENTION_DAYS
from vigie.config.fields import INVALID, Loc
from vigie.config.models import VigieConfig
from vigie.domain.camera import Purpose

_QUOTED = re.compile(r"'([^']*)'")

_RANGE_WORDS: dict[str, str] = {
    "less_than_equal": "must be at most",
    "less_than": "must be less than",
    "greater_than_equal": "must be at least",
    "greater_than": "must be greater than",
}
_RANGE_ERRORS = frozenset(_RANGE_WORDS)

_PLAIN_MESSAGES: dict[str, str] = {
    "missing": "required field is missing",
    "model_type": "should be a mapping of `key: value` lines",
    "model_attributes_type": "should be a mapping of `key: value` lines",
    "tuple_type": "should be a list",
    "list_type": "should be a list",
    "string_type": "should be text",
    "date_type": "should be a date (YYYY-MM-DD)",
    "date_parsing": "is not a valid date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "is not a valid date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "should be a date without a time of day",
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold, through Annotated, Optional, unions and sequences."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _tag_of(model: type[BaseModel]) -> tuple[Any, ...]:
    kind = model.model_fields.get("kind")
    if kind is None or get_origin(kind.annotation) is not Literal:
        return ()
    return get_args(kind.annotation)


def resolve(loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model that holds the last named field of ``loc`` and that field's info (None when unknown).

    ``loc`` is pydantic's location, union tags included (``zones.0.analysis.points``).
    """
    candidates: list[type[BaseModel]] = [VigieConfig]
    owner: type[BaseModel] | None = VigieConfig
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [model for model in candidates if part in _tag_of(model)]
        if tagged and len(candidates) > 1:
            candidates = tagged
            owner = tagged[0]
            continue
        owner = next((model for model in candidates if part in model.model_fields), None)
        if owner is None:
            return None, None
        info = owner.model_fields[part]
        candidates = _models_in(info.annotation)
    if len(candidates) == 1:
        owner = candidates[0]
    return owner, info


def _container_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose keys are at ``loc`` (for an unknown or missing key at ``loc + (key,)``)."""
    if not loc:
        return VigieConfig
    _, info = resolve(loc)
    if info is None:
        return None
    models = _models_in(info.annotation)
    if len(models) == 1:
        return models[0]
    tag = next((part for part in reversed(loc) if isinstance(part, str)), None)
    return next((model for model in models if tag in _tag_of(model)), None)


def _closest(word: object, choices: list[str]) -> str | None:
    if not isinstance(word, str):
        return None
    matches = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _choices_hint(expected: str, given: object) -> str:
    values = _QUOTED.findall(expected) or [v for v in re.split(r", | or ", expected) if v]
    close = _closest(given, values)
    listing = ", ".join(values)
    return f"did you mean `{close}`? allowed: {listing}" if close else f"allowed: {listing}"


def _unknown_key_hint(loc: Loc) -> str:
    model = _container_at(loc[:-1])
    if model is None:
        return "remove this key"
    names = list(model.model_fields)
    if f"{loc[-1]}_env" in names:
        return (
            f"secrets never go in the configuration file: put the value in an environment variable and give that "
            f"variable's name in `{loc[-1]}_env`"
        )
    close = _closest(loc[-1], names)
    allowed = ", ".join(names)
    return f"did you mean `{close}`? allowed keys here: {allowed}" if close else f"allowed keys here: {allowed}"


def _missing_hint(loc: Loc) -> str:
    model = _container_at(loc[:-1])
    name = str(loc[-1])
    info = model.model_fields.get(name) if model is not None else None
    description = f" — {info.description}" if info is not None and info.description else ""
    return f"add `{name}:`{description}"


def _description(loc: Loc) -> str:
    _, info = resolve(loc)
    return (info.description or "") if info is not None else ""


def _range_hint(loc: Loc, error: ErrorDetails) -> str:
    names = [part for part in loc if isinstance(part, str)]
    last = names[-1] if names else ""
    if "points" in names:
        return (
            "coordinates are normalised: x and y go from 0 (left, top) to 1 (right, bottom); "
            "divide pixel coordinates by the image width and height"
        )
    if last == "retention_days":
        if error["type"] in ("less_than_equal", "less_than"):
            return f"the legal maximum is {MAX_RETENTION_DAYS} days (CSI L252-5, L3): set {MAX_RETENTION_DAYS} or less"
        return "keep recordings at least 1 day"
    if last in ("lat", "lon"):
        return "WGS84 degrees: latitude -90..90, longitude -180..180 (check they are not swapped)"
    return _description(loc)


def _length_hint(loc: Loc, error: ErrorDetails) -> str:
    names = [part for part in loc if isinstance(part, str)]
    if names[-1:] == ["points"]:
        if "directed_line" in names:
            return "a directed line has exactly 2 points, start then end; use an `analysis` zone for an area"
        return "a polygon needs at least 3 points [x, y] (at most 64)"
    if names[-1:] == ["purposes"]:
        return "list at least one purpose of CSI L251-2: " + ", ".join(p.value for p in Purpose)
    return _description(loc)


_PATTERN_DESCRIBED = frozenset(
    {"bucket", "prefix", "access_key_env", "secret_key_env", "password_env", "uri", "clip", "local_address", "path"}
    | {"languages", "titles"}
)
"""Fields with a pattern that is not an identifier's: their description says what they accept."""

_CHOICE_ERRORS = frozenset({"enum", "literal_error", "union_tag_invalid", "union_tag_not_found"})


def _choice(kind: str, names: list[str], error: ErrorDetails, ctx: dict[str, Any]) -> tuple[str, str]:
    """Message and hint for a value outside a closed list (purposes, kinds, zone kinds, directions)."""
    if kind == "enum" and "purposes" in names:
        close = _closest(error.get("input"), [p.value for p in Purpose])
        listing = ", ".join(p.value for p in Purpose)
        prefix = f"did you mean `{close}`? " if close else ""
        return (
            "not one of the purposes of CSI L251-2",
            f"{prefix}the 11 purposes allowed by CSI L251-2 (L2) are: {listing}",
        )
    if kind == "union_tag_invalid":
        message = "unknown zone kind" if "zones" in names else "unknown kind"
        return message, _choices_hint(str(ctx.get("expected_tags", "")), ctx.get("tag"))
    if kind == "union_tag_not_found":
        return "`kind` is missing", "add `kind:` — one of analysis, privacy_mask, directed_line"
    return "not an allowed value", _choices_hint(str(ctx.get("expected", "")), error.get("input"))


def explain(error: ErrorDetails) -> tuple[str, str]:
    """Message and hint for one pydantic error. ``loc`` in ``error`` must be the raw pydantic location."""
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    message = _PLAIN_MESSAGES.get(kind, error["msg"])
    names = [part for part in loc if isinstance(part, str)]
    hint = ""
    if kind == INVALID:
        return str(ctx.get("message", error["msg"])), str(ctx.get("hint", ""))
    if kind == "missing":
        hint = _missing_hint(loc)
    elif kind == "extra_forbidden":
        message = f"unknown field `{loc[-1]}`"
        hint = _unknown_key_hint(loc)
    elif kind in _CHOICE_ERRORS:
        message, hint = _choice(kind, names, error, ctx)
    elif kind in _RANGE_ERRORS:
        bound = next((ctx[key] for key in ("le", "lt", "ge", "gt") if key in ctx), "")
        message = f"{_RANGE_WORDS[kind]} {bound}"
        hint = _range_hint(loc, error)
    elif kind in ("too_short", "too_long"):
        message = message.replace("Tuple", "List").replace(" after validation", "")
        hint = _length_hint(loc, error)
    elif kind == "string_pattern_mismatch" and names[-1:] == ["insee_code"]:
        message = "not an INSEE commune code"
        hint = "5 characters, e.g. 69266 (Corsica: 2A004)"
    elif kind == "string_pattern_mismatch" and names[-1:] and names[-1] in _PATTERN_DESCRIBED:
        message = "not a valid value"
        hint = _description(loc)
    elif kind == "string_pattern_mismatch":
        message = "not a valid identifier"
        hint = "use lowercase letters, digits and inner hyphens, 1 to 64 characters (e.g. `cam-001`)"
    elif kind == "string_type":
        hint = 'put the value in quotes so that YAML reads it as text (e.g. insee_code: "69266")'
    elif kind.startswith("date"):
        hint = "write dates as YYYY-MM-DD, e.g. 2025-06-30"
    else:
        hint = _description(loc)
    return message, hint
