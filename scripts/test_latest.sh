#!/usr/bin/env bash
# Run the test suite against the newest releases the project's requirements allow (no constraints.txt): a fresh
# virtual environment, `pip install --upgrade --upgrade-strategy eager -e ".[test]"`, then the README's pytest
# command. Extra arguments go to pytest (e.g. `scripts/test_latest.sh tests/test_baselines.py -k fits`).
# Keep the environment with GASP_LATEST_VENV=path (reused and upgraded on the next run).
# A failure here that the pinned install does not show is a new release changing behaviour: fix the code or the
# test, then scripts/refresh_constraints.sh to move the pins.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [[ -n "${GASP_LATEST_VENV:-}" ]]; then
  venv=$GASP_LATEST_VENV
else
  venv=$(mktemp -d)/venv
  trap 'rm -rf "$(dirname "$venv")"' EXIT
fi
[[ -x "$venv/bin/python" ]] || "$PY" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade --upgrade-strategy eager -e ".[test]"
"$venv/bin/pip" freeze --exclude-editable | grep -i -E '^(torch|torchvision|numpy|scipy|pandas|dagster|opencv)' || true
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q "$@"
