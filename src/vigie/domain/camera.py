"""Cameras, their legal purposes and their health."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CameraKind(enum.StrEnum):
    """Physical kind of a camera; it decides which analyses make sense on it."""

    FIXED = "fixed"
    PTZ = "ptz"
    MULTISENSOR = "multisensor"
    """One stream showing several sensors at once (a quad view or a stitched panorama the housing composes).
    A housing whose sensors are separate video sources is one camera per sensor instead, each `fixed`, `ptz` or
    `thermal` and naming the housing as its `device` (what `vigie devices onboard` writes)."""
    THERMAL = "thermal"


class Purpose(enum.StrEnum):
    """The closed list of purposes of CSI art. L251-2 (L2): never free text."""

    PUBLIC_BUILDINGS = "public_buildings"
    """1° protection of public buildings and installations and their surroundings."""
    NATIONAL_DEFENCE = "national_defence"
    """2° safeguarding installations useful to national defence."""
    TRAFFIC_REGULATION = "traffic_regulation"
    """3° regulation of transport flows."""
    TRAFFIC_OFFENCES = "traffic_offences"
    """4° recording of traffic-rule offences."""
    CRIME_PREVENTION = "crime_prevention"
    """5° prevention of attacks on people and property in places exposed to assault, theft or drug trafficking,
    and of customs fraud in exposed areas."""
    TERRORISM_PREVENTION = "terrorism_prevention"
    """6° prevention of acts of terrorism."""
    NATURAL_TECHNOLOGICAL_RISKS = "natural_technological_risks"
    """7° prevention of natural or technological risks."""
    RESCUE_FIRE = "rescue_fire"
    """8° rescue of persons and defence against fire."""
    AMUSEMENT_PARKS = "amusement_parks"
    """9° safety of installations open to the public in amusement parks."""
    VEHICLE_INSURANCE = "vehicle_insurance"
    """10° enforcement of the obligation to insure motor vehicles."""
    ILLEGAL_DUMPING = "illegal_dumping"
    """11° prevention and recording of offences of abandoning rubbish, waste, materials or other objects."""


class HealthState(enum.StrEnum):
    """What an operator sees of a camera's stream."""

    STARTING = "starting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """One health report of a camera session. ``reason`` never contains credentials."""

    camera_id: str
    state: HealthState
    at: datetime
    reason: str = ""
    fps_in: float = 0.0
    """Frames analysed per second."""
    frames_dropped: int = 0
    fps_decoded: float = 0.0
    """Frames decoded per second: what the stream delivers (analysis takes ``fps_in`` of them)."""
    decode_s: float = 0.0
    """CPU seconds spent reading and decoding, per analysed frame, since the last report."""
    inference_s: float = 0.0
    """Seconds the analysis of one frame took (detection, tracking, modules), on average since the last report."""


@dataclass(frozen=True, slots=True)
class CameraLocation:
    """Where a camera stands (WGS84), for a map drawn from coordinates alone (no tile server)."""

    lat: float
    lon: float
    address: str | None = None


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What the platform shows about a camera (never its stream URL, which may carry credentials)."""

    id: str
    name: str
    commune_id: str
    site_id: str
    kind: CameraKind
    simulated: bool = False
    location: CameraLocation | None = None
    tags: tuple[str, ...] = ()
    """Short labels operators search the camera by (the configuration's ``tags``)."""


class StreamAlarmKind(enum.StrEnum):
    """Why a stream can no longer be trusted to show what its camera sees (L18)."""

    NO_PACKETS = "no_packets"
    """Nothing has arrived from the camera for a while: the stream is lost."""
    FROZEN_PICTURE = "frozen_picture"
    """Packets arrive but the picture no longer changes: a frozen encoder or a looped still image."""
    STREAM_CHANGED = "stream_changed"
    """The codec or the resolution changed: the camera was reconfigured or replaced."""
    SCENE_CHANGED = "scene_changed"
    """The whole view changed and stayed changed: the camera was moved, covered or substituted."""
    IMAGE_TOO_BLURRY = "image_too_blurry"
    """The camera itself reports its picture too blurred (ONVIF ``ImageTooBlurry``): sprayed, defocused."""
    IMAGE_TOO_DARK = "image_too_dark"
    """The camera itself reports its picture too dark (ONVIF ``ImageTooDark``): covered, its lighting cut."""
    TAMPERED = "tampered"
    """The camera itself reports tampering (ONVIF ``TamperDetector/Tamper``): its housing opened or hit."""


@dataclass(frozen=True, slots=True)
class StreamAlarm:
    """One transition of a stream alarm: raised once when an episode starts, ``cleared`` once when it ends.

    ``detail`` says what was seen, for the operator; it never contains credentials.
    """

    kind: StreamAlarmKind
    camera_id: str
    at: datetime
    detail: str
    cleared: bool = False
