#!/usr/bin/env bash
# Start the Debian PostgreSQL cluster and make sure the test role and database exist (idempotent).
# Prints the SQLAlchemy URL to use on stdout (and nothing else).
set -euo pipefail
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
as_pg() { if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$1"; else sudo -u postgres sh -c "$1"; fi; }

version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  $SUDO pg_createcluster "$version" main >/dev/null
fi
$SUDO pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "postgres.sh: PostgreSQL $version did not start" >&2; exit 1; }
as_pg "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='vigie'\"" | grep -q 1 \
  || as_pg "psql -qc \"CREATE ROLE vigie LOGIN SUPERUSER PASSWORD 'vigie'\"" >/dev/null
as_pg "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='vigie_test'\"" | grep -q 1 \
  || as_pg "createdb -O vigie vigie_test"
echo "postgresql+psycopg://vigie:vigie@127.0.0.1:5432/vigie_test"
