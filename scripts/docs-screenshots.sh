#!/usr/bin/env bash
# Refresh the console's screenshots in docs/console/ from the last run of the browser tests (test-artifacts/console/,
# written by tests/console and tests/e2e/test_demo_console.py), as JPEG (a tenth of the PNGs' size).
# Usage: bash scripts/docs-screenshots.sh   (after scripts/test.sh, or after the console's tests alone)
set -euo pipefail
cd "$(dirname "$0")/.."
shots=(tree tree-search layouts-shared layouts wall-output alarm-popup alarm-window alarm-keyboard-preset map
       map-popup map-no-basemap map-vector theme-dark theme-light 04-alert-pending 06-playback 07-export-done 22-cases-list
       23-access-review 10-activation-active 12-audit-verified 03c-cameras health-view 15-accounts plates-01-held
       14-public)
mkdir -p docs/console
for name in "${shots[@]}"; do
  source="test-artifacts/console/$name.png"
  if [[ ! -f "$source" ]]; then echo "docs-screenshots: $source is missing (run the console's tests first)" >&2; exit 1; fi
  .venv/bin/python - "$source" "docs/console/$name.jpg" <<'PY'
import sys

import cv2

image = cv2.imread(sys.argv[1])
height, width = image.shape[:2]
if height > 1800:  # a long full-page shot: its top, which is what the text shows
    image = image[:1800]
    height = 1800
if width > 1200:
    image = cv2.resize(image, (1200, round(height * 1200 / width)), interpolation=cv2.INTER_AREA)
cv2.imwrite(sys.argv[2], image, [cv2.IMWRITE_JPEG_QUALITY, 75])
PY
done
du -sh docs/console
