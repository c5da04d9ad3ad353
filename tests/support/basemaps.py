"""Small offline basemaps made by the tests (issue 24): raster tiles drawn with Pillow, packed into an MBTiles
(SQLite, rows in TMS order) or a PMTiles file (the ``pmtiles`` package's writer), as a city's GIS would export."""

from __future__ import annotations

import io
import math
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from PIL import Image, ImageDraw
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

Tiles = Mapping[tuple[int, int, int], bytes]
"""Tile bytes by XYZ ``(z, x, y)`` (row 0 at the north, as the map asks)."""


def raster_tile(colour: tuple[int, int, int], fmt: str = "PNG", mark: tuple[int, int, int] | None = None) -> bytes:
    """A 256-pixel tile of one colour; ``mark``: a square in its top-left quarter (to tell a tile from its mirror)."""
    image = Image.new("RGB", (256, 256), colour)
    if mark is not None:
        ImageDraw.Draw(image).rectangle((16, 16, 112, 112), fill=mark)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding ``(lon, lat)`` at zoom ``z`` (Web Mercator)."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def around(lon: float, lat: float, z: int, tile: bytes, radius: int = 2) -> dict[tuple[int, int, int], bytes]:
    """``tile`` at every position within ``radius`` tiles of ``(lon, lat)`` at zoom ``z``."""
    x0, y0 = tile_of(lon, lat, z)
    return {(z, x, y): tile for x in range(x0 - radius, x0 + radius + 1) for y in range(y0 - radius, y0 + radius + 1)}


def write_mbtiles(path: Path, tiles: Tiles, fmt: str = "png", metadata: Mapping[str, str] | None = None) -> Path:
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        zooms = sorted({z for z, _, _ in tiles})
        meta = {"name": path.stem, "format": fmt, "minzoom": str(zooms[0]), "maxzoom": str(zooms[-1])}
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list({**meta, **(metadata or {})}.items()))
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],  # TMS: row 0 at the south
        )
        db.commit()
    finally:
        db.close()
    return path


def write_pmtiles(path: Path, tiles: Tiles, tile_type: TileType = TileType.PNG, gzip_tiles: bool = False) -> Path:
    zooms = sorted({z for z, _, _ in tiles})
    with write(str(path)) as writer:
        for tile_id, data in sorted((zxy_to_tileid(z, x, y), data) for (z, x, y), data in tiles.items()):
            writer.write_tile(tile_id, data)
        writer.finalize(
            {
                "tile_type": tile_type,
                "tile_compression": Compression.GZIP if gzip_tiles else Compression.NONE,
                "min_zoom": zooms[0],
                "max_zoom": zooms[-1],
                "min_lon_e7": int(-180e7),
                "min_lat_e7": int(-85e7),
                "max_lon_e7": int(180e7),
                "max_lat_e7": int(85e7),
                "center_zoom": zooms[-1],
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"name": path.stem},
        )
    return path
