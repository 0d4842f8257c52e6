#!/usr/bin/env bash
# Rewrite the pictures in docs/ that tests make (a plain test run writes them under its tmp_path only):
# docs/astronaut_tracking_overlay.png, the Dagster UI screenshots docs/ui_asset_{graph,metadata,table}.png and
# docs/web_viewer_main_job.png (the main job's fitted avatar in the web viewer; runs the main job first, ~5 min).
# Review them (git diff --stat docs/) and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
GASP_REFRESH_DOCS=1 python -m pytest -q \
  tests/test_capture_phone.py::test_astronaut_through_phone_path \
  tests/test_ui_browser.py::test_dagster_ui_in_headless_chromium \
  tests/test_web_main_job.py::test_main_job_avatar_in_chromium "$@"
