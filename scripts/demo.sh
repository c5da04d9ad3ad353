#!/usr/bin/env bash
# Set everything up (idempotent) and run the demo: simulated cameras, embedded SQLite, console on :8080.
# Extra arguments go to `vigie demo` (e.g. --port 9000 --cameras 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vigie demo "$@"
