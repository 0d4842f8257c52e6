"""What every avatar fit derives from its inputs before optimising (GASP's fit and the no-prior baselines alike):
the posed meshes of the frames, the subject's rest mesh, the position learning-rate scale, and the LPIPS term."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.inputs import FitInputs, orbit_distance


@dataclass
class FitScene:
    """inputs (on the fit's device); vertices [T, V, 3] posed meshes of the frames; rest [V, 3] the subject's
    neutral mesh; lpips_model (None when off) and lpips (why / which)."""

    inputs: FitInputs
    vertices: torch.Tensor
    rest: torch.Tensor
    lpips_model: object
    lpips: str


def check_params(head, inputs: FitInputs) -> None:
    if inputs.identity.shape[0] != head.n_identity or inputs.expressions.shape[1] != head.n_expression:
        raise GaspInputError("inputs", f"3DMM parameters ({inputs.identity.shape[0]} identity, "
                             f"{inputs.expressions.shape[1]} expression) do not match the head model "
                             f"({head.n_identity}, {head.n_expression})")


def posed_vertices(head, inputs: FitInputs) -> torch.Tensor:
    """[T, V, 3] the head posed by each frame's tracked identity, expression and pose (head and inputs on one
    device)."""
    T = len(inputs)
    return head(inputs.identity[None].expand(T, -1).float(), inputs.expressions.float(),
                inputs.poses.to(inputs.images.device, torch.float32))


def fit_scene(head, inputs: FitInputs, config, device, lpips_net: str = "vgg") -> FitScene:
    """Move ``inputs`` to ``device``, pose the head for every frame and load LPIPS when ``config.loss.lpips > 0``
    (never from random weights: ``gasp_ops.prior.perceptual.load_lpips``)."""
    from gasp_ops.prior.perceptual import load_lpips

    check_params(head, inputs)
    inputs = inputs.to(device)
    with torch.no_grad():
        vertices = posed_vertices(head, inputs)
        rest = head(inputs.identity[None].float(), torch.zeros(1, head.n_expression, device=device))[0]
    lpips_model, reason = (None, "weight 0")
    if config.loss.lpips > 0:
        lpips_model, status = load_lpips(lpips_net, device)
        reason = status.reason if status.available else f"OFF: {status.reason}"
    return FitScene(inputs, vertices, rest, lpips_model, reason)


def spatial_scale(scene: FitScene, faces: torch.Tensor, face_ids: torch.Tensor) -> float:
    """Stage-3 position-rate factor: orbit distance / median triangle scale of the bound faces (3DGS scales its
    position rate by the scene extent; offsets here are in triangle units)."""
    tri_scale = float(triangle_frames(scene.rest[None], faces[face_ids.unique()]).scales.median())
    return orbit_distance(scene.inputs.cameras, scene.rest.mean(0)) / max(tri_scale, 1e-9)
