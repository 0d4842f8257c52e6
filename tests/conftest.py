"""Shared fixtures."""

import pytest
import torch

from gasp_ops.headmodel.procedural import ProceduralHead


@pytest.fixture(scope="session")
def head():
    """The built-in head model (built once per session), with one torch thread on the shared 2-core machines."""
    torch.set_num_threads(1)
    return ProceduralHead()
