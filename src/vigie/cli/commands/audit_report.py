"""``vigie audit report``: the compliance report, rendered from the audit chain and signed with the audit key.

The HTML gets a detached signature file ``<report>.sig.json``: the Ed25519 signature (current audit key) over the
report's SHA-256, its period and the chain head it was computed from. ``verify_report`` checks it offline.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from vigie.config import ConfigError, VigieConfig, format_issues, load_config
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.governance.audit import AuditKeyError, load_public_key
from vigie.governance.audit.signing import verify_signature
from vigie.governance.catalogue import load_catalogue
from vigie.governance.report import ComplianceReport, build_report
from vigie.governance.report_html import render_report_html
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.runtime.clock import system_clock
from vigie.storage import SqlAuditStore, StorageError, create_engine_for, migrate


def signature_path(report: Path) -> Path:
    return report.with_name(report.name + ".sig.json")


def report_command(config_path: Path, since: datetime, until: datetime, out: Path, actor: str) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        return 2
    if until <= since:
        print(
            f"vigie audit report: --to ({until.isoformat()}) must be after --from ({since.isoformat()})",
            file=sys.stderr,
        )
        return 2
    try:
        report = write_report(config, since, until, out, actor)
    except (StorageError, AuditKeyError, OSError) as err:
        print(f"vigie audit report: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} and its signature {signature_path(out)}")
    for untraced in report.untraced:
        print(
            f"WARNING: {untraced.module} opened on {untraced.camera_id} at {untraced.at.isoformat()} (seq "
            f"{untraced.seq}) under activation #{untraced.activation_id or '?'}, whose request and two approvals "
            "are not in the audit log before it: ask why",
            file=sys.stderr,
        )
    return 0


def write_report(config: VigieConfig, since: datetime, until: datetime, out: Path, actor: str) -> ComplianceReport:
    engine = create_engine_for(config.storage.database_url)
    try:
        migrate(engine)
        chain = open_audit_sink(config, engine, system_clock)
        modules = [m.id for m in load_catalogue().modules]
        report = build_report(SqlAuditStore(engine).records(), modules, since, until, chain.clock())
        html = render_report_html(
            report,
            controller=config.governance.controller or "",
            signature_note=f"Signed with audit key {chain.signer().key_id}: see {signature_path(out).name}.",
        ).encode()
        payload = {
            "file": out.name,
            "sha256": hashlib.sha256(html).hexdigest(),
            "since": format_time(since),
            "until": format_time(until),
            "generated_at": format_time(report.generated_at),
            "chain_head_seq": report.chain_head_seq,
            "chain_head_hash": report.chain_head_hash,
        }
        signer = chain.signer()
        signature = {**payload, "key_id": signer.key_id, "signature": signer.sign(payload)}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(html)
        signature_path(out).write_text(json.dumps(signature, indent=2) + "\n", encoding="utf-8")
        chain.append(
            AuditEvent(actor, AuditAction.AUDIT_EXPORTED, "audit:report", {"kind": "compliance_report", **payload})
        )
        return report
    finally:
        engine.dispose()


def verify_report(report: Path, public_keys: Mapping[str, str]) -> str | None:
    """None when ``report`` matches its signature file and a given key signed it; else what is wrong."""
    try:
        signed: dict[str, Any] = json.loads(signature_path(report).read_text(encoding="utf-8"))
        content = report.read_bytes()
    except (OSError, ValueError) as err:
        return f"cannot read the report or its signature: {err}"
    key_id, signature = signed.pop("key_id", None), signed.pop("signature", None)
    if not isinstance(key_id, str) or not isinstance(signature, str) or key_id not in public_keys:
        return f"the report is signed by key {key_id!r}, which is not among the public keys given"
    if not verify_signature(load_public_key(public_keys[key_id]), signed, signature):
        return "the signature does not match the signed statement"
    if hashlib.sha256(content).hexdigest() != signed.get("sha256"):
        return "the report was modified after it was signed"
    return None
