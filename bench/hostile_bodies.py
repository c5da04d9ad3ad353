"""Hostile request bodies against a real ``vigie serve`` (issue 15, D6): how much of a large body the server takes,
how fast it refuses it, and how much its memory grows.

The issue's probe: 1 GiB of JSON streamed to ``POST /api/auth/login`` took the API process from 329 MB to a 3.3 GB
peak. Here the same body goes, chunked (no length) and announced (``Content-Length``), to the login and to an
ordinary JSON route, and the server's peak resident memory (``VmHWM``) is read before and after.

    .venv/bin/python bench/hostile_bodies.py [--mib 1024]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of each body, MiB")
    args = parser.parse_args()

    from tests.support.bodies import stream_http
    from tests.support.configs import config_yaml
    from tests.support.servers import free_port
    from tests.support.vigie_cli import get_json, start_vigie, stop_vigie
    from tests.support.waiting import wait_for

    total = args.mib << 20
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        port = free_port()
        config = tmp / "vigie.yaml"
        config.write_text(config_yaml(tmp, "", port=port), encoding="utf-8")
        proc = start_vigie("serve", "--config", str(config))
        base = f"http://127.0.0.1:{port}"
        results = []
        try:

            def answers() -> bool:
                try:
                    return bool(get_json(f"{base}/healthz"))
                except OSError:
                    return False

            wait_for(answers, 60, "vigie serve to answer")
            before = peak_kib(proc.pid)
            for path in ("/api/auth/login", "/api/exports"):
                for announced in (False, True):
                    began = time.perf_counter()
                    result = stream_http(base, path, total, announce_length=announced)
                    took = time.perf_counter() - began
                    how = "announced" if announced else "chunked"
                    results.append((path, how, result.status, result.sent, took))
            after = peak_kib(proc.pid)
        finally:
            stop_vigie(proc, signal.SIGTERM)

    for path, how, status, sent, took in results:
        print(
            f"{path} {how}: status {status}, client sent {sent / 2**20:.1f} MiB of {args.mib} in {took * 1000:.0f} ms"
        )
    print(f"server peak RSS before: {before / 1024:.0f} MiB, after: {after / 1024:.0f} MiB")
    print(f"body_mib: {args.mib}")
    print(f"server_peak_growth_mib: {(after - before) / 1024:.1f}")
    print(f"worst_refusal_ms: {max(r[4] for r in results) * 1000:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
