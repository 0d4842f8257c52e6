"""Triangle frames (Qian et al.) and UV-map initialisation."""

import math

import pytest
import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.topology import HeadTopology
from gasp_ops.raster.triangles2d import rasterize_triangles_2d
from gasp_ops.rotations import axis_angle_to_matrix


def test_frame_of_a_known_triangle():
    v = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.5, 1.0, 0.0]]])
    fr = triangle_frames(v, torch.tensor([[0, 1, 2]]))
    assert torch.allclose(fr.origins[0, 0], torch.tensor([2.5 / 3, 1 / 3, 0.0]))
    R = fr.rotations[0, 0]
    assert torch.allclose(R[:, 0], torch.tensor([1.0, 0.0, 0.0]))  # along the edge v0->v1
    assert torch.allclose(R[:, 2], torch.tensor([0.0, 0.0, 1.0]))  # normal (CCW)
    assert torch.allclose(R[:, 1], torch.tensor([0.0, 1.0, 0.0]))  # normal x edge
    assert math.isclose(float(fr.scales[0, 0]), 0.5 * (2.0 + 1.0), rel_tol=1e-6)  # mean(edge, height)


def test_frames_are_orthonormal_and_follow_rigid_motion():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(1, 30, 3, generator=g)
    faces = torch.randint(0, 30, (40, 3), generator=g)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    fr = triangle_frames(v, faces)
    eye = torch.eye(3).expand_as(fr.rotations)
    assert torch.allclose(fr.rotations.transpose(-1, -2) @ fr.rotations, eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(fr.rotations), torch.ones(1), atol=1e-5)
    Rw = axis_angle_to_matrix(torch.tensor([0.3, -1.1, 0.7]))
    t = torch.tensor([0.1, 2.0, -0.5])
    fr2 = triangle_frames(2.0 * v @ Rw.T + t, faces)
    assert torch.allclose(fr2.rotations, Rw @ fr.rotations, atol=1e-5)
    assert torch.allclose(fr2.origins, 2.0 * fr.origins @ Rw.T + t, atol=1e-5)
    assert torch.allclose(fr2.scales, 2.0 * fr.scales, atol=1e-5)


def test_raster_2d_covers_each_pixel_once_and_barycentrics_reconstruct_centres():
    pts = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [13.0, 2.0]])
    faces = torch.tensor([[0, 1, 2], [1, 3, 2], [1, 4, 3]])
    cov = rasterize_triangles_2d(pts, faces, 12, 14, max_candidates=50)  # tiny budget forces chunking
    keys = cov.pixels[:, 0] * 14 + cov.pixels[:, 1]
    assert keys.unique().numel() == keys.numel()
    assert int((cov.pixels[:, 0] < 10).logical_and(cov.pixels[:, 1] < 10).sum()) == 100  # the square, fully
    centres = torch.stack([cov.pixels[:, 1] + 0.5, cov.pixels[:, 0] + 0.5], -1).double()
    recon = (pts.double()[faces[cov.face_ids]] * cov.barycentrics[..., None]).sum(1)
    assert torch.allclose(recon, centres, atol=1e-9)
    assert bool((cov.barycentrics >= 0).all())


def _square_topology(split: float = 1.0) -> HeadTopology:
    uvs = torch.tensor([[0.0, 0.0], [split, 0.0], [0.0, split], [split, split]])
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    return HeadTopology(faces=faces, uvs=uvs, uv_faces=faces.clone(), face_regions=torch.tensor([1, 0]),
                        landmark_faces=torch.zeros(68, dtype=torch.long),
                        landmark_barycentrics=torch.full((68, 3), 1 / 3))


@pytest.mark.parametrize("res", [4, 16, 64])
def test_uv_binding_counts_follow_the_covered_area(res):
    full = uv_binding(_square_topology(1.0), res)
    assert full.count == res * res
    half = uv_binding(_square_topology(0.5), res)
    assert half.count == (res // 2) ** 2
    # Row 0 is the top of the UV image (v = 1): the half square sits in the bottom-left quadrant.
    assert int(half.texels[:, 0].min()) == res // 2 and int(half.texels[:, 1].max()) == res // 2 - 1


def test_uv_binding_barycentrics_reproduce_texel_uv():
    topo = _square_topology(1.0)
    b = uv_binding(topo, 8)
    uv = (topo.uvs[topo.uv_faces[b.face_ids]] * b.barycentrics[..., None]).sum(1)
    expect = torch.stack([(b.texels[:, 1] + 0.5) / 8, 1 - (b.texels[:, 0] + 0.5) / 8], -1)
    assert torch.allclose(uv, expect, atol=1e-6)


def test_uv_binding_rejects_bad_resolution():
    with pytest.raises(GaspInputError, match="uv_resolution"):
        uv_binding(_square_topology(), 0)
