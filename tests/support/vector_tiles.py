"""Mapbox Vector Tiles (MVT 2.1) of a few lines, for the tests' vector basemaps (issue 24): what a city's
OpenMapTiles-schema export holds, reduced to named roads.

Written by hand (protobuf's wire format: varints, length-delimited fields, zig-zag geometry) because the only
maintained Python encoder (``mapbox-vector-tile``) would add shapely and pyclipper to the lock for a test helper;
the spec: https://github.com/mapbox/vector-tile-spec/tree/master/2.1."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

EXTENT = 4096
"""Tile coordinates per side (the spec's default)."""

Line = tuple[Sequence[tuple[float, float]], Mapping[str, str]]
"""A line's ``(lon, lat)`` points and its string properties."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _uint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _packed(field: int, values: Sequence[int]) -> bytes:
    return _bytes(field, b"".join(_varint(v) for v in values))


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 31)


def _tile_point(lon: float, lat: float, z: int, x: int, y: int) -> tuple[int, int]:
    n = 1 << z
    gx = (lon + 180.0) / 360.0 * n
    gy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return round((gx - x) * EXTENT), round((gy - y) * EXTENT)


def _line_geometry(points: Sequence[tuple[int, int]]) -> list[int]:
    commands = [1 | 1 << 3]  # MoveTo, one point
    cx = cy = 0
    for i, (px, py) in enumerate(points):
        if i == 1:
            commands.append(2 | (len(points) - 1) << 3)  # LineTo, the other points
        commands += [_zigzag(px - cx), _zigzag(py - cy)]
        cx, cy = px, py
    return commands


def _layer(name: str, lines: Sequence[Line], z: int, x: int, y: int) -> bytes:
    keys: list[str] = []
    values: list[str] = []
    features = b""
    for number, (points, properties) in enumerate(lines, start=1):
        tags: list[int] = []
        for key, value in properties.items():
            if key not in keys:
                keys.append(key)
            if value not in values:
                values.append(value)
            tags += [keys.index(key), values.index(value)]
        geometry = _line_geometry([_tile_point(lon, lat, z, x, y) for lon, lat in points])
        feature = _uint(1, number) + _packed(2, tags) + _uint(3, 2) + _packed(4, geometry)  # type 2: LineString
        features += _bytes(2, feature)
    body = _bytes(1, name.encode()) + features
    body += b"".join(_bytes(3, k.encode()) for k in keys)
    body += b"".join(_bytes(4, _bytes(1, v.encode())) for v in values)  # Value.string_value
    body += _uint(5, EXTENT) + _uint(15, 2)
    return body


def vector_tile(layers: Mapping[str, Sequence[Line]], z: int, x: int, y: int) -> bytes:
    """The MVT of tile ``(z, x, y)`` holding ``layers``' lines (points given in degrees, placed in this tile's
    coordinates; parts beyond the tile's edge are kept, as the renderer clips)."""
    return b"".join(_bytes(3, _layer(name, lines, z, x, y)) for name, lines in layers.items())
