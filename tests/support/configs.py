"""Configuration files for tests that run Vigie as a user does (the CLI, ``vigie serve``, the service)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any


def authorised_around(today: date | None = None) -> tuple[str, str]:
    """A prefectoral authorisation in force: from a year before ``today`` (the host's day: what the service reads
    when no clock is injected) to five years after."""
    day = today or datetime.now(UTC).date()
    return (day - timedelta(days=365)).isoformat(), (day + timedelta(days=5 * 365)).isoformat()


def camera_yaml(
    camera_id: str,
    url: str,
    *,
    setting: str = "public_street",
    valid: tuple[str, str] | None = None,
    enabled: bool = True,
    purposes: tuple[str, ...] = ("crime_prevention",),
) -> str:
    """One camera of a test configuration (under ``communes[0].sites[0].cameras``), authorised ``valid`` (from,
    until), by default :func:`authorised_around` today."""
    valid_from, valid_until = valid or authorised_around()
    switched_off = "" if enabled else "\n            enabled: false"
    return f"""          - id: {camera_id}
            name: Camera {camera_id}
            kind: fixed
            setting: {setting}{switched_off}
            main_stream: {url}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: {valid_from}
              valid_until: {valid_until}
              purposes: [{", ".join(purposes)}]
              retention_days: 15
"""


def signage_yaml(indent: int = 8, *, controller: str = "Ville de Testville") -> str:
    """A site's ``signage`` record (L7), its lines indented by ``indent`` spaces: the cameras of a site without one are
    not commissioned, so every test site that runs cameras carries one. Put up long before any day a test runs on."""
    pad = " " * indent
    return (
        f"{pad}signage:\n{pad}  pictogram: true\n{pad}  controller: {controller}\n"
        f"{pad}  contact: dpo@testville.example\n{pad}  panel: PAN-TEST-001\n{pad}  posted_on: 2000-01-01\n"
    )


def unsigned_site_yaml(site_id: str, name: str, cameras: str) -> str:
    """Another site of :func:`config_yaml`'s commune, to append to it, with no ``signage``: its cameras are not
    commissioned (L7)."""
    return f"      - id: {site_id}\n        name: {name}\n        cameras:\n{cameras}"


def config_yaml(tmp_path: Path, cameras: str, *, port: int = 8080, storage: str = "") -> str:
    """A whole test configuration: SQLite and data under ``tmp_path``, one municipal commune, the given cameras;
    ``storage`` adds lines to the storage section (indented by two spaces)."""
    return f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
{storage}api: {{host: 127.0.0.1, port: {port}}}
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: centre
        name: Centre
{signage_yaml()}        cameras:{" []" if not cameras else ""}
{cameras}"""


def camera_data(**changes: Any) -> dict[str, Any]:
    """One camera as the configuration models read it (authorised 2024-01-01 to 2029-01-01: for models checked
    on given days, never against today), with ``changes`` applied."""
    data: dict[str, Any] = {
        "id": "cam-001",
        "name": "Parvis",
        "kind": "fixed",
        "main_stream": "rtsp://cam-001.example.invalid/s",
        "location": {"lat": 45.0, "lon": 4.0},
        "authorisation": {
            "reference": "2024-DS-1",
            "valid_from": "2024-01-01",
            "valid_until": "2029-01-01",
            "purposes": ["crime_prevention"],
            "retention_days": 30,
        },
    }
    data.update(changes)
    return data


def cluster_yaml(
    tmp_path: Path,
    database_url: str,
    s3_endpoint: str,
    bucket: str,
    address: str,
    cameras: str,
    *,
    port: int,
    segment_seconds: float,
    cluster: str = "",
    workers: str = "",
) -> str:
    """A cluster-mode configuration (docs/cluster.md): PostgreSQL at ``database_url``, segments in the S3 bucket of
    ``s3_endpoint`` (its credentials in the nodes' environment, as ``VIGIE_TEST_S3_KEY``/``..._SECRET``) under a
    prefix of its own, the Ray cluster at ``address`` in a namespace of its own, the given cameras; ``cluster`` and
    ``workers`` add lines to those sections (indented by two spaces)."""
    import uuid

    return f"""version: 1
storage:
  database_url: {database_url}
  data_dir: {tmp_path / "data"}
  segment_seconds: {segment_seconds}
  segments:
    kind: s3
    endpoint_url: {s3_endpoint}
    bucket: {bucket}
    prefix: t-{uuid.uuid4().hex[:8]}/
    access_key_env: VIGIE_TEST_S3_KEY
    secret_key_env: VIGIE_TEST_S3_SECRET
api: {{host: 127.0.0.1, port: {port}}}
{"workers:" + chr(10) + workers if workers else ""}cluster:
  address: "{address}"
  namespace: t{uuid.uuid4().hex[:10]}
  recorder_resources: {{CPU: 0.25}}
  analysis_resources: {{CPU: 0.25}}
{cluster}communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: centre
        name: Centre
{signage_yaml()}        cameras:
{cameras}"""
