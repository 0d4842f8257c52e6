"""Enrolment modes: how much optimisation follows the encoder (a time-vs-quality dial).

  instant: photo -> crops -> encoder -> code z -> decode once -> the photos' colours projected onto the decoded
           Gaussians in one closed-form step (``gasp_ops.fitting.photo_projection``: one render + backward per input
           frame, at most 4) -> avatar. Zero optimisation steps (no stage runs, no fitting scene is built).
  fast:    the encoder's code, then the three-stage fit in a quarter of the full fit's steps (``FAST_FRACTION``),
           shared by what a step is worth (``fast_steps``): the encoder replaces most of stage 1 (10 % of the
           budget), stage 3 gets up to 40 % (capped at its full length), stage 2 the rest. The paper's
           500 / 500 / 100 -> 28 / 147 / 100 (275 steps, 1/4 of 1,100); the tiny preset's 20 / 40 / 120 ->
           4 / 23 / 18. Why: in Table 3 (results/table3.md, monocular) dropping stage 3's 100 steps cost 2.9 dB,
           stage 1's 500 steps 1.4 dB and stage 2's 500 steps 0.3 dB; the even split 125 / 125 / 25 cut stage 3
           to a quarter and was 1.3 / 1.9 dB below the full fit (single image / monocular).
  full:    the encoder's code, then the full three-stage fit (the configured steps).
Fast and full start stage 3 from the photos' projected colours (``FitConfig.photo_projection``): on the tables'
people (H200, 256², results/table1.md) the full fit from the encoder's code scored +1.3 to +2.6 dB with it over the
same fit without, the paper's mean-code fit +1.6 to +2.6 dB (5 of 5 fits each).
Without a mode (``mode=None``) the fit is the paper's: stage 1 starts from the mean code (+ ``code_init_scale``
noise), no encoder needed.

``fit_with_mode`` is what the CLI (``gasp enroll --mode``), the ``avatar_fit`` asset and the time-vs-quality
benchmark call.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from gasp_ops.encoder.checkpoint import check_encoder_prior
from gasp_ops.encoder.crop import input_crops, spread_frames
from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.fit import FitResult, fit_avatar
from gasp_ops.fitting.photo_projection import project_photos

MODES = ("instant", "fast", "full")
FAST_FRACTION = 0.25
#: Fast mode's shares of its step budget: stage 1 (inversion) and the cap of stage 3 (refinement); stage 2 the rest.
FAST_INVERSION_SHARE = 0.10
FAST_REFINE_SHARE = 0.40
STAGE_STEPS = ("steps_inversion", "steps_decoder", "steps_refine")


def fast_steps(config: FitConfig) -> dict[str, int]:
    """Fast mode's stage lengths: ``FAST_FRACTION`` of the full fit's total steps (rounded down), shared 10 % to
    stage 1, up to 40 % (never more than its full length) to stage 3 and the rest to stage 2; a stage the full fit
    skips (0 steps) stays at 0 and its share goes to the others."""
    full = {k: int(getattr(config, k)) for k in STAGE_STEPS}
    budget = int(sum(full.values()) * FAST_FRACTION)
    inv = min(full["steps_inversion"], round(budget * FAST_INVERSION_SHARE))
    ref = min(full["steps_refine"], round(budget * FAST_REFINE_SHARE))
    dec = min(full["steps_decoder"], budget - inv - ref)
    if full["steps_decoder"] == 0:  # nothing to give stage 2: stage 3 takes the rest, up to its full length
        ref = min(full["steps_refine"], budget - inv)
    steps = {"steps_inversion": inv, "steps_decoder": dec, "steps_refine": ref}
    return {k: (max(1, v) if full[k] > 0 else 0) for k, v in steps.items()}


def mode_config(config: FitConfig, mode: str | None) -> FitConfig:
    """The ``FitConfig`` of ``mode`` derived from ``config`` (its stage lengths are the full fit's)."""
    if mode is None:
        return config
    if mode not in MODES:
        raise GaspInputError("mode", f"unknown enrolment mode {mode!r}; known: {', '.join(MODES)}")
    if not config.use_prior:
        raise GaspInputError("mode", "enrolment modes use the prior's encoder; not valid with use_prior=False")
    if mode == "instant":
        return config.replace(init="encoder", photo_projection=True, **{k: 0 for k in STAGE_STEPS})
    if mode == "fast":
        return config.replace(init="encoder", photo_projection=True, **fast_steps(config))
    return config.replace(init="encoder", photo_projection=True)


@torch.no_grad()
def encode_inputs(encoder, head, inputs, device=None) -> torch.Tensor:
    """The encoder's code [Z] for a subject's fitting inputs: up to ``max_frames`` frames spread over the inputs,
    cropped by ``gasp_ops.encoder.crop.input_crops``, mean-pooled; the tracked identity coefficients as shape."""
    dev = torch.device(device) if device is not None else encoder.code_mean.device
    idx = spread_frames(len(inputs), encoder.config.max_frames)
    crops = input_crops(inputs, head.to(dev), encoder.config, idx, dev)
    return encoder.to(dev).encode(crops, inputs.identity.to(dev)).float()


def fit_with_mode(prior, head, inputs, config: FitConfig, *, mode: str | None = None, encoder=None, device=None,
                  log: Callable[[str], None] | None = None, progress: bool = False, **fit_kwargs) -> FitResult:
    """Fit ``inputs`` in enrolment ``mode`` (see module docstring); ``encoder`` (an ``IdentityEncoder`` trained for
    ``prior``) is needed by every mode and by ``config.init == "encoder"``. ``result.seconds["encoder"]`` is the
    encoder's time (crops + network); instant mode adds ``"decode"`` and ``"projection"``."""
    log = log or (lambda msg: None)
    cfg = mode_config(config.validate(), mode)
    if cfg.init != "encoder":
        return fit_avatar(prior, head, inputs, cfg, device=device, log=log, progress=progress, **fit_kwargs)
    if encoder is None:
        raise GaspInputError("encoder", f"mode {mode or 'init=encoder'!r} needs a trained encoder file (--encoder)")
    if prior is None:
        raise GaspInputError("prior", "the encoder's code is decoded by the prior: a trained prior is needed")
    dev = torch.device(device) if device is not None else prior.features.device
    check_encoder_prior(encoder, prior)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    code = encode_inputs(encoder, head, inputs, dev)
    sync()
    t_enc = time.perf_counter() - t0
    log(f"encoder: code from {min(len(inputs), encoder.config.max_frames)} frame(s) in {t_enc:.3f} s")
    if mode == "instant":
        t0 = time.perf_counter()
        avatar = prior.to(dev).avatar(code=code)
        sync()
        t_dec, t0 = time.perf_counter() - t0, time.perf_counter()
        avatar, info = project_photos(avatar, head, inputs, device=dev)
        sync()
        log(f"instant: photo projection from {info['frames']} frame(s), mean colour change {info['mean_change']:.3f}")
        return FitResult(avatar=avatar, code=code.cpu(), history={}, config=cfg, spatial_scale=0.0,
                         seconds={"encoder": t_enc, "decode": t_dec, "projection": time.perf_counter() - t0},
                         lpips="not used (instant mode: no optimisation)")
    result = fit_avatar(prior, head, inputs, cfg, device=dev, log=log, progress=progress, init_code=code,
                        **fit_kwargs)
    result.seconds = {"encoder": t_enc, **result.seconds}
    return result
