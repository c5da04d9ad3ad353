#!/usr/bin/env bash
# Run a command with the host's clock moved by OFFSET (e.g. +400d) for it and every process it starts:
#   scripts/faketime.sh +400d .venv/bin/pytest tests/governance
# Debian's libfaketime, the monotonic clock left real (threads' timed waits would hang), and Python's time.sleep
# made safe under it (tests/support/faketime/sitecustomize.py says why).
set -euo pipefail
cd "$(dirname "$0")/.."
offset="$1"; shift
lib="$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime.so.1$' || true)"
if [[ -z "$lib" ]]; then
  echo "faketime.sh: libfaketime is not installed (apt-get install faketime, or bash scripts/setup.sh --with-faketime)" >&2
  exit 2
fi
export FAKETIME="$offset" FAKETIME_DONT_FAKE_MONOTONIC=1
export PYTHONPATH="$PWD/tests/support/faketime${PYTHONPATH:+:$PYTHONPATH}"
LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"
