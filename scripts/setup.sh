#!/usr/bin/env bash
# Idempotent set-up shared by scripts/demo.sh and scripts/test.sh:
#   Debian packages (apt-get, only those missing) and a virtualenv in .venv with Vigie installed.
# Usage: scripts/setup.sh [--with-postgres] [--with-browser] [--with-oidc] [--with-faketime] [--with-mqtt] [--with-sip]
#   [--with-nftables]
#   Always: node and npm (Debian's, when none), and the console's map library (npm ci in src/vigie/web).
#   --with-browser: Chromium, and axe-core for the console's accessibility checks (pinned in tests/console/package-lock.json)
#   --with-oidc: the test OpenID provider (oidc-provider, pinned in tests/oidc/package-lock.json)
set -euo pipefail
cd "$(dirname "$0")/.."

with_oidc=0
with_browser=0
packages=(ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
          gstreamer1.0-plugins-bad fonts-dejavu-core)  # the font of the simulated number plates
# node and npm install the console's map library (MapLibre GL, pinned in src/vigie/web/package-lock.json) with
# `npm ci`; a node from elsewhere is kept
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi
for option in "$@"; do
  case "$option" in
    --with-postgres) packages+=(postgresql) ;;
    --with-browser)  # the console's tests drive Debian's Chromium with Playwright, and check it with axe-core (npm)
      with_browser=1
      packages+=(chromium) ;;
    --with-faketime) packages+=(faketime) ;;  # the test pass with the clock a year ahead (scripts/test.sh)
    --with-mqtt) packages+=(mosquitto) ;;  # the demo and the MQTT tests start their own broker (never Debian's service)
    --with-sip) packages+=(baresip-core) ;;  # SIP speakers call with baresip; the tests answer with a second one
    --with-nftables) packages+=(nftables) ;;  # `nft -c` checks `vigie deploy firewall`'s ruleset (never applies it)
    --with-oidc)  # single sign-on tests run panva's oidc-provider under node (a node from elsewhere is kept)
      with_oidc=1 ;;
    *) echo "setup: unknown option $option" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then packages+=(python3-venv); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "setup: Vigie needs Python 3.11 ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}
# Python packages come from the committed lock file (uv.lock), never from whatever the registry serves today:
# uv (pinned with hashes in scripts/uv-requirements.txt) installs exactly the locked versions and hashes into
# .venv, and removes what the lock does not name. Re-locking is a deliberate commit (README, "Dependencies").
if [[ ! -x .tools/uv/bin/uv ]] || ! cmp -s scripts/uv-requirements.txt .tools/uv/requirements.txt; then
  echo "setup: installing uv (scripts/uv-requirements.txt) into .tools/uv"
  rm -rf .tools/uv
  "$PYTHON" -m venv .tools/uv
  .tools/uv/bin/python -m pip install -q --no-deps --require-hashes -r scripts/uv-requirements.txt
  cp scripts/uv-requirements.txt .tools/uv/requirements.txt
fi
export UV_PYTHON="$PYTHON" UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv UV_LINK_MODE=copy
# --locked: stop if pyproject.toml and uv.lock disagree (someone changed a dependency without re-locking).
# --compile-bytecode, and Vigie's own sources compiled too: every vigie process (the service, its workers, each
# demo start) then loads bytecode, also where PYTHONDONTWRITEBYTECODE is set and nothing would ever be cached —
# there a demo spent 14 s importing before its first frame, 8 s with the bytecode.
.tools/uv/bin/uv sync --locked --extra dev --quiet --compile-bytecode
.venv/bin/python -m compileall -q src >/dev/null
# npm packages from a committed lock (npm ci), again only when the lock changed since the last install
npm_install() {
  local folder="$1" what="$2"
  local stamp="$folder/node_modules/.vigie-installed"
  local want
  want="$(sha256sum "$folder/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "setup: installing $what (npm ci in $folder)"
    npm ci --prefix "$folder" --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
}
# The console's map library, served by Vigie under /static/vendor/ (never from a CDN): exactly the locked versions.
npm_install src/vigie/web "the console's map library"
if (( with_oidc )); then npm_install tests/oidc "the test OpenID provider"; fi
if (( with_browser )); then npm_install tests/console "axe-core for the console's accessibility checks"; fi
