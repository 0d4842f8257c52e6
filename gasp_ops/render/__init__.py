"""Gaussian splatting renderer: one entry point, two backends (gsplat on CUDA, a pure-torch reference anywhere).

``render(gaussians, cameras, background=None, *, backend="auto", near=0.01, far=1e10) -> RenderOutput``.
"""

from gasp_ops.render.gaussians import Gaussians3D, RenderOutput
from gasp_ops.render.render import BACKENDS, gsplat_available, render

__all__ = ["BACKENDS", "Gaussians3D", "RenderOutput", "gsplat_available", "render"]
