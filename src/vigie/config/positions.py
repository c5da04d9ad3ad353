"""Map a location in the parsed document (``communes.0.sites.1.cameras.2.id``) back to a line and column
of the YAML text, using the node tree ``yaml.compose`` builds (every node keeps its start mark)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from vigie.config.fields import Loc


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column in the YAML text."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True, slots=True)
class Located:
    """Where a location points in the text, and the location without pydantic's union tags."""

    position: Position
    loc: Loc
    exists: bool


def _entry(node: yaml.MappingNode, key: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
            return key_node, value_node
    return None


def _kind(node: yaml.MappingNode) -> str | None:
    entry = _entry(node, "kind")
    if entry is not None and isinstance(entry[1], yaml.ScalarNode):
        return str(entry[1].value)
    return None


class DocumentPositions:
    """Positions of the keys and items of one YAML document."""

    def __init__(self, root: yaml.Node) -> None:
        self._root = root

    def locate(self, loc: Loc) -> Located:
        """The key (for a mapping entry) or the item (for a list element) ``loc`` names.

        When part of ``loc`` does not exist in the text (a missing key), the position is that of the nearest
        existing parent. A part naming the ``kind`` of the mapping it applies to (pydantic's tag of a
        discriminated union, ``zones.0.analysis.points``) is dropped from the returned location.
        """
        node: yaml.Node | None = self._root
        position = Position.of(self._root.start_mark)
        clean: list[str | int] = []
        for part in loc:
            if node is None:
                clean.append(part)
                continue
            if isinstance(node, yaml.MappingNode):
                entry = _entry(node, part)
                if entry is not None:
                    position = Position.of(entry[0].start_mark)
                    node = entry[1]
                elif isinstance(part, str) and _kind(node) == part:
                    continue
                else:
                    node = None
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                position = Position.of(node.start_mark)
            else:
                node = None
            clean.append(part)
        return Located(position, tuple(clean), node is not None)


def duplicate_keys(root: yaml.Node) -> Iterator[tuple[Loc, Position]]:
    """Every key repeated in one mapping (YAML loaders silently keep the last one)."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
                if key and key in keys:
                    yield (*loc, key), Position.of(key_node.start_mark)
                keys.add(key)
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node.value))
