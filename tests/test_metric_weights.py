"""LPIPS and FID loading code runs end to end from a pre-seeded cache (evaluation.weights, evaluation.metrics).

The weights written here are random stand-ins of the right shapes: they prove the real loaders find, load and run
a cached file (torchvision's AlexNet checkpoint under $TORCH_HOME/hub/checkpoints; clean-fid's TorchScript
Inception under $GASP_FID_INCEPTION_DIR, clean-fid's own default being /tmp). The numbers they give are only
checked to be finite and are never reported anywhere.
"""

from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import fid_score, lpips_distance, lpips_status
from evaluation.weights import INCEPTION_FILE, alexnet_weights, inception_weights


def _img(seed, size=48):
    return torch.rand(size, size, 3, generator=torch.Generator().manual_seed(seed))


def _stand_in_alexnet(path):
    """Random torchvision-AlexNet state dict (every key and shape of the real checkpoint). The classifier, which
    LPIPS never runs, is one zero broadcast to its shape so the file stays ~10 MB."""
    import torchvision

    with torch.device("meta"):
        shapes = {k: v.shape for k, v in torchvision.models.alexnet().state_dict().items()}
    g = torch.Generator().manual_seed(0)
    sd = {k: (0.05 * torch.randn(s, generator=g) if k.startswith("features") else torch.zeros(()).expand(s))
          for k, s in shapes.items()}
    path.parent.mkdir(parents=True)
    torch.save(sd, path)


class _InceptionStandIn(torch.nn.Module):
    """clean-fid's TorchScript Inception interface: forward(x [B, 3, H, W] in [0, 255], return_features) ->
    [B, 2048] pool features (any H, W: resized to 299 inside), and a ``layers`` submodule. Random weights."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 5, stride=4), torch.nn.ReLU(),
                                          torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(256, 2048))

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.layers((x - 128.0) / 128.0)


def test_lpips_runs_from_a_seeded_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert not alexnet_weights().available and "not cached" in alexnet_weights().reason
    r = lpips_distance(_img(0), _img(1))
    assert math.isnan(r.value) and r.backend.startswith("unavailable: torchvision AlexNet weights not cached")

    ckpt = tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    _stand_in_alexnet(ckpt)
    avail = alexnet_weights()
    assert avail.available and avail.path == str(ckpt)
    assert lpips_status() == "lpips_alex"
    mask = torch.zeros(48, 48)
    mask[8:40, 8:40] = 1
    r = lpips_distance(_img(0), _img(1), mask)
    assert r.backend == "lpips_alex" and math.isfinite(r.value) and r.value > 0
    assert lpips_distance(_img(0), _img(0), mask).value == 0.0


def test_fid_runs_from_a_seeded_inception_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GASP_FID_INCEPTION_DIR", str(tmp_path))
    assert not inception_weights().available
    assert fid_score([_img(0), _img(1)], [_img(2), _img(3)]).backend.startswith("unavailable: clean-fid Inception")

    torch.jit.script(_InceptionStandIn().eval()).save(str(tmp_path / INCEPTION_FILE))
    assert inception_weights().available
    preds, targets = [_img(i) for i in range(4)], [_img(10 + i) * 0.5 for i in range(4)]
    r = fid_score(preds, targets)
    assert r.backend == "clean_fid_inception", r.backend
    assert math.isfinite(r.value) and r.value > 0


def test_frechet_distance_matches_clean_fid():
    import numpy as np
    from cleanfid.fid import frechet_distance as reference

    from evaluation.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 40)), 0.5 + 2.0 * rng.normal(size=(9, 40))
    expect = reference(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(expect, rel=1e-6)
    big_a, big_b = rng.normal(size=(50, 8)), rng.normal(size=(60, 8)) + 1.0  # n >= D: clean-fid's own path
    expect = reference(big_a.mean(0), np.cov(big_a, rowvar=False), big_b.mean(0), np.cov(big_b, rowvar=False))
    assert frechet_distance(big_a, big_b) == pytest.approx(expect, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
