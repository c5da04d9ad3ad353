"""The ``map`` section: the basemap a city gives from its GIS (an MBTiles or PMTiles file), read offline, and where
the console's map opens (docs/map.md).

Nothing is read here (validators do no I/O): ``vigie config check`` opens the basemap with
:func:`vigie.storage.basemap.check_basemap`, and the service serves its tiles to signed-in people only
(``GET /api/map/tiles/{z}/{x}/{y}``). Without a basemap the map shows the site plans and the cameras on a plain
background.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from vigie.config.fields import ConfigModel, invalid

BASEMAP_SUFFIXES = (".mbtiles", ".pmtiles")


class MapSettings(ConfigModel):
    """The console's map: the basemap file, an optional style for a vector basemap, where the map opens."""

    basemap: Path | None = Field(
        default=None,
        title="Basemap",
        description="An `.mbtiles` (SQLite) or `.pmtiles` file of raster (PNG, JPEG, WebP) or vector (Mapbox Vector "
        "Tile) tiles, from the city's GIS, read by the server only (docs/map.md). Unset: the map shows the site "
        "plans and the cameras on a plain background.",
    )
    style: Path | None = Field(
        default=None,
        title="Style",
        description="A MapLibre style (JSON) for a vector basemap, whose source `basemap` the server points at its "
        "tiles; unset: a built-in style of the OpenMapTiles schema (water, land use, buildings, roads; no labels, so "
        "no fonts to serve). Ignored for a raster basemap.",
    )
    center: tuple[float, float] | None = Field(
        default=None,
        title="Centre",
        description="`[longitude, latitude]` (WGS84 degrees) where the map opens; unset: the basemap's own centre, "
        "or the middle of the cameras.",
    )
    zoom: float | None = Field(
        default=None,
        ge=0.0,
        le=22.0,
        allow_inf_nan=False,
        title="Zoom",
        description="Zoom level the map opens at (0 the whole world, 16 a few streets); unset: the basemap's, or "
        "what shows every camera.",
    )
    plan_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=64 * 1024,
        le=32 * 1024 * 1024,
        title="Largest site plan",
        description="Largest site plan image (PNG or JPEG) a person may upload, in bytes (8 MiB by default).",
    )

    @model_validator(mode="after")
    def _checked(self) -> MapSettings:
        if self.basemap is not None and self.basemap.suffix.lower() not in BASEMAP_SUFFIXES:
            raise invalid(
                f"map.basemap {self.basemap.name} is neither an .mbtiles nor a .pmtiles file",
                "export the city's basemap as MBTiles or PMTiles (docs/map.md), or remove `basemap`",
            )
        if self.center is not None:
            lon, lat = self.center
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise invalid(
                    f"map.center {list(self.center)} is not [longitude, latitude] in degrees",
                    "give `[lon, lat]`, longitude first (-180..180), latitude second (-90..90)",
                )
        return self
