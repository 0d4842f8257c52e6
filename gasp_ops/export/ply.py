"""A posed frame as a standard 3D Gaussian Splatting PLY (the layout of Kerbl et al.'s point_cloud.ply, SH degree 0).

Vertex properties (float32, binary little-endian): x, y, z; nx, ny, nz (zeros); f_dc_0..2 = (rgb - 0.5) / C0 with
C0 = 0.28209479 (the degree-0 SH basis); opacity = logit(alpha); scale_0..2 = log(standard deviation);
rot_0..3 = the unit quaternion (w, x, y, z). Any 3DGS viewer loads it.

Coordinates: ``export_avatar_ply`` writes the 3DGS convention by default (centred, +y down, face towards -z, 10 units
per metre; ``gasp_ops.export.frames``), so common viewers open the head upright; ``frame="head"`` keeps the
project's head frame in metres. The header's ``comment`` lines state which (``frame_comments``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path
from gasp_ops.render.gaussians import Gaussians3D

SH_C0 = 0.28209479177387814
FIELDS = ("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
          "rot_0", "rot_1", "rot_2", "rot_3")


def gaussians_to_ply_array(g: Gaussians3D) -> np.ndarray:
    """Structured numpy array [N] with ``FIELDS`` (float32) for unbatched world Gaussians."""
    if g.batched:
        raise GaspInputError("gaussians", "export one frame (unbatched Gaussians [N, ...]); use g.frame(b)")
    n = g.count
    q = torch.nn.functional.normalize(g.quats.detach().double().cpu(), dim=-1)
    op = g.opacities.detach().double().cpu().clamp(1e-6, 1 - 1e-6)
    cols = {
        "x": g.means[:, 0], "y": g.means[:, 1], "z": g.means[:, 2],
        "nx": torch.zeros(n), "ny": torch.zeros(n), "nz": torch.zeros(n),
        "f_dc_0": (g.colors[:, 0] - 0.5) / SH_C0, "f_dc_1": (g.colors[:, 1] - 0.5) / SH_C0,
        "f_dc_2": (g.colors[:, 2] - 0.5) / SH_C0,
        "opacity": torch.log(op / (1 - op)),
        "scale_0": torch.log(g.scales[:, 0]), "scale_1": torch.log(g.scales[:, 1]), "scale_2": torch.log(g.scales[:, 2]),
        "rot_0": q[:, 0], "rot_1": q[:, 1], "rot_2": q[:, 2], "rot_3": q[:, 3],
    }
    arr = np.empty(n, dtype=[(f, "<f4") for f in FIELDS])
    for f in FIELDS:
        arr[f] = cols[f].detach().cpu().double().numpy().astype(np.float32)
    return arr


def write_ply(path, gaussians: Gaussians3D, comments=()) -> Path:
    """Write unbatched world Gaussians as a binary 3DGS PLY, atomically (``comments``: header comment lines)."""
    from plyfile import PlyData, PlyElement

    arr = gaussians_to_ply_array(gaussians)
    with atomic_path(path, suffix=".ply") as tmp:
        PlyData([PlyElement.describe(arr, "vertex")], text=False, byte_order="<",
                comments=list(comments)).write(str(tmp))
    return Path(path)


def read_ply_comments(path) -> list[str]:
    """The header comment lines of a PLY file."""
    from plyfile import PlyData

    return list(PlyData.read(str(path)).comments)


def read_ply(path) -> Gaussians3D:
    """Read a 3DGS PLY (as written by ``write_ply``) back into activated world Gaussians [N, ...]."""
    from plyfile import PlyData

    v = PlyData.read(str(path))["vertex"]
    col = lambda *names: torch.as_tensor(np.stack([np.asarray(v[n], np.float32) for n in names], -1))  # noqa: E731
    return Gaussians3D(means=col("x", "y", "z"), quats=col("rot_0", "rot_1", "rot_2", "rot_3"),
                       scales=torch.exp(col("scale_0", "scale_1", "scale_2")),
                       opacities=torch.sigmoid(col("opacity")[:, 0]),
                       colors=col("f_dc_0", "f_dc_1", "f_dc_2") * SH_C0 + 0.5)


def export_avatar_ply(path, avatar, head, identity: torch.Tensor, expression: torch.Tensor | None = None,
                      pose=None, frame: str = "3dgs", scale: float | None = None, label: str = "") -> Path:
    """Pose ``avatar`` with the head model (identity [n_id], expression [n_expr] or neutral, ``HeadPose`` batch 1
    or rest) and write that frame as a PLY, or as an antimatter15 ``.splat`` when ``path`` ends in .splat.
    frame / scale: output coordinates (``gasp_ops.export.frames``: "3dgs" (default) or "head"); label: the avatar
    file's synthetic-media label, written as a PLY comment (a .splat has no header to carry it)."""
    from gasp_ops.export.frames import frame_comments, frame_scale, to_frame
    from gasp_ops.export.splat import write_splat
    from gasp_ops.plausible import check_3dmm_ranges, check_avatar_ranges
    from gasp_ops.runtime.posing import FastPoser

    check_avatar_ranges(avatar)
    check_3dmm_ranges("export", expression, pose, identity)
    frame_scale(frame, scale)  # a bad frame / scale fails before posing
    with torch.no_grad():
        dev = head.template.device
        e = torch.zeros(1, head.n_expression, device=dev) if expression is None else expression.reshape(1, -1).to(dev)
        verts = head(identity.reshape(1, -1).float().to(dev), e.float(), None if pose is None else pose.to(dev))
        g, record = to_frame(FastPoser(avatar, device=dev)(verts[0]), frame, scale)
    if Path(path).suffix.lower() == ".splat":
        return write_splat(path, g)
    return write_ply(path, g, frame_comments(record) + ([f"gasp_label {label}"] if label else []))
