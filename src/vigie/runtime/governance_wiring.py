"""Building the governance service from the configuration, the same way for the API and the ``vigie governance``
commands: the packaged legal catalogue, the governance tables, and the check that each module can run as
configured on the requested cameras (its settings, a detection model)."""

from __future__ import annotations

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.governance.catalogue import load_catalogue
from vigie.runtime.module_settings import module_readiness
from vigie.services.governance_access import GovernanceAccess
from vigie.storage import SqlGovernanceStore


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
    return GovernanceAccess(
        SqlGovernanceStore(engine),
        catalogue=load_catalogue(),
        config=config,
        audit=audit,
        clock=clock,
        readiness=module_readiness(config),
        simulated={
            p.camera.id: ("motion", *p.camera.analysis.modules)
            for p in config.placements()
            if p.camera.id in simulated_cameras and p.camera.enabled
        },
    )
