"""The instant path's speed changes keep what they promise (issue 17): the encoder's own residual block is
torchvision's BasicBlock layer for layer (so shipped encoder files load and give the same features), instant mode runs
on one CPU thread unless OMP_NUM_THREADS says otherwise, and a benchmark subject reads without dlib."""

import numpy as np
import pytest
import torch
from torch import nn

from gasp_ops.encoder.residual import ResidualBlock


@pytest.mark.parametrize("stride", [1, 2])
def test_residual_block_is_basicblock_layer_for_layer(stride):
    from torchvision.models.resnet import BasicBlock

    def norm(c):
        return nn.GroupNorm(4, c)

    def down():
        return nn.Sequential(nn.Conv2d(8, 16, 1, stride=stride, bias=False), norm(16))

    torch.manual_seed(3)
    ours = ResidualBlock(8, 16, stride=stride, downsample=down(), norm_layer=norm)
    torch.manual_seed(3)
    theirs = BasicBlock(8, 16, stride=stride, downsample=down(), norm_layer=norm)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)  # same keys, same seeded init
    with torch.no_grad():
        for p in theirs.parameters():  # non-trivial norms, so a wrong order of operations would show
            p.add_(torch.randn_like(p) * 0.1)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 8, 12, 12)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_instant_mode_runs_on_one_thread_unless_told(monkeypatch):
    from pipelines.cli_encoder import instant_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        instant_threads("full")
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        instant_threads("instant")
        assert torch.get_num_threads() == 2
        monkeypatch.delenv("OMP_NUM_THREADS")
        instant_threads("instant")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_benchmark_subject_landmarks_without_dlib(monkeypatch):
    import gasp_ops.capture.benchmark_subject as bs

    def no_dlib(images):
        raise ModuleNotFoundError("No module named 'dlib'")

    monkeypatch.setattr(bs, "detect_all", no_dlib)
    errors = []
    out = bs._detected_or_nan(np.zeros((2, 3, 8, 8, 3), np.uint8), errors)
    assert out.shape == (2, 3, 68, 2) and np.isnan(out).all()
    assert len(errors) == 1 and "dlib" in errors[0] and "landmark_error_px" in errors[0]
