"""Builds the export use case (L13, L14, L5) from the configuration: the one builder the service and the
``vigie export`` commands share, so that an export made at the command line and one asked through the API are
made, signed and recorded by the same parts."""

from __future__ import annotations

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.governance.audit import AuditChain
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.redaction import clip_info, model_loader
from vigie.runtime.assembly.segments import open_segment_store
from vigie.services.exports import ExportService, ExportWorkspace
from vigie.services.redacted_copies import ExportRedactor
from vigie.storage.audit_query import SqlAuditReader
from vigie.storage.export_jobs import SqlExportJobs
from vigie.storage.recording import SqlDestructionRegister, SqlSegmentIndex


def build_export_service(
    config: VigieConfig,
    engine: Engine,
    audit: AuditChain,
    clock: Clock,
    *,
    store: SegmentStore | None = None,
    index: SegmentIndex | None = None,
) -> ExportService:
    """The export service over the configured database and ``store`` (default: the configured segment store),
    signing with the audit chain's current key.

    Every configured camera, enabled or not: a disabled one may still have footage to export. Exports asked
    through the API are made in ``<data_dir>/exports``; transmissions to the prosecutor go into the destruction
    register (L5); an export made by another process is found by its id or manifest SHA-256 in the audit log. The
    jobs are kept in the database, so that every API process lists, cancels and serves them (issue 17): in cluster
    mode the API processes share the data folder's ``exports`` (a shared mount), where the packages are. An export
    asked redacted (for the press, an insurer) is blurred with the redaction model (``privacy.redaction_model``,
    loaded at the first such export)."""
    registry = ModelRegistry(config.storage.data_dir / "models", audit, clock=clock)
    return ExportService(
        SqlSegmentIndex(engine) if index is None else index,
        open_segment_store(config) if store is None else store,
        audit.signer(),
        audit,
        [placement.camera for placement in config.placements()],
        clock,
        workspace=ExportWorkspace(config.storage.data_dir / "exports", audit.keyring.public_keys),
        register=SqlDestructionRegister(engine),
        history=SqlAuditReader(engine),
        jobs=SqlExportJobs(engine),
        redactor=ExportRedactor(model_loader(config, registry), clip_info, audit.signer()),
    )
