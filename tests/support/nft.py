"""The real ``nft`` (Debian's nftables) checking a ruleset without applying it: ``nft -c -f FILE`` in a network
namespace of its own (``unshare -rn``: no privilege needed, and the machine's own ruleset is never touched). Without
nftables (``scripts/setup.sh --with-nftables``) the tests are skipped, except in CI where they fail; where the
machine allows no namespace they are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def nft_binary() -> str:
    found = shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if os.access(p, os.X_OK)), None)
    if found is None:
        reason = "Debian's nftables is not installed: run scripts/setup.sh --with-nftables (scripts/test.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def nft_check(ruleset: Path) -> subprocess.CompletedProcess[str]:
    """``nft -c -f`` on ``ruleset``, in a new user and network namespace; its result (return code and messages)."""
    nft = nft_binary()
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("util-linux's unshare is missing: nft must check rulesets in a namespace of its own")
    command = [unshare, "--map-root-user", "--net", nft, "--check", "--file", str(ruleset)]
    return _namespaced(command)


def nft_load_twice(ruleset: Path) -> subprocess.CompletedProcess[str]:
    """Load ``ruleset`` twice with ``nft -f`` in a network namespace of its own (the kernel's own acceptance, and
    a reload as an operator does after a change), then list what is loaded (``nft list ruleset``)."""
    nft = nft_binary()
    script = 'set -e; "$0" -f "$1"; "$0" -f "$1"; "$0" list ruleset'
    command = ["unshare", "--map-root-user", "--net", "sh", "-c", script, nft, str(ruleset)]
    return _namespaced(command)


def _namespaced(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command``; where this machine forbids namespaces (some container sandboxes), the test is skipped, in CI
    too (a kernel's rule, not a missing step of the set-up): nft is never run against the machine's own ruleset."""
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "unshare failed" in result.stderr:
        pytest.skip(f"no network namespace for nft on this machine ({result.stderr.strip()})")
    return result
