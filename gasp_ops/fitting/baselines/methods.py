"""One entry point for every compared method (GASP and the baselines) with one shared configuration."""

from __future__ import annotations

from typing import Callable

from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.baselines.common import METHODS, BaselineResult, step_budget
from gasp_ops.fitting.config import FitConfig


def fit_method(method: str, prior, head, inputs, config: FitConfig, *, uv_resolution: int, device=None,
               log: Callable[[str], None] | None = None, progress: bool = False,
               lpips_net: str = "vgg") -> BaselineResult:
    """Fit ``inputs`` with ``method`` (``METHODS``): "gasp" = ``fit_avatar`` with ``prior``; the baselines use no
    prior but start from as many Gaussians as the prior has (gaussian_avatars: that count of surface points;
    flash_avatar: ``uv_resolution``, the prior's) and get ``step_budget(config)`` steps, GASP's total.
    Returns a ``BaselineResult`` (for GASP: the avatar, per-stage history and seconds, stats {initial, final})."""
    if method not in METHODS:
        raise GaspInputError("method", f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if prior is None:
        raise GaspInputError("prior", "the comparison needs the trained prior (GASP fits with it; the baselines "
                             "take its Gaussian count / UV resolution)")
    n, uv = int(prior.face_ids.shape[0]), int(uv_resolution)
    kw = dict(device=device, log=log, progress=progress, lpips_net=lpips_net)
    if method == "gasp":
        from gasp_ops.fitting.fit import fit_avatar

        r = fit_avatar(prior, head, inputs, config, **kw)
        return BaselineResult(avatar=r.avatar, history=r.history, seconds=r.seconds, config=r.config,
                              steps=step_budget(config), spatial_scale=r.spatial_scale, lpips=r.lpips,
                              stats={"initial": n, "final": r.avatar.count})
    if method == "gaussian_avatars":
        from gasp_ops.fitting.baselines.gaussian_avatars_style import fit_gaussian_avatars_style

        return fit_gaussian_avatars_style(head, inputs, config, n_gaussians=n, **kw)
    from gasp_ops.fitting.baselines.flash_avatar_style import fit_flash_avatar_style

    return fit_flash_avatar_style(head, inputs, config, uv_resolution=uv, **kw)
