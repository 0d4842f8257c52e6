"""What each fitting stage optimises (GASP §3.5) and one stage's optimisation loop.

Stage 1 (inversion): the identity code z only; template G0, features f and decoder D frozen.
Stage 2: the decoder D only (f, G0, z frozen).
Stage 3: the avatar's local Gaussian attributes directly (3DGS-style), the network frozen and no longer used.
L_prior (distance to the avatar after stage 1) is added in stages 2 and 3 when enabled.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from gasp_ops.avatar import ATTRIBUTES, GaussianAvatar
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.regulariser import prior_regulariser
from gasp_ops.prior.losses import image_losses, regularisers, total_loss
from gasp_ops.render.render import render
from gasp_ops.runtime.posing import PosingPlan

STAGE_NAMES = {1: "inversion", 2: "decoder", 3: "refine"}
#: Dimensions of one unbatched local attribute ([N] for opacity logits, [N, k] otherwise).
ATTRIBUTE_NDIM = {"offsets": 2, "log_scales": 2, "quats": 2, "colors": 2, "opacity_logits": 1}


class FitModel(nn.Module):
    """The fit's parameters.

    prior: a private deep copy of the ``GaussianPrior`` (None for the no-prior ablation); code: z [1, Z];
    attributes: the stage-3 local attributes {name: [N, ...]} (created by ``set_stage(3)`` from the current
    decoded avatar, or given as ``init_attributes`` without a prior). faces [F, 3], face_ids [N], barycentrics
    [N, 3] (buffers); init_log_scales [N, 3] and scalp [N] for the prior's scale/displacement regularisers.
    """

    def __init__(self, prior=None, code: torch.Tensor | None = None, init_attributes: dict | None = None,
                 binding: tuple | None = None, init_log_scales: torch.Tensor | None = None,
                 scalp: torch.Tensor | None = None):
        super().__init__()
        if prior is not None:
            self.prior = copy.deepcopy(prior)
            for p in self.prior.parameters():
                p.requires_grad_(False)
            self.code = nn.Parameter(code.detach().reshape(1, -1).clone().to(self.prior.codes), requires_grad=False)
            faces, face_ids, bary = self.prior.faces, self.prior.face_ids, self.prior.barycentrics
            init_log_scales, scalp = self.prior.init_log_scales, self.prior.scalp
        else:
            self.prior, self.code = None, None
            faces, face_ids, bary = binding
        self.register_buffer("faces", faces.clone())
        self.register_buffer("face_ids", face_ids.clone())
        self.register_buffer("barycentrics", bary.clone())
        self.register_buffer("init_log_scales", init_log_scales.clone())
        self.register_buffer("scalp", scalp.clone().bool())
        self.attributes = nn.ParameterDict()
        if init_attributes is not None:
            for k in ATTRIBUTES:
                self.attributes[k] = nn.Parameter(init_attributes[k].detach().clone().float(), requires_grad=False)
        self.stage = 0

    def set_stage(self, stage: int) -> None:
        """Freeze everything, then unfreeze what ``stage`` optimises (1: z, 2: decoder, 3: attributes)."""
        for p in self.parameters():
            p.requires_grad_(False)
        if stage in (1, 2) and self.prior is None:
            raise ValueError("stages 1 and 2 need a prior")
        if stage == 1:
            self.code.requires_grad_(True)
        elif stage == 2:
            for p in self.prior.decoder.parameters():
                p.requires_grad_(True)
        elif stage == 3:
            if len(self.attributes) == 0:
                with torch.no_grad():
                    dec = self.decoded()
                for k in ATTRIBUTES:
                    self.attributes[k] = nn.Parameter(dec[k].detach().clone().float())
            for p in self.attributes.values():
                p.requires_grad_(True)
        self.stage = stage

    def decoded(self, autocast_dtype=None) -> dict[str, torch.Tensor]:
        """G0 + D(f, z): {attribute: [N, ...]}."""
        return {k: v[0] for k, v in self.prior.decode_codes(self.code, autocast_dtype).items()}

    def local(self, autocast_dtype=None) -> dict[str, torch.Tensor]:
        """The current local attributes {attribute: [N, ...]} (decoded in stages 1-2, direct in stage 3)."""
        if len(self.attributes) and (self.stage == 3 or self.prior is None):
            return dict(self.attributes.items())
        return self.decoded(autocast_dtype)

    def trainable(self) -> dict[str, nn.Parameter]:
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    def frozen(self) -> dict[str, nn.Parameter]:
        return {n: p for n, p in self.named_parameters() if not p.requires_grad}

    def avatar(self) -> GaussianAvatar:
        """The current avatar as a plain ``GaussianAvatar`` (detached, float32)."""
        with torch.no_grad():
            attrs = {k: v.detach().float().clone() for k, v in self.local().items()}
        return GaussianAvatar(faces=self.faces.clone(), face_ids=self.face_ids.clone(),
                              barycentrics=self.barycentrics.clone(), **attrs)


def stage_optimizer(model: FitModel, stage: int, config: FitConfig, code_scale: float,
                    spatial_scale: float) -> torch.optim.Adam:
    """Adam over exactly the stage's trainable parameters (call after ``set_stage``)."""
    lr = config.lr
    if stage == 1:
        groups = [{"name": "code", "params": [model.code], "lr": config.code_lr * code_scale}]
    elif stage == 2:
        groups = [{"name": "decoder", "params": [p for p in model.prior.decoder.parameters()], "lr": config.decoder_lr}]
    else:
        a = model.attributes
        groups = [
            {"name": "offsets", "params": [a["offsets"]], "lr": lr.position * spatial_scale},
            {"name": "log_scales", "params": [a["log_scales"]], "lr": lr.scale},
            {"name": "quats", "params": [a["quats"]], "lr": lr.rotation},
            {"name": "colors", "params": [a["colors"]], "lr": lr.colour},
            {"name": "opacity_logits", "params": [a["opacity_logits"]], "lr": lr.opacity},
        ]
    return torch.optim.Adam(groups, eps=1e-15)


def position_lr(config: FitConfig, step: int, steps: int, spatial_scale: float) -> float:
    """3DGS's exponential position-rate decay over the stage, times the scene scale."""
    if config.lr.position <= 0:
        return 0.0
    t = min(max(step / max(steps - 1, 1), 0.0), 1.0)
    lo, hi = math.log(config.lr.position_final or 1e-30), math.log(config.lr.position)
    return math.exp(hi * (1 - t) + lo * t) * spatial_scale


def step_loss(model, plan: PosingPlan, vertices: torch.Tensor, cameras, rgb_gt: torch.Tensor,
              alpha_gt: torch.Tensor, background: torch.Tensor, config: FitConfig, target: dict | None,
              lpips_model=None, autocast_dtype=None, local: dict | None = None, unseen: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The prior's loss (+ L_prior when ``target`` is given) for frames with posed meshes vertices [B, V, 3],
    cameras (B), targets rgb_gt [B, H, W, 3] over background [B, 3] and alpha_gt [B, H, W, 1].
    unseen: [N] 1 - visibility per Gaussian; with a target, adds ``config.unseen_prior_weight`` x the colour part of
    L_prior weighted by it (in the total; "prior" logs the plain L_prior).

    model: anything with ``local(autocast_dtype)``, ``init_log_scales`` [N, 3] and ``scalp`` [N] (``FitModel``,
    the baselines); ``local``: the local attributes to use instead of ``model.local()`` (shared [N, ...] or per
    frame [B, N, ...], e.g. expression-dependent ones)."""
    local = model.local(autocast_dtype) if local is None else local
    out = render(plan.pose(local, vertices), cameras)
    rgb = out.rgb + (1.0 - out.alpha) * background[:, None, None, :]
    terms = image_losses(rgb, out.alpha, rgb_gt, alpha_gt, lpips_model)
    per_frame = {k: (v if v.ndim == ATTRIBUTE_NDIM[k] + 1 else v[None]) for k, v in local.items()}
    terms["scale"], terms["displacement"] = regularisers(per_frame, model.init_log_scales, model.scalp,
                                                         config.loss.scalp_factor)
    loss = total_loss(terms, config.loss)
    if target is not None:
        terms["prior"] = prior_regulariser(local, target, config.prior_reg)
        loss = loss + config.prior_weight * terms["prior"]
        if unseen is not None and config.unseen_prior_weight > 0:
            loss = loss + config.unseen_prior_weight * prior_regulariser(local, target, config.prior_reg,
                                                                         per_gaussian=unseen, only=("colors",))
    else:
        terms["prior"] = loss.new_zeros(())
    terms["total"] = loss
    return loss, terms
