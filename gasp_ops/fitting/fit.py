"""The fit driver (GASP §3.5): inversion -> decoder fine-tuning -> direct Gaussian refinement.

``fit_avatar(prior, head, inputs, config)`` returns a ``FitResult`` whose ``avatar`` is the decoded-once,
self-contained ``GaussianAvatar`` (write it with ``gasp_ops.avatar_file.save_avatar_file``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.inputs import FitInputs
from gasp_ops.fitting.loop import progress_bar, run_steps
from gasp_ops.fitting.photo_projection import project_colours
from gasp_ops.fitting.scene import fit_scene, spatial_scale
from gasp_ops.fitting.stages import STAGE_NAMES, FitModel, position_lr, stage_optimizer, step_loss
from gasp_ops.fitting.visibility import gaussian_visibility, stage3_limiter
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.runtime.posing import PosingPlan
from gasp_ops.seeding import generator


@dataclass
class FitResult:
    """avatar: the fitted ``GaussianAvatar`` (CPU, float32); code: z [Z] after stage 1 (None without a prior);
    history: {stage name: {"step": [...], loss term: [...]}}; seconds: {stage name: wall seconds};
    stage_avatars: {stage name: GaussianAvatar after it} when requested; config: the ``FitConfig``;
    spatial_scale: stage 3's position-rate factor; lpips: whether the LPIPS term ran (and why not)."""

    avatar: GaussianAvatar
    code: torch.Tensor | None
    history: dict
    seconds: dict
    config: FitConfig
    spatial_scale: float
    lpips: str = ""
    stage_avatars: dict = field(default_factory=dict)


def initial_code(prior, config: FitConfig) -> tuple[torch.Tensor, float]:
    """(z0 [Z], code scale): z0 = mean(codes) + code_init_scale * std(codes) * N(0, I) from ``generator(seed)``;
    the scale (overall std of the training codes) sets stage 1's learning rate."""
    codes = prior.codes.detach().float().cpu()
    scale = float(codes.std()) if codes.numel() > 1 else 0.01
    scale = max(scale, 1e-4)
    per_dim = codes.std(0) if codes.shape[0] > 1 else torch.full((codes.shape[1],), scale)
    noise = torch.randn(codes.shape[1], generator=generator(config.seed, "fit-code-init"))
    return codes.mean(0) + config.code_init_scale * per_dim * noise, scale


def fit_avatar(prior, head: HeadModel, inputs: FitInputs, config: FitConfig | None = None, *,
               device=None, log: Callable[[str], None] | None = None, progress: bool = False,
               keep_stage_avatars: bool = False, uv_resolution: int | None = None,
               lpips_net: str = "vgg", init_code: torch.Tensor | None = None) -> FitResult:
    """Fit an avatar to ``inputs`` (one subject; any number of frames and cameras).

    prior: a trained ``GaussianPrior`` (not modified: the fit works on a copy), or None with
    ``config.use_prior=False`` (then ``uv_resolution`` gives the binding). head: the head model of the prior and
    of the inputs' 3DMM parameters. device: default the prior's (or head's) device. init_code: z0 [Z] when
    ``config.init == "encoder"`` (e.g. ``gasp_ops.encoder.modes.fit_with_mode``), else None.
    """
    config = (config or FitConfig()).validate()
    log = log or (lambda msg: None)
    if prior is None and config.use_prior:
        raise GaspInputError("prior", "a trained prior is needed (or set use_prior=False for the no-prior ablation)")
    if (config.init == "encoder") != (init_code is not None):
        raise GaspInputError("init", "init='encoder' needs init_code (the encoder's code) and only it takes one")
    dev = torch.device(device) if device is not None else (prior.features.device if prior is not None
                                                           else head.template.device)
    head = head.to(dev)
    scene = fit_scene(head, inputs, config, dev, lpips_net)
    inputs, vertices, rest = scene.inputs, scene.vertices, scene.rest
    T = len(inputs)

    # --- model and its initial state ---------------------------------------------------------------------------
    code_scale = 1.0
    code = None
    if config.use_prior:
        prior = prior.to(dev)
        z0, code_scale = initial_code(prior, config)
        if init_code is not None:
            z0 = init_code.detach().reshape(-1).float().cpu()
        model = FitModel(prior, z0.to(dev))
    else:
        if prior is not None:
            binding = (prior.faces, prior.face_ids, prior.barycentrics)
            if config.no_prior_init == "template":
                init = {k: v.detach() for k, v in prior.template().items()}
            else:
                init = _binding_init(prior.init_log_scales)
            model = FitModel(None, init_attributes=init, binding=binding, init_log_scales=prior.init_log_scales,
                             scalp=prior.scalp)
        else:
            from gasp_ops.binding.uv_init import uv_binding

            if not uv_resolution:
                raise GaspInputError("uv_resolution", "fitting without a prior needs the UV resolution of the binding")
            avatar0 = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, int(uv_resolution)),
                                                  rest.detach().cpu())
            model = FitModel(None, init_attributes=avatar0.attributes(),
                             binding=(avatar0.faces, avatar0.face_ids, avatar0.barycentrics),
                             init_log_scales=avatar0.log_scales,
                             scalp=head.topology.region_mask("scalp").cpu()[avatar0.face_ids])
    model = model.to(dev)
    plan = PosingPlan(model.faces, model.face_ids, model.barycentrics).to(dev)
    spatial = spatial_scale(scene, model.faces, model.face_ids)
    lpips_model, reason = scene.lpips_model, scene.lpips
    log(f"fit: {T} frames at {inputs.image_size[1]}x{inputs.image_size[0]}, {plan.inverse.numel()} Gaussians, "
        f"LPIPS {reason}")
    autocast = torch.bfloat16 if (dev.type == "cuda" and config.mixed_precision) else None

    # --- stages -------------------------------------------------------------------------------------------------
    if config.use_prior:
        plan_stages = [(1, config.steps_inversion if config.stage1 else 0),
                       (2, config.steps_decoder if config.stage2 else 0),
                       (3, config.steps_refine if config.stage3 else 0)]
    else:
        total = config.no_prior_steps or sum(n for on, n in ((config.stage1, config.steps_inversion),
                                                             (config.stage2, config.steps_decoder),
                                                             (config.stage3, config.steps_refine)) if on)
        plan_stages = [(3, total)]
    history, seconds, stage_avatars = {}, {}, {}
    target = None
    hold_unseen = config.use_prior and config.use_regulariser and config.unseen_prior_weight > 0
    # visibility weights w [N] (the binding does not change between stages): computed once for both of their users
    seen = gaussian_visibility(model, vertices, inputs.cameras, config) \
        if config.use_prior and (config.visibility_refine or hold_unseen) else None
    unseen = 1.0 - seen if hold_unseen else None
    gen = generator(config.seed, "fit-schedule")
    for stage, steps in plan_stages:
        name = STAGE_NAMES[stage]
        if stage == 2 and config.use_prior and target is None:
            target = _detached(model.decoded())
        if stage == 3 and config.use_prior and target is None:
            target = _detached(model.decoded())
        if stage == 3 and config.use_prior and config.photo_projection:
            target = _project_photos(model, plan, vertices, inputs, target, log)
        if steps == 0:
            continue
        model.set_stage(stage)
        opt = stage_optimizer(model, stage, config, code_scale, spatial)
        use_target = target if (config.use_regulariser and stage in (2, 3) and config.use_prior) else None

        def loss_fn(idx, bg, use_target=use_target):
            rgb_gt, a_gt = inputs.targets(idx, bg)
            return step_loss(model, plan, vertices[idx], inputs.cameras[idx], rgb_gt, a_gt, bg, config, use_target,
                             lpips_model, autocast, unseen=unseen)

        vis = None
        if stage == 3 and config.use_prior and config.visibility_refine:
            vis = stage3_limiter(model, seen)
            log(f"fit stage 3: visibility-scaled steps, {float((seen > 0).float().mean()):.0%} of the Gaussians seen "
                f"(w > 0), {float((seen >= 1).float().mean()):.0%} squarely (w = 1)")

        def before_step(step, opt, stage=stage, steps=steps, vis=vis):
            if stage == 3:
                for g in opt.param_groups:
                    if g["name"] == "offsets":
                        g["lr"] = position_lr(config, step, steps, spatial)
            if vis is not None:
                vis.before()

        bar = progress_bar(progress, steps, name)
        hist, seconds[name] = run_steps(steps, loss_fn, opt, frames=T, batch_size=config.batch_size,
                                        random_background=config.random_background, gen=gen, device=dev,
                                        log_every=config.log_every, before_step=before_step,
                                        after_step=(lambda step, opt, vis=vis: vis.after()) if vis is not None else None,
                                        bar=bar)
        if bar is not None:
            bar.close()
        history[name] = hist
        log(f"fit stage {stage} ({name}): {steps} steps in {seconds[name]:.1f} s, loss {hist['total'][-1]:.4f}, "
            f"psnr {hist['psnr'][-1]:.2f}")
        if stage == 1:
            target = _detached(model.decoded())
        if keep_stage_avatars:
            stage_avatars[name] = model.avatar().to("cpu")
    if config.use_prior and model.stage == 0:  # every stage switched off: the avatar at the initial code
        model.stage = 1
    avatar = model.avatar().to("cpu")
    if config.use_prior:
        code = model.code.detach().reshape(-1).cpu()
    return FitResult(avatar=avatar, code=code, history=history, seconds=seconds, config=config,
                     spatial_scale=spatial, lpips=reason, stage_avatars=stage_avatars)


def _project_photos(model: FitModel, plan: PosingPlan, vertices: torch.Tensor, inputs: FitInputs, target: dict,
                    log: Callable[[str], None]) -> dict:
    """Stage 3's attributes from the decoded avatar with the photos' colours projected on
    (``gasp_ops.fitting.photo_projection``); returns the regulariser's target with the projected colours."""
    t0 = time.perf_counter()
    model.set_stage(3)
    colours = model.attributes["colors"]
    new, frames = project_colours(plan, dict(model.attributes.items()), vertices, inputs.cameras, inputs.images,
                                  inputs.mattes)
    with torch.no_grad():
        change = float((new - colours.clamp(0, 1)).abs().mean())
        colours.copy_(new)
    log(f"fit: photo projection from {frames} frame(s) in {time.perf_counter() - t0:.2f} s, mean colour "
        f"change {change:.3f}")
    return {**target, "colors": new.detach().clone()}


def _detached(attrs: dict) -> dict:
    return {k: v.detach().float().clone() for k, v in attrs.items()}


def _binding_init(init_log_scales: torch.Tensor) -> dict[str, torch.Tensor]:
    """``GaussianAvatar.from_binding``'s initial attributes for the prior's binding (zero offsets, identity
    rotations, the texel-sized scales the prior was initialised with, mid-grey, opacity 0.95)."""
    n = init_log_scales.shape[0]
    dev = init_log_scales.device
    quats = torch.zeros(n, 4, device=dev)
    quats[:, 0] = 1.0
    return {"offsets": torch.zeros(n, 3, device=dev), "log_scales": init_log_scales.detach().clone().float(),
            "quats": quats, "colors": torch.full((n, 3), 0.5, device=dev),
            "opacity_logits": torch.full((n,), float(torch.logit(torch.tensor(0.95))), device=dev)}
