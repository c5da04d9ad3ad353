"""Builds the configured segment store (``storage.segments``): the one place that reads the S3 credentials from
the environment. Used by the service (recording, purge, playback) and by the export and recording commands."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from vigie.config.models import S3SegmentsSettings, VigieConfig
from vigie.domain.recording import SegmentStore
from vigie.storage.segment_store import FileSegmentStore, S3SegmentStore, SegmentStoreError


class SegmentStoreConfigError(SegmentStoreError):
    """The configured segment store cannot be built (an environment variable is missing...). No secret inside."""


def spool_dir(config: VigieConfig) -> Path:
    """Where recorders write finished segments: the file store's root, or the local spool in front of S3."""
    settings = config.storage.segments
    if isinstance(settings, S3SegmentsSettings) or settings.root is None:
        return config.storage.data_dir / "segments"
    return settings.root


def is_remote(config: VigieConfig) -> bool:
    """True when segments leave this machine (S3): recorders' files must then be uploaded from the spool."""
    return isinstance(config.storage.segments, S3SegmentsSettings)


def open_segment_store(config: VigieConfig, environ: Mapping[str, str] | None = None) -> SegmentStore:
    """The configured store. For S3, the credentials come from the environment variables the file names;
    a missing one is a :class:`SegmentStoreConfigError` naming the variable (never its value)."""
    settings = config.storage.segments
    if not isinstance(settings, S3SegmentsSettings):
        return FileSegmentStore(spool_dir(config))
    env = os.environ if environ is None else environ
    access_key = _credential(env, settings.access_key_env, "access key id", "access_key_env")
    secret_key = _credential(env, settings.secret_key_env, "secret key", "secret_key_env")
    store = S3SegmentStore(
        settings.endpoint_url, settings.bucket, access_key, secret_key, settings.region, settings.prefix
    )
    if settings.create_bucket:
        store.create_bucket_if_missing()
    return store


def _credential(env: Mapping[str, str], name: str, what: str, field: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise SegmentStoreConfigError(
            f"storage.segments: the environment variable {name} (the S3 {what}) is not set or empty; set it "
            f"before starting vigie, or name another variable in `storage.segments.{field}`"
        )
    return value
