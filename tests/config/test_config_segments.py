"""The `storage.segments` section: file (default) or s3, credentials only through environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigie.config import load_config_text
from vigie.config.issues import ConfigError, format_issues
from vigie.config.models import FileSegmentsSettings, S3SegmentsSettings, VigieConfig
from vigie.runtime.assembly.segments import SegmentStoreConfigError, open_segment_store, spool_dir
from vigie.storage import FileSegmentStore, S3SegmentStore

S3 = "  segments:\n    kind: s3\n    endpoint_url: https://s3.example.invalid:8333\n    bucket: vigie-segments\n"


def load(segments: str, tmp_path: Path = Path("/srv/vigie")) -> VigieConfig:
    return load_config_text(f"version: 1\nstorage:\n  data_dir: {tmp_path}\n{segments}", "vigie.yaml")


def issues(segments: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(segments)
    return format_issues(caught.value.issues)


def test_file_is_the_default_under_the_data_dir(tmp_path: Path) -> None:
    config = load("", tmp_path)
    assert config.storage.segments == FileSegmentsSettings()
    assert spool_dir(config) == tmp_path / "segments"
    store = open_segment_store(config)
    assert isinstance(store, FileSegmentStore) and store.root == tmp_path / "segments"
    custom = load(f"  segments: {{kind: file, root: {tmp_path / 'elsewhere'}}}\n", tmp_path)
    assert spool_dir(custom) == tmp_path / "elsewhere"


def test_s3_settings_and_defaults() -> None:
    settings = load(S3).storage.segments
    assert isinstance(settings, S3SegmentsSettings)
    assert (settings.region, settings.prefix, settings.create_bucket) == ("us-east-1", "", False)
    assert (settings.access_key_env, settings.secret_key_env) == ("VIGIE_S3_ACCESS_KEY", "VIGIE_S3_SECRET_KEY")


def test_unknown_kind_and_missing_bucket() -> None:
    assert "storage.segments: unknown kind (hint: allowed: file, s3)" in issues("  segments: {kind: nfs}\n")
    text = issues("  segments: {kind: s3, endpoint_url: 'https://s3.example.invalid'}\n")
    assert "storage.segments.bucket: required field is missing (hint: add `bucket:`" in text


def test_secrets_in_the_file_are_refused_with_a_hint_to_use_the_variables() -> None:
    text = issues(S3 + "    secret_key: hunter2-not-a-secret\n")
    assert "unknown field `secret_key`" in text and "`secret_key_env`" in text
    assert "hunter2" not in text
    text = issues("  segments: {kind: s3, endpoint_url: 'https://ak:hunter2@s3.example.invalid', bucket: vigie}\n")
    assert "credentials in the endpoint URL" in text and "hunter2" not in text


def test_bad_bucket_prefix_and_variable_names() -> None:
    assert "bucket: not a valid value" in issues(S3.replace("vigie-segments", "Vigie_Segments"))
    assert "prefix: not a valid value" in issues(S3 + "    prefix: /abs\n")
    assert "secret_key_env: not a valid value" in issues(S3 + "    secret_key_env: 'not a name'\n")


def test_missing_variables_are_named_without_any_secret() -> None:
    config = load(S3)
    with pytest.raises(SegmentStoreConfigError, match="VIGIE_S3_ACCESS_KEY") as caught:
        open_segment_store(config, {})
    assert "access_key_env" in str(caught.value)
    with pytest.raises(SegmentStoreConfigError, match="VIGIE_S3_SECRET_KEY") as caught:
        open_segment_store(config, {"VIGIE_S3_ACCESS_KEY": "ak-visible"})
    assert "ak-visible" not in str(caught.value)
    store = open_segment_store(config, {"VIGIE_S3_ACCESS_KEY": "ak", "VIGIE_S3_SECRET_KEY": "sk-hidden"})
    assert isinstance(store, S3SegmentStore) and "sk-hidden" not in repr(store)
