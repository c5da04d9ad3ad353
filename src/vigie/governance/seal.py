"""Seals: the service's signature on each activation and each approval, so a row written straight into the
database opens nothing (issue #14, D2).

When the governance service records an activation or an approval, it signs the record's canonical content with
the installation's audit key (the Ed25519 key of ``vigie.governance.audit.signing``, kept in the data folder,
never in the database) and stores the seal beside the row. The audit entry of the same act
(``activation.requested`` / ``activation.approved``) carries the same seal. The gate opens a module only for an
activation whose seal and whose approvals' seals verify with a public key of the installation; anything else is
refused and audited (``activation.unverified``).

A seal is ``<key_id>:<base64 signature>`` over the canonical JSON (``vigie.domain.audit.canonical_json``) of:

- an activation: every field a person approved (``id``, tenant, module, cameras, zones, framework, decision,
  DPIA, purpose, start, end, requester and role, when it was recorded, the calibration run it is based on);
- an approval: the activation's id and seal (so an approval is bound to exactly what was approved), the
  approver's account name and role, and when.

Times are written as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, as in the audit log, so a record read back from either
database seals the same. What this protects against, and what it does not (an administrator who reads the
private key can seal — but every seal is also in the audit chain, whose published heads an outside auditor
holds), is in ``docs/threat-model.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.domain.activation import Activation, Approval
from vigie.governance.audit.signing import (
    PUBLIC_DIR,
    AuditKeyError,
    AuditSigner,
    key_id_of,
    load_public_key,
    verify_signature,
)

SEAL_VERSION: Final = 1


class Sealer(Protocol):
    """Signs governance records (the service's side)."""

    def seal(self, payload: Mapping[str, Any]) -> str: ...


class KeySealer:
    """Seals with the installation's current audit signing key (fetched at each seal: rotation is followed)."""

    def __init__(self, signer: Callable[[], AuditSigner]) -> None:
        self._signer = signer

    def seal(self, payload: Mapping[str, Any]) -> str:
        signer = self._signer()
        return f"{signer.key_id}:{signer.sign(payload)}"


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def activation_payload(activation: Activation) -> dict[str, Any]:
    """What an activation's seal covers."""
    return {
        "v": SEAL_VERSION,
        "kind": "activation",
        "id": activation.id,
        "tenant": activation.tenant,
        "module": activation.module,
        "camera_ids": sorted(set(activation.camera_ids)),
        "zone_ids": sorted(set(activation.zone_ids)),
        "framework": activation.framework,
        "decision_number": activation.decision_number,
        "decision_date": None if activation.decision_date is None else activation.decision_date.isoformat(),
        "dpia_reference": activation.dpia_reference,
        "purpose": activation.purpose,
        "starts_at": _instant(activation.starts_at),
        "ends_at": _instant(activation.ends_at),
        "requested_by": activation.requested_by,
        "requested_role": activation.requested_role,
        "requested_at": _instant(activation.requested_at),
        "calibration_seq": activation.calibration_seq,
    }


def approval_payload(approval: Approval, activation_seal: str) -> dict[str, Any]:
    """What an approval's seal covers: bound to the activation's own seal, hence to its exact content."""
    return {
        "v": SEAL_VERSION,
        "kind": "approval",
        "activation_id": approval.activation_id,
        "activation_seal": activation_seal,
        "by": approval.by,
        "role": approval.role,
        "at": _instant(approval.at),
    }


PublicKeys = Mapping[str, Ed25519PublicKey]


def read_public_keys(keys_dir: Path) -> dict[str, Ed25519PublicKey]:
    """The installation's public keys (``<keys_dir>/public/*.pem``) by key id; never creates anything.

    Unreadable files are skipped: a key that cannot be read verifies nothing."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted((keys_dir / PUBLIC_DIR).glob("*.pem")):
        try:
            key = load_public_key(path.read_bytes())
        except (AuditKeyError, OSError):
            continue
        keys[key_id_of(key)] = key
    return keys


class SealVerifier:
    """Checks seals against the installation's public keys, re-reading them when a seal names an unknown key
    (the key was rotated since they were read)."""

    def __init__(self, keys: Callable[[], PublicKeys]) -> None:
        self._load = keys
        self._keys: PublicKeys = {}

    def verifies(self, payload: Mapping[str, Any], seal: str) -> bool:
        key_id, sep, signature = seal.partition(":")
        if not sep or not key_id or not signature:
            return False
        key = self._keys.get(key_id)
        if key is None:
            self._keys = dict(self._load())
            key = self._keys.get(key_id)
        return key is not None and verify_signature(key, payload, signature)

    def activation_sealed(self, activation: Activation) -> bool:
        return self.verifies(activation_payload(activation), activation.seal)

    def approval_sealed(self, approval: Approval, activation: Activation) -> bool:
        return approval.activation_id == activation.id and self.verifies(
            approval_payload(approval, activation.seal), approval.seal
        )

    def unverified_reason(self, activation: Activation, approvals: list[Approval]) -> str | None:
        """Why ``activation`` (with its ``approvals``) cannot be trusted, or None when every seal verifies."""
        if not activation.seal:
            return "the activation carries no seal (not recorded by the governance service)"
        if not self.activation_sealed(activation):
            return "the activation's seal does not verify (its content was changed or it was forged)"
        bad = [a for a in approvals if not self.approval_sealed(a, activation)]
        if bad:
            names = ", ".join(f"{a.by} ({a.role})" for a in bad)
            return f"approval(s) by {names} carry no valid seal (not given through the governance service)"
        return None


def keys_in(keys_dir: Path) -> Callable[[], PublicKeys]:
    """A key source for :class:`SealVerifier` reading ``keys_dir`` (picklable-friendly closure for workers)."""
    return lambda: read_public_keys(keys_dir)
