"""``AvatarRuntime``: 3DMM parameters -> posed Gaussians -> image, no neural network (GASP §6.6)."""

from __future__ import annotations

import torch

from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.render.gaussians import Gaussians3D, RenderOutput
from gasp_ops.render.render import render
from gasp_ops.runtime.posing import FastPoser


class AvatarRuntime:
    """One avatar ready to animate.

    head: the avatar's head model (moved to ``device``); avatar: ``GaussianAvatar``; identity: [n_identity] shape
    coefficients (fixed). ``cuda_graph=True`` (CUDA only) captures head model + posing for batch 1 in a CUDA graph
    on first use (static shapes), removing per-op launch overhead; rendering stays eager (gsplat syncs).
    """

    def __init__(self, head: HeadModel, avatar, identity: torch.Tensor, device=None, cuda_graph: bool = False):
        self.device = torch.device(device) if device is not None else avatar.offsets.device
        self.head = head.to(self.device)
        self.identity = identity.reshape(1, -1).float().to(self.device)
        self.poser = FastPoser(avatar, self.device)
        self.use_graph = bool(cuda_graph) and self.device.type == "cuda"
        self._graph = None

    @torch.no_grad()
    def vertices(self, expression: torch.Tensor, pose: HeadPose | None = None) -> torch.Tensor:
        """expression [B, n_expression], pose batch B (None = rest) -> vertices [B, V, 3].

        ``HeadModel.forward``'s maths without its input checks (each check is a host sync, which also forbids
        CUDA-graph capture); shapes are the caller's responsibility on this hot path."""
        from gasp_ops.headmodel.lbs import linear_blend_skinning, pose_rotations

        head = self.head
        B = expression.shape[0]
        if pose is None:
            pose = HeadPose.zeros(B, device=self.device)
        pose = pose.to(self.device, torch.float32)
        v_shaped = head.shaped(self.identity.expand(B, -1), expression.to(self.device).float())
        joints = torch.einsum("jv,bvc->bjc", head.joint_regressor, v_shaped)
        posed = linear_blend_skinning(v_shaped, joints, pose_rotations(pose), head.skin_weights,
                                      getattr(head, "pose_basis", None))
        return posed + pose.translation[:, None, :]

    @torch.no_grad()
    def gaussians(self, expression: torch.Tensor, pose: HeadPose | None = None) -> Gaussians3D:
        """World Gaussians [B, N, ...] for expression [B, E] and pose (batch B)."""
        if self.use_graph and expression.shape[0] == 1:
            return self._graphed(expression, pose)
        return self.poser(self.vertices(expression, pose))

    def _graphed(self, expression, pose) -> Gaussians3D:
        pose = pose if pose is not None else HeadPose.zeros(1, device=self.device)
        if self._graph is None:
            self._in_e = expression.to(self.device).float().clone()
            self._in_p = pose.to(self.device, torch.float32)
            self._in_p = HeadPose(**{k: v.clone() for k, v in self._in_p.as_dict().items()})
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):  # warm-up outside the graph
                    self.poser(self.vertices(self._in_e, self._in_p))
            torch.cuda.current_stream().wait_stream(stream)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                self._out = self.poser(self.vertices(self._in_e, self._in_p))
        self._in_e.copy_(expression.to(self.device).float())
        for k, v in pose.as_dict().items():
            getattr(self._in_p, k).copy_(v.to(self.device).float())
        self._graph.replay()
        return self._out

    @torch.no_grad()
    def render(self, expression: torch.Tensor, pose: HeadPose | None, cameras: Cameras,
               background: torch.Tensor | None = None, backend: str = "auto") -> RenderOutput:
        """Render frame b with camera b (B == len(cameras)); rgb [B, H, W, 3], alpha [B, H, W, 1].

        On CUDA with backend "auto"/"gsplat" this calls gsplat directly, skipping ``render``'s input checks (each
        is a host sync; the avatar was validated when loaded), so a frame costs no host round trip before gsplat."""
        g = self.gaussians(expression, pose)
        if self.device.type == "cuda" and backend in ("auto", "gsplat"):
            from gasp_ops.render.gsplat_backend import render_gsplat

            rgb, alpha, depth = render_gsplat(g, cameras, background)
            return RenderOutput(rgb=rgb, alpha=alpha, depth=depth)
        return render(g, cameras.to(self.device), background, backend=backend)
