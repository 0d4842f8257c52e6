"""Visibility-aware stage 3: how squarely the training cameras see each Gaussian, and a step limiter built on it.

A single frontal photo sees the cheeks, ears and hair sides only at grazing angles (or not at all); left free,
stage 3's direct refinement paints the view's silhouette pixels (and, with random training backgrounds, their mean
grey) onto those Gaussians (issue 14's "side smear"). Here each Gaussian gets a weight w_i in [0, 1] from its posed
binding face's normal n_i and the direction d_it from the Gaussian's barycentric anchor to camera t:

    c_i = max_t  n_i(t) . d_it            (max over every training frame / camera)
    w_i = smoothstep((c_i - grazing) / (full - grazing))

and every stage-3 optimiser step moves the colour of Gaussian i by w_i times Adam's step (a per-Gaussian learning
rate: Adam normalises gradient magnitudes, so scaling gradients would not do this). w = 0 keeps the decoded
(stage-1/2) colour exactly; w = 1 is the plain stage 3. Self-occlusion is not modelled (a front-facing Gaussian
hidden behind the nose still counts as seen); the weights are computed once per fit from the training cameras, so
they are deterministic and cost one pass over the frames.
"""

from __future__ import annotations

import torch

from gasp_ops.cameras import Cameras


def facing_cosines(vertices: torch.Tensor, faces: torch.Tensor, face_ids: torch.Tensor, barycentrics: torch.Tensor,
                   cameras: Cameras) -> torch.Tensor:
    """c [N]: max over frames t of cos(angle between the posed binding-face normal of Gaussian i and the direction
    from its barycentric anchor to camera t's centre).

    vertices: [T, V, 3] posed meshes (frame t seen by camera t); faces [F, 3] (counter-clockwise seen from outside,
    so (v1 - v0) x (v2 - v0) points outwards); face_ids [N]; barycentrics [N, 3]; cameras: T OpenCV cameras.
    """
    centres = cameras.centers.to(vertices)
    best = None
    for t in range(vertices.shape[0]):  # one frame at a time: [N, 3] memory however long the video
        tri = vertices[t][faces[face_ids]]  # [N, 3, 3]
        v0, v1, v2 = tri.unbind(-2)
        normal = torch.nn.functional.normalize(torch.linalg.cross(v1 - v0, v2 - v0, dim=-1), dim=-1)
        anchor = (barycentrics[..., None].to(tri) * tri).sum(-2)
        view = torch.nn.functional.normalize(centres[t] - anchor, dim=-1)
        cos = (normal * view).sum(-1)
        best = cos if best is None else torch.maximum(best, cos)
    return best


def visibility_weights(cosines: torch.Tensor, grazing: float, full: float) -> torch.Tensor:
    """w [N] in [0, 1]: 0 at or below cosine ``grazing``, 1 at or above ``full``, smoothstep between."""
    x = ((cosines - grazing) / max(full - grazing, 1e-6)).clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class VisibilityStep:
    """Scales each optimiser step of the given attributes per Gaussian: after ``optimizer.step()``,
    p <- p_before + w * (p - p_before).

    weights: [N]; params: {name: parameter [N, ...]}. Call ``before()`` ahead of the step, ``after()`` after it.
    """

    def __init__(self, weights: torch.Tensor, params: dict[str, torch.Tensor]):
        self.params = params
        self.weights = {k: weights.to(p).reshape(-1, *([1] * (p.ndim - 1))) for k, p in params.items()}
        self._before: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def before(self) -> None:
        self._before = {k: p.detach().clone() for k, p in self.params.items()}

    @torch.no_grad()
    def after(self) -> None:
        for k, p in self.params.items():
            b = self._before[k]
            p.copy_(b + self.weights[k] * (p - b))


#: The stage-3 attributes whose steps are scaled by visibility: the colours only. Shape and opacity stay free so the
#: silhouette can still follow the matte (scaling all five attributes on the astronaut kept the decoded hair outline
#: and cost 2.2 dB more in the input view than colours alone; docs/benchmarks.md#cpu-enrolment).
SCALED_ATTRIBUTES = ("colors",)


def gaussian_visibility(model, vertices: torch.Tensor, cameras: Cameras, config) -> torch.Tensor:
    """w [N] of ``model``'s Gaussians (anything with faces / face_ids / barycentrics) for the training frames' posed
    meshes vertices [T, V, 3] and cameras (T), with ``config``'s (a ``FitConfig``) grazing / full cosines."""
    with torch.no_grad():
        cos = facing_cosines(vertices, model.faces, model.face_ids, model.barycentrics, cameras)
        return visibility_weights(cos, config.visibility_grazing, config.visibility_full)


def stage3_limiter(model, weights: torch.Tensor) -> VisibilityStep:
    """The step limiter of ``model.attributes`` (a ``FitModel`` in stage 3) for visibility weights [N]
    (``gaussian_visibility``)."""
    return VisibilityStep(weights, {k: model.attributes[k] for k in SCALED_ATTRIBUTES})
