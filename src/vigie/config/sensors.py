"""The ``sensors`` section (issue 21): radars and other sensors that publish readings to the MQTT broker of the
``mqtt`` section, and the link rules that show cameras on the wall, move a dome to a preset or bookmark a
recording when a reading matches.

Every link is an explicit rule written here (who may change this file is who may change what a sensor does), each
triggering is audited, and the vocabulary of actions is closed: a sensor acts on cameras only — never on a
loudspeaker, a barrier or anything acting on people (docs/integrations.md, *Sensors*). Off by default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from vigie.config.fields import ConfigModel, Slug, find_duplicates, invalid

SensorKindName = Literal["radar", "presence", "occupancy"]
PresetName = Annotated[str, Field(min_length=1, max_length=64)]
LabelText = Annotated[str, Field(min_length=1, max_length=200)]


class Position(ConfigModel):
    """Where the sensor is (WGS 84), for the map and the record; optional."""

    latitude: float = Field(ge=-90.0, le=90.0, title="Latitude", description="Degrees north (WGS 84).")
    longitude: float = Field(ge=-180.0, le=180.0, title="Longitude", description="Degrees east (WGS 84).")


class Sensor(ConfigModel):
    """One sensor: it publishes its readings on `<mqtt.topic_prefix>/<commune>/sensors/<id>`."""

    id: Slug = Field(title="Sensor id", description="Unique among sensors; the last level of its topic.")
    commune: Slug = Field(title="Commune", description="The commune (id of `communes`) the sensor belongs to.")
    kind: SensorKindName = Field(
        title="Kind",
        description="`radar` (a vehicle's speed and direction), `presence` (present or not) or `occupancy` (how "
        "full a zone is); a reading of another kind is dropped.",
    )
    name: str = Field(default="", max_length=200, title="Name", description="What operators call it.")
    position: Position | None = Field(default=None, title="Position", description="Where it is; optional.")


class SpeedAbove(ConfigModel):
    """A radar measured a vehicle faster than ``kmh``."""

    kind: Literal["speed_above"] = Field(title="Condition", description="`speed_above`.")
    kmh: float = Field(gt=0.0, le=400.0, title="Speed (km/h)", description="Triggers above this speed.")
    direction: Literal["approaching", "receding"] | None = Field(
        default=None, title="Direction", description="Only this direction; unset: both."
    )


class PresenceDetected(ConfigModel):
    """A presence sensor reports a presence."""

    kind: Literal["presence"] = Field(title="Condition", description="`presence`: a reading with `present: true`.")


class OccupancyAbove(ConfigModel):
    """An occupancy sensor reports a zone fuller than ``ratio``."""

    kind: Literal["occupancy_above"] = Field(title="Condition", description="`occupancy_above`.")
    ratio: float = Field(gt=0.0, le=1.0, title="Ratio", description="Triggers above this occupancy ratio (0..1).")


Condition = Annotated[SpeedAbove | PresenceDetected | OccupancyAbove, Field(discriminator="kind")]
CONDITION_KINDS: dict[str, SensorKindName] = {
    "speed_above": "radar",
    "presence": "presence",
    "occupancy_above": "occupancy",
}
"""The sensor kind each condition reads."""


class ShowOnWall(ConfigModel):
    """Show cameras on the consoles' wall (an event of the console's live feed, to whoever may see them)."""

    kind: Literal["show_on_wall"] = Field(title="Action", description="`show_on_wall`.")
    cameras: tuple[Slug, ...] = Field(min_length=1, max_length=16, title="Cameras", description="Cameras to show.")


class GotoPreset(ConfigModel):
    """Move a dome to one of its presets, as the system: never while a person drives it or it follows a target."""

    kind: Literal["goto_preset"] = Field(title="Action", description="`goto_preset`.")
    camera: Slug = Field(title="Dome", description="The dome's camera id (`kind: ptz`, with `onvif` settings).")
    preset: PresetName = Field(title="Preset", description="The preset's name (or token) on the dome.")


class Bookmark(ConfigModel):
    """Bookmark the recordings of cameras at the reading's time (a labelled mark operators find in playback)."""

    kind: Literal["bookmark"] = Field(title="Action", description="`bookmark`.")
    cameras: tuple[Slug, ...] = Field(min_length=1, max_length=16, title="Cameras", description="Cameras to mark.")
    label: LabelText = Field(title="Label", description="What the bookmark says (e.g. `vitesse > 70 km/h`).")


Action = Annotated[ShowOnWall | GotoPreset | Bookmark, Field(discriminator="kind")]


class SensorLink(ConfigModel):
    """One rule: when a reading of ``sensor`` meets ``when``, carry out ``then`` (audited as
    `sensor.link_triggered`), at most once per ``min_interval_s``."""

    id: Slug = Field(title="Rule id", description="Unique among links; named in the audit log.")
    sensor: Slug = Field(title="Sensor", description="The id of the sensor whose readings it reads.")
    when: Condition = Field(title="Condition", description="`speed_above`, `presence` or `occupancy_above`.")
    then: Action = Field(title="Action", description="`show_on_wall`, `goto_preset` or `bookmark`; nothing else.")
    min_interval_s: float = Field(
        default=60.0,
        ge=0.0,
        le=86_400.0,
        title="Minimum interval (s)",
        description="After a triggering, readings meeting the condition within this time trigger nothing (a dome "
        "is not sent back and forth by every car).",
    )


class SensorsSettings(ConfigModel):
    """Sensors publishing over the broker of the `mqtt` section (docs/integrations.md, *Sensors*): `vigie serve`
    reads their readings, keeps time-bucketed statistics only, and carries out the link rules. Off by default."""

    enabled: bool = Field(
        default=False,
        title="Enabled",
        description="Read the sensors' readings (needs `mqtt.enabled`); `false` (the default): nothing is read.",
    )
    bucket_s: int = Field(
        default=300,
        ge=60,
        le=86_400,
        title="Statistics bucket (s)",
        description="Length of a statistics bucket (default 5 minutes): readings are kept as totals per bucket.",
    )
    min_count: int = Field(
        default=5,
        ge=1,
        le=1000,
        title="Minimum count",
        description="A bucket with fewer readings keeps its count but not its values (sum and top of the speeds or "
        "ratios): one vehicle's speed is never kept (L33).",
    )
    statistics_retention_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        title="Statistics retention (days)",
        description="Statistics buckets older than this are deleted (default one year: a season compared with the "
        "last; GDPR art. 5(1)(e)). They identify no one (L33); bookmarks and other link events go with the "
        "recordings of their cameras instead (L3).",
    )
    sensors: tuple[Sensor, ...] = Field(default=(), max_length=10_000, title="Sensors", description="The sensors.")
    links: tuple[SensorLink, ...] = Field(
        default=(), max_length=10_000, title="Links", description="Rules linking a sensor's readings to cameras."
    )

    @model_validator(mode="after")
    def _links_name_sensors(self) -> SensorsSettings:
        ids = {"sensor ids": [s.id for s in self.sensors], "link ids": [link.id for link in self.links]}
        for what, values in ids.items():
            repeated = find_duplicates((value, (i,)) for i, value in enumerate(values))
            if repeated:
                raise invalid(f"sensors: {what} must be unique: {repeated[0].value!r} is given twice", "rename one")
        kinds = {s.id: s.kind for s in self.sensors}
        for link in self.links:
            kind = kinds.get(link.sensor)
            if kind is None:
                raise invalid(
                    f"sensors.links {link.id}: no sensor {link.sensor!r} in sensors.sensors",
                    f"use one of: {', '.join(sorted(kinds)) or '(no sensor configured)'}",
                )
            needs = CONDITION_KINDS[link.when.kind]
            if needs != kind:
                raise invalid(
                    f"sensors.links {link.id}: condition {link.when.kind} reads a {needs} sensor, and "
                    f"{link.sensor} is a {kind}",
                    "use `speed_above` for a radar, `presence` for a presence sensor, `occupancy_above` for an "
                    "occupancy sensor",
                )
        return self


def link_cameras(link: SensorLink) -> tuple[str, ...]:
    """The cameras a link acts on."""
    action = link.then
    return (action.camera,) if isinstance(action, GotoPreset) else action.cameras
