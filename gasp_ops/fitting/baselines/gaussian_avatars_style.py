"""``gaussian_avatars``-style baseline (after GaussianAvatars, Qian et al. 2024), re-implemented: Gaussians bound to
the triangles of the tracked mesh (``gasp_ops.avatar`` triangle frames), their local attributes optimised directly
(3DGS learning rates, GASP's loss, no prior), with 3DGS adaptive density control.

Initialisation: ``n`` Gaussians at area-uniform random points of the subject's rest mesh (face drawn with
probability proportional to its area, uniform barycentrics), zero offsets, identity rotations, in-plane standard
deviation sqrt(total area / n) (half that along the normal), mid grey, opacity 0.95. GaussianAvatars starts from
one Gaussian per triangle; here ``n`` defaults to the prior's Gaussian count so every method starts from the same
number of Gaussians (at the paper's scale that is ~188k, more than the head's triangles).

Adaptive density control (``DensifyConfig``; 3DGS / GaussianAvatars rules, thresholds documented there):
every ``interval`` steps from ``start`` to ``stop`` (fractions of the step budget), a Gaussian whose mean
view-space positional gradient (NDC units, averaged over the frames that saw it) is >= ``grad_threshold`` is
cloned when its largest world-space standard deviation (on the rest mesh) is <= ``percent_dense`` x the head's
radius, else split into 2 children sampled from its own Gaussian (in its triangle's frame) with scales / 1.6;
Gaussians with opacity < ``min_opacity`` are pruned. Children inherit the parent's triangle (face id and
barycentric origin) and every other attribute; Adam moments are carried over for survivors and zeroed for new ones.

Caveat at small Gaussian counts: when the Gaussians are much larger than their triangles (tiny preset: ~600
Gaussians on an 18,000-face mesh, ~5 triangle units each), split children land several triangle units from their
origin, which GASP's displacement regulariser (GaussianAvatars' own position loss, threshold 1 triangle unit)
penalises: the total training loss jumps at each densification while the image terms barely move. At the paper's
count (~188k Gaussians, more than the head's triangles) the Gaussians are triangle-sized and this does not arise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.baselines.common import BaselineResult, baseline_scene, step_budget
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.loop import progress_bar, run_steps
from gasp_ops.fitting.scene import spatial_scale
from gasp_ops.fitting.stages import FitModel, position_lr, stage_optimizer, step_loss
from gasp_ops.rotations import quaternion_to_matrix
from gasp_ops.runtime.posing import PosingPlan
from gasp_ops.seeding import generator


@dataclass(frozen=True)
class DensifyConfig:
    """Adaptive density control.

    grad_threshold: mean view-space positional gradient (NDC units) that triggers densification (3DGS and
        GaussianAvatars: 2e-4).
    percent_dense: clone (<=) vs split (>) boundary on the largest world standard deviation, as a fraction of the
        head radius (3DGS: 0.01 of the scene extent).
    min_opacity: prune below this opacity (3DGS: 0.005).
    split_children: Gaussians a split makes (3DGS: 2); their scales are the parent's / (0.8 x split_children).
    start, stop, interval: densify at steps start, start + interval, ... < stop, as fractions of the step budget
        (3DGS: from 500 to 15,000 every 100 of 30,000 steps; scaled so a short CPU budget still densifies).
    max_gaussians_factor: never grow beyond this many times the initial count (keeps a fixed-budget comparison
        bounded in time; GaussianAvatars has no cap).
    No opacity reset: 3DGS resets every 3,000 steps, longer than any budget this project runs on the CPU.
    """

    grad_threshold: float = 2e-4
    percent_dense: float = 0.01
    min_opacity: float = 0.005
    split_children: int = 2
    start: float = 0.1
    stop: float = 0.6
    interval: float = 0.1
    max_gaussians_factor: float = 4.0

    def steps(self, budget: int) -> list[int]:
        """The steps (0-based, after which) densification runs for a budget of ``budget`` steps."""
        first = max(1, round(self.start * budget))
        every = max(1, round(self.interval * budget))
        return list(range(first, max(first, round(self.stop * budget)), every))


def surface_binding(topology, rest: torch.Tensor, n: int, seed: int):
    """(face_ids [n], barycentrics [n, 3], log_scales [n, 3]) of ``n`` area-uniform points of the mesh rest [V, 3]
    (see module docstring); deterministic under ``seed``."""
    if n < 1:
        raise GaspInputError("n_gaussians", f"must be >= 1, got {n}")
    g = generator(seed, "gaussian-avatars-init")
    faces = topology.faces.to(rest.device)
    tri = rest[faces].float().cpu()
    area = 0.5 * torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)
    face_ids = torch.multinomial(area / area.sum(), n, replacement=True, generator=g)
    r1, r2 = torch.rand(n, generator=g), torch.rand(n, generator=g)
    s = r1.sqrt()
    bary = torch.stack([1 - s, s * (1 - r2), s * r2], -1)
    side = math.sqrt(float(area.sum()) / n)  # metres: each Gaussian covers total area / n
    k = triangle_frames(rest[None].float().cpu(), topology.faces.cpu()).scales[0][face_ids]
    log_s = torch.log((side / k.clamp_min(1e-9)).clamp_min(1e-6))[:, None].repeat(1, 3)
    log_s[:, 2] += math.log(0.5)
    return face_ids, bary, log_s


def densify_and_prune(attrs: dict[str, torch.Tensor], face_ids: torch.Tensor, grad: torch.Tensor,
                      world_scale: torch.Tensor, extent: float, config: DensifyConfig, gen: torch.Generator,
                      max_count: int | None = None) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict]:
    """One round of 3DGS density control on local attributes.

    attrs: {offsets [N, 3], log_scales [N, 3] (triangle units), quats [N, 4], colors [N, 3], opacity_logits [N]};
    face_ids [N] (only passed through the ``source`` map); grad [N] mean view-space gradient (NDC, NaN/0 = never
    seen); world_scale [N] the largest world standard deviation; extent: head radius (metres).
    Returns (new attributes [N', ...], source [N'] = index of each Gaussian's parent among the N (itself for
    survivors; the first ``kept`` entries are the survivors in their old order), counts {"kept", "cloned", "split",
    "pruned"}). Bindings of the new set: ``face_ids[source]``.
    """
    N = grad.shape[0]
    dev = grad.device
    hot = torch.nan_to_num(grad, nan=0.0) >= config.grad_threshold
    big = world_scale > config.percent_dense * extent
    clone, split = hot & ~big, hot & big
    if max_count is not None:  # respect the cap: keep the hottest candidates only
        room = max(0, max_count - N)
        extra = clone.long() + split.long() * (config.split_children - 1)
        if int(extra.sum()) > room:
            order = torch.argsort(torch.nan_to_num(grad, nan=0.0), descending=True)
            allowed = torch.zeros(N, dtype=torch.bool, device=dev)
            allowed[order[torch.cumsum(extra[order], 0) <= room]] = True
            clone, split = clone & allowed, split & allowed
    keep = ~split & (torch.sigmoid(attrs["opacity_logits"]) >= config.min_opacity)
    pruned = int((~split & ~keep).sum())
    src_keep = torch.nonzero(keep).flatten()
    src_clone = torch.nonzero(clone & keep).flatten()
    src_split = torch.nonzero(split).flatten().repeat(config.split_children)
    out = {k: torch.cat([v[src_keep], v[src_clone]]) for k, v in attrs.items()}
    if src_split.numel():
        p = {k: v[src_split] for k, v in attrs.items()}
        std = torch.exp(p["log_scales"])
        sample = torch.randn(std.shape, generator=gen).to(dev) * std
        rot = quaternion_to_matrix(torch.nn.functional.normalize(p["quats"], dim=-1))
        child = dict(p)
        child["offsets"] = p["offsets"] + (rot @ sample[..., None])[..., 0]
        child["log_scales"] = p["log_scales"] - math.log(0.8 * config.split_children)
        out = {k: torch.cat([out[k], child[k]]) for k in out}
    source = torch.cat([src_keep, src_clone, src_split])
    return out, source, {"kept": int(src_keep.numel()), "cloned": int(src_clone.numel()), "split": int(split.sum()),
                         "pruned": pruned}


class _MeanRecorder:
    """A ``PosingPlan`` stand-in that keeps the posed means (with their gradient) of the last call."""

    def __init__(self, plan: PosingPlan):
        self.plan, self.means = plan, None

    def pose(self, attributes, vertices):
        g = self.plan.pose(attributes, vertices)
        g.means.retain_grad()
        self.means = g.means
        return g


def view_space_gradient(means: torch.Tensor, grad: torch.Tensor, cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """(|dL/d mean2d| in NDC units [B, N], seen [B, N]) from world means [B, N, 3] and their gradient: with camera
    rotation R, camera-space gradient g_c = R g; at fixed depth z, du = (z / fx) dx, so dL/du = g_cx z / fx (and
    likewise v), times W/2 (H/2) for NDC, as 3DGS's densification statistic."""
    w2c = cameras.world_to_cam.to(means)
    K = cameras.K.to(means)
    R, t = w2c[:, :3, :3], w2c[:, :3, 3]
    gc = torch.einsum("bij,bnj->bni", R, grad)
    z = torch.einsum("bj,bnj->bn", R[:, 2], means) + t[:, 2, None]
    du = gc[..., 0] * z / K[:, 0, 0, None] * (0.5 * cameras.width)
    dv = gc[..., 1] * z / K[:, 1, 1, None] * (0.5 * cameras.height)
    seen = (grad.abs().sum(-1) > 0) & (z > 0)
    return torch.sqrt(du ** 2 + dv ** 2) * seen, seen


def _rebuild_optimizer(old_opt, model: FitModel, source: torch.Tensor, n_keep: int, config: FitConfig,
                       spatial: float):
    """A stage-3 Adam over ``model`` whose moments are the old ones gathered by ``source`` (new Gaussians: the
    parent's row is *not* copied, they start at zero as in 3DGS; survivors keep theirs)."""
    opt = stage_optimizer(model, 3, config, 1.0, spatial)
    for g_old, g_new in zip(old_opt.param_groups, opt.param_groups):
        g_new["lr"] = g_old["lr"]
        p_old, p_new = g_old["params"][0], g_new["params"][0]
        st = old_opt.state.get(p_old)
        if not st:
            continue
        new_state = {"step": st["step"].clone()}
        for key in ("exp_avg", "exp_avg_sq"):
            m = torch.zeros_like(p_new)
            m[:n_keep] = st[key][source[:n_keep]]
            new_state[key] = m
        opt.state[p_new] = new_state
    return opt


class _GaussianAvatarsFit:
    """Mutable state of one fit: model, posing plan, densification statistics."""

    def __init__(self, scene, head, config: FitConfig, densify: DensifyConfig, n: int, steps: int, dev):
        self.scene, self.config, self.densify, self.steps, self.dev = scene, config, densify, steps, dev
        topo = head.topology
        face_ids, bary, log_s = surface_binding(topo, scene.rest, n, config.seed)
        self.faces = topo.faces.to(dev)
        self.scalp_faces = topo.region_mask("scalp").to(dev)
        quats = torch.zeros(n, 4)
        quats[:, 0] = 1.0
        attrs = {"offsets": torch.zeros(n, 3), "log_scales": log_s, "quats": quats,
                 "colors": torch.full((n, 3), 0.5),
                 "opacity_logits": torch.full((n,), float(torch.logit(torch.tensor(0.95))))}
        self._set(attrs, face_ids.to(dev), bary.to(dev), log_s.to(dev))
        self.spatial = spatial_scale(scene, self.faces, self.model.face_ids)
        rest = scene.rest
        self.extent = float((rest - rest.mean(0)).norm(dim=-1).max())
        self.k_rest = triangle_frames(rest[None], self.faces).scales[0]
        self.schedule = set(densify.steps(steps))
        self.max_count = int(densify.max_gaussians_factor * n)
        self.gen = generator(config.seed, "gaussian-avatars-densify")
        self.counts = {"initial": n, "cloned": 0, "split": 0, "pruned": 0, "rounds": 0}
        self.batch_cameras = None

    def _set(self, attrs, face_ids, bary, init_log_scales):
        self.model = FitModel(None, init_attributes={k: v.to(self.dev) for k, v in attrs.items()},
                              binding=(self.faces, face_ids, bary), init_log_scales=init_log_scales,
                              scalp=self.scalp_faces[face_ids]).to(self.dev)
        self.model.set_stage(3)
        self.plan = _MeanRecorder(PosingPlan(self.faces, face_ids, bary).to(self.dev))
        n = face_ids.shape[0]
        self.grad_sum = torch.zeros(n, device=self.dev)
        self.seen = torch.zeros(n, device=self.dev)

    def optimizer(self):
        return stage_optimizer(self.model, 3, self.config, 1.0, self.spatial)

    def loss_fn(self, idx, bg):
        s = self.scene
        rgb_gt, a_gt = s.inputs.targets(idx, bg)
        self.batch_cameras = s.inputs.cameras[idx]
        return step_loss(self.model, self.plan, s.vertices[idx], self.batch_cameras, rgb_gt, a_gt, bg, self.config,
                         None, s.lpips_model)

    def before_step(self, step, opt):
        for g in opt.param_groups:
            if g["name"] == "offsets":
                g["lr"] = position_lr(self.config, step, self.steps, self.spatial)

    def after_backward(self, step):
        m = self.plan.means
        if m is None or m.grad is None:
            return
        norm, seen = view_space_gradient(m.detach(), m.grad, self.batch_cameras)
        self.grad_sum += norm.sum(0)
        self.seen += seen.float().sum(0)

    def after_step(self, step, opt):
        if step + 1 not in self.schedule:
            return None
        old = self.model
        with torch.no_grad():
            attrs = {k: v.detach() for k, v in old.attributes.items()}
            grad = self.grad_sum / self.seen.clamp_min(1)
            world = self.k_rest[old.face_ids] * torch.exp(attrs["log_scales"]).max(-1).values
            new, source, counts = densify_and_prune(attrs, old.face_ids, grad, world, self.extent, self.densify,
                                                    self.gen, self.max_count)
        for k in ("cloned", "split", "pruned"):
            self.counts[k] += counts[k]
        self.counts["rounds"] += 1
        self._set(new, old.face_ids[source], old.barycentrics[source], old.init_log_scales[source])
        return _rebuild_optimizer(opt, self.model, source, counts["kept"], self.config, self.spatial)


def fit_gaussian_avatars_style(head, inputs, config: FitConfig, *, n_gaussians: int,
                               densify: DensifyConfig | None = None, device=None,
                               log: Callable[[str], None] | None = None, progress: bool = False,
                               lpips_net: str = "vgg") -> BaselineResult:
    """Fit the baseline to ``inputs`` (``FitInputs``) with ``config``'s losses, rates, batches and seed for
    ``step_budget(config)`` steps, starting from ``n_gaussians`` Gaussians. Returns a ``BaselineResult`` whose
    avatar is a ``GaussianAvatar`` (stats: initial / final counts, cloned, split, pruned, rounds)."""
    densify = densify or DensifyConfig()
    log = log or (lambda msg: None)
    config, head, dev, scene = baseline_scene(head, inputs, config, device, lpips_net)
    steps = step_budget(config)
    fit = _GaussianAvatarsFit(scene, head, config, densify, int(n_gaussians), steps, dev)
    log(f"gaussian_avatars-style: {len(scene.inputs)} frames, {n_gaussians} Gaussians, {steps} steps, "
        f"densify at {sorted(fit.schedule)}, LPIPS {scene.lpips}")
    bar = progress_bar(progress, steps, "gaussian_avatars")
    hist, seconds = run_steps(steps, fit.loss_fn, fit.optimizer(), frames=len(scene.inputs),
                              batch_size=config.batch_size, random_background=config.random_background,
                              gen=generator(config.seed, "fit-schedule"), device=dev, log_every=config.log_every,
                              before_step=fit.before_step, after_backward=fit.after_backward,
                              after_step=fit.after_step, bar=bar)
    if bar is not None:
        bar.close()
    stats = {**fit.counts, "final": fit.model.face_ids.shape[0]}
    log(f"gaussian_avatars-style: {steps} steps in {seconds:.1f} s, Gaussians {stats['initial']} -> "
        f"{stats['final']} (cloned {stats['cloned']}, split {stats['split']}, pruned {stats['pruned']})")
    return BaselineResult(avatar=fit.model.avatar().to("cpu"), history={"direct": hist}, seconds={"direct": seconds},
                          config=config, steps=steps, spatial_scale=fit.spatial, lpips=scene.lpips, stats=stats)
