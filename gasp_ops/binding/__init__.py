"""Binding Gaussians to mesh triangles (Qian et al. frames) and UV-map initialisation (Xiang et al.)."""

from gasp_ops.binding.triangle_frames import TriangleFrames, triangle_frames
from gasp_ops.binding.uv_init import UVBinding, uv_binding

__all__ = ["TriangleFrames", "triangle_frames", "UVBinding", "uv_binding"]
