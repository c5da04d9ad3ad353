"""Seals and accounts for governance services built by hand in tests.

Production builds them in ``vigie.runtime.assembly.governance`` (the installation's audit key, the accounts table);
unit tests of the service and the gate use an in-memory key and a table of who holds which role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigie.config.models import VigieConfig
from vigie.domain.ports import AuditSink
from vigie.governance.audit.signing import AuditSigner
from vigie.governance.catalogue import Catalogue
from vigie.governance.seal import KeySealer, SealVerifier
from vigie.services.governance import AccountRoles, GovernanceService, GovernanceStore

ACCOUNTS: Mapping[str, frozenset[str]] = {
    "cli:alice": frozenset({"police-chief", "supervisor", "dpo"}),
    "cli:bob": frozenset({"dpo", "authority"}),
    "cli:carol": frozenset({"authority"}),
    "cli:dave": frozenset({"dpo"}),
    "cli:erin": frozenset({"dpo", "operator"}),
    "cli:op": frozenset({"operator"}),
    "cli:mallory": frozenset({"police-chief"}),
}
"""The accounts the governance samples act as (``tests.support.activations``), with the roles they hold."""


@dataclass
class Seals:
    """A signing key of its own: ``sealer`` signs, ``verifier`` checks against its public key only."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def signer(self) -> AuditSigner:
        return AuditSigner(self.key)

    @property
    def sealer(self) -> KeySealer:
        signer = self.signer
        return KeySealer(lambda: signer)

    @property
    def verifier(self) -> SealVerifier:
        signer = self.signer
        public = self.key.public_key()
        return SealVerifier(lambda: {signer.key_id: public})


def accounts(table: Mapping[str, frozenset[str]] = ACCOUNTS) -> AccountRoles:
    return table.get


def governance_service(
    store: GovernanceStore,
    catalogue: Catalogue,
    config: VigieConfig,
    audit: AuditSink,
    clock: Any,
    *,
    seals: Seals | None = None,
    table: Mapping[str, frozenset[str]] = ACCOUNTS,
    **kwargs: Any,
) -> GovernanceService:
    """A :class:`GovernanceService` sealing with ``seals`` (a fresh key by default) for the accounts of ``table``."""
    seals = seals or Seals()
    return GovernanceService(
        store,
        catalogue,
        config,
        audit,
        clock,
        sealer=seals.sealer,
        verifier=seals.verifier,
        accounts=accounts(table),
        audit_entry=kwargs.pop("audit_entry", lambda seq: None),
        **kwargs,
    )
