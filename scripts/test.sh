#!/usr/bin/env bash
# Set everything up (idempotent) and run the whole test suite: lint, types, import contracts, tests on SQLite
# and on a real PostgreSQL, RTSP tests against a real GStreamer RTSP server, single sign-on against a real OpenID
# provider (oidc-provider under node). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-postgres --with-browser --with-oidc
VIGIE_TEST_POSTGRES_URL="${VIGIE_TEST_POSTGRES_URL:-$(bash scripts/postgres.sh)}"
export VIGIE_TEST_POSTGRES_URL

echo "== ruff"; .venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "== mypy"; .venv/bin/mypy
echo "== import contracts"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/pytest "$@"
