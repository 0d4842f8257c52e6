"""A saved prior loads, and a training checkpoint resumes, with the Gaussian layout it was trained with, whatever layout
this CPU's UV rasterisation gives (the head's float32 UVs differ in the last bits between CPUs: UV 128 covers 9,900
texels on one, 9,902 on another)."""

import pytest
import torch

from gasp_ops.binding.uv_init import UVBinding, uv_binding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.io.tensors import load_tensors, save_tensors
from gasp_ops.prior.checkpoint import load_prior, save_prior
from gasp_ops.prior.prior_model import GaussianPrior
from gasp_ops.prior.trainer import train_prior
from tests.prior_fixture import tiny_config, views_for


def _fewer_texels(binding: UVBinding, k: int = 3) -> UVBinding:
    """The layout of a machine whose UV rasterisation covered ``k`` texels fewer than this one's."""
    keep = torch.arange(binding.count - k)
    return UVBinding(binding.face_ids[keep], binding.barycentrics[keep], binding.texels[keep], binding.resolution)


def _other_machines_prior(head, cfg, path):
    """A prior trained where the UV map covered 3 texels fewer than here."""
    here = uv_binding(head.topology, cfg.uv_resolution)
    model = GaussianPrior.build(head, cfg, 3, binding=_fewer_texels(here))
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


def test_a_checkpoint_resumes_with_its_own_layout(tmp_path, monkeypatch):
    """Training stopped on a machine whose layout had 3 texels fewer resumes here, in that layout, to the end."""
    head = ProceduralHead()
    views = views_for(head)
    cfg = tiny_config(steps=4, checkpoint_every=2)
    here = uv_binding(head.topology, cfg.uv_resolution).count
    monkeypatch.setattr("gasp_ops.prior.prior_model.uv_binding", lambda topo, res: _fewer_texels(uv_binding(topo, res)))
    first = train_prior(cfg, views, head, tmp_path, progress=False, stop_at=2)
    monkeypatch.undo()
    assert first.model.count == here - 3
    second = train_prior(cfg, views, head, tmp_path, progress=False)
    assert second.step == 4 and second.model.count == here - 3
    assert torch.equal(second.model.face_ids, first.model.face_ids)
