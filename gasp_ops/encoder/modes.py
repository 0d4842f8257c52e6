"""Enrolment modes: how much optimisation follows the encoder (a time-vs-quality dial).

  instant: photo -> crops -> encoder -> code z -> decode once -> avatar. Zero optimisation steps (no stage runs,
           no fitting scene is built).
  fast:    the encoder's code, then the three-stage fit with a quarter of each stage's steps (``FAST_FRACTION``,
           rounded down, at least 1 for a stage that has steps): the paper's 500 / 500 / 100 -> 125 / 125 / 25
           (275 steps, 1/4 of the full fit's 1,100); the tiny preset's 60 / 60 / 40 -> 15 / 15 / 10.
  full:    the encoder's code, then the full three-stage fit (the configured steps).
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

MODES = ("instant", "fast", "full")
FAST_FRACTION = 0.25
STAGE_STEPS = ("steps_inversion", "steps_decoder", "steps_refine")


def mode_config(config: FitConfig, mode: str | None) -> FitConfig:
    """The ``FitConfig`` of ``mode`` derived from ``config`` (its stage lengths are the full fit's)."""
    if mode is None:
        return config
    if mode not in MODES:
        raise GaspInputError("mode", f"unknown enrolment mode {mode!r}; known: {', '.join(MODES)}")
    if not config.use_prior:
        raise GaspInputError("mode", "enrolment modes use the prior's encoder; not valid with use_prior=False")
    if mode == "instant":
        return config.replace(init="encoder", **{k: 0 for k in STAGE_STEPS})
    if mode == "fast":
        return config.replace(init="encoder", **{k: (max(1, int(getattr(config, k) * FAST_FRACTION))
                                                     if getattr(config, k) > 0 else 0) for k in STAGE_STEPS})
    return config.replace(init="encoder")


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
    encoder's time (crops + network); instant mode adds ``"decode"``."""
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
        avatar = prior.to(dev).avatar(code=code).to("cpu")
        sync()
        return FitResult(avatar=avatar, code=code.cpu(), history={}, config=cfg, spatial_scale=0.0,
                         seconds={"encoder": t_enc, "decode": time.perf_counter() - t0},
                         lpips="not used (instant mode: no optimisation)")
    result = fit_avatar(prior, head, inputs, cfg, device=dev, log=log, progress=progress, init_code=code,
                        **fit_kwargs)
    result.seconds = {"encoder": t_enc, **result.seconds}
    return result
