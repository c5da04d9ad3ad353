#!/usr/bin/env bash
# Set everything up (idempotent) and run the demo: simulated cameras, embedded SQLite, console on :8080.
# Extra arguments go to `vigie demo` (e.g. --port 9000 --cameras 4, --no-mqtt).
# --with-mqtt: Debian's mosquitto, from which the demo starts its own private broker on 127.0.0.1 (docs/integrations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-mqtt
exec .venv/bin/vigie demo "$@"
