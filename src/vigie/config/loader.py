"""Read one YAML configuration file, validate it, and report every problem at once with its line.

Reading is the only I/O here; the models' validators are pure. Nothing is ever written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from vigie.config.explain import explain
from vigie.config.fields import DUPLICATE_ID, Duplicate, Loc, dotted, find_duplicates
from vigie.config.issues import ConfigError, ConfigIssue, sorted_issues
from vigie.config.models import VigieConfig
from vigie.config.positions import DocumentPositions, duplicate_keys

_EXAMPLE = "see examples/metropole.yaml and docs/configuration.md"


class _Loader(yaml.SafeLoader):
    """Safe YAML loading that keeps dates as text, so that pydantic parses them and reports bad ones
    with their field instead of the YAML library failing without a position."""


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


ExtraCheck = Callable[[VigieConfig], Iterable[tuple[Loc, str, str]]]
"""A check that needs more than the configuration package knows (e.g. the event modules' own settings, which
the analytics package validates): yields ``(location, message, hint)`` for each problem of a valid file."""


def load_config(path: Path, checks: Sequence[ExtraCheck] = ()) -> VigieConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every issue."""
    return load_config_text(_read(path), str(path), checks)


def check_config(path: Path, checks: Sequence[ExtraCheck] = ()) -> list[ConfigIssue]:
    """Every issue in ``path``, in file order; empty when the file is valid."""
    try:
        load_config(path, checks)
    except ConfigError as err:
        return err.issues
    return []


def config_warnings(path: Path, config: VigieConfig, checks: Sequence[ExtraCheck]) -> list[ConfigIssue]:
    """What ``checks`` find in ``config`` (read from ``path``), located in the file like errors, for problems that
    leave the file usable (e.g. a camera not commissioned for want of signage, L7), in file order."""
    filename = str(path)
    root, _ = _parse(_read(path), filename)
    positions = DocumentPositions(root)
    issues = []
    for check in checks:
        for loc, message, hint in check(config):
            located = positions.locate(loc)
            pos = located.position
            issues.append(ConfigIssue(filename, pos.line, pos.column, dotted(located.loc), message, hint))
    return sorted_issues(issues)


def load_config_text(text: str, filename: str = "<config>", checks: Sequence[ExtraCheck] = ()) -> VigieConfig:
    """Validate configuration ``text``; ``filename`` is only used in issues."""
    root, data = _parse(text, filename)
    positions = DocumentPositions(root)
    issues = list(_duplicate_key_issues(filename, root))
    config: VigieConfig | None = None
    try:
        config = VigieConfig.model_validate(data)
    except ValidationError as err:
        issues.extend(_issue(filename, positions, error) for error in _relevant(err.errors()))
        issues.extend(_duplicate_id_issues(filename, positions, data))
    if config is not None:
        for check in checks:
            for loc, message, hint in check(config):
                located = positions.locate(loc)
                pos = located.position
                issues.append(ConfigIssue(filename, pos.line, pos.column, dotted(located.loc), message, hint))
    # Raised outside the `except`: a chained pydantic error would print input values (credentials).
    if issues or config is None:
        raise ConfigError(sorted_issues(issues))
    return config


def _whole_file(filename: str, message: str, hint: str = "") -> ConfigError:
    return ConfigError([ConfigIssue(filename, None, None, "", message, hint)])


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _whole_file(str(path), "file not found", f"check the path; {_EXAMPLE}") from None
    except IsADirectoryError:
        raise _whole_file(str(path), "is a directory, not a file", "give the path of the YAML file") from None
    except OSError as err:
        raise _whole_file(str(path), f"cannot read the file: {err.strerror or err}", "check permissions") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigIssue(str(path), line, None, "", "not UTF-8 text", "save the file as UTF-8")]
        ) from None


def _parse(text: str, filename: str) -> tuple[yaml.Node, Any]:
    """The node tree (for positions) and the data (for validation) of the one document in ``text``."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        raise ConfigError([_syntax_issue(filename, err)]) from None
    except yaml.YAMLError as err:
        raise _whole_file(filename, f"YAML error: {err}") from None
    finally:
        loader.dispose()
    if root is None or data is None:
        raise _whole_file(filename, "the file is empty", f"start with `version: 1`; {_EXAMPLE}")
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigIssue(
                    filename,
                    root.start_mark.line + 1,
                    root.start_mark.column + 1,
                    "",
                    "the top level must be a mapping of sections",
                    "write `version: 1`, then `storage:`, `api:` and `communes:` sections",
                )
            ]
        )
    return root, data


def _syntax_issue(filename: str, err: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if err.context:
        opened = err.context_mark
        started = f" started at line {opened.line + 1}" if opened and mark and opened.line != mark.line else ""
        message += f" ({err.context}{started})"
    if "\\t" in problem or "\t" in problem:
        hint = "YAML does not allow tabs for indentation: use spaces"
    else:
        hint = "check the indentation, and quote values that contain ': ' or ' #'"
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return ConfigIssue(filename, line, column, "", message, hint)


def _relevant(errors: list[ErrorDetails]) -> Iterator[ErrorDetails]:
    """Errors worth showing: uniqueness errors are re-derived from the text with exact lines, and a length
    error on a list is left out when an item of that list is itself invalid (it was dropped, hence short)."""
    locs = [tuple(error["loc"]) for error in errors]
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == DUPLICATE_ID:
            continue
        if error["type"] in ("too_short", "too_long") and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        yield error


def _issue(filename: str, positions: DocumentPositions, error: ErrorDetails) -> ConfigIssue:
    located = positions.locate(tuple(error["loc"]))
    message, hint = explain(error)
    pos = located.position
    return ConfigIssue(filename, pos.line, pos.column, dotted(located.loc), message, hint)


def _items(value: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    items = value.get(key) if isinstance(value, dict) else None
    if not isinstance(items, list):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]


def _ids(entries: Sequence[tuple[Loc, dict[str, Any]]]) -> list[tuple[str, Loc]]:
    return [(item["id"], (*loc, "id")) for loc, item in entries if isinstance(item.get("id"), str)]


def _duplicate_ids(data: Any) -> Iterator[tuple[str, Duplicate]]:
    """Repeated ids in the raw data: communes and cameras across the file, sites per commune, zones per
    camera. Works on invalid documents too, so duplicates are reported with every other issue."""
    communes: list[tuple[Loc, dict[str, Any]]] = [(("communes", c), commune) for c, commune in _items(data, "communes")]
    cameras: list[tuple[Loc, dict[str, Any]]] = []
    for loc, commune in communes:
        sites: list[tuple[Loc, dict[str, Any]]] = [((*loc, "sites", s), site) for s, site in _items(commune, "sites")]
        yield from (("site", d) for d in find_duplicates(_ids(sites)))
        for site_loc, site in sites:
            cameras.extend(((*site_loc, "cameras", k), camera) for k, camera in _items(site, "cameras"))
    yield from (("commune", d) for d in find_duplicates(_ids(communes)))
    yield from (("camera", d) for d in find_duplicates(_ids(cameras)))
    for loc, camera in cameras:
        zones: list[tuple[Loc, dict[str, Any]]] = [((*loc, "zones", z), zone) for z, zone in _items(camera, "zones")]
        yield from (("zone", d) for d in find_duplicates(_ids(zones)))


_SCOPES = {"commune": "in the file", "camera": "in the file", "site": "in its commune", "zone": "on its camera"}


def _duplicate_id_issues(filename: str, positions: DocumentPositions, data: Any) -> Iterator[ConfigIssue]:
    for what, duplicate in _duplicate_ids(data):
        here = positions.locate(duplicate.loc).position
        first = positions.locate(duplicate.first_loc).position
        yield ConfigIssue(
            filename,
            here.line,
            here.column,
            dotted(duplicate.loc),
            f"duplicate {what} id {duplicate.value!r}: already used at line {first.line}",
            f"{what} ids must be unique {_SCOPES[what]}; rename one of them",
        )


def _duplicate_key_issues(filename: str, root: yaml.Node) -> Iterator[ConfigIssue]:
    for loc, position in duplicate_keys(root):
        yield ConfigIssue(
            filename,
            position.line,
            position.column,
            dotted(loc),
            f"key `{loc[-1]}` appears twice in the same mapping",
            "keep one of them: YAML would silently use the last one",
        )
