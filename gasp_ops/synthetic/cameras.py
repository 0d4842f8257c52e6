"""``sample_cameras``: random orbit cameras, uniform in azimuth and elevation angle (paper §4), framing the head
like a NeRSemble crop (head plus a bit of neck and shoulders, the head ~2/3 of the frame height)."""

from __future__ import annotations

import math
import numbers

import torch

from gasp_ops.cameras import Cameras, orbit_cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.seeding import generator

#: Defaults for the procedural mean head (used when no head model is given).
DEFAULT_TARGET = (0.0, -0.005, 0.0)
DEFAULT_HEAD_HEIGHT = 0.26  # chin to the top of the hair, metres


def _range(name: str, value, lo: float, hi: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise GaspInputError(name, f"expected (min, max) in degrees, got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise GaspInputError(name, f"must be finite, got {value!r}")
    if a > b:
        raise GaspInputError(name, f"inverted range ({a:g}, {b:g}): min must be <= max")
    if a < lo or b > hi:
        raise GaspInputError(name, f"must lie within [{lo:g}, {hi:g}], got ({a:g}, {b:g})")
    return a, b


def head_framing(head: HeadModel | None) -> tuple[tuple[float, float, float], float]:
    """Look-at target (between the eyes and the chin, a little low to show the neck) and head height (metres)."""
    if head is None:
        return DEFAULT_TARGET, DEFAULT_HEAD_HEIGHT
    with torch.no_grad():
        v = head.template.detach().double().cpu()
        lm = head.topology.landmarks(v[None].to(head.topology.landmark_barycentrics.dtype).double())[0]
    crown = float(v[:, 1].max())
    chin = float(lm[8, 1])
    height = (crown - chin) * 1.1  # + hair
    cx = float(0.5 * (lm[36, 0] + lm[45, 0]))
    upper = v[v[:, 1] > lm[36:48, 1].mean()]
    cz = float(0.5 * (upper[:, 2].min() + upper[:, 2].max())) if len(upper) else float(v[:, 2].mean())
    cy = 0.5 * (crown + chin) - 0.08 * height
    return (cx, cy, cz), height


def sample_cameras(n: int, seed: int, image_size: int, azimuth_range=(-180.0, 180.0),
                   elevation_range=(-20.0, 45.0), *, head: HeadModel | None = None, fov_deg: float = 18.0,
                   head_fraction: float = 0.68, label: object = "") -> tuple[Cameras, torch.Tensor, torch.Tensor]:
    """``n`` cameras looking at the head centre from azimuth ~ U(azimuth_range), elevation ~ U(elevation_range).

    Degrees; azimuth 0 = in front of the face, +90 = the subject's left; elevation positive above. The distance
    makes the head (chin to hair top, from ``head`` or the procedural default) ``head_fraction`` of the frame height
    at field of view ``fov_deg`` (square images of ``image_size``). ``label`` separates independent draws (e.g. an
    identity index) under one seed. Returns (Cameras, azimuth_deg [n], elevation_deg [n]).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise GaspInputError("n", f"need at least one view, got {n!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < 1:
        raise GaspInputError("image_size", f"must be a positive integer, got {image_size!r}")
    az0, az1 = _range("azimuth_range", azimuth_range, -180.0, 180.0)
    el0, el1 = _range("elevation_range", elevation_range, -90.0, 90.0)
    if not 0.0 < float(fov_deg) < 120.0:
        raise GaspInputError("fov_deg", f"must be in (0, 120), got {fov_deg!r}")
    if not 0.05 <= float(head_fraction) <= 1.0:
        raise GaspInputError("head_fraction", f"must be in [0.05, 1], got {head_fraction!r}")
    g = generator(seed, "synthetic_cameras", label)
    u = torch.rand(2, int(n), generator=g, dtype=torch.float64)
    az = (az0 + (az1 - az0) * u[0]).float()
    el = (el0 + (el1 - el0) * u[1]).float()
    target, height = head_framing(head)
    half_frame = 0.5 * height / float(head_fraction)
    distance = half_frame / math.tan(math.radians(fov_deg) / 2)
    cams = orbit_cameras(az, el, distance, fov_deg, int(image_size), int(image_size), target=target)
    return cams, az, el


def fixed_cameras(azimuths_deg, elevations_deg, image_size: int, *, head: HeadModel | None = None,
                  fov_deg: float = 18.0, head_fraction: float = 0.68) -> Cameras:
    """Cameras at given angles with ``sample_cameras``' framing (for previews: front, 3/4, side, back)."""
    az = torch.as_tensor(azimuths_deg, dtype=torch.float32).reshape(-1)
    el = torch.as_tensor(elevations_deg, dtype=torch.float32).reshape(-1).expand_as(az)
    target, height = head_framing(head)
    distance = 0.5 * height / float(head_fraction) / math.tan(math.radians(fov_deg) / 2)
    return orbit_cameras(az, el, distance, fov_deg, int(image_size), int(image_size), target=target)
