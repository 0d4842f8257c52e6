#!/usr/bin/env bash
# Rewrite constraints.txt (repository root) with the exact versions that the README's install resolves today.
#
# Builds a throw-away virtual environment, installs the project with the test extra (a superset of the plain
# install) and the dg extra (README, `dg launch`) WITHOUT constraints, and freezes it: every package but the
# project itself, setuptools included (torch needs it at run time), pip left out. Review `git diff constraints.txt`,
# run the README's test command, commit.
#
#   scripts/refresh_constraints.sh            # uses python3.11 if present, else python3
#   PYTHON=/usr/bin/python3.11 scripts/refresh_constraints.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q -e ".[test,dg]"
{
  echo "# Exact versions of everything \`pip install -e \".[test,dg]\"\` installs (the project excluded), resolved on"
  echo "# $("$tmp/venv/bin/python" -c 'import platform; print("Python", platform.python_version(), platform.machine())'), $(date -u +%Y-%m-%d)."
  echo "# Used by both README set-up commands (pip install -c constraints.txt ...). Regenerate with"
  echo "# scripts/refresh_constraints.sh; test against the newest releases with scripts/test_latest.sh."
  "$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -v -E '^(#|-e |pip==|gasp-pipeline)' | LC_ALL=C sort -f
} > constraints.txt.new
mv constraints.txt.new constraints.txt
n=$(grep -vc '^#' constraints.txt)
echo "constraints.txt: $n pins"; grep -i -E '^(torch|numpy|dagster|opencv)' constraints.txt
