"""The record of processing activities (GDPR art. 30, L20), generated from the live configuration, the legal
catalogue and the recorded activations — never written by hand, so it cannot drift from what runs.

:func:`build_register` makes it as data; :func:`render_markdown` and :func:`render_html` print it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from vigie.config.models import VigieConfig
from vigie.governance.catalogue import Catalogue

NOT_CONFIGURED: Final = "(not configured: set `governance.controller` / `governance.dpo_contact`)"

DATA_CATEGORIES: Final = (
    "Images of people and vehicles in the cameras' fields of view (video-protection, CSI L251-2)",
    "Access and action logs of the agents using the platform (audit log, L11)",
)
SENSOR_DATA: Final = (
    "Sensor readings (radars, presence, occupancy) kept only as time-bucketed totals, the values of a bucket below "
    "`sensors.min_count` withheld (L33), for `sensors.statistics_retention_days`; the times the sensors' link rules "
    "marked on cameras' recordings, kept no longer than those recordings (L3)"
)
RECIPIENTS: Final = (
    "Individually authorised agents of the tenant, within their commune or grouping (CSI L252-2, R252-12)",
    "Judicial authorities and officers acting on a requisition (exports, L13)",
)
SECURITY_MEASURES: Final = (
    "Append-only, hash-chained audit log with Ed25519-signed checkpoints, verifiable offline by an outsider (L11),"
    " kept for the configured retention (L12)",
    "Analysis modules off by default, run only under an approved activation, with stop switches (L22, L29)",
    "Cameras run only while their prefectoral authorisation is valid (L1)",
    "Privacy masks applied to frames before any analysis (L6)",
    "Credentials redacted from logs, error messages and the audit log",
)
"""Only what this version of Vigie enforces: a record of processing must not claim more than is in place. Each
feature adds its own measure when it lands (named accounts L8–L9; recording retention, holds and signed
exports L3–L5, L14)."""
TRANSFERS: Final = "None: no transfer outside the European Union."


@dataclass(frozen=True, slots=True)
class CameraEntry:
    camera_id: str
    name: str
    tenant: str
    setting: str
    purposes: tuple[str, ...]
    retention_days: int
    authorisation: str


@dataclass(frozen=True, slots=True)
class AnalysisEntry:
    """One analysis processing actually activated (approved, not revoked, not ended) and its legal basis."""

    activation_id: int
    module: str
    module_title: str
    tenant: str
    cameras: tuple[str, ...]
    framework: str
    framework_reference: str
    decision_number: str
    dpia_reference: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    state: str


@dataclass(frozen=True, slots=True)
class ProcessingRegister:
    generated_at: datetime
    catalogue_version: int
    controller: str
    controller_contact: str
    dpo_contact: str
    cameras: tuple[CameraEntry, ...]
    analyses: tuple[AnalysisEntry, ...]
    data_categories: tuple[str, ...] = DATA_CATEGORIES
    recipients: tuple[str, ...] = RECIPIENTS
    transfers: str = TRANSFERS
    security_measures: tuple[str, ...] = SECURITY_MEASURES


def alert_recipients(config: VigieConfig) -> tuple[str, ...]:
    """The systems confirmed alerts are sent to, from the configuration only (no password, secret or query string:
    a URL's query may carry a token): the MQTT broker and its alert topic per commune when ``mqtt.enabled``, each
    webhook endpoint (name, URL, communes, kinds) when ``webhooks.enabled``. A person confirms an alert before it
    leaves (L28)."""
    found: list[str] = []
    mqtt = config.mqtt
    if mqtt.enabled:
        transport = "MQTT over TLS" if mqtt.tls is not None else "MQTT"
        port = mqtt.port or (8883 if mqtt.tls is not None else 1883)
        topics = ", ".join(f"`{mqtt.topic_prefix}/{c.id}/alerts`" for c in config.communes)
        found.append(
            f"MQTT broker {mqtt.host}:{port} ({transport}): alerts confirmed by a person (L28), published per commune "
            f"on {topics}; the broker's accounts and ACLs decide who reads them (docs/integrations.md)"
        )
    webhooks = config.webhooks
    if webhooks.enabled:
        for endpoint in webhooks.endpoints:
            parts = urlsplit(endpoint.url)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            what = " and ".join(
                {"alert.confirmed": "alerts confirmed by a person (L28)", "health": "health events"}[k]
                for k in endpoint.kinds
            )
            found.append(
                f"Webhook endpoint `{endpoint.name}` at {url}: {what} of {', '.join(endpoint.communes)}, signed "
                "(docs/integrations.md)"
            )
    return tuple(found)


def build_register(
    config: VigieConfig, catalogue: Catalogue, analyses: Sequence[AnalysisEntry], now: datetime
) -> ProcessingRegister:
    settings = config.governance
    cameras = tuple(
        CameraEntry(
            camera_id=p.camera.id,
            name=p.camera.name,
            tenant=p.commune.id,
            setting=p.camera.setting.value,
            purposes=tuple(purpose.value for purpose in p.camera.authorisation.purposes),
            retention_days=p.camera.authorisation.retention_days,
            authorisation=p.camera.authorisation.reference,
        )
        for p in config.placements()
        if p.camera.enabled
    )
    return ProcessingRegister(
        generated_at=now,
        catalogue_version=catalogue.version,
        controller=settings.controller or NOT_CONFIGURED,
        controller_contact=settings.controller_contact or NOT_CONFIGURED,
        dpo_contact=settings.dpo_contact or NOT_CONFIGURED,
        cameras=cameras,
        analyses=tuple(analyses),
        data_categories=(*DATA_CATEGORIES, *((SENSOR_DATA,) if config.sensors.enabled else ())),
        recipients=(*RECIPIENTS, *alert_recipients(config)),
    )


def _analysis_lines(register: ProcessingRegister) -> list[str]:
    if not register.analyses:
        return ["No algorithmic analysis is activated: every module is off (L22)."]
    return [
        f"- activation {a.activation_id} — **{a.module_title}** (`{a.module}`) on {', '.join(a.cameras)} "
        f"({a.tenant}), {a.state}, {a.starts_at.isoformat()} → {a.ends_at.isoformat()}; legal basis: "
        f"`{a.framework}` ({a.framework_reference}), prefectoral decision {a.decision_number}, DPIA "
        f"{a.dpia_reference}; purpose: {a.purpose}"
        for a in register.analyses
    ]


def render_markdown(register: ProcessingRegister) -> str:
    lines = [
        "# Record of processing activities (GDPR art. 30)",
        "",
        f"Generated {register.generated_at.isoformat()} from the live configuration and legal catalogue "
        f"v{register.catalogue_version}.",
        "",
        f"- **Controller:** {register.controller} — {register.controller_contact}",
        f"- **Data protection officer:** {register.dpo_contact}",
        "",
        "## Purposes and retention per camera (CSI L251-2, L252-5)",
        "",
        "| camera | name | tenant | setting | purposes | retention (days) | authorisation |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {c.camera_id} | {c.name} | {c.tenant} | {c.setting} | {', '.join(c.purposes)} | "
            f"{c.retention_days} | {c.authorisation} |"
            for c in register.cameras
        ),
        "",
        "## Categories of data",
        "",
        *(f"- {item}" for item in register.data_categories),
        "",
        "## Recipients",
        "",
        *(f"- {item}" for item in register.recipients),
        "",
        "## Transfers",
        "",
        register.transfers,
        "",
        "## Security measures",
        "",
        *(f"- {item}" for item in register.security_measures),
        "",
        "## Algorithmic analysis activated",
        "",
        *_analysis_lines(register),
        "",
    ]
    return "\n".join(lines)


def render_html(register: ProcessingRegister) -> str:
    """The same record as a standalone HTML page; every value is escaped."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(c.camera_id)}</td><td>{e(c.name)}</td><td>{e(c.tenant)}</td><td>{e(c.setting)}</td>"
        f"<td>{e(', '.join(c.purposes))}</td><td>{c.retention_days}</td><td>{e(c.authorisation)}</td></tr>"
        for c in register.cameras
    )

    def items(values: Sequence[str]) -> str:
        return "<ul>" + "".join(f"<li>{e(v)}</li>" for v in values) + "</ul>"

    analyses = [line.removeprefix("- ").replace("**", "").replace("`", "") for line in _analysis_lines(register)]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Record of processing activities</title></head><body>"
        "<h1>Record of processing activities (GDPR art. 30)</h1>"
        f"<p>Generated {e(register.generated_at.isoformat())}, legal catalogue v{register.catalogue_version}.</p>"
        f"<p><strong>Controller:</strong> {e(register.controller)} — {e(register.controller_contact)}<br>"
        f"<strong>Data protection officer:</strong> {e(register.dpo_contact)}</p>"
        "<h2>Purposes and retention per camera</h2><table><tr><th>camera</th><th>name</th><th>tenant</th>"
        f"<th>setting</th><th>purposes</th><th>retention (days)</th><th>authorisation</th></tr>{rows}</table>"
        f"<h2>Categories of data</h2>{items(register.data_categories)}"
        f"<h2>Recipients</h2>{items(register.recipients)}"
        f"<h2>Transfers</h2><p>{e(register.transfers)}</p>"
        f"<h2>Security measures</h2>{items(register.security_measures)}"
        f"<h2>Algorithmic analysis activated</h2>{items(analyses)}"
        "</body></html>\n"
    )
