"""Checkpoints (exact resume) and the final prior file: safetensors + JSON metadata, written atomically.

A checkpoint holds ``model.*`` (the module's state dict), ``optim.<param>.<key>`` (Adam's per-parameter state),
``rng.*`` (torch CPU RNG, CUDA RNG when present, the background generator) and, in the JSON: the step, Adam's
param groups, the loss history and the config. Reloading all of it continues a run bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gasp_ops.binding.uv_init import UVBinding
from gasp_ops.errors import GaspInputError
from gasp_ops.io.tensors import load_tensors, save_tensors

CHECKPOINT_NAME = "checkpoint.safetensors"
PRIOR_NAME = "prior.safetensors"


def _model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}


def save_checkpoint(path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    history: dict, rng: dict[str, torch.Tensor], extra: dict | None = None) -> Path:
    """Write everything needed to resume after ``step`` completed optimiser steps."""
    tensors = _model_tensors(model)
    state = optimizer.state_dict()
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            tensors[f"optim.{pid}.{key}"] = torch.as_tensor(value).detach().clone()
    for key, value in rng.items():
        tensors[f"rng.{key}"] = value.detach().clone()
    meta = {"kind": "gasp_prior_checkpoint", "step": int(step), "param_groups": state["param_groups"],
            "history": history, **(extra or {})}
    return save_tensors(path, tensors, meta)


def load_checkpoint(path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict, dict, dict]:
    """Restore model and optimiser from ``path``; returns (step, history, rng tensors, metadata)."""
    tensors, meta = load_tensors(path)
    if meta.get("kind") != "gasp_prior_checkpoint":
        raise GaspInputError(str(path), "not a prior checkpoint")
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    device = next(model.parameters()).device
    try:
        model.load_state_dict({k: v.to(device) for k, v in model_state.items()})
    except RuntimeError as exc:
        raise GaspInputError(str(path), f"checkpoint does not match this prior's shape ({str(exc).splitlines()[0]})") from None
    opt_state: dict = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, key = k.split(".", 2)
            opt_state.setdefault(int(pid), {})[key] = v if key == "step" else v.to(device)
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    rng = {k[len("rng."):]: v for k, v in tensors.items() if k.startswith("rng.")}
    return int(meta["step"]), meta.get("history", {}), rng, meta


def save_prior(path, model: torch.nn.Module, metadata: dict) -> Path:
    """The trained prior alone (module state dict) with JSON metadata (config, identities, figures)."""
    return save_tensors(path, _model_tensors(model), {"kind": "gasp_prior", **metadata})


def load_prior(path, head, device="cpu"):
    """(GaussianPrior, metadata) from a file written by ``save_prior``; ``head`` must be the training head model."""
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.prior_model import GaussianPrior

    tensors, meta = load_tensors(path)
    if meta.get("kind") != "gasp_prior":
        raise GaspInputError(str(path), "not a trained prior file")
    config = PriorConfig.from_dict(meta["config"])
    model = GaussianPrior.build(head, config, int(tensors["model.codes"].shape[0]), binding=saved_binding(tensors, config))
    try:
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as exc:
        raise GaspInputError(str(path), f"prior does not fit this head model ({str(exc).splitlines()[-1].strip()})") from None
    return model.to(device), meta


def saved_binding(tensors: dict[str, torch.Tensor], config) -> UVBinding:
    """The Gaussians' layout a prior was trained with (its ``model.face_ids`` [N], ``model.barycentrics`` [N, 3]):
    loading uses it rather than rasterising the head's UV map again, which on another CPU may cover a few texels more
    or fewer (9,902 instead of 9,900 at UV 128 on an AMD EPYC) and would no longer match the trained tensors. The
    texels are not saved: -1."""
    for key in ("model.face_ids", "model.barycentrics"):
        if key not in tensors:
            raise GaspInputError(key, "the prior file holds no Gaussian layout")
    face_ids = tensors["model.face_ids"].long()
    return UVBinding(face_ids=face_ids, barycentrics=tensors["model.barycentrics"].float(),
                     texels=torch.full((face_ids.shape[0], 2), -1, dtype=torch.long),
                     resolution=int(config.uv_resolution))
