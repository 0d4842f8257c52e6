"""``flash_avatar``-style baseline (after FlashAvatar, Xiang et al. 2024), re-implemented: UV-initialised Gaussians
(``gasp_ops.binding.uv_binding``, one per covered texel, as GASP's) whose attributes are optimised directly, plus an
expression-conditioned MLP that adds per-Gaussian offsets to position, rotation and scale; no prior.

    x_i   = [gamma(uv_i), expression, jaw]       gamma: sin/cos positional encoding of the texel centre's UV
    d_i   = MLP(x_i) = (d_offset [3], d_quat [4], d_log_scale [3])
    local = (offset_i + d_offset, quat_i + d_quat, log_scale_i + d_log_scale, colour_i, opacity_i)

then posed on the frame's tracked mesh like every other avatar here. Evaluation needs the frame's expression and
jaw, so the fitted avatar is a ``FlashAvatarStyle`` (``world_gaussians(vertices, expressions, poses)``), not a
``GaussianAvatar`` file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.fitting.baselines.common import BaselineResult, baseline_scene, step_budget
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.loop import progress_bar, run_steps
from gasp_ops.fitting.scene import spatial_scale
from gasp_ops.fitting.stages import position_lr, stage_optimizer, step_loss
from gasp_ops.render.gaussians import Gaussians3D
from gasp_ops.runtime.posing import PosingPlan
from gasp_ops.seeding import generator


@dataclass(frozen=True)
class FlashConfig:
    """frequencies: positional-encoding octaves of the UV coordinates (input width 2 + 4 x frequencies);
    hidden / layers: MLP width and hidden layers (ReLU); mlp_lr: its Adam rate (FlashAvatar's own rates are not
    reused: their scale differs; 1e-3 is Adam's default); out_init: std of the last layer's initial weights
    (small, so the fit starts at the UV initialisation but the offsets already depend on the expression)."""

    frequencies: int = 4
    hidden: int = 64
    layers: int = 2
    mlp_lr: float = 1e-3
    out_init: float = 1e-3


def positional_encoding(uv: torch.Tensor, frequencies: int) -> torch.Tensor:
    """[N, 2] in [0, 1] -> [N, 2 + 4 F]: uv, sin(2^k pi uv), cos(2^k pi uv) for k < F."""
    parts = [uv]
    for k in range(frequencies):
        parts += [torch.sin((2.0 ** k) * math.pi * uv), torch.cos((2.0 ** k) * math.pi * uv)]
    return torch.cat(parts, -1)


class FlashAvatarStyle(nn.Module):
    """UV-bound Gaussians + expression MLP.

    faces [F, 3], face_ids [N], barycentrics [N, 3], uv [N, 2] (texel centres in [0, 1]) buffers;
    attributes: base local attributes (``ATTRIBUTES``); mlp: (2 + 4F + n_expression + 3) -> 10.
    init_log_scales [N, 3], scalp [N]: for the loss's scale / displacement regularisers.
    """

    def __init__(self, avatar: GaussianAvatar, uv: torch.Tensor, n_expression: int, config: FlashConfig,
                 scalp: torch.Tensor, seed: int = 0):
        super().__init__()
        self.config = config
        for name in ("faces", "face_ids", "barycentrics"):
            self.register_buffer(name, getattr(avatar, name).clone())
        self.register_buffer("uv", uv.float().clone())
        self.register_buffer("init_log_scales", avatar.log_scales.clone())
        self.register_buffer("scalp", scalp.bool().clone())
        self.attributes = nn.ParameterDict({k: nn.Parameter(v.detach().clone().float())
                                            for k, v in avatar.attributes().items()})
        g = generator(seed, "flash-mlp-init")
        width = 2 + 4 * config.frequencies + n_expression + 3
        dims = [width] + [config.hidden] * config.layers + [10]
        mods = []
        for i in range(len(dims) - 1):
            lin = nn.Linear(dims[i], dims[i + 1])
            with torch.no_grad():
                last = i == len(dims) - 2
                std = config.out_init if last else math.sqrt(2.0 / dims[i])
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * std)
                lin.bias.zero_()
            mods += [lin] if last else [lin, nn.ReLU()]
        self.mlp = nn.Sequential(*mods)

    def deltas(self, expressions: torch.Tensor, jaw: torch.Tensor) -> torch.Tensor:
        """[B, N, 10] MLP outputs for expressions [B, E] and jaw poses [B, 3]."""
        B, N = expressions.shape[0], self.uv.shape[0]
        pe = positional_encoding(self.uv, self.config.frequencies)
        cond = torch.cat([expressions.float(), jaw.float()], -1)
        x = torch.cat([pe[None].expand(B, -1, -1), cond[:, None].expand(-1, N, -1)], -1)
        return self.mlp(x)

    def local(self, expressions: torch.Tensor, jaw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-frame local attributes: offsets, log_scales [B, N, 3], quats [B, N, 4]; colours [N, 3] and opacity
        logits [N] shared."""
        d = self.deltas(expressions, jaw)
        a = self.attributes
        return {"offsets": a["offsets"][None] + d[..., 0:3], "quats": a["quats"][None] + d[..., 3:7],
                "log_scales": a["log_scales"][None] + d[..., 7:10], "colors": a["colors"],
                "opacity_logits": a["opacity_logits"]}

    @torch.no_grad()
    def world_gaussians(self, vertices: torch.Tensor, expressions: torch.Tensor, poses) -> Gaussians3D:
        """World Gaussians [B, N, ...] for posed meshes vertices [B, V, 3] with their expressions [B, E] and
        ``HeadPose`` poses (the jaw conditions the MLP)."""
        plan = PosingPlan(self.faces, self.face_ids, self.barycentrics).to(vertices.device)
        return plan.pose(self.local(expressions.to(vertices), poses.jaw.to(vertices)), vertices)

    @property
    def count(self) -> int:
        return int(self.face_ids.shape[0])


def fit_flash_avatar_style(head, inputs, config: FitConfig, *, uv_resolution: int, flash: FlashConfig | None = None,
                           device=None, log: Callable[[str], None] | None = None, progress: bool = False,
                           lpips_net: str = "vgg") -> BaselineResult:
    """Fit the baseline to ``inputs`` with ``config``'s losses, rates, batches and seed for ``step_budget(config)``
    steps; ``uv_resolution``: the UV binding (the prior's, so it has GASP's Gaussians). The avatar of the result is
    the fitted ``FlashAvatarStyle`` (CPU, eval mode)."""
    flash = flash or FlashConfig()
    log = log or (lambda msg: None)
    config, head, dev, scene = baseline_scene(head, inputs, config, device, lpips_net)
    topo = head.topology
    binding = uv_binding(topo, int(uv_resolution))
    avatar0 = GaussianAvatar.from_binding(topo, binding, scene.rest.detach().cpu())
    uv = (binding.texels.flip(-1).float() + 0.5) / binding.resolution  # (column, row) -> (u, 1 - v)
    uv[:, 1] = 1.0 - uv[:, 1]
    model = FlashAvatarStyle(avatar0, uv, head.n_expression, flash, topo.region_mask("scalp").cpu()[binding.face_ids],
                             seed=config.seed).to(dev)
    plan = PosingPlan(model.faces, model.face_ids, model.barycentrics).to(dev)
    spatial = spatial_scale(scene, model.faces, model.face_ids)
    steps = step_budget(config)
    opt = stage_optimizer(model, 3, config, 1.0, spatial)
    opt.add_param_group({"name": "mlp", "params": list(model.mlp.parameters()), "lr": flash.mlp_lr})
    poses = scene.inputs.poses
    log(f"flash_avatar-style: {len(scene.inputs)} frames, {model.count} Gaussians, {steps} steps, LPIPS {scene.lpips}")

    def loss_fn(idx, bg):
        rgb_gt, a_gt = scene.inputs.targets(idx, bg)
        local = model.local(scene.inputs.expressions[idx], poses.jaw[idx])
        return step_loss(model, plan, scene.vertices[idx], scene.inputs.cameras[idx], rgb_gt, a_gt, bg, config, None,
                         scene.lpips_model, local=local)

    def before_step(step, opt):
        for g in opt.param_groups:
            if g["name"] == "offsets":
                g["lr"] = position_lr(config, step, steps, spatial)

    bar = progress_bar(progress, steps, "flash_avatar")
    hist, seconds = run_steps(steps, loss_fn, opt, frames=len(scene.inputs), batch_size=config.batch_size,
                              random_background=config.random_background, gen=generator(config.seed, "fit-schedule"),
                              device=dev, log_every=config.log_every, before_step=before_step, bar=bar)
    if bar is not None:
        bar.close()
    log(f"flash_avatar-style: {steps} steps in {seconds:.1f} s, loss {hist['total'][-1]:.4f}")
    model = model.to("cpu").eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return BaselineResult(avatar=model, history={"direct": hist}, seconds={"direct": seconds}, config=config,
                          steps=steps, spatial_scale=spatial, lpips=scene.lpips,
                          stats={"initial": model.count, "final": model.count, "mlp_parameters":
                                 sum(p.numel() for p in model.mlp.parameters())})


__all__ = ["FlashAvatarStyle", "FlashConfig", "fit_flash_avatar_style", "positional_encoding"]
