"""The YAML description of a simulated camera scene.

Coordinates are normalised (0..1 of the frame width/height) so a scene survives a resolution change; positions
of actors are their *foot point* (bottom-centre of their box), which is where a person or a vehicle touches the
ground.  Paths may start or end slightly outside the frame (down to -0.5, up to 1.5) so actors can walk in and
out.  Validation is pure (no I/O in validators); ``load_scene`` is the only function that reads a file.
"""

from __future__ import annotations

import enum
import itertools
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigie.sim.siv import siv_problem

Coord = Annotated[float, Field(ge=-0.5, le=1.5)]
"""A normalised coordinate of a path; slightly outside the frame is allowed so actors can enter and leave."""
InFrame = Annotated[float, Field(ge=0.0, le=1.0)]
"""A normalised coordinate that must lie inside the frame (zones, regions)."""
PathPoint = tuple[Coord, Coord]
FramePoint = tuple[InFrame, InFrame]
Seconds = Annotated[float, Field(ge=0.0, le=86_400.0)]
Duration = Annotated[float, Field(gt=0.0, le=86_400.0)]
Colour = tuple[
    Annotated[int, Field(ge=0, le=255)], Annotated[int, Field(ge=0, le=255)], Annotated[int, Field(ge=0, le=255)]
]


class SceneError(ValueError):
    """A scene that cannot be loaded or rendered; the message names the file and the field at fault."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextureKind(enum.StrEnum):
    """How the static background is generated."""

    STREET = "street"
    """Buildings, an upper pavement (y 0.40-0.50), a two-lane road (y 0.50-0.80) and a lower pavement."""
    NOISE = "noise"
    """Smoothed coloured noise only."""
    PLAIN = "plain"
    """A flat grey with faint noise (useful for tests that need an easy background)."""


class ActorKind(enum.StrEnum):
    """What an actor is; it decides its shape and its MOTChallenge class."""

    PERSON = "person"
    VEHICLE = "vehicle"
    BAG = "bag"


class VehicleView(enum.StrEnum):
    """How a vehicle is seen: from the side (a street camera across the road) or from behind (a plate-reading
    camera looking along a lane, the plate in the middle of the bumper)."""

    SIDE = "side"
    REAR = "rear"


class SizeUnit(enum.StrEnum):
    NORM = "norm"
    PX = "px"


class Style(enum.StrEnum):
    """How people and vehicles are rendered."""

    DRAWN = "drawn"
    """Drawn sprites over a generated background (no data needed)."""
    PHOTOREAL = "photoreal"
    """Cut-outs of real people and vehicles over a real background (``vigie.sim.cutouts``): the scene is laid out
    for that background and cannot be rendered without the data folder the cut-outs come from."""


class Background(_Model):
    texture: TextureKind = Field(
        default=TextureKind.STREET, title="Texture", description="Kind of static background to generate."
    )
    style: Style = Field(
        default=Style.DRAWN,
        title="Style",
        description="'drawn' (sprites; any scene may still be rendered photo-real with --photoreal DATA_DIR) or "
        "'photoreal' (laid out for a real background: rendering it needs --photoreal DATA_DIR).",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        title="Texture seed",
        description="Seed of the background texture; defaults to the scene seed.",
    )
    lighting_noise: float = Field(
        default=2.0,
        ge=0.0,
        le=30.0,
        title="Lighting noise",
        description="Standard deviation, in grey levels, of the per-frame pixel noise (sensor noise).",
    )
    lighting_drift: float = Field(
        default=3.0,
        ge=0.0,
        le=40.0,
        title="Lighting drift",
        description="Amplitude, in grey levels, of the slow global brightness change (clouds, auto-exposure).",
    )


class Size(_Model):
    w: float = Field(gt=0.0, title="Width", description="Width: fraction of the frame width, or pixels.")
    h: float = Field(gt=0.0, title="Height", description="Height: fraction of the frame height, or pixels.")
    unit: SizeUnit = Field(
        default=SizeUnit.NORM, title="Unit", description="'norm' (fraction of the frame) or 'px' (pixels)."
    )


class Sizes(_Model):
    """The scene's default size of each kind of actor (at the perspective's reference line when there is one)."""

    person: Size | None = Field(default=None, title="Person", description="Default size of a person.")
    vehicle: Size | None = Field(default=None, title="Vehicle", description="Default size of a vehicle.")
    bag: Size | None = Field(default=None, title="Bag", description="Default size of a bag.")


class Perspective(_Model):
    """A ground plane seen from a camera above it: an actor's size shrinks linearly with the height of its foot
    point in the picture, to nothing at the horizon (how a person's height in pixels goes with the row of their
    feet on a flat ground; e.g. TUD-Campus: 129 px at row 338, 308 px at row 459 of 480 → horizon 0.52)."""

    horizon_y: InFrame = Field(
        le=0.95, title="Horizon", description="Normalised row where actors would shrink to nothing (the horizon)."
    )
    reference_y: InFrame = Field(
        default=1.0,
        title="Reference row",
        description="Normalised row where an actor has its given size (default the bottom of the picture).",
    )

    @model_validator(mode="after")
    def _reference_below_horizon(self) -> Perspective:
        if self.reference_y <= self.horizon_y + 0.05:
            raise ValueError("reference_y must lie at least 0.05 below horizon_y")
        return self

    def scale(self, y: float) -> float:
        """The size factor of an actor whose foot point is at normalised row ``y`` (never below 0.05)."""
        return max(0.05, (y - self.horizon_y) / (self.reference_y - self.horizon_y))


class Waypoint(_Model):
    t: Seconds = Field(title="Time", description="Seconds from the start of the scene.")
    x: Coord = Field(title="X", description="Normalised x of the actor's foot point.")
    y: Coord = Field(title="Y", description="Normalised y of the actor's foot point.")


class Actor(_Model):
    kind: ActorKind = Field(title="Kind", description="person, vehicle or bag.")
    size: Size | None = Field(default=None, title="Size", description="Box size; a default per kind if absent.")
    color: Colour | None = Field(
        default=None,
        title="Colour",
        description="Main colour as [B, G, R]; drawn from the scene seed if absent.",
    )
    path: list[Waypoint] = Field(
        min_length=1,
        title="Path",
        description="Waypoints with strictly increasing times; the actor moves linearly between them and "
        "stays at the first/last waypoint before/after.",
    )
    appear_s: Seconds | None = Field(
        default=None, title="Appears at", description="Seconds; defaults to the first waypoint's time."
    )
    disappear_s: Seconds | None = Field(
        default=None, title="Disappears at", description="Seconds; the actor stays until the end if absent."
    )
    fall_s: Seconds | None = Field(
        default=None,
        title="Falls at",
        description="Persons only: from this time the person lies on the ground (wide, low box).",
    )
    view: VehicleView = Field(
        default=VehicleView.SIDE,
        title="View",
        description="Vehicles only: 'side' or 'rear' (seen from behind, with its number plate).",
    )
    plate: str | None = Field(
        default=None,
        max_length=9,
        title="Plate",
        description="Vehicles seen from the rear: the SIV number on their plate (AB-123-CD); drawn from the scene "
        "seed if absent.",
    )

    @model_validator(mode="after")
    def _check(self) -> Actor:
        times = [w.t for w in self.path]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("path times must be strictly increasing")
        start = self.appear_s if self.appear_s is not None else times[0]
        if self.disappear_s is not None and self.disappear_s <= start:
            raise ValueError("disappear_s must be after the appearance time")
        if self.fall_s is not None and self.kind is not ActorKind.PERSON:
            raise ValueError("only a person can fall (fall_s)")
        if self.kind is not ActorKind.VEHICLE and (self.view is not VehicleView.SIDE or self.plate is not None):
            raise ValueError("only a vehicle has a view and a plate")
        if self.plate is not None and self.view is not VehicleView.REAR:
            raise ValueError("a plate is drawn on a vehicle seen from the rear only: set view: rear")
        if self.plate is not None and (problem := siv_problem(self.plate)) is not None:
            raise ValueError(problem)
        return self


class NormBox(_Model):
    x: InFrame = Field(title="X", description="Normalised left edge.")
    y: InFrame = Field(title="Y", description="Normalised top edge.")
    w: float = Field(gt=0.0, le=1.0, title="Width", description="Normalised width.")
    h: float = Field(gt=0.0, le=1.0, title="Height", description="Normalised height.")


class _Situation(_Model):
    start_s: Seconds = Field(title="Start", description="Seconds from the start of the scene.")


class EnterZone(_Situation):
    kind: Literal["enter_zone"] = Field(title="Kind", description="A person walks into a polygon zone.")
    zone: list[FramePoint] = Field(min_length=3, title="Zone", description="Polygon as [[x, y], ...].")
    start: PathPoint = Field(title="Start", description="Where the person comes from.")
    target: PathPoint = Field(title="Target", description="Where the person stops, inside the zone.")
    walk_s: Duration = Field(default=6.0, title="Walk time", description="Seconds from start to target.")
    dwell_s: Seconds = Field(default=3.0, title="Dwell", description="Seconds spent at the target.")

    @model_validator(mode="after")
    def _target_inside(self) -> EnterZone:
        if not point_in_polygon(self.target, self.zone):
            raise ValueError("target must be inside the zone")
        if point_in_polygon(self.start, self.zone):
            raise ValueError("start must be outside the zone")
        return self


class BagLeft(_Situation):
    kind: Literal["bag_left"] = Field(title="Kind", description="A person drops a bag and walks away.")
    start: PathPoint = Field(title="Start", description="Where the person comes from.")
    drop: PathPoint = Field(title="Drop point", description="Where the bag is left.")
    exit: PathPoint = Field(title="Exit", description="Where the person goes after dropping the bag.")
    walk_s: Duration = Field(default=5.0, title="Walk time", description="Seconds from start to drop point.")
    pause_s: Seconds = Field(default=1.0, title="Pause", description="Seconds standing before leaving.")
    leave_s: Duration = Field(default=5.0, title="Leave time", description="Seconds from drop point to exit.")


class PersonFalls(_Situation):
    kind: Literal["person_falls"] = Field(title="Kind", description="A person walks, falls and stays down.")
    start: PathPoint = Field(title="Start", description="Where the person comes from.")
    fall_at: PathPoint = Field(title="Fall point", description="Where the person falls.")
    walk_s: Duration = Field(default=5.0, title="Walk time", description="Seconds before the fall.")


class VehicleStops(_Situation):
    kind: Literal["vehicle_stops"] = Field(title="Kind", description="A vehicle drives in and stays stopped.")
    start: PathPoint = Field(title="Start", description="Where the vehicle comes from.")
    stop: PathPoint = Field(title="Stop point", description="Where the vehicle stops.")
    drive_s: Duration = Field(default=4.0, title="Drive time", description="Seconds from start to stop.")


class WrongWay(_Situation):
    kind: Literal["wrong_way"] = Field(
        title="Kind", description="A flow of people one way and one person walking against it."
    )
    start: PathPoint = Field(title="Flow start", description="Where the flow comes from.")
    end: PathPoint = Field(title="Flow end", description="Where the flow goes.")
    count: int = Field(default=8, ge=1, le=100, title="Count", description="People in the flow.")
    spread: float = Field(
        default=0.03, ge=0.0, le=0.3, title="Spread", description="Lateral spread of the flow (normalised)."
    )
    duration_s: Duration = Field(default=12.0, title="Duration", description="Seconds over which people start.")
    crossing_s: Duration = Field(default=8.0, title="Crossing time", description="Seconds to walk the lane.")
    wrong_after_s: Seconds = Field(
        default=3.0, title="Wrong-way delay", description="Seconds after start_s when the wrong-way walker starts."
    )


class Crowd(_Situation):
    kind: Literal["crowd"] = Field(title="Kind", description="People gather to a point, then scatter.")
    center: FramePoint = Field(title="Centre", description="Gathering point.")
    count: int = Field(default=8, ge=3, le=100, title="Count", description="People in the crowd.")
    radius: float = Field(
        default=0.4, gt=0.0, le=1.0, title="Radius", description="Normalised distance people come from."
    )
    gathered_radius: float = Field(
        default=0.06, gt=0.0, le=0.5, title="Gathered radius", description="Spread once gathered."
    )
    gather_s: Duration = Field(default=6.0, title="Gathering time", description="Seconds to gather.")
    stay_s: Duration = Field(default=6.0, title="Stay", description="Seconds spent gathered.")
    scatter_s: Duration = Field(default=5.0, title="Scatter time", description="Seconds to scatter away.")


class LightFlicker(_Situation):
    kind: Literal["light_flicker"] = Field(
        title="Kind", description="A region's brightness flickers: a hard negative for motion detectors."
    )
    region: NormBox = Field(title="Region", description="The flickering region.")
    duration_s: Duration = Field(default=5.0, title="Duration", description="Seconds of flicker.")
    amplitude: float = Field(default=60.0, gt=0.0, le=200.0, title="Amplitude", description="Grey levels.")
    frequency_hz: float = Field(default=3.0, gt=0.0, le=30.0, title="Frequency", description="Flicker frequency.")


class FireStart(_Situation):
    kind: Literal["fire_start"] = Field(
        title="Kind", description="A flame appears, flickers and grows (a bin or a scooter catching fire)."
    )
    base: FramePoint = Field(title="Base", description="Where the flame stands (its bottom centre).")
    size: tuple[float, float] = Field(
        default=(0.03, 0.06), title="Size", description="Normalised width and height of the flame when it appears."
    )
    growth: float = Field(default=3.0, gt=1.0, le=20.0, title="Growth", description="Area multiplied by this.")
    grow_s: Duration = Field(default=8.0, title="Growth time", description="Seconds over which the area grows.")
    duration_s: Duration = Field(default=20.0, title="Duration", description="Seconds the fire burns.")


class Traffic(_Situation):
    kind: Literal["traffic"] = Field(
        title="Kind", description="Background traffic: people or vehicles passing along a lane (no event)."
    )
    actor: ActorKind = Field(default=ActorKind.PERSON, title="Actor", description="person or vehicle.")
    start: PathPoint = Field(title="Lane start", description="Where each passer-by comes from.")
    end: PathPoint = Field(title="Lane end", description="Where each passer-by goes.")
    every_s: Duration = Field(default=4.0, title="Interval", description="Mean seconds between passers-by.")
    crossing_s: Duration = Field(default=8.0, title="Crossing time", description="Mean seconds to cross.")
    spread: float = Field(default=0.02, ge=0.0, le=0.3, title="Spread", description="Lateral spread (normalised).")
    end_s: Seconds | None = Field(
        default=None, title="End", description="Seconds after which nobody new starts; the scene end if absent."
    )
    view: VehicleView = Field(
        default=VehicleView.SIDE,
        title="View",
        description="Vehicles only: 'side', or 'rear' (seen from behind, each with an SIV plate drawn from the seed).",
    )
    size: Size | None = Field(default=None, title="Size", description="Box size; a default per kind if absent.")

    @model_validator(mode="after")
    def _vehicle_view(self) -> Traffic:
        if self.view is not VehicleView.SIDE and self.actor is not ActorKind.VEHICLE:
            raise ValueError("only vehicles have a view")
        return self


Situation = Annotated[
    EnterZone | BagLeft | PersonFalls | VehicleStops | WrongWay | Crowd | LightFlicker | FireStart | Traffic,
    Field(discriminator="kind"),
]


class Scene(_Model):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        title="Name",
        description="Short name, also the RTSP mount name (lowercase letters, digits, - and _).",
    )
    seed: int = Field(ge=0, title="Seed", description="Seed of everything random in the scene.")
    width: int = Field(default=640, ge=64, le=3840, multiple_of=2, title="Width", description="Pixels.")
    height: int = Field(default=360, ge=64, le=2160, multiple_of=2, title="Height", description="Pixels.")
    fps: int = Field(default=10, ge=1, le=60, title="Frame rate", description="Frames per second.")
    duration_s: Duration = Field(title="Duration", description="Seconds of video.")
    background: Background = Field(
        default_factory=Background, title="Background", description="Static background and lighting."
    )
    sizes: Sizes = Field(
        default_factory=Sizes, title="Sizes", description="Default actor sizes of the scene (else the built-in ones)."
    )
    perspective: Perspective | None = Field(
        default=None,
        title="Perspective",
        description="Actors shrink towards a horizon (a ground plane); without it every actor keeps its size.",
    )
    actors: list[Actor] = Field(
        default_factory=list, title="Actors", description="Explicitly scripted actors (ids 1..n in order)."
    )
    situations: list[Situation] = Field(
        default_factory=list,
        title="Situations",
        description="Scripted situations; they add actors and ground-truth events.",
    )

    @property
    def frame_count(self) -> int:
        """Number of frames: ``round(duration_s * fps)``, at least one."""
        return max(1, round(self.duration_s * self.fps))

    @model_validator(mode="after")
    def _situations_in_time(self) -> Scene:
        for index, situation in enumerate(self.situations):
            if situation.start_s >= self.duration_s:
                raise ValueError(f"situations.{index} starts after the end of the scene")
        return self


def point_in_polygon(point: tuple[float, float], polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule; points on an edge may fall either way (scenes keep targets well inside zones)."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def load_scene(path: Path | str) -> Scene:
    """Read and validate a scene file; every problem is reported as ``SceneError`` naming the file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SceneError(f"{path}: cannot read scene file: {err.strerror or err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SceneError(f"{path}: invalid YAML: {err}") from err
    if not isinstance(data, dict):
        raise SceneError(f"{path}: a scene must be a YAML mapping, got {type(data).__name__}")
    try:
        return Scene.model_validate(data)
    except ValidationError as err:
        raise SceneError(f"{path}: invalid scene:\n{format_validation_error(err)}") from err


def format_validation_error(err: ValidationError) -> str:
    """One line per problem, ``field.path: message``, without pydantic's URLs."""
    lines = []
    for problem in err.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "(scene)"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)
