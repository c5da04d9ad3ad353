"""Loudspeakers with pre-recorded messages: the ``speakers`` section (issue 21).

A commune records a few messages (``the park closes``, ``leave the track``) and mounts IP speakers near its
cameras. A **person** plays a message from the console or the API — never an algorithm, a rule or an alert (the
service refuses anything but a logged-in person's session: docs/integrations.md, "Loudspeakers"). This section
only declares: the catalogue of messages per commune (what each says, in which languages, who may play it, where
each kind of speaker finds it) and the speakers (their commune, zone, linked cameras and driver). Empty by default:
no speaker, nothing played. Passwords come from environment variables named here, read by the runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from vigie.config.fields import ConfigModel, NonEmptyText, Slug, find_duplicates, invalid

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
LANGUAGE_PATTERN = r"^[a-z]{2}$"
CLIP_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""A clip number or name as an IP speaker stores it: no space, slash or query character (it goes in a URL)."""
SIP_URI_PATTERN = r"^sips?:[A-Za-z0-9_.!~*'()&=+$,;?/%-]{1,64}@[A-Za-z0-9.:\[\]-]{1,253}(?:;[A-Za-z0-9=_.-]{1,64})*$"
SpeakerRole = Literal["operator", "supervisor"]
SPEAKER_ROLES: tuple[SpeakerRole, ...] = ("operator", "supervisor")
"""The roles holding ``play_speaker_message`` (vigie.domain.users): a message may be opened to these only."""

Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]


class SpeakerMessage(ConfigModel):
    """One pre-recorded message of a commune's catalogue."""

    id: Slug = Field(title="Message id", description="Identifier, unique across the file (e.g. `park-closing`).")
    commune: Slug = Field(
        title="Commune", description="Id of the commune whose catalogue holds the message (played on its speakers)."
    )
    titles: dict[Language, NonEmptyText] = Field(
        title="Titles",
        description="What the console shows, per language code (`fr` required, e.g. `{fr: Fermeture du parc, en: "
        "The park closes}`).",
    )
    languages: tuple[Language, ...] = Field(
        min_length=1,
        max_length=8,
        title="Spoken languages",
        description="Languages spoken in the recording, in order (ISO 639-1 codes, e.g. `[fr, en]`).",
    )
    roles: tuple[SpeakerRole, ...] = Field(
        default=SPEAKER_ROLES,
        min_length=1,
        title="Roles allowed to play",
        description="Roles whose holders may play it: `operator`, `supervisor` (default both). A message for "
        "serious situations can be kept to supervisors.",
    )
    clip: str | None = Field(
        default=None,
        pattern=CLIP_PATTERN,
        title="Clip on the speaker",
        description="Number or name of the clip stored on HTTP speakers (e.g. `3`); required when an `http` "
        "speaker of the commune exists.",
    )
    audio_file: Path | None = Field(
        default=None,
        title="Audio file",
        description="WAV file (mono, 8 kHz or more, 16-bit) sent over SIP calls; required when a `sip` speaker of "
        "the commune exists.",
    )

    @field_validator("titles")
    @classmethod
    def _french_title(cls, titles: dict[str, str]) -> dict[str, str]:
        if "fr" not in titles:
            raise invalid("a message needs a French title (`fr`)", "e.g. titles: {fr: Fermeture du parc}")
        return titles


class SimulatedDriver(ConfigModel):
    """A simulated speaker: records what it was asked to play (the demo, tests). Sounds nothing."""

    kind: Literal["simulated"] = Field(title="Driver", description="`simulated`.")


class HttpDriver(ConfigModel):
    """An IP speaker playing its stored clips on an HTTP request (Axis VAPIX
    `GET /axis-cgi/playclip.cgi?clip=N`), with HTTP digest authentication."""

    kind: Literal["http"] = Field(title="Driver", description="`http`.")
    url: HttpUrl = Field(
        title="Speaker URL",
        description="Base URL of the speaker without credentials (e.g. `https://10.12.0.40`); `http://` only on "
        "an isolated device network (L16).",
    )
    path: str = Field(
        default="/axis-cgi/playclip.cgi",
        pattern=r"^/[A-Za-z0-9_./-]{0,200}$",
        title="Play path",
        description="Path of the play request; the clip goes in its `clip` query parameter.",
    )
    username: NonEmptyText = Field(title="Username", description="The speaker's account for Vigie.")
    password_env: str = Field(
        pattern=ENV_NAME_PATTERN,
        title="Password variable",
        description="Name of the environment variable holding the account's password (never the password).",
    )
    ca_file: Path | None = Field(
        default=None,
        title="CA file",
        description="PEM file of the authority that signed the speaker's certificate (https); unset: the system's.",
    )
    timeout_s: float = Field(
        default=2.0, gt=0.0, le=30.0, title="Timeout (s)", description="How long a play request may take."
    )

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: HttpUrl) -> HttpUrl:
        if url.username or url.password:
            raise invalid(
                "speaker URLs carry no credentials",
                "put the account in `username` and its password's variable in `password_env`",
            )
        return url


class SipDriver(ConfigModel):
    """A SIP speaker (or a paging gateway): Vigie calls it with baresip and sends the message's audio file."""

    kind: Literal["sip"] = Field(title="Driver", description="`sip`.")
    uri: str = Field(
        pattern=SIP_URI_PATTERN,
        title="SIP URI",
        description="Address called (e.g. `sip:speaker-12@10.12.0.41` or through a proxy `sip:4012@pbx.example`); "
        "the speaker answers automatically.",
    )
    username: NonEmptyText | None = Field(
        default=None,
        title="Username",
        description="Account for digest authentication by the speaker or proxy; unset: none.",
    )
    password_env: str | None = Field(
        default=None,
        pattern=ENV_NAME_PATTERN,
        title="Password variable",
        description="Name of the environment variable holding the SIP account's password; required with `username`.",
    )
    local_address: str = Field(
        default="0.0.0.0",  # noqa: S104 - the speaker must reach the call's RTP port
        pattern=r"^[0-9A-Fa-f:.]{2,45}$",
        title="Local address",
        description="IP address of this server that the call uses (SIP and audio), on the speakers' network "
        "(default: every address).",
    )
    max_call_s: float = Field(
        default=60.0,
        gt=0.0,
        le=600.0,
        title="Longest call (s)",
        description="The call is hung up after this long, whatever the message's length.",
    )

    @model_validator(mode="after")
    def _password_with_username(self) -> SipDriver:
        if (self.username is None) != (self.password_env is None):
            raise invalid("a SIP account needs `username` and `password_env` together", "set both, or neither")
        return self


SpeakerDriver = Annotated[SimulatedDriver | HttpDriver | SipDriver, Field(discriminator="kind")]


class Speaker(ConfigModel):
    """A loudspeaker (or a group answering one address) of a commune."""

    id: Slug = Field(title="Speaker id", description="Identifier, unique across the file (e.g. `spk-parc-nord`).")
    commune: Slug = Field(title="Commune", description="Id of the commune owning the speaker.")
    name: NonEmptyText = Field(title="Name", description="Name shown to operators (where it is).")
    zone: NonEmptyText = Field(title="Zone", description="Area it covers, as operators name it (e.g. `Parc nord`).")
    cameras: tuple[Slug, ...] = Field(
        default=(),
        title="Linked cameras",
        description="Ids of the commune's cameras that see the area (the console offers the speaker from their "
        "live view).",
    )
    driver: SpeakerDriver = Field(
        title="Driver", description="How Vigie makes it play: `simulated`, `http` (stored clips) or `sip`."
    )


class SpeakerSettings(ConfigModel):
    """Loudspeakers and their pre-recorded messages; empty by default (docs/integrations.md, "Loudspeakers")."""

    messages: tuple[SpeakerMessage, ...] = Field(
        default=(), title="Messages", description="The catalogue of pre-recorded messages, per commune."
    )
    devices: tuple[Speaker, ...] = Field(default=(), title="Speakers", description="The loudspeakers.")

    @model_validator(mode="after")
    def _consistent(self) -> SpeakerSettings:
        ids: tuple[tuple[str, list[str], str], ...] = (
            ("message ids", [m.id for m in self.messages], "messages"),
            ("speaker ids", [d.id for d in self.devices], "devices"),
        )
        for what, values, key in ids:
            duplicates = find_duplicates((value, ("speakers", key, i, "id")) for i, value in enumerate(values))
            if duplicates:
                listed = ", ".join(f"{d.value} (speakers.{key}.{d.loc[2]})" for d in duplicates)
                raise invalid(f"speaker {what} must be unique across the file: {listed}", "give each its own id")
        for speaker in self.devices:
            kind = speaker.driver.kind
            for message in self.messages:
                if message.commune != speaker.commune:
                    continue
                if kind == "http" and message.clip is None:
                    raise invalid(
                        f"speakers.messages {message.id} has no `clip`, and speaker {speaker.id} of {message.commune} "
                        "plays stored clips (http)",
                        "give the message the number or name of its clip on the speaker",
                    )
                if kind == "sip" and message.audio_file is None:
                    raise invalid(
                        f"speakers.messages {message.id} has no `audio_file`, and speaker {speaker.id} of "
                        f"{message.commune} is called over SIP",
                        "give the message the WAV file to send",
                    )
        return self
