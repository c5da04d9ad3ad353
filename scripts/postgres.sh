#!/usr/bin/env bash
# Start the Debian PostgreSQL cluster and make sure the test role and database exist (idempotent).
# Prints the SQLAlchemy URL to use on stdout.
set -euo pipefail
version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
as_pg() { su postgres -s /bin/sh -c "$1"; }
as_pg "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='vigie'\"" | grep -q 1 \
  || as_pg "psql -qc \"CREATE ROLE vigie LOGIN SUPERUSER PASSWORD 'vigie'\"" >/dev/null
as_pg "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='vigie_test'\"" | grep -q 1 \
  || as_pg "createdb -O vigie vigie_test"
echo "postgresql+psycopg://vigie:vigie@127.0.0.1:5432/vigie_test"
