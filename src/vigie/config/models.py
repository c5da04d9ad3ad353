"""The root of the configuration file: storage, API, and the tenants (communes and state services) with
their sites and cameras.

The camera, zone and field models live in :mod:`vigie.config.camera`, :mod:`vigie.config.zones` and
:mod:`vigie.config.fields`; they are re-exported here so that ``vigie.config.models`` names every model.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from vigie.config.alerts import AlertSettings
from vigie.config.camera import (
    MAX_RETENTION_DAYS,
    STREAM_SCHEMES,
    AnalysisSettings,
    Authorisation,
    Camera,
    CameraSetting,
    Location,
    MotionSettings,
)
from vigie.config.fields import ConfigModel, NonEmptyText, Slug, duplicate_error, find_duplicates, invalid
from vigie.config.integrations import MqttSettings, MqttTlsSettings, WebhookEndpoint, WebhooksSettings
from vigie.config.map import MapSettings
from vigie.config.sensors import GotoPreset, SensorsSettings, SpeedAbove, link_cameras
from vigie.config.signage import Signage
from vigie.config.speakers import SpeakerSettings
from vigie.config.zones import AnalysisZone, DirectedLineZone, LineDirection, PrivacyMaskZone, Zone
from vigie.domain.camera import Purpose
from vigie.domain.redact import redact_url

TRAFFIC_PURPOSES = frozenset({Purpose.TRAFFIC_REGULATION, Purpose.TRAFFIC_OFFENCES})
"""The purposes (CSI L251-2 3° and 4°) under which a camera's pictures may be tied to a radar's speeds."""

__all__ = [
    "MAX_RETENTION_DAYS",
    "STREAM_SCHEMES",
    "AnalysisSettings",
    "AnalysisZone",
    "ApiSettings",
    "AuthSettings",
    "Authorisation",
    "Camera",
    "CameraPlacement",
    "CameraSetting",
    "Commune",
    "CommuneKind",
    "DirectedLineZone",
    "FileSegmentsSettings",
    "GovernanceSettings",
    "LineDirection",
    "Location",
    "MapSettings",
    "MotionSettings",
    "MqttSettings",
    "MqttTlsSettings",
    "OidcSettings",
    "PrivacyMaskZone",
    "S3SegmentsSettings",
    "SecuritySettings",
    "SegmentsSettings",
    "Site",
    "SpeakerSettings",
    "StorageSettings",
    "TlsSettings",
    "VigieConfig",
    "WebhookEndpoint",
    "WebhooksSettings",
    "WorkerSettings",
    "Zone",
]

DATABASE_BACKENDS: tuple[str, ...] = ("sqlite", "postgresql")

INSEE_PATTERN = r"^(?:\d{5}|2[AB]\d{3})$"
"""Official code of a French commune (COG): five digits, or 2A/2B and three digits in Corsica."""


_DATABASE_SCHEME = re.compile(r"^(?P<backend>[a-z][a-z0-9]*)(?:\+[a-z][a-z0-9_]*)?$")
"""``dialect`` or ``dialect+driver``, as SQLAlchemy URLs begin."""


def _check_database_url(url: str) -> str:
    """Only the URL's shape and backend are checked here, by hand rather than with SQLAlchemy's ``make_url``: the
    configuration layer does not depend on the database layer (import contracts), and the storage layer reports
    anything else when it connects."""
    shown = redact_url(url)
    hint = "e.g. sqlite:///var/vigie.db or postgresql+psycopg://vigie@db.example.invalid/vigie"
    scheme, separator, _rest = url.strip().partition("://")
    match = _DATABASE_SCHEME.match(scheme)
    if not separator or match is None:
        raise invalid(f"not a SQLAlchemy database URL: {shown}", hint)
    backend = match["backend"]
    if backend not in DATABASE_BACKENDS:
        raise invalid(f"unsupported database {backend!r} in {shown}", f"use SQLite or PostgreSQL, {hint}")
    try:
        urlsplit(url.strip()).port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise invalid(f"the port in {shown} is not a number", hint) from None
    return url


DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]
"""A SQLAlchemy URL of a SQLite or PostgreSQL database."""


ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
PREFIX_PATTERN = r"^(?:[A-Za-z0-9_-][A-Za-z0-9_.=-]*/)*$"
"""A key prefix: empty, or folder names each ending with ``/`` (``metropole/``), none starting with ``.``."""


class FileSegmentsSettings(ConfigModel):
    """Segments stored as files on this machine (the embedded default)."""

    kind: Literal["file"] = Field(
        default="file", title="Kind", description="`file`: segments are files under `root` on this machine."
    )
    root: Path | None = Field(
        default=None,
        title="Root directory",
        description="Directory holding the segment files (the recorders write there directly); default "
        "`<data_dir>/segments`.",
    )


def _check_endpoint(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"not an http(s) URL: {redact_url(url)}", "e.g. https://s3.example.fr:8333")
    if parts.username is not None or parts.password is not None:
        raise invalid(
            f"credentials in the endpoint URL: {redact_url(url)}",
            "remove `user:password@`; name the variables holding the keys in `access_key_env` and `secret_key_env`",
        )
    return url


class S3SegmentsSettings(ConfigModel):
    """Segments stored as objects of an S3 bucket (AWS S3, SeaweedFS, MinIO, Garage...).

    Recorders still write into the local spool `<data_dir>/segments`; each finished segment is uploaded, then
    indexed, then removed from the spool. The credentials are read from environment variables, never from this file.
    """

    kind: Literal["s3"] = Field(title="Kind", description="`s3`: segments are objects of an S3 bucket.")
    endpoint_url: Annotated[str, AfterValidator(_check_endpoint)] = Field(
        title="Endpoint URL",
        description="URL of the S3 endpoint (e.g. `https://s3.example.fr:8333`), without credentials; "
        "`https://` for TLS.",
    )
    bucket: str = Field(
        pattern=BUCKET_PATTERN,
        title="Bucket",
        description="Name of the bucket holding the segments (3 to 63 lowercase letters, digits, dots, hyphens).",
    )
    region: NonEmptyText = Field(
        default="us-east-1",
        title="Region",
        description="Region of the bucket; SeaweedFS and MinIO accept any, AWS needs the bucket's own.",
    )
    prefix: str = Field(
        default="",
        pattern=PREFIX_PATTERN,
        title="Key prefix",
        description="Prefix put before every key when the bucket is shared, ending with `/` (e.g. `metropole/`); "
        "empty by default.",
    )
    access_key_env: str = Field(
        default="VIGIE_S3_ACCESS_KEY",
        pattern=ENV_NAME_PATTERN,
        title="Access key variable",
        description="Name of the environment variable holding the access key id (not the key itself).",
    )
    secret_key_env: str = Field(
        default="VIGIE_S3_SECRET_KEY",
        pattern=ENV_NAME_PATTERN,
        title="Secret key variable",
        description="Name of the environment variable holding the secret key; the secret never goes in this file.",
    )
    create_bucket: bool = Field(
        default=False,
        title="Create the bucket",
        description="Create the bucket at start-up when it is missing (for development and tests; in production "
        "the bucket is created, with its access policy, by whoever runs the S3 service).",
    )


def _segments_kind(value: Any) -> str:
    kind = value.get("kind", "file") if isinstance(value, dict) else getattr(value, "kind", "file")
    return kind if isinstance(kind, str) else ""


SegmentsSettings = Annotated[
    Annotated[FileSegmentsSettings, Tag("file")] | Annotated[S3SegmentsSettings, Tag("s3")],
    Discriminator(_segments_kind),
]
"""Where segment bytes are stored: ``kind: file`` (default) or ``kind: s3``."""


class StorageSettings(ConfigModel):
    """Where metadata, events and the audit log are stored, and where segments are written."""

    database_url: DatabaseUrl = Field(
        repr=False,  # may carry credentials; never in logs via repr()
        default="sqlite:///var/vigie.db",
        title="Database URL",
        description="SQLAlchemy URL of the metadata database: SQLite (default) or PostgreSQL "
        "(`postgresql+psycopg://...`). Prefer passing passwords through the environment.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        title="Data directory",
        description="Directory for recorded segments and working files; a relative path is taken from the "
        "directory the runtime is started in.",
    )
    min_free_mb: int = Field(
        default=2048,
        ge=64,
        title="Minimum free space (MiB)",
        description="When the disk holding the data directory has less free space than this, the oldest "
        "recordings that are not under a judicial hold are deleted early (an alarm is logged); held recordings "
        "are never touched. File store only (with S3, deleting remote segments would free nothing here).",
    )
    segment_seconds: float = Field(
        default=10.0,
        ge=2.0,
        le=60.0,
        title="Segment length (s)",
        description="Target length of recorded segments; a segment is cut on the first keyframe after it, so "
        "its real length is a multiple of the camera's keyframe interval. Shorter segments lose less on a crash "
        "and start playback sooner; longer ones make fewer files.",
    )
    export_package_days: int = Field(
        default=7,
        ge=1,
        le=30,
        title="Export packages kept (days)",
        description="Days the server keeps its copy of an export package made through the console or the API, "
        "for the investigator to download it; then it is deleted (audited). The footage itself stays in the "
        "recordings under their own retention.",
    )
    segments: SegmentsSettings = Field(
        default_factory=FileSegmentsSettings,
        title="Segment store",
        description="Where recorded segments are stored: `kind: file` (default, under `<data_dir>/segments`) or "
        "`kind: s3` (a bucket; credentials from environment variables named here).",
    )


def _trusted_proxy(value: str) -> str:
    """One address or network (CIDR) of a reverse proxy, written in its canonical form; never everyone."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        raise invalid(
            f"not an IP address or network: {value!r}",
            "give the proxy's address (e.g. 10.0.0.5) or network in CIDR form (e.g. 10.0.0.0/24)",
        ) from None
    if network.prefixlen == 0:
        raise invalid(
            f"{value} would trust forwarded addresses from everyone",
            "name the reverse proxies' own addresses or network",
        )
    return str(network.network_address) if network.num_addresses == 1 else str(network)


TrustedProxy = Annotated[str, AfterValidator(_trusted_proxy)]


class TlsSettings(ConfigModel):
    """HTTPS served by Vigie itself: a certificate and its private key, in PEM files read at start (L15)."""

    certificate_file: Path = Field(
        title="Certificate file",
        description="PEM file with the server's certificate followed by its intermediate certificates (the full "
        "chain, e.g. Let's Encrypt's `fullchain.pem`).",
    )
    private_key_file: Path = Field(
        title="Private key file",
        description="PEM file with the certificate's private key (e.g. `privkey.pem`); readable by the user running "
        "vigie, never by every user.",
    )
    private_key_passphrase_file: Path | None = Field(
        default=None,
        title="Private key passphrase file",
        description="File whose first line is the passphrase of an encrypted private key; unset: the key is not "
        "encrypted.",
    )


class ApiSettings(ConfigModel):
    """Where the HTTP API (and the operator console behind it) listens."""

    host: NonEmptyText = Field(
        default="127.0.0.1",
        title="Host",
        description="Address the API listens on; the default only accepts local connections.",
    )
    port: int = Field(default=8080, ge=1, le=65535, title="Port", description="TCP port of the API (1..65535).")
    secure_cookies: bool | None = Field(
        default=None,
        title="Secure cookies",
        description="Mark the session cookie `Secure`: `true` always (behind a TLS proxy that does not say so), "
        "`false` never (plain HTTP on a closed network only), unset: when the request came over HTTPS.",
    )
    tls: TlsSettings | None = Field(
        default=None,
        title="TLS",
        description="Serve HTTPS with this certificate; unset: plain HTTP, for the loopback address or behind a "
        "reverse proxy that terminates TLS (docs/deployment.md).",
    )
    trusted_proxies: list[TrustedProxy] = Field(
        default_factory=list,
        title="Trusted proxies",
        description="Addresses or networks (CIDR) of the reverse proxies in front of the API. Only a request "
        "coming from one of them has its `X-Forwarded-For` (the client address the login limits and the audit "
        "use) and `X-Forwarded-Proto` (HTTPS, for the `Secure` cookie) believed; from anyone else these headers "
        "are ignored. Empty (the default): the client is the connection's peer.",
    )
    metrics_token_file: Path | None = Field(
        default=None,
        title="Metrics token file",
        description="File holding the bearer token a Prometheus scraper must send to read `/metrics` "
        "(`Authorization: Bearer <token>`, at least 32 characters, e.g. `openssl rand -hex 32`); read at start. "
        "Unset (the default): `/metrics` answers 404. See docs/metrics.md.",
    )


LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts where an OpenID provider may be reached over plain HTTP (a provider on this machine, in tests)."""


def _check_issuer(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"not an https URL: {redact_url(url)}", "e.g. https://connexion.grandlyon.fr/realms/agents")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise invalid(
            f"an identity provider over plain HTTP: {redact_url(url)}",
            "use https:// (http:// is accepted for 127.0.0.1 and localhost only)",
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise invalid(f"the issuer is a plain URL, without credentials, query or fragment: {redact_url(url)}")
    return url


def _check_redirect_uri(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise invalid(
            f"not an http(s) URL without fragment: {redact_url(url)}",
            "e.g. https://vigie.example.fr/api/auth/oidc/callback",
        )
    return url


def _check_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    if "openid" not in scopes:
        raise invalid("the scopes must include `openid`", "e.g. [openid, profile, email]")
    return scopes


class OidcSettings(ConfigModel):
    """Single sign-on through a commune's OpenID Connect provider (authorization code flow with PKCE).

    The provider proves who the person is; Vigie decides what they may do: only an existing Vigie account whose
    username equals the provider's `username_claim` can log in (never created on the fly), and administrators and
    DPOs only when the provider says a second factor was used (`amr`). The client secret is read from an
    environment variable, never from this file.
    """

    issuer: Annotated[str, AfterValidator(_check_issuer)] = Field(
        title="Issuer",
        description="Issuer URL of the OpenID provider, exactly as in its `/.well-known/openid-configuration` "
        "(e.g. `https://connexion.grandlyon.fr/realms/agents`); `https://` (`http://` only for 127.0.0.1 and "
        "localhost).",
    )
    client_id: NonEmptyText = Field(title="Client id", description="Client id of Vigie, as registered at the provider.")
    client_secret_env: str = Field(
        default="VIGIE_OIDC_CLIENT_SECRET",
        pattern=ENV_NAME_PATTERN,
        title="Client secret variable",
        description="Name of the environment variable holding the client secret (not the secret itself); the "
        "secret never goes in this file.",
    )
    scopes: Annotated[tuple[NonEmptyText, ...], AfterValidator(_check_scopes)] = Field(
        default=("openid", "profile", "email"),
        title="Scopes",
        description="Scopes asked of the provider; must include `openid` (default `openid profile email`).",
    )
    username_claim: NonEmptyText = Field(
        default="preferred_username",
        title="Username claim",
        description="Claim of the ID token (or of the user info) that must equal a Vigie username (default "
        "`preferred_username`).",
    )
    display_name: NonEmptyText = Field(
        title="Button label",
        description="Label of the login button in the console (e.g. `Compte Grand Lyon`).",
    )
    second_factor_amr: tuple[NonEmptyText, ...] = Field(
        default=("mfa", "otp", "hwk", "swk"),
        title="Second-factor `amr` values",
        description="Values of the ID token's `amr` claim (RFC 8176) that prove a second factor; administrators "
        "and DPOs are refused without one of them (default `mfa`, `otp`, `hwk`, `swk`).",
    )
    redirect_uri: Annotated[str | None, AfterValidator(_check_redirect_uri)] = Field(
        default=None,
        title="Redirect URI",
        description="Public URL of Vigie's callback as registered at the provider (e.g. "
        "`https://vigie.example.fr/api/auth/oidc/callback`); unset: taken from the request (behind a proxy that "
        "rewrites the host, set it).",
    )


class AuthSettings(ConfigModel):
    """How people log in besides local passwords (which always work)."""

    oidc: OidcSettings | None = Field(
        default=None,
        title="OpenID Connect",
        description="Single sign-on through an OpenID Connect provider; off when absent.",
    )


MIN_SECRETS_PASSPHRASE_LENGTH = 16


class DetectorSettings(ConfigModel):
    """How an analysis process runs its shared object detectors (one per model, whatever the number of its
    cameras). The defaults suit a CPU host; on a GPU host list `cuda` (or `tensorrt`) first and let batches grow."""

    providers: list[Literal["tensorrt", "cuda", "cpu"]] = Field(
        default=["cuda", "cpu"],
        min_length=1,
        max_length=3,
        title="Execution providers",
        description="onnxruntime providers tried in order; one that this machine's onnxruntime lacks is skipped "
        "(the CPU is always there).",
    )
    intra_op_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        title="Threads per inference",
        description="onnxruntime threads per run. 1 is fastest per image on a CPU already busy decoding streams.",
    )
    inference_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        title="Inferences at once",
        description="Batches run at the same time. 1 suits a GPU; on CPU with free cores, more.",
    )
    max_batch: int = Field(
        default=64,
        ge=1,
        le=256,
        title="Largest batch",
        description="Most frames (of several cameras) in one inference, for a model with a dynamic batch axis; a "
        "fixed-batch model gets its own batch size.",
    )
    max_wait_ms: float = Field(
        default=10.0,
        ge=0.0,
        le=200.0,
        title="Batch wait (ms)",
        description="Longest the first frame of a batch waits for other cameras' frames (added latency).",
    )


class WorkerSettings(ConfigModel):
    """How cameras share worker processes. A process hosts many cameras of one kind, each in its own thread:
    recording (remux of the main streams) and analysis (sub-streams, with one shared detector per model) never
    share a process, so a crash of analysis never stops recording. A process that crashes restarts with its own
    cameras only; a stuck stream is restarted alone by its process's watchdog."""

    recording_cameras_per_process: int = Field(
        default=64,
        ge=1,
        le=1000,
        title="Recorded cameras per process",
        description="Main streams remuxed by one recorder process (about 10-20 MB of memory each). Smaller: a "
        "crash loses fewer cameras' seconds; larger: less memory per camera.",
    )
    analysis_cameras_per_process: int = Field(
        default=16,
        ge=1,
        le=256,
        title="Analysed cameras per process",
        description="Sub-streams analysed by one analysis process, sharing one batched detector per model (loaded "
        "once per process).",
    )
    stall_timeout_s: float = Field(
        default=20.0,
        ge=2.0,
        le=600.0,
        title="Stall timeout (s)",
        description="A stream that delivers nothing for this long is restarted by its process's watchdog; a "
        "process that does not report for this long is killed and restarted.",
    )
    detector: DetectorSettings = Field(
        default_factory=DetectorSettings,
        title="Shared detectors",
        description="How each analysis process runs its object detectors.",
    )


RESOURCE_NAME = r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$"
ZONE_MEMBER = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)?$"
"""A commune id, or `commune/site`."""


class ClusterSettings(ConfigModel):
    """Scale-out on a Ray cluster (``docs/cluster.md``): camera groups run as Ray actors on the nodes, placed by the
    resources nodes declare (``ray start --resources``); the service that reads this file is the control plane
    (database writer, audit chain, API). Needs PostgreSQL and an S3 segment store: every node reaches both."""

    address: str = Field(
        min_length=1,
        max_length=300,
        title="Ray address",
        description="Address of the Ray cluster's head node (`host:6379`, as printed by `ray start --head`).",
    )
    namespace: Slug = Field(
        default="vigie",
        title="Namespace",
        description="Ray namespace of this Vigie's actors (two Vigie installations never share a namespace).",
    )
    recorder_resources: dict[Annotated[str, Field(pattern=RESOURCE_NAME)], Annotated[float, Field(ge=0, le=1e6)]] = (
        Field(
            default_factory=lambda: {"CPU": 1.0},
            max_length=16,
            title="Resources of a recording group",
            description="What one recording group (``workers.recording_cameras_per_process`` cameras) needs of a "
            "node (Ray resources: `CPU`, `memory` in bytes, custom ones a node declares such as `recording_disk`).",
        )
    )
    analysis_resources: dict[Annotated[str, Field(pattern=RESOURCE_NAME)], Annotated[float, Field(ge=0, le=1e6)]] = (
        Field(
            default_factory=lambda: {"CPU": 1.0},
            max_length=16,
            title="Resources of an analysis group",
            description="What one analysis group needs of a node (e.g. `{CPU: 2, GPU: 0.25}` to share a GPU node's "
            "card between four groups).",
        )
    )
    zones: dict[Slug, tuple[Annotated[str, Field(pattern=ZONE_MEMBER)], ...]] = Field(
        default_factory=dict,
        max_length=200,
        title="Zones",
        description="Network or site zones: zone name -> commune ids or `commune/site` ids. Cameras of a zone are "
        "grouped apart and run only on nodes started with the resource `zone_<name>` (`ray start --resources "
        "'{\"zone_<name>\": 1}'`), e.g. the nodes of a transit operator's own network. Cameras in no zone run "
        "on any node.",
    )
    poll_s: float = Field(
        default=0.25,
        ge=0.05,
        le=5.0,
        title="Drain interval (s)",
        description="How often the control plane collects each group's messages (segment index, health, observations).",
    )
    live_port: int = Field(
        default=7460,
        ge=1024,
        le=65000,
        title="First live relay port",
        description="Each recording group serves its cameras' live taps to the API processes on a port of its node, "
        "the first free one from this (docs/cluster.md: open them to the API hosts only). The node needs "
        "`VIGIE_LIVE_TAP_KEY` in its environment (`vigie cluster live-key`).",
    )
    live_ports: int = Field(
        default=16,
        ge=1,
        le=500,
        title="Live relay ports",
        description="How many ports from `live_port` a node's recording groups may take: at least the number of "
        "recording groups a node runs.",
    )
    live_readers: int = Field(
        default=8,
        ge=1,
        le=256,
        title="Live readers per camera",
        description="Connections a node's relay accepts per camera: each API process opens one per camera watched; "
        "at least the number of API processes.",
    )
    inference: Literal["auto", "node", "group"] = Field(
        default="auto",
        title="Where models run",
        description="`node`: one inference service per node, shared by all its analysis groups (one copy of each "
        "model, the frames of every group batched together; docs/cluster.md). `group`: each analysis group loads "
        "its own session, as on one host. `auto`: `node` on nodes with a GPU, `group` on the others (on a CPU the "
        "shared service was measured slower).",
    )


class SecuritySettings(ConfigModel):
    """How the private keys of the data folder (the audit signing key, the accounts key) are kept at rest (L15).

    With a secrets passphrase both are encrypted on disk; it is given by a key file kept outside the data folder, or
    by an environment variable. Every `vigie` process that needs a key (the service, the commands) reads it the
    same way, from this section."""

    secrets_key_file: Path | None = Field(
        default=None,
        title="Secrets key file",
        description="File whose first line is the passphrase encrypting the private keys at rest (at least "
        f"{MIN_SECRETS_PASSPHRASE_LENGTH} characters, e.g. `openssl rand -base64 32`); outside the data directory, "
        "owned by the user running vigie, mode 0600 or 0400. Unset: the variable named by `passphrase_env`.",
    )
    passphrase_env: str = Field(
        default="VIGIE_SECRETS_PASSPHRASE",
        pattern=ENV_NAME_PATTERN,
        title="Passphrase variable",
        description="Name of the environment variable holding the secrets passphrase when `secrets_key_file` is "
        "unset (not the passphrase itself). Neither given: the keys are stored unencrypted, with a warning at "
        "every start.",
    )
    previous_passphrase_env: str = Field(
        default="VIGIE_SECRETS_PREVIOUS_PASSPHRASE",
        pattern=ENV_NAME_PATTERN,
        title="Previous passphrase variable",
        description="Name of the environment variable holding the passphrase being replaced, while changing it: a "
        "key that only this one opens is encrypted again with the new passphrase at its next load. Unset the "
        "variable once every key has been re-encrypted.",
    )
    fix_key_permissions: bool = Field(
        default=False,
        title="Fix key permissions",
        description="Remove group and other permissions from the keys folder, the private key files and the "
        "secrets key file at start, instead of refusing to start; owners are never changed.",
    )


MIN_AUDIT_RETENTION_DAYS = 183
"""AI Act art. 26(6): logs of an AI system are kept at least six months (L12)."""


class GovernanceSettings(ConfigModel):
    """Audit log and record-of-processing settings. Nothing here can activate or force a module (L22)."""

    checkpoint_every: int = Field(
        default=100,
        ge=1,
        le=100_000,
        title="Checkpoint every",
        description="Audit entries between two signed checkpoints of the chain (1..100000); `vigie audit verify` "
        "requires one after every multiple of it. Only ever raise it to a multiple of its previous value: a lower "
        "value makes exports reaching back before the change report missing checkpoints.",
    )
    audit_heads_file: Path | None = Field(
        default=None,
        title="Audit heads file",
        description="JSON Lines file to which every signed head of the audit chain is appended (at each checkpoint, "
        "and at least every `audit_head_every_minutes` while entries are written), for the DPO to archive outside "
        "the server; `vigie audit verify --head` detects rows cut or rewritten before an archived head. Default: "
        "`audit-heads.jsonl` in the data directory.",
    )
    audit_head_every_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        title="Audit head every (minutes)",
        description="Publish a signed head of the audit chain at the first entry written this long after the last "
        "one (1..1440): rows written after the last published head are the ones a database administrator could "
        "still cut unnoticed.",
    )
    audit_retention_days: int = Field(
        default=1095,
        ge=MIN_AUDIT_RETENTION_DAYS,
        le=36_500,
        title="Audit retention (days)",
        description="Days audit entries are kept: default 1095 (3 years, L12), at least 183 (6 months, AI Act "
        "art. 26(6)).",
    )
    controller: NonEmptyText | None = Field(
        default=None,
        title="Controller",
        description="The data controller named in the record of processing (e.g. `Ville de Belvédère, "
        "représentée par son maire`).",
    )
    controller_contact: NonEmptyText | None = Field(
        default=None,
        title="Controller contact",
        description="Postal or e-mail address of the controller, printed in the record of processing.",
    )
    dpo_contact: NonEmptyText | None = Field(
        default=None,
        title="DPO contact",
        description="How to reach the data protection officer (e.g. `dpo@belvedere.fr`), printed in the record "
        "of processing.",
    )


class PrivacySettings(ConfigModel):
    """People's rights (L19): how copies given to someone outside the operators are redacted (docs/privacy.md), and
    how long what access requests hold is kept."""

    redaction_model: NonEmptyText = Field(
        default="picodet_s_320",
        title="Redaction model",
        description="Registered detection model (`vigie models list`) that finds the persons and vehicles blurred in "
        "a redacted copy; checked against its registered SHA-256 at load (L30). Not installed: preparing a copy "
        "fails with what to run (`vigie models install picodet_s_320`).",
    )
    redaction_score: float = Field(
        default=0.15,
        gt=0.0,
        le=1.0,
        title="Redaction score threshold",
        description="Lowest detection score blurred. Low on purpose: a false detection costs a blurred patch of "
        "background, a miss exposes someone (0.15 with PicoDet-S covers every person of the measured sequences).",
    )
    access_request_keep_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        title="Access requests kept (days)",
        description="Days after an access request ended (released or refused) before the requester's name, contact "
        "and description are erased and its copies and package deleted (1..3650); the request's record (dates, "
        "steps, SHA-256s) stays (docs/access-requests.md).",
    )


class CommuneKind(enum.StrEnum):
    """Who operates the cameras: a commune (municipal police) or a state service."""

    MUNICIPAL = "municipal"
    """A commune or inter-communal body; plate reading is never available to it (L34)."""
    STATE = "state"
    """Police nationale, gendarmerie or douanes (CSI L233-1)."""


class Site(ConfigModel):
    """A place grouping cameras (a square, a station, a school surroundings)."""

    id: Slug = Field(title="Site id", description="Identifier, unique within its commune.")
    name: NonEmptyText = Field(title="Name", description="Name shown to operators.")
    address: str | None = Field(default=None, title="Address", description="Postal address of the site.")
    signage: Signage | None = Field(
        default=None,
        title="Signage",
        description="The information panel covering the site's cameras (L7): pictogram, controller, contact, the "
        "panel's photo or reference, the day it was put up. A camera may carry its own instead; one covered by "
        "neither is not commissioned (neither recorded, streamed nor analysed).",
    )
    cameras: tuple[Camera, ...] = Field(
        default=(), title="Cameras", description="Cameras of the site; camera ids are unique across the file."
    )


class Commune(ConfigModel):
    """A tenant: a commune (or inter-communal body) or a state service, owning sites and cameras (L10)."""

    id: Slug = Field(title="Tenant id", description="Identifier, unique across the file (e.g. `villeurbanne`).")
    name: NonEmptyText = Field(title="Name", description="Official name (e.g. `Ville de Villeurbanne`).")
    kind: CommuneKind = Field(
        title="Kind",
        description="`municipal` for a commune or inter-communal body, `state` for police nationale, "
        "gendarmerie or douanes.",
    )
    insee_code: str | None = Field(
        default=None,
        pattern=INSEE_PATTERN,
        title="INSEE code",
        description="Official commune code (5 characters, e.g. `69266`), for municipal tenants.",
    )
    sites: tuple[Site, ...] = Field(default=(), title="Sites", description="Sites of the tenant.")

    @field_validator("sites")
    @classmethod
    def _unique_site_ids(cls, sites: tuple[Site, ...]) -> tuple[Site, ...]:
        duplicates = find_duplicates((site.id, (index, "id")) for index, site in enumerate(sites))
        if duplicates:
            raise duplicate_error("site ids of a commune", duplicates)
        return sites


def _lexically_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or under it, comparing the paths as written (both absolute or both relative)."""
    if path.is_absolute() != folder.is_absolute():
        return False
    return PurePath(os.path.normpath(path)).is_relative_to(os.path.normpath(folder))


@dataclass(frozen=True, slots=True)
class CameraPlacement:
    """A camera with the tenant and site it belongs to: what the runtime iterates over."""

    commune: Commune
    site: Site
    camera: Camera


class VigieConfig(ConfigModel):
    """The whole configuration file."""

    version: Literal[1] = Field(title="Format version", description="Version of this file format; always 1.")
    storage: StorageSettings = Field(
        default_factory=StorageSettings, title="Storage", description="Database and data directory."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, title="API", description="Where the HTTP API listens.")
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        title="Authentication",
        description="Single sign-on (OpenID Connect) besides local accounts; off by default.",
    )
    governance: GovernanceSettings = Field(
        default_factory=GovernanceSettings,
        title="Governance",
        description="Audit log checkpoints and retention, controller and DPO of the record of processing.",
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings,
        title="Security",
        description="Encryption at rest of the private keys (secrets passphrase) and the check of their permissions.",
    )
    workers: WorkerSettings = Field(
        default_factory=WorkerSettings,
        title="Workers",
        description="How many cameras one worker process hosts, for recording and for analysis.",
    )
    cluster: ClusterSettings | None = Field(
        default=None,
        title="Cluster",
        description="Run the camera groups on a Ray cluster (`docs/cluster.md`); absent: worker processes on this "
        "host.",
    )
    mqtt: MqttSettings = Field(
        default_factory=MqttSettings,
        title="MQTT",
        description="Publish confirmed alerts, camera states and health events to an MQTT broker "
        "(docs/integrations.md); off by default.",
    )
    webhooks: WebhooksSettings = Field(
        default_factory=WebhooksSettings,
        title="Webhooks",
        description="POST confirmed alerts and health events to configured URLs, signed and retried "
        "(docs/integrations.md#webhooks); off by default.",
    )
    speakers: SpeakerSettings = Field(
        default_factory=SpeakerSettings,
        title="Loudspeakers",
        description="Pre-recorded messages per commune and the loudspeakers a person may play them on "
        "(docs/integrations.md); empty by default.",
    )
    sensors: SensorsSettings = Field(
        default_factory=SensorsSettings,
        title="Sensors",
        description="Radars and other sensors publishing over the MQTT broker, and the rules linking their readings "
        "to cameras (docs/integrations.md); off by default.",
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings,
        title="Alerts",
        description="The priority of each analysis module's alerts in the operators' queue (issue 24); built-in "
        "defaults when absent.",
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings,
        title="Privacy",
        description="How copies given to a filmed person, the press or an insurer are redacted (docs/privacy.md), and "
        "how long access requests' personal data and copies are kept (docs/access-requests.md).",
    )
    map: MapSettings = Field(
        default_factory=MapSettings,
        title="Map",
        description="The console's map: the city's offline basemap (MBTiles or PMTiles) and where the map opens "
        "(docs/map.md); no basemap by default.",
    )
    communes: tuple[Commune, ...] = Field(
        default=(),
        title="Communes",
        description="Tenants (communes and state services) with their sites and cameras.",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> VigieConfig:
        communes = find_duplicates((c.id, ("communes", i, "id")) for i, c in enumerate(self.communes))
        if communes:
            raise duplicate_error("commune ids", communes)
        cameras = find_duplicates(
            (camera.id, ("communes", c, "sites", s, "cameras", k, "id"))
            for c, commune in enumerate(self.communes)
            for s, site in enumerate(commune.sites)
            for k, camera in enumerate(site.cameras)
        )
        if cameras:
            raise duplicate_error("camera ids", cameras)
        return self

    @model_validator(mode="after")
    def _webhook_communes_exist(self) -> VigieConfig:
        known = {c.id for c in self.communes}
        for endpoint in self.webhooks.endpoints:
            unknown = [c for c in endpoint.communes if c not in known]
            if unknown:
                raise invalid(
                    f"webhook endpoint {endpoint.name}: no commune {', '.join(unknown)} in this configuration",
                    f"name configured communes in `communes` (known: {', '.join(sorted(known)) or 'none'})",
                )
        return self

    @model_validator(mode="after")
    def _one_account_and_address_per_device(self) -> VigieConfig:
        """The cameras of one multi-sensor device (``device``) are one housing: one account, one ONVIF address."""
        devices: dict[str, list[Camera]] = {}
        for placement in self.placements():
            if placement.camera.device is not None:
                devices.setdefault(placement.camera.device, []).append(placement.camera)
        for device, cameras in devices.items():
            accounts = {c.id: c.credentials or "(none)" for c in cameras}
            addresses = {c.id: f"{c.onvif.host}:{c.onvif.port}" for c in cameras if c.onvif is not None}
            for what, values in (("accounts (`credentials`)", accounts), ("ONVIF addresses (`onvif`)", addresses)):
                if len(set(values.values())) > 1:
                    listed = ", ".join(f"{camera}: {value}" for camera, value in values.items())
                    raise invalid(
                        f"the cameras of device {device} name different {what}: {listed}",
                        "a device has one address and one account: give its cameras the same, or give cameras "
                        "of different devices different `device` ids",
                    )
        return self

    @model_validator(mode="after")
    def _secrets_key_outside_data(self) -> VigieConfig:
        """The secrets key file kept with the keys it opens protects nothing: refused when its path (as written,
        nothing is read here) lies in the data directory; the runtime checks the resolved paths again."""
        key_file = self.security.secrets_key_file
        if key_file is not None and _lexically_inside(key_file, self.storage.data_dir):
            raise invalid(
                f"security.secrets_key_file {key_file} is inside the data directory {self.storage.data_dir}",
                "keep it elsewhere (e.g. /etc/vigie/secrets.key): whoever copies the data folder must not get it",
            )
        return self

    @model_validator(mode="after")
    def _cluster_shares(self) -> VigieConfig:
        """A cluster's nodes write into one database and one segment store: SQLite and a local folder are one
        host's; a zone names communes and sites of this file."""
        cluster = self.cluster
        if cluster is None:
            return self
        if not self.storage.database_url.startswith("postgresql"):
            raise invalid(
                "cluster mode needs PostgreSQL (storage.database_url is not a postgresql URL)",
                "give a `postgresql+psycopg://...` URL every node can reach",
            )
        if not isinstance(self.storage.segments, S3SegmentsSettings):
            raise invalid(
                "cluster mode needs an S3 segment store (storage.segments.kind is not s3)",
                "set `storage.segments.kind: s3` with a bucket every node can reach",
            )
        known = {c.id for c in self.communes} | {f"{c.id}/{s.id}" for c in self.communes for s in c.sites}
        for zone, members in cluster.zones.items():
            unknown = sorted(set(members) - known)
            if unknown:
                raise invalid(
                    f"cluster.zones.{zone} names {', '.join(unknown)}: no such commune or commune/site",
                    "use commune ids or `commune/site` ids of this file",
                )
        return self

    @model_validator(mode="after")
    def _speakers_placed(self) -> VigieConfig:
        """Messages and speakers name communes of this file; a speaker's cameras are its own commune's."""
        communes = {c.id for c in self.communes}
        owners = {p.camera.id: p.commune.id for p in self.placements()}
        for kind, items in (("messages", self.speakers.messages), ("devices", self.speakers.devices)):
            for item in items:
                if item.commune not in communes:
                    raise invalid(
                        f"speakers.{kind} {item.id} names commune {item.commune}: no such commune in this file",
                        "use the id of one of `communes`",
                    )
        for speaker in self.speakers.devices:
            for camera in speaker.cameras:
                owner = owners.get(camera)
                if owner is None:
                    raise invalid(
                        f"speaker {speaker.id} links camera {camera}: no such camera in this file",
                        "list ids of configured cameras in `cameras`",
                    )
                if owner != speaker.commune:
                    raise invalid(
                        f"speaker {speaker.id} of {speaker.commune} links camera {camera} of {owner}",
                        "a speaker is linked to cameras of its own commune only",
                    )
        return self

    @model_validator(mode="after")
    def _sensors_fit(self) -> VigieConfig:
        """Sensors read over the `mqtt` section's broker, belong to a commune of this file, and link only to that
        commune's cameras (L10); a dome preset needs a PTZ camera Vigie drives."""
        sensors = self.sensors
        if not sensors.enabled:
            return self
        if not self.mqtt.enabled:
            raise invalid(
                "sensors.enabled needs mqtt.enabled: sensors publish their readings to the broker of `mqtt`",
                "turn on the `mqtt` section (host, tls, username), or set `sensors.enabled: false`",
            )
        communes = {c.id for c in self.communes}
        for sensor in sensors.sensors:
            if sensor.commune not in communes:
                raise invalid(
                    f"sensors.sensors {sensor.id}: no commune {sensor.commune!r} in `communes`",
                    f"use one of: {', '.join(sorted(communes)) or '(no commune configured)'}",
                )
        commune_of = {s.id: s.commune for s in sensors.sensors}
        cameras = {p.camera.id: p for p in self.placements()}
        for link in sensors.links:
            for camera_id in link_cameras(link):
                placement = cameras.get(camera_id)
                if placement is None:
                    raise invalid(
                        f"sensors.links {link.id}: no camera {camera_id!r} in `communes`",
                        "name cameras by their id in this file",
                    )
                if placement.commune.id != commune_of[link.sensor]:
                    raise invalid(
                        f"sensors.links {link.id}: camera {camera_id} is of commune {placement.commune.id}, sensor "
                        f"{link.sensor} of {commune_of[link.sensor]}",
                        "a sensor links to cameras of its own commune only (L10)",
                    )
                purposes = set(placement.camera.authorisation.purposes)
                if isinstance(link.when, SpeedAbove) and not purposes & TRAFFIC_PURPOSES:
                    raise invalid(
                        f"sensors.links {link.id}: a speed link ties a vehicle's speed to the pictures of camera "
                        f"{camera_id}, whose authorisation has no traffic purpose (it has "
                        f"{', '.join(sorted(purposes)) or 'none'})",
                        "link speeds only to cameras authorised for `traffic_regulation` or `traffic_offences` "
                        "(CSI L251-2 3° and 4°; L2), or use a presence or occupancy condition",
                    )
            action = link.then
            if isinstance(action, GotoPreset):
                camera = cameras[action.camera].camera
                if camera.kind.value != "ptz" or camera.onvif is None:
                    raise invalid(
                        f"sensors.links {link.id}: goto_preset needs a dome, and camera {camera.id} is not a `ptz` "
                        "camera with `onvif` settings",
                        "name a PTZ camera Vigie drives, or use `show_on_wall`/`bookmark`",
                    )
        return self

    def placements(self) -> Iterator[CameraPlacement]:
        """Every camera, enabled or not, with its commune and site, in file order."""
        for commune in self.communes:
            for site in commune.sites:
                for camera in site.cameras:
                    yield CameraPlacement(commune, site, camera)

    def find_camera(self, camera_id: str) -> CameraPlacement | None:
        """The camera with this id and where it is, or None."""
        return next((p for p in self.placements() if p.camera.id == camera_id), None)

    @property
    def camera_count(self) -> int:
        return sum(len(site.cameras) for commune in self.communes for site in commune.sites)
