"""The one interface every head model implements."""

from __future__ import annotations

import torch

from gasp_ops.headmodel.lbs import blend_shapes, linear_blend_skinning, pose_rotations
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.headmodel.topology import HeadTopology
from gasp_ops.validation import check_tensor


class HeadModel(torch.nn.Module):
    """A morphable, articulated head mesh: ``forward(identity, expression, pose) -> vertices``.

    Subclasses fill these buffers (float32 unless noted) and set ``topology`` and ``name``:
      template: [V, 3] mean rest-pose vertices (metres, +y up, +z out of the face).
      identity_basis: [V, 3, n_identity]; expression_basis: [V, 3, n_expression].
      joint_regressor: [5, V] rows sum to one (root, neck, jaw, eye_left, eye_right).
      skin_weights: [V, 5] rows sum to one.
      pose_basis: optional [36, V*3] pose correctives (may be None).
    """

    name: str = "head"
    topology: HeadTopology

    @property
    def num_vertices(self) -> int:
        return self.template.shape[0]

    @property
    def n_identity(self) -> int:
        return self.identity_basis.shape[-1]

    @property
    def n_expression(self) -> int:
        return self.expression_basis.shape[-1]

    def shaped(self, identity: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        """Rest-pose vertices [B, V, 3] for identity [B, n_identity] and expression [B, n_expression]."""
        return (
            self.template[None]
            + blend_shapes(identity.to(self.template.dtype), self.identity_basis)
            + blend_shapes(expression.to(self.template.dtype), self.expression_basis)
        )

    def forward(self, identity: torch.Tensor, expression: torch.Tensor, pose: HeadPose | None = None) -> torch.Tensor:
        """Posed vertices [B, V, 3].

        identity: [B, n_identity]; expression: [B, n_expression]; pose: ``HeadPose`` with batch B (None = rest).
        Batched and differentiable in every input.
        """
        check_tensor("identity", identity, ["B", self.n_identity])
        B = identity.shape[0]
        check_tensor("expression", expression, [B, self.n_expression])
        if pose is None:
            pose = HeadPose.zeros(B, dtype=self.template.dtype, device=self.template.device)
        pose.validate(B)
        v_shaped = self.shaped(identity, expression)
        joints = torch.einsum("jv,bvc->bjc", self.joint_regressor, v_shaped)
        pose_basis = getattr(self, "pose_basis", None)
        posed = linear_blend_skinning(v_shaped, joints, pose_rotations(pose.to(dtype=v_shaped.dtype)), self.skin_weights, pose_basis)
        return posed + pose.translation.to(posed.dtype)[:, None, :]

    def landmarks(self, vertices: torch.Tensor) -> torch.Tensor:
        """iBUG-68 landmark positions [B, 68, 3] from vertices [B, V, 3]."""
        return self.topology.landmarks(vertices)
