#!/usr/bin/env bash
# Set everything up (idempotent) and run the whole test suite: lint, types, import contracts, tests on SQLite
# and on a real PostgreSQL, RTSP tests against a real GStreamer RTSP server, single sign-on against a real OpenID
# provider (oidc-provider under node), MQTT against a real Mosquitto broker. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-postgres --with-browser --with-oidc --with-faketime --with-mqtt --with-sip --with-nftables
VIGIE_TEST_POSTGRES_URL="${VIGIE_TEST_POSTGRES_URL:-$(bash scripts/postgres.sh)}"
export VIGIE_TEST_POSTGRES_URL

echo "== ruff"; .venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "== mypy"; .venv/bin/mypy
echo "== import contracts"; .venv/bin/lint-imports
# --durations: the slowest tests are printed, to keep the whole run well under 30 minutes on 2 cores.
# -n: on both cores (pytest-xdist), most tests waiting on the processes, servers and cameras they start; the heavy
# ones (Ray clusters, end-to-end runs: tests/cluster, tests/e2e) one after another on one worker while the other
# takes the rest, and the tests of a module sharing a module or session fixture on one worker (built once, not once
# per worker) (tests/conftest.py). VIGIE_TEST_WORKERS=0 runs everything in one process. The photo-real cut-out
# bank's GrabCut masks are kept in ~/.cache/vigie/cutouts (docs/simulator.md): built by the first process that
# needs them, read by the others (a run that finds them there from an earlier run saves that minute too).
workers=(-n "${VIGIE_TEST_WORKERS:-2}" --dist loadgroup)
if [[ $# -eq 0 ]]; then
  echo "== pytest"; .venv/bin/pytest "${workers[@]}" --durations=40 --ignore=tests/e2e/test_demo.py
  # The README promises a new user a motion event within 30 s of `vigie demo`'s start: on their machine, not on one
  # that runs the rest of this suite on both cores at the same time (it took 24-32 s there, 15 s alone). Its two
  # runs are timed alone, after the rest.
  echo "== pytest, the demo's start timed alone"
  .venv/bin/pytest -p no:cacheprovider --durations=5 tests/e2e/test_demo.py
else
  echo "== pytest"; .venv/bin/pytest "${workers[@]}" --durations=40 "$@"
fi

# No test depends on the day it runs: the tests whose subject is the calendar run again with the host's clock 400
# days ahead (Debian's faketime), past the end of the 2027 experiment framework: governance (activations, their
# validity and approvals, the audit chain and its checkpoints), authorisations and their expiry, retention and the
# recordings' day folders, storage and its time queries, the services and events, the configuration's dates, the
# CLI, accounts' dates and sessions, the API's and the console's date inputs and Paris days, exports and playback
# windows, the runtime's activation gates and sessions, and the legal flow end to end. Left out, as their subject
# is not the day (and the pass must stay short: all of it took 13 minutes): the simulator, the detectors, plate
# reading, the evaluation, the stream readers and live views, PTZ, speakers, sensors and webhooks, the health views,
# single sign-on's browser run, translations, the tamper checks on footage, the worker processes and the recorder's
# kill -9 restarts, the `slow` and `postgres` tests (PostgreSQL and SeaweedFS keep the real clock: started outside),
# the API's fuzzing (its own fixed clock), and SQLite's writers racing for its lock
# (tests/storage/test_storage_concurrency.py: under libfaketime on a loaded machine its writers got "database is
# locked" within SQLite's 5-s busy timeout, which the real clock has never given). Not on pytest-xdist (its workers
# spin under libfaketime): two plain pytest processes side by side, each on its half, each with its own temporary
# folder; their reports are printed one after the other.
# The moved clock lands at 23:05 UTC that day: already the next day in Paris (the legal calendar) while UTC is still
# on the previous one, so that a day counted in the wrong zone shows on every run, not only on runs that happen to
# fall near midnight (the console once asked a UTC browser for the wrong day there).
if [[ $# -eq 0 && "${VIGIE_TEST_CLOCK_AHEAD:-1}" != 0 ]]; then
  ahead_day="$(date -u -d '+400 days' +%Y-%m-%d)"
  ahead_s=$(( $(date -u -d "$ahead_day 23:05:00" +%s) - $(date -u +%s) ))
  echo "== pytest, the clock 400 days ahead ($ahead_day 23:05 UTC, 00:05 or 01:05 in Paris), two halves side by side"
  ahead_tmp="$(mktemp -d)"
  ahead() {  # $1: the half's name; the rest: its folders and files. Each half its own slice of ports for the
    # servers its tests start (tests/support/servers.py: the two must not hand out the same one).
    local slot=2; [[ "$1" == second ]] && slot=3
    VIGIE_TEST_PORT_SLOT="$slot" bash scripts/faketime.sh "+${ahead_s}s" .venv/bin/pytest -q -p no:cacheprovider --durations=8 \
      --basetemp="$ahead_tmp/$1" -m "not postgres and not slow" "${@:2}" \
      --ignore=tests/storage/test_storage_concurrency.py --ignore=tests/recording/test_recorder_kills.py \
      >"$ahead_tmp/$1.log" 2>&1
  }
  runtime=(cli_session.py composition.py user_commands.py unclean_stop.py api_processes.py lpr_gate.py
    calibration_trace.py event_modules_runtime.py)
  not_api=(live_api.py ptz_api.py ptz_domes_api.py ptz_tracking_api.py request_limits.py speakers_api.py
    snapshots_api.py store_unavailable.py camera_lists.py feed_sensors.py webhooks_api.py schemathesis.py)
  ahead first tests/governance tests/recording tests/storage tests/services tests/events tests/config \
    "${runtime[@]/#/tests/runtime/test_}" tests/e2e/test_governance_flow.py & first=$!
  ahead second tests/api "${not_api[@]/#/--ignore=tests/api/test_}" tests/console/test_console.py \
    tests/console/test_paris_clock.py tests/console/test_console_export_cancel.py tests/test_cli.py \
    tests/test_authorisation.py & second=$!
  ahead_status=0
  wait "$first" || ahead_status=1
  wait "$second" || ahead_status=1
  echo "-- first half (governance, recording, storage, services, events, config, the runtime's gates, legal flow)"
  cat "$ahead_tmp/first.log"
  echo "-- second half (API, console, CLI, authorisation)"
  cat "$ahead_tmp/second.log"
  rm -rf "$ahead_tmp"
  exit "$ahead_status"
fi
