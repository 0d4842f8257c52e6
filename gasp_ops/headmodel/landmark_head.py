"""The head model evaluated only where its 68 landmarks need it (landmark-driven fitting: the tracker's seed).

``HeadModel.forward`` shapes and skins every vertex; the iBUG-68 landmarks read three vertices each (their faces'
corners, ``HeadTopology.landmarks``). Blend shapes and skinning act per vertex, and the joints are a linear map of
the shaped vertices, so the landmarks need only those <= 204 vertices plus the joints' own bases:

    joints = R @ (template + B_id identity + B_exp expression) = R template + (R B_id) identity + (R B_exp) expression

(R the joint regressor [5, V]). ``LandmarkHead(head).landmarks(identity, expression, pose)`` equals
``head.landmarks(head(identity, expression, pose))`` to float rounding (tests/test_landmark_head.py) at a fraction
of the cost. Measured on the 2-core CPU (cProfile, one photo): the tracker's 180 seed iterations 1.17 -> 0.75 s, the
rest being autograd and Adam overhead; a warm instant enrolment 2.39 -> 1.71 s (docs/benchmarks.md).
"""

from __future__ import annotations

import torch

from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.lbs import blend_shapes, linear_blend_skinning, pose_rotations
from gasp_ops.headmodel.pose import HeadPose


class LandmarkHead:
    """Landmarks [B, 68, 3] of ``head`` from (identity, expression, pose), differentiable in all three.

    A snapshot of the head's buffers on their device at construction (the head model is not modified)."""

    def __init__(self, head: HeadModel):
        topo = head.topology
        corners = topo.faces[topo.landmark_faces].to(head.template.device)  # [68, 3] vertex ids
        vids, local = torch.unique(corners.reshape(-1), return_inverse=True)
        self.corners = local.reshape(corners.shape)  # [68, 3] into the kept vertices
        self.barycentrics = topo.landmark_barycentrics.to(head.template)  # [68, 3]
        self.template = head.template[vids]  # [S, 3]
        self.identity_basis = head.identity_basis[vids]  # [S, 3, K_id]
        self.expression_basis = head.expression_basis[vids]  # [S, 3, K_exp]
        self.skin_weights = head.skin_weights[vids]  # [S, 5]
        pose_basis = getattr(head, "pose_basis", None)
        if pose_basis is not None:  # [P, V*3] -> [P, S*3]
            P = pose_basis.shape[0]
            pose_basis = pose_basis.reshape(P, -1, 3)[:, vids].reshape(P, -1)
        self.pose_basis = pose_basis
        R = head.joint_regressor  # [5, V]
        self.joint_template = R @ head.template  # [5, 3]
        self.joint_identity = torch.einsum("jv,vck->jck", R, head.identity_basis)  # [5, 3, K_id]
        self.joint_expression = torch.einsum("jv,vck->jck", R, head.expression_basis)  # [5, 3, K_exp]

    def landmarks(self, identity: torch.Tensor, expression: torch.Tensor, pose: HeadPose) -> torch.Tensor:
        """identity [B, K_id], expression [B, K_exp], pose (batch B) -> posed landmarks [B, 68, 3]."""
        dtype = self.template.dtype
        identity, expression = identity.to(dtype), expression.to(dtype)
        shaped = self.template[None] + blend_shapes(identity, self.identity_basis) \
            + blend_shapes(expression, self.expression_basis)
        joints = self.joint_template[None] + torch.einsum("bk,jck->bjc", identity, self.joint_identity) \
            + torch.einsum("bk,jck->bjc", expression, self.joint_expression)
        posed = linear_blend_skinning(shaped, joints, pose_rotations(pose.to(dtype=dtype)), self.skin_weights,
                                      self.pose_basis)
        posed = posed + pose.translation.to(dtype)[:, None, :]
        return (posed[:, self.corners] * self.barycentrics[..., None]).sum(-2)
