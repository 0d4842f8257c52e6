"""Linear blend skinning shared by the head models (the FLAME formulation).

Five joints, in this order: root (global), neck, jaw, left eye, right eye. Parents: root <- -, neck <- root,
jaw <- neck, eyes <- neck.
"""

from __future__ import annotations

import torch

from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.rotations import axis_angle_to_matrix

JOINT_NAMES: tuple[str, ...] = ("root", "neck", "jaw", "eye_left", "eye_right")
PARENTS: tuple[int, ...] = (-1, 0, 1, 1, 1)


def pose_rotations(pose: HeadPose) -> torch.Tensor:
    """Per-joint rotation matrices [B, 5, 3, 3] from a ``HeadPose``."""
    aa = torch.stack([pose.rotation, pose.neck, pose.jaw, pose.eyes[:, :3], pose.eyes[:, 3:]], dim=1)
    return axis_angle_to_matrix(aa)


def blend_shapes(coeffs: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Offsets [B, V, 3] from coefficients [B, K] and a basis [V, 3, K]."""
    return torch.einsum("bk,vck->bvc", coeffs, basis)


def linear_blend_skinning(
    v_shaped: torch.Tensor,
    joints: torch.Tensor,
    rotations: torch.Tensor,
    skin_weights: torch.Tensor,
    pose_basis: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pose a shaped mesh.

    v_shaped: [B, V, 3] rest-pose vertices (template + identity + expression offsets).
    joints: [B, 5, 3] rest-pose joint locations.
    rotations: [B, 5, 3, 3] local joint rotations (root first).
    skin_weights: [V, 5] skinning weights (rows sum to one).
    pose_basis: optional [P, V*3] pose-corrective basis with P = 9 * 4 (FLAME's ``posedirs``, transposed);
        driven by (R - I) of the non-root joints.
    Returns posed vertices [B, V, 3] (without global translation).
    """
    B = v_shaped.shape[0]
    v = v_shaped
    if pose_basis is not None:
        eye = torch.eye(3, dtype=v.dtype, device=v.device)
        feat = (rotations[:, 1:] - eye).reshape(B, -1)
        v = v + (feat @ pose_basis).reshape(B, -1, 3)
    # Relative joint positions and the kinematic chain.
    rel = joints.clone()
    for j, p in enumerate(PARENTS):
        if p >= 0:
            rel[:, j] = joints[:, j] - joints[:, p]
    local = torch.zeros(B, len(PARENTS), 4, 4, dtype=v.dtype, device=v.device)
    local[:, :, :3, :3] = rotations
    local[:, :, :3, 3] = rel
    local[:, :, 3, 3] = 1.0
    chain = [local[:, 0]]
    for j in range(1, len(PARENTS)):
        chain.append(chain[PARENTS[j]] @ local[:, j])
    world = torch.stack(chain, dim=1)  # [B, J, 4, 4]
    # Remove the rest-pose joint position so the transform acts on rest-pose vertices.
    rest = torch.einsum("bjrc,bjc->bjr", world[:, :, :3, :3], joints)
    transforms = world.clone()
    transforms[:, :, :3, 3] = world[:, :, :3, 3] - rest
    blended = torch.einsum("vj,bjrc->bvrc", skin_weights.to(v.dtype), transforms)  # [B, V, 4, 4]
    return torch.einsum("bvrc,bvc->bvr", blended[..., :3, :3], v) + blended[..., :3, 3]
