"""A saved prior loads with the Gaussian layout it was trained with, whatever layout this CPU's UV rasterisation gives
(the head's float32 UVs differ in the last bits between CPUs: UV 128 covers 9,900 texels on one, 9,902 on another)."""

import pytest
import torch

from gasp_ops.binding.uv_init import UVBinding, uv_binding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.io.tensors import load_tensors, save_tensors
from gasp_ops.prior.checkpoint import load_prior, save_prior
from gasp_ops.prior.prior_model import GaussianPrior
from tests.prior_fixture import tiny_config


def _other_machines_prior(head, cfg, path):
    """A prior trained where the UV map covered 3 texels fewer than here."""
    here = uv_binding(head.topology, cfg.uv_resolution)
    keep = torch.arange(here.count - 3)
    there = UVBinding(here.face_ids[keep], here.barycentrics[keep], here.texels[keep], here.resolution)
    model = GaussianPrior.build(head, cfg, 3, binding=there)
    with torch.no_grad():
        model.features.add_(1.0)
    return save_prior(path, model, {"config": cfg.as_dict()}), model, here.count


def test_a_prior_loads_with_its_own_layout(tmp_path):
    head = ProceduralHead()
    cfg = tiny_config(uv_resolution=16, code_dim=16)
    path, saved, here = _other_machines_prior(head, cfg, tmp_path / "prior.safetensors")
    loaded, _ = load_prior(path, head)
    assert loaded.count == saved.count == here - 3
    assert torch.equal(loaded.face_ids, saved.face_ids) and torch.equal(loaded.features, saved.features)
    assert loaded.avatar(subject=1).count == here - 3  # decodes to a whole avatar in that layout


def test_a_prior_without_a_layout_is_one_clear_error(tmp_path):
    head = ProceduralHead()
    cfg = tiny_config(uv_resolution=16, code_dim=16)
    path, _, _ = _other_machines_prior(head, cfg, tmp_path / "prior.safetensors")
    tensors, meta = load_tensors(path)
    del tensors["model.face_ids"]
    save_tensors(tmp_path / "broken.safetensors", tensors, meta)
    with pytest.raises(GaspInputError, match="no Gaussian layout"):
        load_prior(tmp_path / "broken.safetensors", head)
