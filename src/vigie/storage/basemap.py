"""The city's basemap, read from its file (issue 24; docs/map.md): MBTiles (an SQLite database, rows in TMS order)
or PMTiles (one file of clustered tiles, read with the ``pmtiles`` package, the format's reference Python reader).

Read-only and offline: the file is opened read-only, nothing is fetched. A tile is handed on as stored: a vector
tile compressed with gzip (what both formats hold mostly) keeps its compression, and the route says so in
``Content-Encoding`` instead of inflating it here.
"""

from __future__ import annotations

import json
import mmap
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pmtiles.reader import Reader as PmtilesReader
from pmtiles.tile import Compression, TileType

from vigie.domain.basemap import BasemapError

MEDIA_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "pbf": "application/x-protobuf",
    "mvt": "application/x-protobuf",
}
VECTOR = frozenset({"pbf", "mvt"})
GZIP_MAGIC = b"\x1f\x8b"
MAX_ZOOM = 24


@dataclass(frozen=True, slots=True)
class BasemapInfo:
    """What the console needs to draw a basemap: its tiles' kind and format, zooms, and where it lies."""

    container: str
    """``mbtiles`` or ``pmtiles``."""
    format: str
    """``png``, ``jpg``, ``webp`` or ``pbf`` (vector)."""
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    """``(west, south, east, north)`` in degrees, when the file says."""
    center: tuple[float, float] | None
    """``(lon, lat)``, when the file says."""
    center_zoom: float | None
    name: str

    @property
    def vector(self) -> bool:
        return self.format in VECTOR

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


@dataclass(frozen=True, slots=True)
class Tile:
    data: bytes
    media_type: str
    gzip: bool


class Basemap(Protocol):
    info: BasemapInfo

    def tile(self, z: int, x: int, y: int) -> Tile | None: ...

    def close(self) -> None: ...


def open_basemap(path: Path) -> Basemap:
    """The basemap in ``path`` (by its suffix), checked: readable, a known tile format; or :class:`BasemapError`."""
    if not path.is_file():
        raise BasemapError(f"basemap {path}: no such file (export the city's basemap there, or change map.basemap)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".mbtiles":
            return MbtilesBasemap(path)
        if suffix == ".pmtiles":
            return PmtilesBasemap(path)
    except BasemapError:
        raise
    except (OSError, sqlite3.Error, ValueError, KeyError, json.JSONDecodeError) as err:
        raise BasemapError(f"basemap {path}: cannot be read ({err}); is it an intact {suffix[1:]} file?") from None
    raise BasemapError(f"basemap {path}: neither .mbtiles nor .pmtiles")


def _in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


class MbtilesBasemap:
    """An MBTiles 1.3 file: ``metadata`` (name/value) and ``tiles`` (zoom_level, tile_column, tile_row in TMS order:
    row 0 at the south, so XYZ's ``y`` is flipped), opened read-only (``mode=ro``)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()  # one connection shared by the server's threads, one query at a time
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        try:
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        except sqlite3.Error as err:
            self._db.close()
            raise BasemapError(f"basemap {path}: not an MBTiles database ({err}); export it again as MBTiles") from None
        fmt = str(meta.get("format", "")).lower()
        if fmt not in MEDIA_TYPES:
            self._db.close()
            raise BasemapError(
                f"basemap {path}: tile format {fmt or '(none in metadata)'} is not png, jpg, webp or pbf; "
                "set metadata `format` to the tiles' format"
            )
        if zooms is None or zooms[0] is None:
            self._db.close()
            raise BasemapError(f"basemap {path}: holds no tiles")
        self.info = BasemapInfo(
            container="mbtiles",
            format="pbf" if fmt == "mvt" else "jpg" if fmt == "jpeg" else fmt,
            min_zoom=int(meta.get("minzoom", zooms[0])),
            max_zoom=int(meta.get("maxzoom", zooms[1])),
            bounds=_floats(meta.get("bounds"), 4),
            center=_floats(meta.get("center"), 2),
            center_zoom=_center_zoom(meta.get("center")),
            name=str(meta.get("name", path.stem)),
        )

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        if not _in_range(z, x, y):
            return None
        row = (1 << z) - 1 - y  # XYZ (north first) to TMS (south first)
        with self._lock:
            found = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", (z, x, row)
            ).fetchone()
        if found is None or not found[0]:
            return None
        data = bytes(found[0])
        return Tile(data, self.info.media_type, data[:2] == GZIP_MAGIC)

    def close(self) -> None:
        self._db.close()


def _floats(text: str | None, count: int) -> Any:
    if not text:
        return None
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        return None
    return values[:count] if len(values) >= count else None


def _center_zoom(text: str | None) -> float | None:
    values = _floats(text, 3)
    return None if values is None else float(values[2])


_PMTILES_FORMATS = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}


class PmtilesBasemap:
    """A PMTiles v3 file, memory-mapped (the reader asks for byte ranges)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("rb")
        try:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            self._file.close()
            raise BasemapError(f"basemap {path}: empty file; export it again as PMTiles") from None
        self._reader = PmtilesReader(self._get)  # type: ignore[no-untyped-call]  # the package's API is unannotated
        try:
            header = self._reader.header()  # type: ignore[no-untyped-call]
        except Exception as err:  # the reader's own exceptions (no magic number, another version) carry no text
            self.close()
            raise BasemapError(
                f"basemap {path}: not a PMTiles v3 file ({type(err).__name__}); export it again with PMTiles v3"
            ) from None
        fmt = _PMTILES_FORMATS.get(header["tile_type"])
        if fmt is None:
            self.close()
            raise BasemapError(
                f"basemap {path}: tile type {header['tile_type'].name} is not served (png, jpg, webp or vector mvt)"
            )
        if header["tile_compression"] not in (Compression.NONE, Compression.GZIP, Compression.UNKNOWN):
            self.close()
            raise BasemapError(
                f"basemap {path}: tiles compressed with {header['tile_compression'].name}, which browsers do not "
                "inflate; export it with gzip or no tile compression"
            )
        e7 = 10_000_000
        self.info = BasemapInfo(
            container="pmtiles",
            format=fmt,
            min_zoom=int(header["min_zoom"]),
            max_zoom=int(header["max_zoom"]),
            bounds=(
                header["min_lon_e7"] / e7,
                header["min_lat_e7"] / e7,
                header["max_lon_e7"] / e7,
                header["max_lat_e7"] / e7,
            ),
            center=(header["center_lon_e7"] / e7, header["center_lat_e7"] / e7),
            center_zoom=float(header["center_zoom"]),
            name=path.stem,
        )

    def _get(self, offset: int, length: int) -> bytes:
        return self._map[offset : offset + length]

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        if not _in_range(z, x, y):
            return None
        try:
            data = self._reader.get(z, x, y)  # type: ignore[no-untyped-call]
        except (ValueError, EOFError, OSError) as err:  # a damaged directory
            raise BasemapError(f"basemap {self._path}: tile {z}/{x}/{y} cannot be read ({err})") from None
        if not data:
            return None
        data = bytes(data)
        return Tile(data, self.info.media_type, data[:2] == GZIP_MAGIC)

    def close(self) -> None:
        try:
            self._map.close()
        finally:
            self._file.close()
