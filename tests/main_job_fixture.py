"""The main job, run once per test session: ``main_job`` (registered in conftest.py) materialises ``gasp_main`` on the
tiny preset into a session temporary data root; tests that need its outputs (the fitted avatar, the tables) share
that one run instead of running the job again (it takes about 5 minutes on 2 CPU cores)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest


@dataclass(frozen=True)
class MainJobRun:
    """``result``: the in-process run of ``gasp_main``; ``root``: its data root (outputs under root/tiny/...)."""

    result: dg.ExecuteInProcessResult
    root: Path

    def metadata(self, asset: str) -> dict:
        """The metadata of ``asset``'s single materialisation in this run (values unwrapped)."""
        (mat,) = self.result.asset_materializations_for_node(asset)
        return {k: v.value for k, v in mat.metadata.items()}


@pytest.fixture(scope="session")
def main_job(tmp_path_factory) -> MainJobRun:
    from assets_defs.resources import DataRoot
    from pipelines.definitions import defs
    from pipelines.jobs import MAIN_JOB

    root = tmp_path_factory.mktemp("gasp_main")
    result = defs.resolve_job_def(MAIN_JOB).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), resources={"data_root": DataRoot(root=str(root))})
    return MainJobRun(result, root)
