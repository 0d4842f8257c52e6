"""The inference path: avatar file -> pose (no neural network) -> render (GASP §6.6).

``FastPoser`` (CPU/GPU posing with every static quantity precomputed), ``PosingPlan`` (the differentiable
variant used by fitting), ``AvatarRuntime`` (3DMM parameters -> Gaussians -> image).
"""

from gasp_ops.runtime.posing import FastPoser, PosingPlan
from gasp_ops.runtime.player import AvatarRuntime

__all__ = ["AvatarRuntime", "FastPoser", "PosingPlan"]
