"""Coordinate frames for static exports (PLY, .splat).

* ``head``: the project's head frame, unchanged: metres, +x = subject's left, +y up, +z out of the face (as FLAME).
* ``3dgs`` (default of the exports): the convention of the original 3D Gaussian Splatting scenes (COLMAP/OpenCV:
  +y down, +z forward), which common viewers (PlayCanvas SuperSplat and splat-transform's HTML viewer,
  antimatter15's splat viewer, ...) assume. The Gaussians are centred (the midpoint of the centres' bounding box goes
  to the origin), turned 180 degrees about x ((x, y, z) -> (x, -y, -z): the crown is at -y, the face looks
  towards -z, i.e. at a camera on -z looking along +z) and scaled by ``scale`` (default 10: the 0.25 m head becomes
  ~2.5 units, the size of the objects those viewers frame by default; 1 keeps metres).

``to_frame`` maps world Gaussians; ``frame_comments`` states the mapping for file headers (so it can be undone:
head = centre + R^T p / scale with R = diag(1, -1, -1)).
"""

from __future__ import annotations

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.render.gaussians import Gaussians3D
from gasp_ops.rotations import quaternion_multiply

FRAMES = ("3dgs", "head")
DEFAULT_FRAME = "3dgs"
DEFAULT_SCALE_3DGS = 10.0
#: 180 degrees about x as a quaternion (w, x, y, z): R = diag(1, -1, -1).
_FLIP_X = (0.0, 1.0, 0.0, 0.0)


def frame_scale(frame: str, scale: float | None) -> float:
    """The scale applied for ``frame`` (``scale`` or the frame's default: 10 for 3dgs, 1 for head)."""
    if frame not in FRAMES:
        raise GaspInputError("frame", f"must be one of {', '.join(FRAMES)}, got {frame!r}")
    s = (DEFAULT_SCALE_3DGS if frame == "3dgs" else 1.0) if scale is None else float(scale)
    if not s > 0:
        raise GaspInputError("scale", f"must be > 0, got {scale!r}")
    return s


def to_frame(g: Gaussians3D, frame: str = DEFAULT_FRAME, scale: float | None = None) -> tuple[Gaussians3D, dict]:
    """Unbatched world Gaussians [N, ...] (head frame) -> the same Gaussians in ``frame``, and a record
    {frame, scale, centre (head-frame metres, [3] list)} of the mapping applied."""
    if g.batched:
        raise GaspInputError("gaussians", "export one frame (unbatched Gaussians [N, ...]); use g.frame(b)")
    s = frame_scale(frame, scale)
    means = g.means.detach().double()
    if frame == "head":
        centre = torch.zeros(3, dtype=torch.float64)
        out = Gaussians3D(means * s, g.quats, g.scales * s, g.opacities, g.colors)
    else:
        centre = 0.5 * (means.min(0).values + means.max(0).values) if g.count else torch.zeros(3, dtype=torch.float64)
        flip = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
        q = quaternion_multiply(torch.tensor(_FLIP_X, dtype=g.quats.dtype).expand_as(g.quats), g.quats)
        out = Gaussians3D(((means - centre) * flip * s).to(g.means.dtype), q, g.scales * s, g.opacities, g.colors)
    return out, {"frame": frame, "scale": s, "centre": [float(c) for c in centre]}


def frame_comments(record: dict) -> list[str]:
    """Header comment lines describing the mapping of ``to_frame`` (for PLY headers and docs)."""
    c = " ".join(f"{v:.6g}" for v in record["centre"])
    if record["frame"] == "head":
        axes = "+x subject's left, +y up, +z out of the face (GASP head frame)"
    else:
        axes = "+x subject's left, +y down (crown at -y), face towards -z (3DGS/OpenCV convention)"
    return [f"gasp_frame {record['frame']}: {axes}",
            f"gasp_units {record['scale']:.6g} per metre",
            f"gasp_centre_head_metres {c}",
            "gasp_to_head: head = centre + diag(1,-1,-1) p / scale (3dgs), head = p / scale (head)"]
