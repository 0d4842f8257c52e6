#!/usr/bin/env bash
# Rewrite the pictures in docs/ that tests make (a plain test run writes them under its tmp_path only):
# docs/astronaut_tracking_overlay.png and the Dagster UI screenshots docs/ui_asset_{graph,metadata,table}.png.
# Review them (git diff --stat docs/) and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
GASP_REFRESH_DOCS=1 python -m pytest -q \
  tests/test_capture_phone.py::test_astronaut_through_phone_path \
  tests/test_ui_browser.py::test_dagster_ui_in_headless_chromium "$@"
