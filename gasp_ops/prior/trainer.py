"""Prior training loop (GASP §3.3, §5): auto-decoder over (subject, view) batches, Adam, DDP-ready, exact resume.

Per step: the global batch of views comes from ``BatchSchedule`` (a function of the step), each DDP rank takes its
contiguous share, decodes every distinct subject in it once (G0 + D(f, z_j)), poses the avatars with the head
model (the subject's shape coefficients, the view's expression and pose), renders them, composites over a random
background (the same for target and render) and minimises ``losses.total_loss``. bf16 autocast covers the
decoder on CUDA; posing, rendering and the losses stay float32.

Resume is exact: the checkpoint restores model, Adam state, step, loss history and every RNG, and batches and
backgrounds are functions of the step. Bitwise equality with an uninterrupted run additionally needs
``torch.use_deterministic_algorithms(True)`` (CPU index backward scatter-adds otherwise sum in thread order,
~1e-8 differences); the tests run that way.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.tensors import load_tensors
from gasp_ops.prior.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    save_checkpoint,
    saved_binding,
)
from gasp_ops.prior.config import PriorConfig
from gasp_ops.prior.dataset_batches import BatchSchedule, PriorViews
from gasp_ops.prior.distributed import DistInfo, all_mean
from gasp_ops.prior.history import record_terms
from gasp_ops.prior.losses import image_losses, regularisers, total_loss
from gasp_ops.prior.perceptual import LpipsStatus, load_lpips
from gasp_ops.prior.prior_model import GaussianPrior
from gasp_ops.render.render import render
from gasp_ops.seeding import generator

#: Logged quantities, in history order.
LOGGED = ("total", "l1", "ssim", "lpips", "alpha", "scale", "displacement", "code", "psnr")


@dataclass
class TrainResult:
    """model: the trained prior (unwrapped); history: {"step": [...], name: [...]} (every ``log_every`` steps);
    step: completed steps; lpips: whether the LPIPS term ran, and why not; spatial_scale: the position-lr factor;
    seconds: wall time of this call's steps; images_per_second: global throughput of this call."""

    model: GaussianPrior
    history: dict
    step: int
    lpips: LpipsStatus
    spatial_scale: float
    checkpoint: Path | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0
    extra: dict = field(default_factory=dict)


def camera_extent(views: PriorViews) -> float:
    """3DGS's scene extent: 1.1 x the largest distance of a training camera centre from their mean (metres)."""
    R = views.world_to_cam[:, :3, :3]
    t = views.world_to_cam[:, :3, 3:]
    centres = -(R.transpose(1, 2) @ t)[..., 0]
    return 1.1 * float((centres - centres.mean(0)).norm(dim=-1).max().clamp_min(1e-3))


def median_triangle_scale(model: GaussianPrior, head: HeadModel) -> float:
    """Median triangle-frame scale (metres) of the faces the Gaussians are bound to, on the rest template."""
    frames = triangle_frames(head.template.detach().float().cpu()[None], model.faces.cpu()[model.face_ids.cpu().unique()])
    return float(frames.scales.median())


def make_optimizer(model: GaussianPrior, config: PriorConfig, spatial_scale: float) -> torch.optim.Adam:
    """Adam with one group per parameter kind (lrs in ``config.lr``; see ``LearningRates``)."""
    lr = config.lr
    groups = [
        {"name": "decoder", "params": list(model.decoder.parameters()), "lr": lr.decoder},
        {"name": "codes", "params": [model.codes], "lr": lr.codes},
        {"name": "features", "params": [model.features], "lr": lr.features},
    ]
    if config.use_template:
        groups += [
            {"name": "template_offsets", "params": [model.template_offsets], "lr": lr.position * spatial_scale},
            {"name": "template_log_scales", "params": [model.template_log_scales], "lr": lr.scale},
            {"name": "template_quats", "params": [model.template_quats], "lr": lr.rotation},
            {"name": "template_colors", "params": [model.template_colors], "lr": lr.colour},
            {"name": "template_opacity_logits", "params": [model.template_opacity_logits], "lr": lr.opacity},
        ]
    return torch.optim.Adam(groups, lr=lr.decoder, eps=1e-15)


def position_lr(config: PriorConfig, step: int, spatial_scale: float) -> float:
    """3DGS's exponential decay from ``lr.position`` to ``lr.position_final`` over the run, times the scale."""
    t = min(max(step / max(config.steps - 1, 1), 0.0), 1.0)
    lo, hi = math.log(config.lr.position_final or 1e-30), math.log(config.lr.position or 1e-30)
    return math.exp(hi * (1 - t) + lo * t) * spatial_scale if config.lr.position > 0 else 0.0


def _rng_state(device: torch.device, background: torch.Generator) -> dict[str, torch.Tensor]:
    state = {"torch_cpu": torch.get_rng_state(), "background": background.get_state()}
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device, background: torch.Generator) -> None:
    torch.set_rng_state(state["torch_cpu"])
    background.set_state(state["background"])
    if device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], device)


def train_step(model, module, batch, head: HeadModel, background: torch.Tensor, config: PriorConfig,
               lpips_model, autocast_dtype) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of one (local) batch. ``module`` is ``model`` or its DDP wrapper; background [B, 3]."""
    with torch.no_grad():
        vertices = head(batch.identity, batch.expression, batch.pose)
    subjects, frame_subject = torch.unique(batch.subject, return_inverse=True)
    gaussians, local = module(subjects, frame_subject, vertices, autocast_dtype)
    out = render(gaussians, batch.cameras)
    bg = background[:, None, None, :]
    rgb = out.rgb + (1.0 - out.alpha) * bg
    rgb_gt = batch.rgb + (1.0 - batch.alpha) * bg
    terms = image_losses(rgb, out.alpha, rgb_gt, batch.alpha, lpips_model)
    terms["scale"], terms["displacement"] = regularisers(local, model.init_log_scales, model.scalp,
                                                         config.loss.scalp_factor)
    terms["code"] = model.codes[subjects].float().pow(2).sum(-1).mean()
    loss = total_loss(terms, config.loss) + config.code_regulariser * terms["code"]
    terms["total"] = loss
    return loss, terms


def _out_of_time(t0: float, max_seconds: float, info: DistInfo) -> bool:
    """True once ``max_seconds`` have passed since ``t0``; under DDP rank 0's clock decides for every rank."""
    late = time.perf_counter() - t0 > max_seconds
    if not info.active:
        return late
    flag = torch.tensor([1.0 if late else 0.0], device=info.device)
    torch.distributed.broadcast(flag, src=0)
    return bool(flag.item() > 0)


def train_prior(config: PriorConfig, views: PriorViews, head: HeadModel, out_dir=None, *,
                dist_info: DistInfo | None = None, log: Callable[[str], None] | None = None, progress: bool = True,
                stop_at: int | None = None, resume: bool = True, lpips_net: str = "vgg",
                max_seconds: float | None = None) -> TrainResult:
    """Train (or resume) a prior on ``views``; checkpoints go to ``out_dir/checkpoint.safetensors``.

    config: validated ``PriorConfig`` (n_subjects/image_size are applied when ``views`` is built, see
    ``PriorViews.from_synthetic``). head: the head model the views were made with. dist_info: from
    ``distributed.init_distributed`` (None = single process on the head's device). stop_at: stop after that many
    completed steps (writing a checkpoint), as if interrupted. resume: continue from an existing checkpoint.
    max_seconds: stop (writing a checkpoint) once this call has trained that long; a later call resumes exactly
    (the schedule is a function of the step, not of the time), so a long run can span several device sessions.
    """
    config.validate()
    info = dist_info or DistInfo(device=head.template.device)
    device = info.device
    log = log or (lambda msg: None)
    if config.batch_size % info.world_size:
        raise GaspInputError("batch_size", f"{config.batch_size} does not divide over {info.world_size} processes")
    head = head.to(device)
    ckpt = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None
    resuming = resume and ckpt is not None and ckpt.is_file()
    # a resumed run builds its model on the checkpoint's own Gaussian layout (another CPU's UV rasterisation may cover a
    # few texels more or fewer); load_checkpoint reads the file again for the weights, once per resume
    binding = saved_binding(load_tensors(ckpt)[0], config) if resuming else None
    model = GaussianPrior.build(head, config, views.num_subjects, views.identity_coeffs, binding=binding).to(device)
    spatial_scale = camera_extent(views) / median_triangle_scale(model, head)
    optimizer = make_optimizer(model, config, spatial_scale)
    lpips_model, lpips_state = (None, LpipsStatus(False, "weight 0")) if config.loss.lpips == 0 else load_lpips(lpips_net, device)
    if info.is_main:
        if lpips_state.available:
            log(f"LPIPS term on: {lpips_state.reason}")
        else:
            log(f"LPIPS term OFF (training without it): {lpips_state.reason}")
    background_gen = generator(config.seed, "prior-background")
    history: dict = {"step": [], **{k: [] for k in LOGGED}}
    start = 0
    if resuming:
        start, history, rng, _ = load_checkpoint(ckpt, model, optimizer)
        for k in LOGGED:  # a checkpoint written before a term was logged: NaN (a gap in the curves) for its steps
            history.setdefault(k, [float("nan")] * len(history["step"]))
        _set_rng_state(rng, device, background_gen)
        if info.is_main:
            log(f"resumed from {ckpt} at step {start}")
    module = model
    if info.active:
        from torch.nn.parallel import DistributedDataParallel

        module = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    autocast_dtype = torch.bfloat16 if (device.type == "cuda" and config.mixed_precision) else None
    schedule = BatchSchedule(views.train_indices(), config.batch_size, config.seed)
    per_rank = config.batch_size // info.world_size
    end = config.steps if stop_at is None else min(config.steps, stop_at)
    bar = None
    if progress and info.is_main and end > start:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=end - start, initial=0, desc="prior", dynamic_ncols=True)
        except ImportError:
            bar = None
    t0 = time.perf_counter()
    model.train()
    for step in range(start, end):
        for group in optimizer.param_groups:
            if group.get("name") == "template_offsets":
                group["lr"] = position_lr(config, step, spatial_scale)
        idx = schedule.rank_chunk(step, info.rank, info.world_size)
        batch = views.gather(idx, device)
        background = torch.rand(config.batch_size, 3, generator=background_gen) if config.random_background \
            else torch.zeros(config.batch_size, 3)
        background = background[info.rank * per_rank:(info.rank + 1) * per_rank].to(device)
        loss, terms = train_step(model, module, batch, head, background, config, lpips_model, autocast_dtype)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if max_seconds is not None and done < end and _out_of_time(t0, max_seconds, info):
            if info.is_main:
                log(f"time budget of {max_seconds:.0f} s reached at step {done}; checkpointing")
            end = done
        if done % config.log_every == 0 or done == end:
            record_terms(history, done, LOGGED,
                         all_mean(torch.stack([terms[k].detach().float() for k in LOGGED]), info).cpu().tolist(), bar)
        if bar is not None:
            bar.update(1)
        if ckpt is not None and info.is_main and (done % config.checkpoint_every == 0 or done == end):
            save_checkpoint(ckpt, model, optimizer, done, history, _rng_state(device, background_gen),
                            {"config": config.as_dict(), "world_size": info.world_size})
        if done == end:
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    steps_run = max(end - start, 0)
    return TrainResult(model=model, history=history, step=max(end, start), lpips=lpips_state,
                       spatial_scale=spatial_scale, checkpoint=ckpt, seconds=seconds,
                       images_per_second=steps_run * config.batch_size / seconds if seconds > 0 and steps_run else 0.0)
