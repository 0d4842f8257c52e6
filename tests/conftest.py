"""Shared fixtures."""

import hashlib
import os
from pathlib import Path

import pytest
import torch

from gasp_ops.headmodel.procedural import ProceduralHead

#: The pipeline tests exercise the assets with the small prior each test trains (fast on 2 cores); the shipped prior,
#: the default for users (``PriorSource``), has its own tests (test_shipped_prior.py) and runs in the main job.
os.environ.setdefault("GASP_PRIOR_SOURCE", "job")

from main_job_fixture import main_job  # noqa: F401  (session: the one run of gasp_main, shared)

#: Set to 1 to let the tests that make the README's pictures write them into docs/ (README, "Pictures in docs/").
REFRESH_DOCS_ENV = "GASP_REFRESH_DOCS"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _docs_pictures() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DOCS.glob("*.png"))}


@pytest.fixture(scope="session")
def head():
    """The built-in head model (built once per session), with one torch thread on the shared 2-core machines."""
    torch.set_num_threads(1)
    return ProceduralHead()


@pytest.fixture
def pictures_dir(tmp_path) -> Path:
    """Where a test saves a picture the README shows: the repository's docs/ only when GASP_REFRESH_DOCS=1, else a
    folder under the test's tmp_path, so that a plain test run never rewrites a tracked file."""
    if os.environ.get(REFRESH_DOCS_ENV) == "1":
        return DOCS
    out = tmp_path / "docs"
    out.mkdir()
    return out


@pytest.fixture(scope="session", autouse=True)
def docs_left_alone():
    """Fail the session when a test rewrote or removed a picture in docs/ without GASP_REFRESH_DOCS=1."""
    if os.environ.get(REFRESH_DOCS_ENV) == "1":
        yield
        return
    before = _docs_pictures()
    yield
    after = _docs_pictures()
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not changed, f"tests rewrote docs/{changed}: save pictures to the pictures_dir fixture's folder"
