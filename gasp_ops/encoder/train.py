"""Training the identity encoder against a trained prior's learned codes (amortising the fit's stage 1).

Targets: the prior's identity codes z_j (one per training identity of the prior, in the order of ``PriorViews``).
Loss per step: mean over the batch and code dimensions of (u_pred - (z_j - mean) / std)^2, the code error in units
of the training codes' per-dimension spread (predicting the mean code scores ~1), plus ``render_weight`` x (L1 +
alpha L1) of one frame per subject rendered with the predicted code through the frozen prior (decoder, features,
template; over black, against the premultiplied target), plus ``proxy_weight`` x the same render loss on a second
set of people without codes (``proxy_views``, e.g. ``real_proxy`` renders: the photo-like domain the prior never
sees), each encoded from its input frames and rendered at another of its views, so the encoder learns the code whose
decoded avatar explains a person from every side, not only codes of prior-domain images.

Batches are functions of (seed, step): subjects from ``BatchSchedule`` over the encoder's training identities, the
frame count, views, crop jitter and colour gains from ``generator(seed, "encoder-step", step)``. With the
checkpoint (model, AdamW state, step, history) a resumed run repeats an uninterrupted one. A share ``val_fraction``
of the identities (every view of them) is never trained on: the held-out code error measures generalisation to new
people. ``max_seconds`` stops early (after a step, writing the checkpoint) for time-boxed device runs.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from gasp_ops.avatar import pose_attributes
from gasp_ops.encoder.checkpoint import prior_fingerprint
from gasp_ops.encoder.config import EncoderConfig
from gasp_ops.encoder.crop import view_crops
from gasp_ops.encoder.evaluate import code_errors
from gasp_ops.encoder.subjects import split_subjects, views_by_subject
from gasp_ops.encoder.model import IdentityEncoder
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.tensors import load_tensors, save_tensors
from gasp_ops.prior.checkpoint import load_checkpoint, save_checkpoint
from gasp_ops.prior.dataset_batches import BatchSchedule, PriorViews
from gasp_ops.prior.history import record_terms
from gasp_ops.render.render import render
from gasp_ops.seeding import generator

CHECKPOINT_NAME = "encoder_checkpoint.safetensors"
BEST_NAME = "encoder_best_state.safetensors"
LOGGED = ("total", "code", "render", "proxy", "lr")
#: The checkpoint's "model" tag (the checkpoint format is the prior's, ``gasp_ops.prior.checkpoint``).
CHECKPOINT_TAG = "gasp_encoder"


@dataclass
class EncoderTrainResult:
    """model: the trained encoder (eval mode); history: {"step": [...], "total", "code", "render", "proxy", "lr"};
    step: completed steps; train_subjects / val_subjects: prior identity indices; seconds: wall time of this call's
    steps; stopped_early: ``max_seconds`` ended the run before ``config.steps``; proxy_train_subjects /
    proxy_val_subjects: indices into ``proxy_views`` (empty without them)."""

    model: IdentityEncoder
    history: dict
    step: int
    train_subjects: list
    val_subjects: list
    seconds: float = 0.0
    stopped_early: bool = False
    checkpoint: Path | None = None
    extra: dict = field(default_factory=dict)
    proxy_train_subjects: list = field(default_factory=list)
    proxy_val_subjects: list = field(default_factory=list)


def learning_rate(config: EncoderConfig, step: int) -> float:
    """Cosine decay from ``lr`` to ``lr x lr_final_fraction`` over ``config.steps`` (short linear warm-up)."""
    warm = min(50, max(config.steps // 20, 1))
    if step < warm:
        return config.lr * (step + 1) / warm
    t = min(max((step - warm) / max(config.steps - warm, 1), 0.0), 1.0)
    lo = config.lr * config.lr_final_fraction
    return lo + 0.5 * (config.lr - lo) * (1 + math.cos(math.pi * t))


@dataclass
class StepSample:
    """subjects [B]; idx [B, F] view indices; jitter [B*F, 3]; gain [B*F, 3]; targets [B]: per subject a view not
    among its inputs (the next one of the same shuffle; one of them when the subject has no other view)."""

    subjects: torch.Tensor
    idx: torch.Tensor
    jitter: torch.Tensor
    gain: torch.Tensor
    targets: torch.Tensor


def sample_step(config: EncoderConfig, schedule: BatchSchedule, per_subject: list[torch.Tensor],
                step: int, tag: str = "encoder-step") -> StepSample:
    """The batch of step ``step`` (a function of the seed, ``tag`` and the step only)."""
    subjects = schedule.indices(step)
    g = generator(config.seed, tag, step)
    frames = 1
    if config.max_frames > 1 and float(torch.rand((), generator=g)) >= config.single_frame_prob:
        frames = int(torch.randint(2, config.max_frames + 1, (), generator=g))
    rows, targets = [], []
    for s in subjects.tolist():
        mine = per_subject[s]
        order = torch.randperm(len(mine), generator=g)
        pick = order[:frames]
        rows.append(mine[pick[torch.arange(frames) % len(pick)]])
        targets.append(mine[order[min(frames, len(order) - 1)]])
    n = len(subjects) * frames
    scale = torch.tensor([config.jitter_shift, config.jitter_shift, config.jitter_scale])
    jitter = (torch.rand(n, 3, generator=g) * 2 - 1) * scale
    gain = 1 + (torch.rand(n, 3, generator=g) * 2 - 1) * config.colour_jitter
    return StepSample(subjects, torch.stack(rows), jitter, gain, torch.stack(targets))


def sample_crops(views: PriorViews, head: HeadModel, config: EncoderConfig, sample: StepSample, device) -> torch.Tensor:
    """Augmented crops [B, F, 4, S, S] of a step's sample (colour gain on the premultiplied rgb only)."""
    B, Fr = sample.idx.shape
    crops = view_crops(views, sample.idx.reshape(-1), head, config, device, sample.jitter)
    rgb = (crops[:, :3] * sample.gain.to(crops)[:, :, None, None]).clamp(0, 1)
    crops = torch.cat([torch.minimum(rgb, crops[:, 3:]), crops[:, 3:]], 1)  # premultiplied: rgb <= alpha
    return crops.reshape(B, Fr, *crops.shape[1:])


def render_loss(prior, head: HeadModel, views: PriorViews, idx: torch.Tensor, codes: torch.Tensor,
                device) -> torch.Tensor:
    """L1 + alpha L1 of views idx [B] rendered (over black) with codes [B, Z] through the frozen prior."""
    batch = views.gather(idx, device)
    with torch.no_grad():
        vertices = head(batch.identity, batch.expression, batch.pose)
    attrs = prior.decode_codes(codes)
    out = render(pose_attributes(prior.faces, prior.face_ids, prior.barycentrics, attrs, vertices), batch.cameras)
    return (out.rgb - batch.rgb).abs().mean() + (out.alpha - batch.alpha).abs().mean()


def frozen_copy(prior):
    """A private copy of the prior with every parameter frozen (the caller's prior is never modified)."""
    p = copy.deepcopy(prior)
    for q in p.parameters():
        q.requires_grad_(False)
    return p.eval()


def check_inputs(prior, views: PriorViews, head: HeadModel, proxy_views: PriorViews | None = None,
                 config: EncoderConfig | None = None) -> None:
    if views.num_subjects != prior.num_subjects:
        raise GaspInputError("views", f"{views.num_subjects} identities but the prior has {prior.num_subjects} codes; "
                             "load the views with the prior's n_subjects (PriorViews.from_synthetic)")
    for name, v in (("views", views), ("proxy_views", proxy_views)):
        if v is not None and v.identity_coeffs.shape[1] != head.n_identity:
            raise GaspInputError(name, f"identity coefficients of size {v.identity_coeffs.shape[1]} do not fit "
                                 f"head model {getattr(head, 'name', 'head')!r} ({head.n_identity})")
    if config is not None and config.proxy_weight > 0 and proxy_views is None:
        raise GaspInputError("proxy_weight", f"is {config.proxy_weight} but no proxy_views (people without codes) "
                             "were given")


def train_encoder(prior, views: PriorViews, config: EncoderConfig, head: HeadModel, out_dir=None, *,
                  device=None, log: Callable[[str], None] | None = None, stop_at: int | None = None,
                  resume: bool = True, max_seconds: float | None = None, progress: bool = False,
                  proxy_views: PriorViews | None = None) -> EncoderTrainResult:
    """Train (or resume from ``out_dir/encoder_checkpoint.safetensors``) an encoder for ``prior``'s codes.

    prior: trained ``GaussianPrior`` (not modified); views: its training views (subject j = the prior's code j);
    head: the head model of the views. stop_at: stop after that many completed steps (as if interrupted).
    proxy_views: people without codes for the ``proxy_weight`` render loss (used only when it is > 0); a share
    ``val_fraction`` of them is held out too.
    With ``config.val_every`` the held-out error is tracked (``history["val"]``) and, with ``keep_best``, the
    returned model has the weights of its lowest value (kept in ``out_dir/encoder_best_state.safetensors`` too, so a
    resumed run keeps them).
    """
    config = config.validate()
    log = log or (lambda msg: None)
    check_inputs(prior, views, head, proxy_views, config)
    dev = torch.device(device) if device is not None else prior.features.device
    head = head.to(dev)
    frozen = frozen_copy(prior).to(dev)
    train_s, val_s = split_subjects(views.num_subjects, config.val_fraction, config.seed)
    model = IdentityEncoder(config, int(prior.codes.shape[1]), head.n_identity)
    model.set_code_stats(frozen.codes.detach().cpu()[train_s])
    model.prior_fingerprint = prior_fingerprint(prior)
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: dict = {"step": [], **{k: [] for k in LOGGED}, "val": {"step": [], "code_nmse": []}}
    start = 0
    ckpt = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None
    best_path = Path(out_dir) / BEST_NAME if out_dir is not None else None
    best = None  # (held-out error, step, state dict on the CPU)
    if resume and ckpt is not None and ckpt.is_file():
        start, history, _, meta = load_checkpoint(ckpt, model, opt)
        if meta.get("model") != CHECKPOINT_TAG or meta.get("prior_fingerprint") != model.prior_fingerprint:
            raise GaspInputError(str(ckpt), "not a checkpoint of this encoder run (other model or other prior)")
        if best_path.is_file():
            tensors, bmeta = load_tensors(best_path)
            best = (float(bmeta["val_code_nmse"]), int(bmeta["step"]), tensors)
        log(f"encoder: resumed from {ckpt} at step {start}")
    codes = frozen.codes.detach()
    shapes = views.identity_coeffs.to(dev)
    per_subject = views_by_subject(views)
    schedule = BatchSchedule(torch.tensor(train_s), config.batch_size, config.seed)
    proxy = None  # (views, per-subject views, schedule, shapes) of the people without codes
    proxy_train, proxy_val = [], []
    if proxy_views is not None and config.proxy_weight > 0:
        proxy_train, proxy_val = split_subjects(proxy_views.num_subjects, config.val_fraction, config.seed)
        proxy = (proxy_views, views_by_subject(proxy_views),
                 BatchSchedule(torch.tensor(proxy_train), config.proxy_batch, config.seed + 1),
                 proxy_views.identity_coeffs.to(dev))
    autocast = torch.bfloat16 if (dev.type == "cuda" and config.mixed_precision) else None
    end = config.steps if stop_at is None else min(config.steps, stop_at)
    bar = None
    if progress and end > start:
        from tqdm.auto import tqdm

        bar = tqdm(total=end - start, desc="encoder", dynamic_ncols=True)
    extra = {"model": CHECKPOINT_TAG, "prior_fingerprint": model.prior_fingerprint, "config": config.as_dict()}
    model.train()
    t0 = time.perf_counter()
    step, stopped = start, False
    for step in range(start, end):
        lr = learning_rate(config, step)
        for group in opt.param_groups:
            group["lr"] = lr
        sample = sample_step(config, schedule, per_subject, step)
        crops = sample_crops(views, head, config, sample, dev)
        subj = sample.subjects.to(dev)
        u = model.forward_normalised(crops, None, shapes[subj], autocast)
        code_term = ((u - model.normalise(codes[subj])) ** 2).mean()
        loss = code_term
        render_term = code_term.new_zeros(())
        proxy_term = code_term.new_zeros(())
        if config.render_weight > 0:
            pred = model.code_mean + model.code_std * u
            render_term = render_loss(frozen, head, views, sample.idx[:, 0], pred, dev)
            loss = loss + config.render_weight * render_term
        if proxy is not None:
            pviews, pper, pschedule, pshapes = proxy
            ps = sample_step(config, pschedule, pper, step, tag="encoder-proxy-step")
            pu = model.forward_normalised(sample_crops(pviews, head, config, ps, dev), None,
                                          pshapes[ps.subjects.to(dev)], autocast)
            proxy_term = render_loss(frozen, head, pviews, ps.targets, model.code_mean + model.code_std * pu, dev)
            loss = loss + config.proxy_weight * proxy_term
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done = step + 1
        timed_out = max_seconds is not None and time.perf_counter() - t0 >= max_seconds
        last = done == config.steps or timed_out  # (not a ``stop_at`` interruption: a resumed run logs the same)
        if done % config.log_every == 0 or last:
            values = [float(loss.detach()), float(code_term.detach()), float(render_term.detach()),
                      float(proxy_term.detach()), lr]
            record_terms(history, done, LOGGED, values)
            if bar is not None:
                bar.set_postfix(code=f"{values[1]:.4f}")
        if val_s and config.val_every and (done % config.val_every == 0 or last):
            err = code_errors(model, frozen, views, head, val_s, frames=1, device=dev, max_views=4)["code_nmse"]
            model.train()
            history["val"]["step"].append(done)
            history["val"]["code_nmse"].append(err)
            if best is None or err < best[0]:
                state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                best = (err, done, state)
                if best_path is not None:
                    save_tensors(best_path, state, {"step": done, "val_code_nmse": err})
        if bar is not None:
            bar.update(1)
        if ckpt is not None and (done % config.checkpoint_every == 0 or last or done == end):
            save_checkpoint(ckpt, model, opt, done, history, {}, extra)
        if timed_out:
            stopped = done < end
            step = done
            break
    else:
        step = max(end, start)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    result_extra = {}
    if config.keep_best and best is not None:
        model.load_state_dict({k: v.to(dev) for k, v in best[2].items()})
        result_extra = {"best_step": best[1], "best_val_code_nmse": best[0]}
        log(f"encoder: keeping the weights of step {best[1]} (held-out code error {best[0]:.4f})")
    log(f"encoder: {step} steps ({seconds:.1f} s this run), code loss "
        f"{history['code'][-1] if history['code'] else float('nan'):.4f}")
    return EncoderTrainResult(model=model.eval(), history=history, step=step, train_subjects=train_s,
                              val_subjects=val_s, seconds=seconds, stopped_early=stopped, checkpoint=ckpt,
                              extra=result_extra, proxy_train_subjects=proxy_train, proxy_val_subjects=proxy_val)
