"""Building the governance service from the configuration, the same way for the API and the ``vigie governance``
commands: the packaged legal catalogue, the governance tables, the seals (signed with the installation's audit
key, checked against its public keys), the accounts that may act, and the check that each module can run as
configured on the requested cameras (its settings, a detection model)."""

from __future__ import annotations

from sqlalchemy import Engine

from vigie.config.models import CommuneKind, VigieConfig
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.governance.catalogue import Catalogue, load_catalogue
from vigie.governance.seal import KeySealer, SealVerifier, keys_in
from vigie.runtime.assembly.audit import audit_keyring, keys_dir
from vigie.runtime.assembly.module_settings import module_readiness
from vigie.services.governance import AccountRoles, AuditEntry
from vigie.services.governance_access import GovernanceAccess
from vigie.storage import SqlAuditStore, SqlGovernanceStore, SqlUserRepo


def account_roles(engine: Engine) -> AccountRoles:
    """Roles of the active (not disabled) account of a username, read from the accounts table at each call."""
    users = SqlUserRepo(engine)

    def roles(username: str) -> frozenset[str] | None:
        user = users.by_username(username)
        if user is None or user.disabled:
            return None
        return frozenset(str(role) for role in user.roles)

    return roles


def audit_entry(engine: Engine) -> AuditEntry:
    """One audit entry by seq, read from the audit table at each call."""
    store = SqlAuditStore(engine)
    return lambda seq: next(store.records(from_seq=seq, to_seq=seq), None)


def seal_verifier(config: VigieConfig) -> SealVerifier:
    """Checks seals against the installation's public audit keys (files in the data folder, not the database)."""
    return SealVerifier(keys_in(keys_dir(config)))


DEVICE_CAPABILITIES = frozenset({"ptz_control"})
"""Capabilities that act on a physical device (auto-tracking drives a dome): a module with one is never exempted on
simulated footage — what it moves is real, and it runs under a real activation only."""


def exemptible_modules(catalogue: Catalogue) -> list[str]:
    """The modules simulated footage may run without an activation: those every kind of tenant may use at all, and
    that drive no device (:data:`DEVICE_CAPABILITIES`)."""
    every_kind = set(CommuneKind)
    return [
        m.id
        for m in catalogue.modules
        if set(m.tenant_kinds) >= every_kind and not DEVICE_CAPABILITIES & set(m.capabilities)
    ]


def open_governance(
    config: VigieConfig,
    engine: Engine,
    audit: AuditSink,
    clock: Clock,
    *,
    simulated_cameras: frozenset[str] = frozenset(),
) -> GovernanceAccess:
    """The governance use cases (``.service`` for the commands, the rest for logged-in people).

    Raises :class:`~vigie.governance.catalogue.CatalogueError` when the packaged catalogue cannot be loaded."""
    catalogue = load_catalogue()
    exempt = set(exemptible_modules(catalogue))  # plate reading runs under a real activation only, even simulated
    return GovernanceAccess(
        SqlGovernanceStore(engine),
        catalogue=catalogue,
        config=config,
        audit=audit,
        clock=clock,
        sealer=KeySealer(audit_keyring(config).current_signer),
        verifier=seal_verifier(config),
        accounts=account_roles(engine),
        audit_entry=audit_entry(engine),
        readiness=module_readiness(config),
        simulated={
            p.camera.id: ("motion", *(m for m in p.camera.analysis.modules if m in exempt))
            for p in config.placements()
            if p.camera.id in simulated_cameras and p.camera.enabled
        },
    )
