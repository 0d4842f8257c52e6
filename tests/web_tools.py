"""Helpers for the web viewer tests: node, the npm packages of web_viewer/ (installed from its lock file), the
splat-transform CLI, and reading its CSV output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web_viewer"
SPLAT_TRANSFORM = WEB / "node_modules" / "@playcanvas" / "splat-transform" / "bin" / "cli.mjs"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the JavaScript side of the viewer and splat-transform need node)")
    return node


def ensure_node_modules() -> str:
    """node's path, after ``npm ci`` in web_viewer/ when its packages are missing (fails if npm ci fails)."""
    node = node_or_skip()
    if not SPLAT_TRANSFORM.is_file() or not (WEB / "node_modules" / "esbuild").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not: cannot install web_viewer's packages"
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"npm ci in web_viewer failed:\n{(proc.stdout + proc.stderr)[-2000:]}"
    return node


def splat_transform(*args, timeout: float = 600) -> str:
    """Run PlayCanvas splat-transform (web_viewer's locked version) with ``args``; returns its output."""
    node = ensure_node_modules()
    proc = subprocess.run([node, str(SPLAT_TRANSFORM), "-w", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"splat-transform {' '.join(map(str, args))} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def read_csv_columns(path) -> dict[str, np.ndarray]:
    """A splat-transform CSV (header row, one Gaussian per row) as float64 columns."""
    import pandas as pd

    t = pd.read_csv(path)
    return {c: t[c].to_numpy(np.float64) for c in t.columns}
