"""The optimisation loop shared by every avatar fit (GASP's stages and the no-prior baselines).

One call runs ``steps`` Adam steps: per step it draws ``batch_size`` frames and a background colour per frame
(both seeded, drawn up front in the same order for every method so equal seeds give equal batches), asks the
method for its loss, back-propagates, lets the method inspect the gradients (``after_backward``: e.g. adaptive
densification statistics), steps the optimiser and lets the method change the parameter set (``after_step`` may
return a new optimiser, e.g. after densification). Loss terms (``LOGGED``) are recorded every ``log_every`` steps.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from gasp_ops.prior.history import record_terms

#: Loss terms recorded in a fit's history (the prior's terms + L_prior + PSNR).
LOGGED = ("total", "l1", "ssim", "lpips", "alpha", "scale", "displacement", "prior", "psnr")


def empty_history() -> dict:
    return {"step": [], **{k: [] for k in LOGGED}}


def draw_batches(steps: int, frames: int, batch_size: int, random_background: bool, gen: torch.Generator,
                 device) -> tuple[torch.Tensor, torch.Tensor]:
    """(frame indices [steps, B], backgrounds [steps, B, 3]) with B = min(batch_size, frames)."""
    B = min(batch_size, frames)
    idx = torch.stack([torch.randperm(frames, generator=gen)[:B] for _ in range(steps)]) if steps else \
        torch.zeros(0, B, dtype=torch.long)
    bg = torch.rand(steps, B, 3, generator=gen) if random_background else torch.zeros(steps, B, 3)
    return idx.to(device), bg.to(device)


def run_steps(steps: int, loss_fn: Callable, optimizer: torch.optim.Optimizer, *, frames: int, batch_size: int,
              random_background: bool, gen: torch.Generator, device, log_every: int,
              before_step: Callable | None = None, after_backward: Callable | None = None,
              after_step: Callable | None = None, bar=None) -> tuple[dict, float]:
    """Run ``steps`` optimiser steps; returns (history, wall seconds).

    loss_fn(idx [B], background [B, 3]) -> (loss, {term: tensor}); before_step(step, optimizer) (e.g. a learning-
    rate schedule); after_backward(step) (gradients are populated); after_step(step, optimizer) -> optimizer or
    None (a new optimiser replaces the old one, e.g. after the parameter set changed).
    """
    idx_all, bg_all = draw_batches(steps, frames, batch_size, random_background, gen, device)
    hist = empty_history()
    t0 = time.perf_counter()
    for step in range(steps):
        if before_step is not None:
            before_step(step, optimizer)
        loss, terms = loss_fn(idx_all[step], bg_all[step])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if after_backward is not None:
            after_backward(step)
        optimizer.step()
        if after_step is not None:
            optimizer = after_step(step, optimizer) or optimizer
        done = step + 1
        if done % log_every == 0 or done == steps:
            record_terms(hist, done, LOGGED, torch.stack([terms[k].detach().float() for k in LOGGED]).cpu().tolist(),
                         bar)
        if bar is not None:
            bar.update(1)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
    return hist, time.perf_counter() - t0


def progress_bar(progress: bool, total: int, desc: str):
    """A tqdm bar when ``progress`` and tqdm is installed, else None."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"fit:{desc}", dynamic_ncols=True)
