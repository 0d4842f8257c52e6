"""Photo projection: the input photos' colours written onto an avatar's Gaussians in one closed-form step.

The render is linear in the Gaussians' (clamped) colours, R_p = sum_i w_ip c_i, with w_ip Gaussian i's compositing
weight (opacity x transmittance x footprint) at pixel p. For the input frames t (at most ``PROJECTION_FRAMES``,
spread over the inputs) posed by their tracked meshes, autograd through the renderer gives per Gaussian i and
channel k

    A_ik = sum_{t,p} w_ip m_p (I_pk alpha_p - R_pk)     (the matte-weighted colour residual, back-projected)
    B_ik = sum_{t,p} w_ip m_p                           (how much of the matte Gaussian i covers)

and the colours take one weighted back-projection step (a SART step: per pixel the weights of the Gaussians along
its ray sum to ~alpha ~ 1 inside the head, so a smooth residual is removed without overshoot):

    c_i <- clamp(c_i + A_i / (B_i + lam), 0, 1)

The residual compares premultiplied colour inside the matte only (I alpha - R), so a silhouette that the avatar
covers more or less than the photo is not turned into a colour change, and Gaussians wholly outside the matte or
hidden in every frame (A = B = 0) keep their colour. lam (in pixels of coverage) damps Gaussians that cover little.
No geometry, opacity or decoder weight moves.

Measured (issue 17, CPU, the tables' protocol at 256²): on the encoder's decoded avatar this one step lifts the
novel-view PSNR of rp010-rp014 from 14.73 to 20.22 dB (single image) and 14.80 to 20.61 dB (monocular) in 0.2 /
0.9 s; lam 0.5, no visibility gate and one step were chosen on other people (rp015-rp017: +4.30 dB; a second step
+0.08 dB, lam 0.1 / 2 +4.33 / +4.05 dB, the stage-3 visibility gate or the fit's grey-background residual lower).
"""

from __future__ import annotations

import time

import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.encoder.crop import spread_frames
from gasp_ops.fitting.scene import posed_vertices
from gasp_ops.render.render import render
from gasp_ops.runtime.posing import PosingPlan

#: Input frames used at most (spread over the inputs, as the encoder's crops).
PROJECTION_FRAMES = 4
#: Damping of B (pixels of matte coverage).
PROJECTION_LAM = 0.5
#: The leaf colours are kept this far inside [0, 1]: posing clamps colours to [0, 1] and the clamp passes no
#: gradient at the bounds, which zeroed B of every channel decoded at or beyond 0 / 1 (measured: 8 % of them; the
#: eye whites turned yellow). The render moves by at most this much.
EPS = 1e-4


def projection_sums(plan: PosingPlan, attributes: dict[str, torch.Tensor], vertices: torch.Tensor, cameras,
                    images: torch.Tensor, mattes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A [N, 3], B [N, 3]) summed over the frames.

    attributes: the avatar's local attributes ({"colors": [N, 3], ...}); vertices [T, V, 3] posed meshes; cameras:
    T OpenCV cameras; images [T, H, W, 3] in [0, 1]; mattes [T, H, W] in [0, 1]; everything on one device."""
    colours = attributes["colors"].detach().float().clamp(EPS, 1.0 - EPS)
    A = torch.zeros_like(colours)
    B = torch.zeros_like(colours)
    fixed = {k: v.detach() for k, v in attributes.items() if k != "colors"}
    for t in range(vertices.shape[0]):
        c = colours.clone().requires_grad_(True)
        with torch.enable_grad():
            out = render(plan.pose({**fixed, "colors": c}, vertices[t:t + 1]), cameras[t:t + 1])
            m = mattes[t:t + 1, ..., None].to(out.rgb)
            resid = (m * (images[t:t + 1].to(out.rgb) * out.alpha - out.rgb)).detach()
            a, = torch.autograd.grad((out.rgb * resid).sum(), c, retain_graph=True)
            b, = torch.autograd.grad((out.rgb * m).sum(), c)
        A += a
        B += b
    return A, B


def projected_colours(colours: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                      lam: float = PROJECTION_LAM) -> torch.Tensor:
    """[N, 3] colours after one projection step from the sums of ``projection_sums``."""
    return (colours.detach().float().clamp(0.0, 1.0) + A / (B + lam)).clamp(0.0, 1.0)


def project_colours(plan: PosingPlan, attributes: dict[str, torch.Tensor], vertices: torch.Tensor, cameras,
                    images: torch.Tensor, mattes: torch.Tensor, *, lam: float = PROJECTION_LAM,
                    max_frames: int = PROJECTION_FRAMES) -> tuple[torch.Tensor, int]:
    """([N, 3] colours after one projection step, frames used): up to ``max_frames`` of the T frames (vertices
    [T, V, 3], cameras, images [T, H, W, 3], mattes [T, H, W], as ``projection_sums``), spread over them."""
    frames = torch.as_tensor(spread_frames(vertices.shape[0], max_frames), dtype=torch.long)
    idx = frames.to(vertices.device)
    A, B = projection_sums(plan, attributes, vertices[idx], cameras[frames], images[idx], mattes[idx])
    return projected_colours(attributes["colors"], A, B, lam), len(frames)


@torch.no_grad()
def posed_frames(head, inputs, frames: list[int], device) -> tuple[torch.Tensor, object, torch.Tensor, torch.Tensor]:
    """(vertices [T, V, 3], cameras, images [T, H, W, 3], mattes [T, H, W]) of ``frames`` of ``inputs`` on
    ``device`` (the tracked meshes, as ``gasp_ops.fitting.scene.fit_scene`` poses them)."""
    sub = inputs.subset(frames).to(device)
    return posed_vertices(head.to(device), sub), sub.cameras, sub.images.float(), sub.mattes.float()


def project_photos(avatar: GaussianAvatar, head, inputs, *, device=None, lam: float = PROJECTION_LAM,
                   max_frames: int = PROJECTION_FRAMES) -> tuple[GaussianAvatar, dict]:
    """(``avatar`` with its colours projected from ``inputs``' photos, info {"frames", "seconds", "mean_change"}).

    inputs: the subject's ``FitInputs`` (frames, mattes, cameras and tracked 3DMM parameters); head: their head
    model. The avatar's geometry is unchanged; the returned avatar lives on the CPU."""
    t0 = time.perf_counter()
    dev = torch.device(device) if device is not None else avatar.colors.device
    frames = spread_frames(len(inputs), max_frames)
    vertices, cameras, images, mattes = posed_frames(head, inputs, frames, dev)
    av = avatar.to(dev)
    plan = PosingPlan(av.faces, av.face_ids, av.barycentrics).to(dev)
    colours, _ = project_colours(plan, av.attributes(), vertices, cameras, images, mattes, lam=lam,
                                 max_frames=max_frames)
    out = GaussianAvatar(faces=av.faces, face_ids=av.face_ids, barycentrics=av.barycentrics,
                         **{**av.attributes(), "colors": colours}).to("cpu")
    return out, {"frames": len(frames), "seconds": time.perf_counter() - t0,
                 "mean_change": float((colours - av.colors.clamp(0, 1)).abs().mean())}
