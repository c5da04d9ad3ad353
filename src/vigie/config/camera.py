"""One camera: its streams, where it is, the prefectoral authorisation it runs under, its zones and the
parameters of its analysis frames.

Analysis parameters here never switch a module on: modules run only under a recorded activation (L22),
which lives in governance, not in this file.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from vigie.config.detectors import CameraDetector, HotBlobDetectorSettings, ModelDetectorSettings
from vigie.config.fields import (
    ConfigModel,
    Loc,
    NonEmptyText,
    Slug,
    duplicate_error,
    find_duplicates,
    first_repeated,
    invalid,
)
from vigie.config.signage import Signage
from vigie.config.zones import AnalysisZone, DirectedLineZone, PrivacyMaskZone, Zone
from vigie.domain.camera import CameraKind, Purpose
from vigie.domain.ptz import DomeOptics
from vigie.domain.redact import redact_url

MAX_RETENTION_DAYS = 30
"""CSI L252-5: recordings are destroyed after at most one month (L3)."""

STREAM_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "http", "https", "file")
"""``file`` replays recorded footage (tests, demonstrations, incident reconstruction)."""

DEFAULT_CREDENTIALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("admin", ""),
        ("admin", "admin"),
        ("admin", "12345"),
        ("admin", "123456"),
        ("admin", "password"),
        ("admin", "1234"),
        ("root", "root"),
        ("root", "pass"),
        ("root", "admin"),
        ("root", "12345"),
        ("service", "service"),
        ("supervisor", "supervisor"),
        ("ubnt", "ubnt"),
    }
)
"""Factory credentials of common cameras; enrolment refuses them (L17)."""

_STREAM_HINT = (
    "use rtsp://, rtsps://, http://, https:// or file:// (recorded footage), "
    "e.g. rtsp://cam-001.example.invalid/stream1"
)


def _check_stream_url(url: str) -> str:
    shown = redact_url(url)
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise invalid(f"stream URL contains spaces: {shown}", "percent-encode spaces as %20")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid(f"not a valid URL: {shown}", _STREAM_HINT) from None
    scheme = parts.scheme.lower()
    if scheme not in STREAM_SCHEMES:
        raise invalid(f"unsupported stream scheme {scheme or '(none)'!r} in {shown}", _STREAM_HINT)
    if scheme == "file":
        if not parts.path or parts.path == "/":
            raise invalid(f"file URL names no file: {shown}", "write file:///absolute/path/to/footage.mp4")
        return url
    if not parts.hostname:
        raise invalid(f"stream URL has no host: {shown}", _STREAM_HINT)
    if port == 0:
        raise invalid(f"stream URL has port 0: {shown}", "remove the port or give the camera's real port")
    if parts.username is not None and (parts.username, parts.password or "") in DEFAULT_CREDENTIALS:
        raise invalid(
            f"stream URL uses a camera's factory credentials: {shown}",
            "L17: set a unique account and password on the camera before enrolling it",
        )
    return url


StreamUrl = Annotated[str, AfterValidator(_check_stream_url)]
"""A camera stream URL; scheme rtsp, rtsps, http, https or file."""


class CameraSetting(enum.StrEnum):
    """What a camera films, which decides which legal frameworks can authorise analysis on it."""

    PUBLIC_STREET = "public_street"
    """The public way: the most restrictive setting, and the default."""
    TRANSIT = "transit"
    """Public transport: stations, platforms, vehicles."""
    PRIVATE_SITE = "private_site"
    """A private site or a place not open to the public (depot, technical premises)."""


WorldAngle = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]


class PtzPrivacyMask(ConfigModel):
    """A private window as a dome sees it, fixed in the world: a polygon of (pan, tilt) directions in degrees, which
    follows the picture wherever the dome points (L6). A mask drawn on a dome's picture is wrong as soon as it
    moves."""

    id: Slug = Field(title="Mask id", description="Identifier of the mask, unique within its camera.")
    description: str | None = Field(
        default=None, title="Description", description="What the mask hides, for the register and auditors."
    )
    points: tuple[tuple[WorldAngle, Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]], ...] = Field(
        min_length=3,
        max_length=64,
        title="Polygon",
        description="At least 3 directions [pan, tilt] in degrees (pan as the dome reports it, -180..180; tilt "
        "above the horizon, -90..90), in order around the window.",
    )


class DomeOpticsSettings(ConfigModel):
    """A dome's mechanics and lens, to turn the positions it reports (ONVIF generic spaces) into directions and a field
    of view: what projects its pan/tilt privacy masks into the picture. From the dome's data sheet."""

    pan_range_deg: float = Field(
        default=360.0,
        gt=0.0,
        le=360.0,
        title="Pan range",
        description="Degrees covered by the generic pan -1..1 (360: an endless dome, ±1 the same direction).",
    )
    tilt_min_deg: float = Field(
        default=-90.0,
        ge=-90.0,
        le=90.0,
        title="Lowest tilt",
        description="Degrees above the horizon at generic tilt -1 (negative: below; -90 looks straight down).",
    )
    tilt_max_deg: float = Field(
        default=10.0,
        ge=-90.0,
        le=90.0,
        title="Highest tilt",
        description="Degrees above the horizon at generic tilt 1.",
    )
    hfov_wide_deg: float = Field(
        default=60.0,
        gt=0.0,
        lt=180.0,
        title="Widest field of view",
        description="Horizontal field of view at zoom 0 (the data sheet's wide end), degrees.",
    )
    hfov_tele_deg: float = Field(
        default=3.0,
        gt=0.0,
        lt=180.0,
        title="Narrowest field of view",
        description="Horizontal field of view at zoom 1 (the data sheet's tele end), degrees.",
    )

    @model_validator(mode="after")
    def _ranges(self) -> DomeOpticsSettings:
        if self.tilt_min_deg >= self.tilt_max_deg:
            raise _error_at(
                ("tilt_max_deg",),
                f"the tilt range {self.tilt_min_deg}..{self.tilt_max_deg}° is empty",
                "give the lowest tilt in `tilt_min_deg` and the highest in `tilt_max_deg`",
            )
        if self.hfov_tele_deg > self.hfov_wide_deg:
            raise _error_at(
                ("hfov_tele_deg",),
                f"the tele field of view {self.hfov_tele_deg}° is wider than the wide one {self.hfov_wide_deg}°",
                "`hfov_wide_deg` is the field of view at zoom 0 (widest), `hfov_tele_deg` at zoom 1 (narrowest)",
            )
        return self

    def to_domain(self) -> DomeOptics:
        return DomeOptics(
            pan_range_deg=self.pan_range_deg,
            tilt_min_deg=self.tilt_min_deg,
            tilt_max_deg=self.tilt_max_deg,
            hfov_wide_deg=self.hfov_wide_deg,
            hfov_tele_deg=self.hfov_tele_deg,
        )


class OnvifSettings(ConfigModel):
    """Where the camera's ONVIF services answer (PTZ, camera-side events); its account is the camera's
    ``credentials``."""

    host: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")] = Field(
        title="Host", description="The device's address or name, without scheme or path (e.g. `10.20.3.41`)."
    )
    port: int = Field(default=80, ge=1, le=65535, title="Port", description="The device's HTTP port (80 mostly).")
    ptz_profile: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        title="PTZ profile",
        description="Media profile token whose PTZ configuration drives the dome (default: the first with one).",
    )
    home_after_s: float = Field(
        default=300.0,
        ge=10.0,
        le=86400.0,
        title="Return home after",
        description="Seconds without a command or tour after which the dome goes back to its home position.",
    )
    optics: DomeOpticsSettings = Field(
        default_factory=DomeOpticsSettings,
        title="Dome optics",
        description="Pan/tilt ranges and fields of view of a dome, which project its `ptz_privacy_masks` into "
        "the picture from the position it reports.",
    )
    position_poll_s: float = Field(
        default=0.1,
        ge=0.02,
        le=1.0,
        title="Position polling period",
        description="How often the recorder of a dome with `ptz_privacy_masks` asks the dome where it is "
        "(ONVIF GetStatus), seconds. Each frame waits for a position read after it, so this is also the delay "
        "the masks add to the recording and the live view.",
    )
    video_delay_s: float = Field(
        default=0.5,
        ge=0.0,
        le=5.0,
        title="Video delay",
        description="The longest time, seconds, between a picture's exposure in the dome and its arrival: the "
        "masks of a frame cover every position the dome reported during this time before the frame arrived, "
        "so a moving dome's masks are widened rather than late.",
    )
    video_source: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        title="Video source",
        description="Token of the device's video source (sensor) this camera shows, for a multi-sensor device "
        "(`vigie devices onboard` writes it): the device's events are sent to the sensor they name.",
    )
    events: bool = Field(
        default=True,
        title="Camera-side events",
        description="Subscribe to the device's events (PullPoint): tampering (scene changed, picture blurred or dark) "
        "shows on the camera as a stream alarm; its motion is used only under an activation of `motion`.",
    )


class Location(ConfigModel):
    """Where the camera is, for the map, the public list of cameras (L36) and export metadata (L14)."""

    lat: float = Field(ge=-90.0, le=90.0, title="Latitude", description="WGS84 latitude in degrees (-90..90).")
    lon: float = Field(ge=-180.0, le=180.0, title="Longitude", description="WGS84 longitude in degrees (-180..180).")
    address: str | None = Field(
        default=None, title="Address", description="Street address shown to operators and in exports."
    )
    description: str | None = Field(
        default=None,
        title="Description",
        description="What the camera looks at (e.g. `parvis de la gare, vers le nord`).",
    )
    heading_deg: float | None = Field(
        default=None,
        ge=0.0,
        lt=360.0,
        allow_inf_nan=False,
        title="Heading",
        description="Compass bearing the camera looks towards, in degrees (0 north, 90 east), for a fixed view: the "
        "direction of travel of the objects a case's search finds (the top of the picture is taken as this "
        "bearing, its right as 90° more). Unset: no direction is stored. For a dome: the bearing of its pan 0, "
        "which the map turns by the pan the dome reports.",
    )
    fov_deg: float | None = Field(
        default=None,
        gt=0.0,
        le=360.0,
        allow_inf_nan=False,
        title="Field of view",
        description="Horizontal angle the camera sees, in degrees, drawn on the map around its `heading_deg`; unset: "
        "60° for a fixed camera or a dome, 40° for a thermal one, 180° for a multi-sensor one (a dome's live angle "
        "comes from its zoom and `onvif.optics`).",
    )
    range_m: float | None = Field(
        default=None,
        gt=0.0,
        le=5000.0,
        allow_inf_nan=False,
        title="Range",
        description="How far the map draws the field of view, in metres; unset: 40 m for a fixed or multi-sensor "
        "camera, 100 m for a dome, 150 m for a thermal one.",
    )


class Authorisation(ConfigModel):
    """The prefectoral authorisation a camera runs under (CSI L252-1, L1): without a valid one it neither
    records nor streams."""

    reference: NonEmptyText = Field(
        title="Reference",
        description="Reference of the prefectoral decision (arrêté) authorising the camera, e.g. `2024-DS-0142`.",
    )
    valid_from: date = Field(title="Valid from", description="First day the authorisation applies (YYYY-MM-DD).")
    valid_until: date = Field(
        title="Valid until",
        description="Last day the authorisation applies (YYYY-MM-DD), after `valid_from`; operators are warned "
        "4 months before (L1).",
    )
    purposes: tuple[Purpose, ...] = Field(
        min_length=1,
        title="Purposes",
        description="Authorised purposes, from the closed list of CSI L251-2 (L2), each at most once.",
    )
    retention_days: int = Field(
        ge=1,
        le=MAX_RETENTION_DAYS,
        title="Retention (days)",
        description="Days recordings are kept before automatic deletion, 1..30: never more than 30 (L3).",
    )

    @field_validator("valid_until")
    @classmethod
    def _after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("valid_from")
        if isinstance(start, date) and value <= start:
            raise invalid(
                f"valid_until ({value.isoformat()}) is not after valid_from ({start.isoformat()})",
                "copy both dates from the prefectoral decision; valid_until must be later than valid_from",
            )
        return value

    @field_validator("purposes")
    @classmethod
    def _distinct_purposes(cls, value: tuple[Purpose, ...]) -> tuple[Purpose, ...]:
        repeated = first_repeated(value)
        if repeated is not None:
            raise invalid(
                f"purpose {repeated[1].value!r} is listed twice (item {repeated[0]})",
                "list each purpose once",
            )
        return value

    def is_valid_on(self, day: date) -> bool:
        """True when ``day`` lies within the authorisation (both ends included)."""
        return self.valid_from <= day <= self.valid_until


class MotionSettings(ConfigModel):
    """Motion detection by background subtraction on the analysis frames."""

    min_area: float = Field(
        default=0.002,
        gt=0.0,
        le=1.0,
        title="Minimum area",
        description="Smallest moving region that counts as motion, as a fraction of the frame area "
        "(0.002 = 0.2 % of the frame).",
    )
    threshold: float = Field(
        default=16.0,
        ge=1.0,
        le=1000.0,
        title="Threshold",
        description="Background-subtraction sensitivity (OpenCV MOG2 `varThreshold`): squared distance to the "
        "background model above which a pixel is foreground; higher is less sensitive.",
    )
    history: int = Field(
        default=500,
        ge=10,
        le=100_000,
        title="History (frames)",
        description="Analysis frames the background model remembers; at 5 fps, 500 frames is 100 seconds.",
    )
    cooldown_s: float = Field(
        default=5.0,
        ge=0.0,
        le=3600.0,
        title="Cooldown (seconds)",
        description="Observations of one camera less than this many seconds apart are merged into one event.",
    )


ModuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""An analysis module's id, as in the legal catalogue (``abandoned_object``)."""


class AnalysisSettings(ConfigModel):
    """How frames are prepared for analysis. These parameters never activate a module (L22)."""

    fps: float = Field(
        default=5.0,
        ge=0.5,
        le=30.0,
        title="Analysis frame rate",
        description="Frames per second handed to analysis (0.5..30); other decoded frames are dropped.",
    )
    width: int = Field(
        default=640,
        ge=160,
        le=3840,
        title="Analysis frame width",
        description="Width in pixels frames are scaled to before analysis (160..3840); the height keeps the "
        "aspect ratio.",
    )
    motion: MotionSettings = Field(
        default_factory=MotionSettings,
        title="Motion",
        description="Background-subtraction motion detection settings.",
    )
    modules: dict[ModuleId, dict[str, Any]] = Field(
        default_factory=dict,
        title="Event modules",
        description="Settings of this camera's event modules, by module id (`intrusion`, `abandoned_object`, "
        "`wrong_way`, `person_on_ground`, `crowd_movement`, `density`, `fire_start`, `weapon`, `loitering`, "
        "`stationary_vehicle`, `line_count`, `occupancy`; see docs/event-modules.md). Settings never switch a "
        "module on: it runs only while an approved activation covers this camera (L22).",
    )
    detector: CameraDetector = Field(
        default=None,
        title="Object detector",
        description="What finds objects on this camera, which are then tracked (the `tracking` module) and read "
        "by the event modules wherever an activation allows it: `{kind: model, name: NAME}` (a model registered "
        "with `vigie models add|install`, motion-gated; on a thermal camera it reads the grey picture) or "
        "`{kind: hot_blob}` (hot blobs, thermal cameras only), or on a thermal camera both: a model with "
        "`hot_spots: true` (or hot-blob settings). A bare name is short for `kind: model`. Unset: the "
        "motion detector only (no model needed).",
    )


def _error_at(loc: Loc, message: str, hint: str) -> ValidationError:
    """An error located below the field being validated, so that `vigie config check` names the exact line (a
    check on a camera that concerns its detector points at the detector, not at the camera's first line)."""
    error = InitErrorDetails(type=invalid(message, hint), loc=loc, input=None)
    return ValidationError.from_exception_data("Camera", [error])


CameraTag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    Field(title="Tag", description="A short label (1 to 40 characters), e.g. `tram`."),
]
"""A label of a camera, searched by the console's tree (issue 24)."""


class Camera(ConfigModel):
    """One camera: streams, location, authorisation, zones and analysis-frame settings."""

    id: Slug = Field(title="Camera id", description="Identifier, unique across the whole file (e.g. `cam-001`).")
    name: NonEmptyText = Field(title="Name", description="Name shown to operators (e.g. `Place de la Mairie`).")
    kind: CameraKind = Field(title="Kind", description="Physical kind: `fixed`, `ptz`, `multisensor` or `thermal`.")
    enabled: bool = Field(
        default=True,
        title="Enabled",
        description="When false the camera is kept in the configuration but neither recorded nor shown.",
    )
    main_stream: StreamUrl = Field(
        repr=False,  # may carry credentials; never in logs via repr()
        title="Main stream",
        description="URL of the full-quality stream, recorded as is (rtsp, rtsps, http, https or file).",
    )
    sub_stream: StreamUrl | None = Field(
        repr=False,  # may carry credentials; never in logs via repr()
        default=None,
        title="Sub stream",
        description="URL of the low-resolution stream used for live thumbnails and analysis; "
        "the main stream is used when absent.",
    )
    credentials: Slug | None = Field(
        default=None,
        title="Camera account",
        description="Name of the camera's account in the credentials store (`vigie cameras credentials set NAME "
        "--username USER`, the password asked there): the service adds it to the stream URLs, which then carry no "
        "`user:password@` themselves. Keeps passwords out of this file.",
    )
    onvif: OnvifSettings | None = Field(
        default=None,
        title="ONVIF device",
        description="The camera's ONVIF services (a dome is driven through them); needs `credentials`.",
    )
    device: Slug | None = Field(
        default=None,
        title="Device",
        description="The device (one housing, one address, one account) this camera is a video source of, for a "
        "multi-sensor camera: one camera per sensor, each naming the same `device`. Cameras of one device name the "
        "same `credentials` and the same `onvif` host and port. Absent: the camera is a device of its own.",
    )
    ptz_privacy_masks: tuple[PtzPrivacyMask, ...] = Field(
        default=(),
        title="Dome privacy masks",
        description="Privacy masks of a PTZ dome in pan/tilt degrees, projected into each frame from the dome's "
        "position; a dome with such masks and no position feedback is not recorded (never unmasked).",
    )
    location: Location = Field(title="Camera location", description="Where the camera is (WGS84).")
    tags: tuple[CameraTag, ...] = Field(
        default=(),
        max_length=16,
        title="Tags",
        description="Short labels operators search the camera by in the console's tree (e.g. `tram`, `parvis`, "
        "`école`): at most 16, each 1 to 40 characters; no personal data.",
    )
    setting: CameraSetting = Field(
        default=CameraSetting.PUBLIC_STREET,
        title="Setting",
        description="What the camera films: `public_street` (default, the most restrictive), `transit` or "
        "`private_site`; it decides which legal frameworks can authorise analysis on it.",
    )
    authorisation: Authorisation = Field(
        title="Prefectoral authorisation",
        description="The prefectoral authorisation the camera runs under (L1).",
    )
    signage: Signage | None = Field(
        default=None,
        title="Signage",
        description="The information panel covering this camera (L7), replacing its site's `signage` for it; unset: "
        "the site's. A camera covered by neither is not commissioned: neither recorded, streamed nor analysed.",
    )
    zones: tuple[Zone, ...] = Field(
        default=(),
        title="Zones",
        description="Analysis zones, privacy masks and directed lines, each with an id unique within the camera.",
    )
    analysis: AnalysisSettings = Field(
        default_factory=AnalysisSettings,
        title="Analysis frames",
        description="Frame rate, size and motion settings of the frames handed to analysis.",
    )

    @field_validator("credentials")
    @classmethod
    def _no_account_in_urls_too(cls, credentials: str | None, info: ValidationInfo) -> str | None:
        if credentials is None:
            return None
        for name in ("main_stream", "sub_stream"):
            url = info.data.get(name)
            if isinstance(url, str) and urlsplit(url).username is not None:
                raise _error_at(
                    (),
                    f"the camera names its account ({credentials}) and its {name} URL carries one too",
                    "remove `user:password@` from the URL: the account comes from the credentials store",
                )
        return credentials

    @field_validator("onvif")
    @classmethod
    def _onvif_needs_an_account(cls, onvif: OnvifSettings | None, info: ValidationInfo) -> OnvifSettings | None:
        if onvif is not None and not info.data.get("credentials"):
            raise _error_at(
                (),
                "an ONVIF device is reached with an account, and the camera names none",
                "set `credentials: NAME` (`vigie cameras credentials set NAME --username USER`)",
            )
        return onvif

    @field_validator("ptz_privacy_masks")
    @classmethod
    def _dome_masks_on_domes(
        cls, masks: tuple[PtzPrivacyMask, ...], info: ValidationInfo
    ) -> tuple[PtzPrivacyMask, ...]:
        if masks and info.data.get("kind") not in (None, CameraKind.PTZ):
            raise _error_at(
                (),
                f"pan/tilt masks are for PTZ domes, and this camera is `{info.data.get('kind')}`",
                "draw its masks on the picture under `zones` (kind: privacy_mask)",
            )
        duplicates = find_duplicates((mask.id, (index, "id")) for index, mask in enumerate(masks))
        if duplicates:
            raise duplicate_error("dome mask ids of a camera", duplicates)
        return masks

    @field_validator("zones")
    @classmethod
    def _unique_zone_ids(cls, zones: tuple[Zone, ...], info: ValidationInfo) -> tuple[Zone, ...]:
        duplicates = find_duplicates((zone.id, (index, "id")) for index, zone in enumerate(zones))
        if duplicates:
            raise duplicate_error("zone ids of a camera", duplicates)
        drawn = [zone.id for zone in zones if isinstance(zone, PrivacyMaskZone)]
        if drawn and info.data.get("kind") == CameraKind.PTZ:
            raise _error_at(
                (),
                f"privacy mask(s) {', '.join(drawn)} drawn on the picture of a PTZ dome: they stay in place on the "
                "screen while the dome moves, and the private window slides out from under them",
                "give them in pan/tilt degrees under `ptz_privacy_masks` (projected from the dome's position)",
            )
        return zones

    @field_validator("analysis")
    @classmethod
    def _detector_fits_the_camera(cls, analysis: AnalysisSettings, info: ValidationInfo) -> AnalysisSettings:
        kind = info.data.get("kind")
        if isinstance(analysis.detector, HotBlobDetectorSettings) and kind not in (None, CameraKind.THERMAL):
            raise _error_at(
                ("detector", "kind"),
                f"the hot_blob detector reads heat, and this camera is `{kind}`, not `thermal`",
                "use `kind: model` with a registered model on a visible-light camera, or set the camera's "
                "`kind: thermal` if it is one",
            )
        detector = analysis.detector
        spots = isinstance(detector, ModelDetectorSettings) and detector.hot_spots is not None
        if spots and kind not in (None, CameraKind.THERMAL):
            raise _error_at(
                ("detector", "hot_spots"),
                f"hot_spots read heat, and this camera is `{kind}`, not `thermal`",
                "remove `hot_spots` on a visible-light camera, or set the camera's `kind: thermal` if it is one",
            )
        return analysis

    @property
    def analysis_stream(self) -> str:
        """The stream analysis decodes: the sub stream when there is one, else the main stream."""
        return self.sub_stream or self.main_stream

    @property
    def privacy_masks(self) -> tuple[PrivacyMaskZone, ...]:
        return tuple(zone for zone in self.zones if isinstance(zone, PrivacyMaskZone))

    @property
    def analysis_zones(self) -> tuple[AnalysisZone, ...]:
        return tuple(zone for zone in self.zones if isinstance(zone, AnalysisZone))

    @property
    def directed_lines(self) -> tuple[DirectedLineZone, ...]:
        return tuple(zone for zone in self.zones if isinstance(zone, DirectedLineZone))
