"""What the baselines share: method keys and table labels, the step budget, the result record."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.scene import fit_scene

#: Method keys in table order and their names in the tables (GASP Tabs. 1-2).
METHODS: tuple[str, ...] = ("gasp", "gaussian_avatars", "flash_avatar")
BASELINES: tuple[str, ...] = ("gaussian_avatars", "flash_avatar")
METHOD_LABELS: dict[str, str] = {
    "gasp": "GASP (ours)",
    "gaussian_avatars": "gaussian_avatars-style (ours)",
    "flash_avatar": "flash_avatar-style (ours)",
}


def step_budget(config: FitConfig) -> int:
    """Optimiser steps of a baseline: GASP's total over its enabled stages (or ``no_prior_steps`` when set), so
    every method gets the same number of steps on the same batches."""
    if config.no_prior_steps:
        return int(config.no_prior_steps)
    return int(sum(n for on, n in ((config.stage1, config.steps_inversion), (config.stage2, config.steps_decoder),
                                   (config.stage3, config.steps_refine)) if on))


@dataclass
class BaselineResult:
    """avatar: what evaluation renders (a ``GaussianAvatar``, or a ``FlashAvatarStyle`` that needs the frame's
    expression); history {"direct": {"step": [...], term: [...]}}; seconds {"direct": s}; config; steps;
    spatial_scale; lpips (whether the LPIPS term ran); stats: method-specific counts (e.g. densification)."""

    avatar: object
    history: dict
    seconds: dict
    config: FitConfig
    steps: int
    spatial_scale: float
    lpips: str = ""
    stats: dict = field(default_factory=dict)


def baseline_scene(head, inputs, config: FitConfig, device, lpips_net: str):
    """(validated config, head on the device, device, ``FitScene``) for a baseline fit; device None = the head's."""
    config = config.validate()
    dev = torch.device(device) if device is not None else head.template.device
    head = head.to(dev)
    return config, head, dev, fit_scene(head, inputs, config, dev, lpips_net)
