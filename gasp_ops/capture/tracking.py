"""3DMM tracking of a capture: identity per subject; expression, jaw, neck and rigid pose per frame.

Inputs: images [T, C, H, W, 3] uint8 of T frames seen by C calibrated cameras (fixed over time), mattes
[T, C, H, W] and detected 68-point landmarks [T, C, 68, 2] (NaN where no face was found). Works with any
``HeadModel`` (``ProceduralHead``, ``FlameHead`` with a landmark embedding).

Stages (``TrackingResult.stages`` records what ran, ``seed`` how it started):
1. Seed: ``landmarks`` - rigid pose fitted to the detected landmarks in every view that has them (robust loss; the
   jaw contour down-weighted); expressions stay at 0 (dlib is only a seed, ~8 px from the model's own landmarks on
   renders). The identity is fitted to them too only with ``seed_identity`` - by default with a single camera,
   where landmarks are the only shape cue. With several calibrated views it stays at the mean for the photometric
   stages: an identity fitted to dlib biased the head rotation by a near-constant ~4.5 degrees that the
   photometric stages, which trade rotation against identity, never undid (mean identity: ~2 degrees on the
   fixture). ``default_pose`` - no face detected anywhere but calibrated cameras: the head is put where the rig's
   optical axes meet, facing camera ``frontal``.
2. Photometric refinement, coarse to fine with staged unfreezing (``photo_stages``: blur sigma, iterations, freed
   parameters 'rigid' -> 'shape' -> 'all'; expressions are freed from the second stage on): the visible skin
   vertices' colours, sampled at their projections in matte-normalised blurred images (the background never bleeds
   in; visibility from the exact mesh rasteriser, refreshed every ``visibility_every`` steps), must agree with
   ``albedo x shading`` across every view and frame (``photo_shading``, ``shading.ShadingModel``: one albedo per
   vertex in closed form, second-order SH lighting in the world frame, normals from ``stencil_normals``; freed in
   ``shading_stages``). Plain colour consistency (one colour per vertex, ``photo_shading=False``) cannot see an
   expression that moves skin along its normal (cheek_puff, jaw_forward) and is biased by the brightness change
   such a motion causes under a key light: on the 224 px fixture test its expressions were no better than
   predicting zero (mean abs error 0.069 vs 0.064, correlation 0.48); with shading 0.044 (ratio 0.68, correlation
   0.83), head rotation 1.6-1.9 degrees (was 1.9-2.4), landmarks 1.0 px (was 1.2). Still missed there: lip_press
   (at most 2 mm at full activation, ~0.6 px at the fixture's 0.5) stays at 0, other active shapes come out at
   ~0.4-1.0 of their size.
   Plus a weak landmark term and priors (small L2 on identity, L1 + L2 on expressions, temporal second-difference
   smoothness ``w_smooth``: 1.0 steadies the per-frame rotation (0.2 left ~0.4 degree more error) without the bias
   that much stronger smoothing gives fast 6-frame motions; expressions get ``w_smooth_expression`` x that - 0.2:
   at 1.0 the fitted expression trajectories were straight lines shrunk towards 0, ratio 0.76 instead of 0.64).
   Adam with a cosine learning-rate decay per stage; named action blendshapes are kept in [0, 1] and the jaw
   opening >= 0 (projected steps).
3. Silhouette refinement (off by default, ``silhouette_iters``): the head mesh's soft silhouette (UV-bound
   Gaussians, ``soft_silhouette``) must stay inside the matte (one-sided). Its soft edge spills outside the matte
   even at the true pose, which biased the fit on the fixture, so the tiny preset leaves it out.
All parameters are optimised jointly over frames and views (multi-view joint fitting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.projection import gaussian_blur, project, sample_images
from gasp_ops.capture.rigid import rig_focus
from gasp_ops.capture.shading import ShadingModel
from gasp_ops.capture.stencil_normals import StencilNormals
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.landmark_head import LandmarkHead
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.headmodel.topology import REGIONS
from gasp_ops.raster.mesh_raster import rasterize_mesh

JAW_CONTOUR = slice(0, 17)
PHOTO_REGIONS = ("face", "ears", "eyes")


@dataclass
class TrackingConfig:
    """Iteration counts, weights and learning rates (defaults: the tiny CPU preset)."""

    seed_rigid_iters: int = 60
    seed_iters: int = 120
    seed_identity: bool | None = None  # None: fit only with a single camera (see module docstring)
    photo_stages: tuple = ((6.0, 40, "rigid"), (3.0, 50, "all"), (1.5, 60, "all"), (0.75, 60, "all"))
    w_focus: float = 200.0
    silhouette_iters: int = 0
    silhouette_size: int = 64
    silhouette_views: int = 4
    visibility_every: int = 25
    w_landmark: float = 1.0
    w_landmark_refine: float = 0.01
    w_jaw_contour: float = 0.2
    w_photo: float = 60.0
    w_silhouette: float = 20.0
    w_identity: float = 0.001
    w_expression: float = 0.0005
    w_expression_l1: float = 0.01
    w_neck: float = 2.0
    w_smooth: float = 1.0
    w_smooth_expression: float = 0.2
    photo_eps: float = 0.03
    frontal: int = 0
    seed: int = 0
    photo_per_frame: bool = False
    bounded_expression: bool = True
    masked_blur: bool = True
    photo_lr: float = 0.5
    lr_floor: float = 0.05
    photo_shading: bool = True  # albedo x SH shading (shading.py); False: plain colour consistency
    shading_lr: float = 0.02
    expression_lr: float = 0.03
    shading_stages: tuple = ("shape", "all")  # stages whose loss uses the shading (and frees the lighting)


@dataclass
class TrackingResult:
    """identity [n_identity]; expression [T, E]; pose (batch T, world frame); vertices [T, V, 3];
    landmarks_2d [T, C, 68, 2] of the fitted model; detected [T, C, 68, 2] (NaN: none); seed ('landmarks' or
    'default_pose'); stages run; final losses."""

    identity: torch.Tensor
    expression: torch.Tensor
    pose: HeadPose
    vertices: torch.Tensor
    landmarks_2d: torch.Tensor
    detected: torch.Tensor
    seed: str
    stages: list = field(default_factory=list)
    losses: dict = field(default_factory=dict)

    def landmark_error_px(self) -> torch.Tensor:
        """Mean reprojection error [T, C] against the detections (NaN where none)."""
        d = (self.landmarks_2d - self.detected).norm(dim=-1)
        return d.nanmean(-1)


class _Params(torch.nn.Module):
    def __init__(self, head: HeadModel, T: int):
        super().__init__()
        z = lambda *s: torch.nn.Parameter(torch.zeros(*s))  # noqa: E731
        self.identity = z(1, head.n_identity)
        self.expression = z(T, head.n_expression)
        self.rotation, self.translation, self.neck, self.jaw = z(T, 3), z(T, 3), z(T, 3), z(T, 3)

    def pose(self) -> HeadPose:
        T = self.expression.shape[0]
        return HeadPose(rotation=self.rotation, translation=self.translation, neck=self.neck, jaw=self.jaw,
                        eyes=torch.zeros(T, 6))

    def vertices(self, head: HeadModel) -> torch.Tensor:
        T = self.expression.shape[0]
        return head(self.identity.expand(T, -1), self.expression, self.pose())

    def landmarks(self, head: LandmarkHead) -> torch.Tensor:
        """The 68 landmarks [T, 68, 3] alone (``LandmarkHead``: the same as the vertices' landmarks, far cheaper)."""
        T = self.expression.shape[0]
        return head.landmarks(self.identity.expand(T, -1), self.expression, self.pose())


def facing_rotation(w2c: torch.Tensor) -> torch.Tensor:
    """Axis-angle [3] turning the head (+z forward, +y up) to face the camera ``w2c`` [4, 4] upright."""
    from gasp_ops.capture.rigid import matrix_to_axis_angle

    fwd = -w2c[2, :3]
    up = -w2c[1, :3]
    x = torch.linalg.cross(up, fwd)
    R = torch.stack([x / x.norm(), up / up.norm(), fwd / fwd.norm()], 1)
    return matrix_to_axis_angle(R)


def _cosine(opt: torch.optim.Optimizer, iters: int, floor: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay of every group's learning rate to ``floor`` x its start over ``iters`` steps."""
    n = max(1, iters)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda i: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(i, n) / n)))


def _charbonnier(x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(x * x + eps * eps) - eps


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals [T, V, 3] of meshes [T, V, 3]."""
    tri = vertices[:, faces]
    fn = torch.linalg.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    n = torch.zeros_like(vertices)
    for k in range(3):
        n.index_add_(1, faces[:, k], fn)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class Tracker:
    """Fits ``head`` to one capture (see module docstring). ``track()`` returns a ``TrackingResult``."""

    def __init__(self, head: HeadModel, images: np.ndarray, cameras: Cameras, mattes: np.ndarray | None,
                 landmarks: np.ndarray, config: TrackingConfig | None = None, video: bool = True):
        self.head = head
        self.cfg = config or TrackingConfig()
        self.video = video
        if images.ndim != 5:
            raise GaspInputError("images", f"expected [T, C, H, W, 3], got {list(images.shape)}")
        self.T, self.C, self.H, self.W = images.shape[:4]
        if len(cameras) != self.C:
            raise GaspInputError("cameras", f"{len(cameras)} cameras for {self.C} views")
        self.cameras = cameras
        self.images = torch.from_numpy(np.ascontiguousarray(images)).float().permute(0, 1, 4, 2, 3) / 255.0
        self.mattes = None if mattes is None else torch.as_tensor(np.asarray(mattes), dtype=torch.float32)
        self.detected = torch.as_tensor(np.asarray(landmarks), dtype=torch.float32)
        self.params = _Params(head, self.T)
        self.shading = ShadingModel() if self.cfg.photo_shading else None
        topo = head.topology
        keep = torch.zeros(len(REGIONS), dtype=torch.bool)
        for r in PHOTO_REGIONS:
            keep[REGIONS.index(r)] = True
        face_ok = keep[topo.face_regions]
        self.photo_vertices = torch.unique(topo.faces[face_ok].reshape(-1))
        self.photo_normals = (StencilNormals(topo.faces, head.template, self.photo_vertices)
                              if self.shading is not None else None)
        self.silhouette_faces = topo.face_regions != REGIONS.index("neck")
        self.faces = topo.faces
        self.stages: list[str] = []
        self.losses: dict = {}
        w = torch.ones(68)
        w[JAW_CONTOUR] = self.cfg.w_jaw_contour
        self.lmk_weight = w

    # ------------------------------------------------------------------ losses
    def _landmark_loss(self, verts: torch.Tensor) -> torch.Tensor:
        return self._landmark_px_loss(self.head.landmarks(verts))

    def _landmark_px_loss(self, lm: torch.Tensor) -> torch.Tensor:
        """Robust reprojection error (px) of landmarks [T, 68, 3] against the detections."""
        px, _ = project(lm, self.cameras)
        ok = torch.isfinite(self.detected[..., 0])
        if not ok.any():
            return lm.sum() * 0.0
        r = (px - torch.nan_to_num(self.detected)).norm(dim=-1)
        w = self.lmk_weight * ok
        return (_charbonnier(r, 2.0) * w).sum() / w.sum()

    def _focus_prior(self) -> torch.Tensor:
        """Calibrated rigs aim at the head: keep the head origin near the rig focus (seed only; metres^2)."""
        if getattr(self, "focus", None) is None:
            return torch.zeros(())
        p = self.params
        from gasp_ops.rotations import axis_angle_to_matrix

        J = torch.einsum("v,vc->c", self.head.joint_regressor[0], self.head.template)
        origin = (axis_angle_to_matrix(p.rotation) @ (-J)) + J + p.translation
        return self.cfg.w_focus * ((origin - self.focus) ** 2).sum(-1).mean()

    def _priors(self) -> torch.Tensor:
        p, c = self.params, self.cfg
        loss = c.w_identity * (p.identity ** 2).sum() + c.w_expression * (p.expression ** 2).sum(-1).mean()
        loss = loss + c.w_expression_l1 * p.expression.abs().sum(-1).mean()
        loss = loss + c.w_neck * (p.neck ** 2).sum(-1).mean()
        loss = loss + 100.0 * (torch.relu(-p.jaw[:, 0]) ** 2).mean() + 10.0 * (p.jaw[:, 1:] ** 2).sum(-1).mean()
        if self.video and self.T > 2:
            for x, s in ((p.expression, c.w_smooth_expression), (p.jaw, 10.0), (p.rotation, 10.0), (p.neck, 10.0),
                         (p.translation, 100.0)):
                loss = loss + c.w_smooth * s * ((x[2:] - 2 * x[1:-1] + x[:-2]) ** 2).sum(-1).mean()
        return loss

    @torch.no_grad()
    def _visibility(self, verts: torch.Tensor) -> torch.Tensor:
        """[T, C, V'] bool for the photometric vertices: unoccluded, facing the camera, inside the matte."""
        s = 0.5
        small = Cameras(self.cameras.world_to_cam, self.cameras.K * torch.tensor([[s], [s], [1.0]]),
                        max(1, int(self.W * s)), max(1, int(self.H * s)))
        idx = self.photo_vertices
        px, z = project(verts[:, idx], self.cameras)
        normals = vertex_normals(verts, self.faces)[:, idx]
        centres = self.cameras.centers
        vis = torch.zeros(self.T, self.C, len(idx), dtype=torch.bool)
        for t in range(self.T):
            frags = rasterize_mesh(verts[t], self.faces, small, cull_backfaces=True)  # same front surface, faster
            depth = torch.nan_to_num(frags.depth, posinf=1e6)[:, None]  # [C, 1, h, w]
            d = sample_images(depth[None].expand(1, -1, -1, -1, -1), px[t:t + 1] * s)[0, ..., 0]  # nearest-ish
            view = centres[:, None, :] - verts[t, idx][None]
            facing = (normals[t][None] * view).sum(-1) / view.norm(dim=-1) > 0.25
            vis[t] = (z[t] <= d + 0.006) & facing
        if self.mattes is not None:
            m = sample_images(self.mattes[:, :, None], px)[..., 0]
            vis &= m > 0.5
        inside = (px[..., 0] > 1) & (px[..., 0] < self.W - 1) & (px[..., 1] > 1) & (px[..., 1] < self.H - 1)
        return vis & inside

    def _photo_loss(self, verts: torch.Tensor, images: torch.Tensor, vis: torch.Tensor,
                    shaded: bool = True) -> torch.Tensor:
        px, _ = project(verts[:, self.photo_vertices], self.cameras)
        col = sample_images(images, px)  # [T, C, V', 3]
        w = vis.float()[..., None]
        dims = (1,) if self.cfg.photo_per_frame else (0, 1)
        n = w.sum(dims, keepdim=True)
        ok = (n >= 2).float()
        if self.shading is not None and shaded:
            normals = self.photo_normals(verts)
            pred = self.shading.predict(col, w, normals, dims)
        else:
            pred = (col * w).sum(dims, keepdim=True) / n.clamp_min(1)
        res = _charbonnier(col - pred, self.cfg.photo_eps).sum(-1, keepdim=True) * w * ok
        return res.sum() / (w * ok).sum().clamp_min(1)

    # ------------------------------------------------------------------ stages
    def _seed(self) -> str:
        p, cam = self.params, self.cameras
        has = torch.isfinite(self.detected[..., 0]).any(-1)  # [T, C]
        with torch.no_grad():
            J = torch.einsum("v,vc->c", self.head.joint_regressor[0], self.head.template)
            if has.any():
                counts = has.sum(0)
                c0 = int(torch.argmax(counts))
            else:
                c0 = int(self.cfg.frontal)
            rot = facing_rotation(cam.world_to_cam[c0].double()).float()
            from gasp_ops.rotations import axis_angle_to_matrix

            R = axis_angle_to_matrix(rot)
            if self.C > 1:
                focus = torch.tensor(rig_focus(cam), dtype=torch.float32)
            else:
                focus = self._monocular_focus(c0)
            p.rotation[:] = rot
            p.translation[:] = focus + R @ J - J
        if not has.any():
            self.stages.append("seed:default_pose")
            return "default_pose"
        self.focus = focus if self.C > 1 else None
        # Landmarks only here: evaluate the head where they need it (LandmarkHead), not at every vertex.
        lmk_head = LandmarkHead(self.head)
        opt = torch.optim.Adam([{"params": [p.rotation], "lr": 0.02}, {"params": [p.translation], "lr": 0.005}])
        for _ in range(self.cfg.seed_rigid_iters):
            opt.zero_grad()
            loss = self._landmark_px_loss(p.landmarks(lmk_head)) + self._priors() + self._focus_prior()
            loss.backward()
            opt.step()
        opt = self._optimizer(scale=1.0, free="shape")
        fit_identity = self.C == 1 if self.cfg.seed_identity is None else self.cfg.seed_identity
        for _ in range(self.cfg.seed_iters if fit_identity else 0):
            opt.zero_grad()
            loss = self._landmark_px_loss(p.landmarks(lmk_head)) + self._priors() + self._focus_prior()
            loss.backward()
            opt.step()
        with torch.no_grad():
            self.losses["seed_landmark_px"] = float(self._landmark_loss(p.vertices(self.head)))
        self.stages.append("seed:landmarks")
        return "landmarks"

    def _monocular_focus(self, c: int) -> torch.Tensor:
        """Head centre for one uncalibrated-depth camera: depth from the detected eye-corner distance."""
        cam = self.cameras
        det = self.detected[:, c]
        ok = torch.isfinite(det[:, 0, 0])
        K = cam.K[c]
        if ok.any():
            d = det[ok]
            eye_px = (d[:, 45] - d[:, 36]).norm(dim=-1).median()
            with torch.no_grad():
                lm = self.head.landmarks(self.head.template[None])[0]
            eye_m = (lm[45] - lm[36]).norm()
            z = float(K[0, 0] * eye_m / eye_px)
            centre = d.mean(1).median(0).values
        else:
            z, centre = 0.6, torch.tensor([cam.width / 2, cam.height / 2])
        ray = torch.linalg.solve(K, torch.tensor([float(centre[0]), float(centre[1]), 1.0]))
        pc = ray * z
        M = torch.linalg.inv(cam.world_to_cam[c])
        return (M[:3, :3] @ pc + M[:3, 3]).float()

    def _optimizer(self, scale: float, free: str = "all") -> torch.optim.Optimizer:
        """Adam over the parameters freed at this stage: 'rigid' (root, neck, translation), 'shape' (+ identity),
        'all' (+ expression and jaw)."""
        p = self.params
        groups = [{"params": [p.rotation, p.neck], "lr": 0.01 * scale}, {"params": [p.translation], "lr": 0.002 * scale}]
        if free in ("shape", "all"):
            groups.append({"params": [p.identity], "lr": 0.05 * scale})
        if free == "all":
            groups += [{"params": [p.expression], "lr": self.cfg.expression_lr * scale},
                       {"params": [p.jaw], "lr": 0.01 * scale}]
        if self.shading is not None and free in self.cfg.shading_stages:
            groups.append({"params": [self.shading.lighting], "lr": self.cfg.shading_lr * scale})
        return torch.optim.Adam(groups)

    @torch.no_grad()
    def _project_bounds(self):
        """Keep coefficients in their valid range: named action blendshapes (procedural head) in [0, 1], the jaw
        opening >= 0 (PCA bases such as FLAME are left free)."""
        p = self.params
        if self.cfg.bounded_expression and getattr(self.head, "expression_names", None) is not None:
            p.expression.clamp_(0.0, 1.0)
            p.jaw[:, 0].clamp_(min=0.0)

    def _blurred(self, sigma: float) -> torch.Tensor:
        """Images blurred for one coarse-to-fine stage; with mattes, a normalised (matte-weighted) blur so the
        background never bleeds into the head's colours."""
        if self.mattes is None or not self.cfg.masked_blur or sigma <= 0:
            return gaussian_blur(self.images, sigma)
        m = self.mattes[:, :, None]
        num = gaussian_blur(self.images * m, sigma)
        den = gaussian_blur(m, sigma)
        return torch.where(den > 1e-3, num / den.clamp_min(1e-3), self.images)

    def _all_parameters(self) -> list:
        return [*self.params.parameters(), *(self.shading.parameters() if self.shading is not None else ())]

    def _photometric(self):
        p, c = self.params, self.cfg
        if self.C * self.T < 2:
            return
        for stage in c.photo_stages:
            sigma, iters = stage[0], stage[1]
            free = stage[2] if len(stage) > 2 else "all"
            images = self._blurred(sigma * self.W / 256.0)
            opt = self._optimizer(scale=c.photo_lr, free=free)
            sched = _cosine(opt, iters, c.lr_floor)
            for i in range(iters):
                verts = p.vertices(self.head)
                if i % c.visibility_every == 0:
                    vis = self._visibility(verts.detach())
                for q in self._all_parameters():
                    q.grad = None
                photo = self._photo_loss(verts, images, vis, shaded=free in c.shading_stages)
                loss = c.w_photo * photo + c.w_landmark_refine * self._landmark_loss(verts) + self._priors()
                loss.backward()
                opt.step()
                sched.step()
                self._project_bounds()
            self.losses[f"photo_sigma{sigma:g}"] = float(photo.detach())
            self.stages.append(f"photometric:sigma{sigma:g}")

    def _silhouette(self):
        p, c = self.params, self.cfg
        if self.mattes is None or c.silhouette_iters <= 0:
            return
        from gasp_ops.capture.soft_silhouette import SoftSilhouette

        s = c.silhouette_size / max(self.H, self.W)
        h, w = max(1, round(self.H * s)), max(1, round(self.W * s))
        small = Cameras(self.cameras.world_to_cam, self.cameras.K * torch.tensor([[w / self.W], [h / self.H], [1.0]]),
                        w, h)
        mattes = torch.nn.functional.interpolate(self.mattes.reshape(-1, 1, self.H, self.W), size=(h, w),
                                                 mode="area").reshape(self.T, self.C, h, w)
        sil = SoftSilhouette(self.head, faces=self.silhouette_faces)
        g = torch.Generator().manual_seed(c.seed)
        opt = self._optimizer(scale=0.3)
        pairs = [(t, k) for t in range(self.T) for k in range(self.C)]
        for _ in range(c.silhouette_iters):
            pick = torch.randperm(len(pairs), generator=g)[: c.silhouette_views].tolist()
            ts = torch.tensor([pairs[i][0] for i in pick])
            ks = torch.tensor([pairs[i][1] for i in pick])
            verts = p.vertices(self.head)
            cams = Cameras(small.world_to_cam[ks], small.K[ks], w, h)
            alpha = sil(verts[ts], cams)
            outside = (alpha * (1 - mattes[ts, ks])).mean()
            opt.zero_grad()
            loss = c.w_silhouette * outside + c.w_landmark_refine * self._landmark_loss(verts) + self._priors()
            loss.backward()
            opt.step()
        self.losses["silhouette_outside"] = float(outside.detach())
        self.stages.append("silhouette")

    def track(self) -> TrackingResult:
        torch.manual_seed(self.cfg.seed)
        seed = self._seed()
        self._photometric()
        self._silhouette()
        p = self.params
        with torch.no_grad():
            verts = p.vertices(self.head)
            px, _ = project(self.head.landmarks(verts), self.cameras)
            pose = HeadPose(**{k: v.detach().clone() for k, v in p.pose().as_dict().items()})
        return TrackingResult(identity=p.identity.detach()[0].clone(), expression=p.expression.detach().clone(),
                              pose=pose, vertices=verts, landmarks_2d=px, detected=self.detected, seed=seed,
                              stages=list(self.stages), losses=dict(self.losses))
