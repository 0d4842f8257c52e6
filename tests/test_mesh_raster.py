"""Mesh rasteriser: coverage, perspective-correct barycentrics, z-buffer, near clipping, texturing,
anti-aliasing, annotation exactness, determinism, chunk invariance and input errors (CPU)."""

from __future__ import annotations

import math

import pytest
import torch

from gasp_ops.cameras import Cameras, orbit_cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.raster.mesh_raster import interpolate, rasterize_mesh, render_mesh, shade_textured


# ----------------------------------------------------------------------------------------------------- helpers


def identity_camera(width=64, height=48, f=80.0, cx=None, cy=None) -> Cameras:
    """A camera at the world origin looking along +z (world = camera space)."""
    cx = width / 2 if cx is None else cx
    cy = height / 2 if cy is None else cy
    K = torch.tensor([[[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]]])
    return Cameras(torch.eye(4)[None], K, width, height)


def unproject(cam: Cameras, u: float, v: float, z: float) -> list[float]:
    """Camera-space point at depth z seen at pixel coordinates (u, v)."""
    K = cam.K[0].double()
    return [(u - float(K[0, 2])) / float(K[0, 0]) * z, (v - float(K[1, 2])) / float(K[1, 1]) * z, z]


def to_camera(points: torch.Tensor, cam: Cameras, c: int) -> torch.Tensor:
    M = cam.world_to_cam[c].double()
    return points.double() @ M[:3, :3].T + M[:3, 3]


def project(points_cam: torch.Tensor, cam: Cameras, c: int) -> torch.Tensor:
    K = cam.K[c].double()
    p = points_cam @ K.T
    return p[..., :2] / p[..., 2:]


def pixel_centres(cam: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    i, j = torch.meshgrid(torch.arange(cam.height, dtype=torch.float64), torch.arange(cam.width, dtype=torch.float64),
                          indexing="ij")
    return j + 0.5, i + 0.5


def barycentric_2d(tri: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Screen-space barycentrics [..., 3] of points (x, y) in triangle tri [3, 2] (float64)."""
    (x0, y0), (x1, y1), (x2, y2) = tri.tolist()
    det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    b1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) / det
    b2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) / det
    return torch.stack([1 - b1 - b2, b1, b2], dim=-1)


def ray_cast(dirs: torch.Tensor, tris: torch.Tensor, near: float = 0.0):
    """Brute-force reference: nearest hit of rays from the origin along dirs [R, 3] (d_z = 1) with tris [F, 3, 3].

    Returns face [R] (-1 none), depth [R] (z of the hit), barycentrics [R, 3], a margin (the smallest barycentric
    of the hit; for a miss, minus the largest smallest-barycentric over faces) and the depth gap to the
    second-nearest hit - small margins or gaps mark ambiguous rays. All float64.
    """
    d = dirs.double()[:, None, :]
    v0, v1, v2 = (tris.double()[None, :, k] for k in range(3))
    e1, e2 = v1 - v0, v2 - v0
    shape = torch.broadcast_shapes(d.shape, e2.shape)
    d = d.expand(shape)
    e1, e2, v0 = e1.expand(shape), e2.expand(shape), v0.expand(shape)
    p = torch.linalg.cross(d, e2, dim=-1)
    det = (e1 * p).sum(-1)
    ok = det.abs() > 1e-14
    inv = 1.0 / torch.where(ok, det, torch.ones_like(det))
    tvec = -v0
    b1 = (tvec * p).sum(-1) * inv
    q = torch.linalg.cross(tvec, e1, dim=-1)
    b2 = (d * q).sum(-1) * inv
    t = (e2 * q).sum(-1) * inv
    b0 = 1 - b1 - b2
    bmin = torch.minimum(torch.minimum(b0, b1), b2)
    hit = ok & (bmin >= 0) & (t >= near)
    tt = torch.where(hit, t, torch.full_like(t, float("inf")))
    two = torch.topk(tt, k=min(2, tt.shape[1]), dim=1, largest=False)
    face = torch.where(torch.isfinite(two.values[:, 0]), two.indices[:, 0], -1)
    rows = torch.arange(len(face))
    fsafe = face.clamp_min(0)
    bary = torch.stack([b0[rows, fsafe], b1[rows, fsafe], b2[rows, fsafe]], dim=-1)
    gap = two.values[:, 1] - two.values[:, 0] if tt.shape[1] > 1 else torch.full_like(two.values[:, 0], float("inf"))
    gap = torch.nan_to_num(gap, nan=float("inf"))
    # For a miss, how close the ray came to some face in front of the camera (negative: a clear miss).
    closest = torch.where(ok & (t >= near), bmin, torch.full_like(bmin, -float("inf"))).amax(dim=1)
    margin = torch.where(face >= 0, bmin[rows, fsafe], -closest)
    return face, two.values[:, 0], bary, margin, gap


def torus(n: int, m: int, R: float = 0.6, r: float = 0.25):
    """Closed torus with n * m vertices and 2 n m faces (outward normals), plus per-vertex (u, v)."""
    i = torch.arange(n, dtype=torch.float64)
    j = torch.arange(m, dtype=torch.float64)
    th, ph = torch.meshgrid(2 * math.pi * i / n, 2 * math.pi * j / m, indexing="ij")
    ring = R + r * torch.cos(ph)
    verts = torch.stack([ring * torch.cos(th), r * torch.sin(ph), -ring * torch.sin(th)], dim=-1).reshape(-1, 3)
    a = torch.arange(n)[:, None] * m + torch.arange(m)[None]
    b = ((torch.arange(n)[:, None] + 1) % n) * m + torch.arange(m)[None]
    c = ((torch.arange(n)[:, None] + 1) % n) * m + (torch.arange(m)[None] + 1) % m
    d = torch.arange(n)[:, None] * m + (torch.arange(m)[None] + 1) % m
    faces = torch.cat([torch.stack([a, b, c], -1).reshape(-1, 3), torch.stack([a, c, d], -1).reshape(-1, 3)])
    uv = torch.stack(torch.meshgrid(i / n, j / m, indexing="ij"), dim=-1).reshape(-1, 2)
    return verts.float(), faces, uv.float()


def neighbours_sharing_a_vertex(faces: torch.Tensor) -> list[set[int]]:
    by_vertex: dict[int, set[int]] = {}
    for f, tri in enumerate(faces.tolist()):
        for v in tri:
            by_vertex.setdefault(v, set()).add(f)
    return [set().union(*(by_vertex[v] for v in tri)) for tri in faces.tolist()]


# ----------------------------------------------------------------------------------------------------- coverage


def test_single_triangle_coverage_matches_analytic_inside_test():
    cam = identity_camera(64, 48)
    pix = torch.tensor([[7.3, 5.1], [55.2, 12.7], [20.6, 41.9]], dtype=torch.float64)
    z = 2.0
    verts = torch.tensor([unproject(cam, u, v, z) for u, v in pix.tolist()])
    frags = rasterize_mesh(verts, torch.tensor([[0, 1, 2]]), cam)
    x, y = pixel_centres(cam)
    b = barycentric_2d(pix, x, y)
    inside = b.min(-1).values >= 0
    clear = b.min(-1).values.abs() > 1e-6
    got = frags.face_id[0] == 0
    assert int(inside.sum()) > 300
    assert torch.equal(got[clear], inside[clear])
    assert bool((frags.face_id[0][~got] == -1).all())
    assert torch.isinf(frags.depth[0][~got]).all() and (frags.barycentrics[0][~got] == 0).all()
    # Fronto-parallel: screen-space and perspective-correct barycentrics agree, depth is constant.
    torch.testing.assert_close(frags.barycentrics[0][got].double(), b[got], atol=1e-5, rtol=0)
    torch.testing.assert_close(frags.depth[0][got], torch.full_like(frags.depth[0][got], z))


def test_barycentrics_are_perspective_correct():
    cam = identity_camera(64, 48)
    pix = [(6.0, 4.0), (60.0, 10.0), (25.0, 45.0)]
    verts = torch.tensor([unproject(cam, u, v, z) for (u, v), z in zip(pix, (1.0, 4.0, 2.5))], dtype=torch.float64)
    frags = rasterize_mesh(verts.float(), torch.tensor([[0, 1, 2]]), cam)
    got = frags.face_id[0] == 0
    assert int(got.sum()) > 300
    b = frags.barycentrics[0][got].double()
    torch.testing.assert_close(b.sum(-1), torch.ones(len(b), dtype=torch.float64))
    assert bool((b >= 0).all())
    point = b @ verts  # camera-space points
    uv = project(point, cam, 0)
    x, y = pixel_centres(cam)
    torch.testing.assert_close(uv, torch.stack([x[got], y[got]], -1), atol=2e-4, rtol=0)
    torch.testing.assert_close(frags.depth[0][got].double(), point[:, 2], atol=1e-5, rtol=1e-6)
    # Screen-space (affine) barycentrics differ: the test above would catch an affine interpolation.
    affine = barycentric_2d(torch.tensor(pix, dtype=torch.float64), x[got], y[got])
    assert float((affine - b).abs().max()) > 0.05


def test_shared_edges_leave_no_cracks():
    """A fan of triangles whose shared edges pass exactly through pixel centres covers every interior pixel."""
    cam = identity_camera(40, 40, f=50.0)
    z = 3.0
    centre = (20.5, 20.5)
    ring = [(4.5, 4.5), (20.5, 2.5), (36.5, 4.5), (38.5, 20.5), (36.5, 36.5), (20.5, 38.5), (4.5, 36.5),
            (2.5, 20.5)]
    verts = torch.tensor([unproject(cam, u, v, z) for u, v in [centre] + ring])
    faces = torch.tensor([[0, 1 + k, 1 + (k + 1) % 8] for k in range(8)])
    for cull in (False, True):
        frags = rasterize_mesh(verts, faces, cam, cull_backfaces=cull)
        hull = torch.tensor(ring, dtype=torch.float64)
        x, y = pixel_centres(cam)
        inside = torch.ones_like(x, dtype=torch.bool)
        for k in range(8):  # strictly inside the convex ring
            (ax, ay), (bx, by) = hull[k].tolist(), hull[(k + 1) % 8].tolist()
            inside &= (bx - ax) * (y - ay) - (by - ay) * (x - ax) > 1e-9
        covered = frags.face_id[0] >= 0
        if cull:  # the ring is clockwise on screen = counter-clockwise seen from the camera with y down
            assert int(covered.sum()) == 0 or bool(covered[inside].all())
        else:
            assert bool(covered[inside].all())
            assert int(covered.sum()) >= int(inside.sum())


def test_backface_culling_option():
    cam = identity_camera(32, 32)
    pix = [(4.0, 4.0), (28.0, 6.0), (10.0, 28.0)]
    verts = torch.tensor([unproject(cam, u, v, 2.0) for u, v in pix])
    # On screen (y down) 0->1->2 is clockwise in the image, i.e. counter-clockwise seen from the camera with
    # y up: the normal (v1 - v0) x (v2 - v0) then points towards the camera -> front-facing.
    n = torch.linalg.cross(verts[1] - verts[0], verts[2] - verts[0])
    front, back = (torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 1]])) if n[2] < 0 else \
        (torch.tensor([[0, 2, 1]]), torch.tensor([[0, 1, 2]]))
    kept = rasterize_mesh(verts, back, cam)
    culled = rasterize_mesh(verts, back, cam, cull_backfaces=True)
    front_culled = rasterize_mesh(verts, front, cam, cull_backfaces=True)
    assert int((kept.face_id == 0).sum()) > 50
    assert int((culled.face_id == 0).sum()) == 0
    assert torch.equal(front_culled.face_id, kept.face_id)


# ----------------------------------------------------------------------------------------------------- z-buffer


def test_nearer_triangle_wins_and_swapping_depths_swaps():
    cam = identity_camera(48, 48)
    a = [(4.0, 4.0), (44.0, 8.0), (12.0, 44.0)]
    b = [(40.0, 40.0), (6.0, 30.0), (30.0, 3.0)]

    def scene(za, zb):
        verts = torch.tensor([unproject(cam, u, v, za) for u, v in a] + [unproject(cam, u, v, zb) for u, v in b])
        return rasterize_mesh(verts, torch.tensor([[0, 1, 2], [3, 4, 5]]), cam)

    x, y = pixel_centres(cam)
    in_a = barycentric_2d(torch.tensor(a, dtype=torch.float64), x, y).min(-1).values > 1e-6
    in_b = barycentric_2d(torch.tensor(b, dtype=torch.float64), x, y).min(-1).values > 1e-6
    both = in_a & in_b
    assert int(both.sum()) > 100
    f1, f2 = scene(2.0, 3.0), scene(3.0, 2.0)
    assert bool((f1.face_id[0][both] == 0).all()) and bool((f2.face_id[0][both] == 1).all())
    assert bool((f1.depth[0][both] == 2.0).all()) and bool((f2.depth[0][both] == 2.0).all())
    only_b = in_b & ~in_a
    assert bool((f1.face_id[0][only_b] == 1).all()) and bool((f1.depth[0][only_b] == 3.0).all())


def test_exact_depth_ties_go_to_the_lowest_face_id():
    cam = identity_camera(32, 32)
    pix = [(2.0, 2.0), (30.0, 3.0), (5.0, 30.0)]
    verts = torch.tensor([unproject(cam, u, v, 2.0) for u, v in pix])
    faces = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 2, 0]])  # the same triangle three times
    frags = rasterize_mesh(verts, faces, cam)
    assert bool((frags.face_id[frags.face_id >= 0] == 0).all())
    perm = rasterize_mesh(verts, faces.flip(0), cam)
    assert bool((perm.face_id[perm.face_id >= 0] == 0).all())


def test_closed_mesh_matches_brute_force_ray_casting_at_pixel_centres():
    verts, faces, _ = torus(24, 12)
    cams = orbit_cameras(torch.tensor([0.0, 70.0, 200.0]), torch.tensor([35.0, -10.0, 60.0]), 2.2, 45.0, 40, 36)
    frags = rasterize_mesh(verts, faces, cams)
    total_checked = 0
    for c in range(len(cams)):
        x, y = pixel_centres(cams)
        kinv = torch.linalg.inv(cams.K[c].double())
        dirs = torch.stack([x, y, torch.ones_like(x)], -1).reshape(-1, 3) @ kinv.T
        tris = to_camera(verts, cams, c)[faces]
        face, depth, bary, bmin, gap = ray_cast(dirs, tris, near=0.01)
        clear = bmin > 1e-6
        clear &= ~(gap < 1e-6)
        got = frags.face_id[c].reshape(-1)
        assert torch.equal(got[clear], face[clear])
        hit = clear & (face >= 0)
        torch.testing.assert_close(frags.depth[c].reshape(-1)[hit].double(), depth[hit], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(frags.barycentrics[c].reshape(-1, 3)[hit].double(), bary[hit], atol=1e-4, rtol=0)
        total_checked += int(hit.sum())
    assert total_checked > 1000


def test_triangles_crossing_the_near_plane_are_clipped_exactly():
    """A floor running from behind the camera into the distance, and a triangle with a vertex behind it."""
    cam = identity_camera(48, 40, f=30.0)
    verts = torch.tensor([[-3.0, 1.0, -2.0], [3.0, 1.0, -2.0], [3.0, 1.0, 20.0], [-3.0, 1.0, 20.0],
                          [-0.5, -0.8, -1.0], [1.5, -0.2, 4.0], [-1.0, 0.5, 3.0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6]])
    near = 0.5
    frags = rasterize_mesh(verts, faces, cam, near=near)
    x, y = pixel_centres(cam)
    dirs = torch.stack([(x - 24) / 30, (y - 20) / 30, torch.ones_like(x)], -1).reshape(-1, 3)
    face, depth, _, bmin, gap = ray_cast(dirs, verts[faces], near=near)
    clear = (bmin > 1e-6) & ~(gap < 1e-6)
    clear &= ~((depth - near).abs() < 1e-6)
    got = frags.face_id[0].reshape(-1)
    assert torch.equal(got[clear], face[clear])
    assert int((face == 2).sum()) > 20 and int((face >= 0).sum()) > 400
    assert bool((frags.depth[0][frags.face_id[0] >= 0] >= near * (1 - 1e-6)).all())
    assert bool(torch.isfinite(frags.barycentrics).all())


# ----------------------------------------------------------------------------------------------------- shading


def quad_scene(width=64, height=64, z=2.0, lo=16.0, hi=48.0):
    """A fronto-parallel quad covering pixels [lo, hi) x [lo, hi), u to the right, v up (texture rows down)."""
    cam = identity_camera(width, height, f=60.0)
    corners = [(lo, hi), (hi, hi), (hi, lo), (lo, lo)]  # (u_px, v_px): bottom-left, bottom-right, top-right, ...
    verts = torch.tensor([unproject(cam, u, v, z) for u, v in corners])
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return cam, verts, faces, uvs


def test_checkerboard_texture_lands_where_expected():
    cam, verts, faces, uvs = quad_scene()
    squares = 4
    tex_res = 64
    r = torch.arange(tex_res)[:, None] // (tex_res // squares)
    c = torch.arange(tex_res)[None, :] // (tex_res // squares)
    checker = ((r + c) % 2).float()
    tex = torch.stack([checker, 1 - checker, torch.zeros_like(checker)], -1)
    tex[: tex_res // squares, : tex_res // squares] = torch.tensor([0.0, 0.0, 1.0])  # top-left square is blue
    out = render_mesh(verts, faces, uvs, faces, tex[None], cam, supersample=1, background=0.5)
    # Pixel (i, j) in [16, 48)^2 sees u = (j + 0.5 - 16) / 32, v = 1 - (i + 0.5 - 16) / 32, so texture row
    # (1 - v) * 64 = (i + 0.5 - 16) * 2 and column (j + 0.5 - 16) * 2.
    for i in range(16, 48):
        for j in range(16, 48):
            tr, tc = (i + 0.5 - 16) * 2, (j + 0.5 - 16) * 2
            if min(abs(tr - round(tr / 16) * 16), abs(tc - round(tc / 16) * 16)) < 1.0:
                continue  # bilinear blend across a square border
            torch.testing.assert_close(out.rgb[0, i, j], tex[int(tr), int(tc)], atol=1e-5, rtol=0)
    assert torch.equal(out.rgb[0, 17, 17], torch.tensor([0.0, 0.0, 1.0]))  # blue at the top-left, not flipped
    assert torch.equal(out.rgb[0, 46, 17], tex[-1, 0])
    assert bool((out.rgb[0, :16] == 0.5).all()) and bool((out.alpha[0, :16] == 0).all())
    assert bool((out.alpha[0, 16:48, 16:48] == 1).all())
    assert bool((out.face_id[0, 16:48, 16:48] >= 0).all()) and bool((out.face_id[0, :16] == -1).all())


def test_supersampled_alpha_is_fractional_on_edges_and_one_inside():
    cam = identity_camera(48, 48)
    pix = [(5.2, 6.1), (43.7, 14.3), (17.9, 44.6)]
    verts = torch.tensor([unproject(cam, u, v, 2.0) for u, v in pix])
    faces = torch.tensor([[0, 1, 2]])
    uvs = torch.zeros(3, 2)
    tex = torch.ones(1, 2, 2, 3)
    out = render_mesh(verts, faces, uvs, faces, tex, cam, supersample=3, background=(0.0, 0.0, 0.0))
    alpha = out.alpha[0, ..., 0].double()
    # Reference coverage of each pixel from 16 x 16 samples.
    n = 16
    i, j = torch.meshgrid(torch.arange(48 * n, dtype=torch.float64), torch.arange(48 * n, dtype=torch.float64),
                          indexing="ij")
    fine = barycentric_2d(torch.tensor(pix, dtype=torch.float64), (j + 0.5) / n, (i + 0.5) / n).min(-1).values >= 0
    area = fine.double().reshape(48, n, 48, n).mean(dim=(1, 3))
    interior = area == 1
    outside = area == 0
    edge = ~interior & ~outside
    assert bool((alpha[interior] == 1).all()) and bool((alpha[outside] == 0).all())
    fractional = (alpha > 0) & (alpha < 1)
    partial = (area > 0.15) & (area < 0.85)  # pixels well cut by an edge must get fractional coverage
    assert int(partial.sum()) > 40 and bool(fractional[partial].all())
    assert len(torch.unique(alpha[fractional])) >= 6  # several coverage levels (k / 9), not a binary mask
    assert float((alpha - area).abs().max()) < 0.3
    assert float((alpha - area)[edge].abs().mean()) < 0.08
    # Colour is premultiplied by coverage over a black background (white texture).
    torch.testing.assert_close(out.rgb[0], out.alpha[0].expand(-1, -1, 3))


def test_interpolate_vertex_attributes():
    cam = identity_camera(32, 32)
    pix = [(3.0, 2.0), (30.0, 9.0), (11.0, 29.0)]
    verts = torch.tensor([unproject(cam, u, v, z) for (u, v), z in zip(pix, (1.0, 3.0, 2.0))])
    faces = torch.tensor([[0, 1, 2]])
    frags = rasterize_mesh(verts, faces, cam)
    pos = interpolate(frags, faces, verts)  # [C, H, W, 3] camera-space positions
    got = frags.face_id[0] >= 0
    torch.testing.assert_close(pos[0, ..., 2][got], frags.depth[0][got], atol=1e-5, rtol=1e-5)
    assert bool((pos[0][~got] == 0).all())
    colours = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    rgb = interpolate(frags, faces, colours)
    torch.testing.assert_close(rgb[0][got], frags.barycentrics[0][got])
    rgb2, alpha = shade_textured(frags, torch.zeros(3, 2), faces, torch.full((1, 1, 1, 3), 0.25), background=1.0)
    assert bool((rgb2[0][got] == 0.25).all()) and bool((rgb2[0][~got] == 1.0).all())
    assert torch.equal(alpha[0], got.float())


# ----------------------------------------------------------------------------------------------------- annotations


def test_annotation_exactness_for_projected_surface_samples():
    verts, faces, uv = torus(40, 20)
    cams = orbit_cameras(torch.tensor([20.0, 150.0]), torch.tensor([30.0, -15.0]), 2.4, 40.0, 128, 128)
    out = render_mesh(verts, faces, uv, faces, torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(0)),
                      cams, supersample=3)
    neigh = neighbours_sharing_a_vertex(faces)
    g = torch.Generator().manual_seed(1)
    n = 20000
    fid = torch.randint(0, faces.shape[0], (n,), generator=g)
    b = torch.rand(n, 3, generator=g, dtype=torch.float64)
    b = -torch.log(b)
    b = b / b.sum(-1, keepdim=True)  # uniform on the triangle
    points = (verts.double()[faces[fid]] * b[..., None]).sum(1)
    checked = exact = 0
    for c in range(len(cams)):
        pc = to_camera(points, cams, c)
        uvp = project(pc, cams, c)
        j, i = uvp[:, 0].floor().long(), uvp[:, 1].floor().long()
        on = (i >= 0) & (i < 128) & (j >= 0) & (j < 128)
        off_centre = (uvp - torch.stack([j, i], -1).double() - 0.5).norm(dim=-1)
        sel = on & (off_centre < 0.5)
        i, j, k = i[sel], j[sel], torch.nonzero(sel).squeeze(1)
        visible = (out.depth[c, i, j].double() - pc[k, 2]).abs() < 2e-3
        for kk, ii, jj in zip(k[visible].tolist(), i[visible].tolist(), j[visible].tolist()):
            got = int(out.face_id[c, ii, jj])
            assert got in neigh[int(fid[kk])], (c, ii, jj, got, int(fid[kk]))
            checked += 1
            exact += got == int(fid[kk])
    assert checked > 2000 and exact > 0.5 * checked


def test_annotation_exactness_at_pixel_centre_rays():
    """Points built by intersecting pixel-centre rays with the mesh get exactly their face id and barycentrics."""
    verts, faces, uv = torus(40, 20)
    cams = orbit_cameras(torch.tensor([-40.0]), torch.tensor([25.0]), 2.4, 40.0, 96, 96)
    tex = torch.rand(1, 8, 8, 3, generator=torch.Generator().manual_seed(0))
    out3 = render_mesh(verts, faces, uv, faces, tex, cams, supersample=3)
    out2 = render_mesh(verts, faces, uv, faces, tex, cams, supersample=2)
    plain = rasterize_mesh(verts, faces, cams)
    for out in (out3, out2):  # centre annotations are bit-identical to a pixel-centre rasterisation
        assert torch.equal(out.face_id, plain.face_id)
        assert torch.equal(out.barycentrics, plain.barycentrics)
        assert torch.equal(out.depth, plain.depth)
    g = torch.Generator().manual_seed(2)
    pix = torch.randint(0, 96, (3000, 2), generator=g)
    x, y = pix[:, 1].double() + 0.5, pix[:, 0].double() + 0.5
    dirs = torch.stack([x, y, torch.ones_like(x)], -1) @ torch.linalg.inv(cams.K[0].double()).T
    face, depth, bary, bmin, gap = ray_cast(dirs, to_camera(verts, cams, 0)[faces], near=0.01)
    clear = (face >= 0) & (bmin > 1e-6) & ~(gap < 1e-6)
    assert int(clear.sum()) > 500
    got = out3.face_id[0, pix[:, 0], pix[:, 1]]
    assert torch.equal(got[clear], face[clear])
    miss = (face < 0) & (bmin > 1e-6)
    assert torch.equal(out3.face_id[0, pix[:, 0], pix[:, 1]][miss], face[miss])
    torch.testing.assert_close(out3.barycentrics[0, pix[:, 0], pix[:, 1]][clear].double(), bary[clear],
                               atol=1e-4, rtol=0)
    # The stored point (world-space barycentric interpolation) projects back onto the pixel centre.
    stored = out3.barycentrics[0, pix[:, 0], pix[:, 1]][clear].double()
    pts = (verts.double()[faces[got[clear]]] * stored[..., None]).sum(1)
    back = project(to_camera(pts, cams, 0), cams, 0)
    torch.testing.assert_close(back, torch.stack([x[clear], y[clear]], -1), atol=1e-3, rtol=0)


# ----------------------------------------------------------------------------------------------------- invariances


def test_deterministic_and_chunk_size_invariant():
    verts, faces, uv = torus(30, 16)
    # add a big background triangle so oversized boxes get tiled at small budgets
    verts = torch.cat([verts, torch.tensor([[-30.0, -30.0, -3.0], [30.0, -30.0, -3.0], [0.0, 40.0, -3.0]])])
    faces = torch.cat([faces, torch.tensor([[verts.shape[0] - 3, verts.shape[0] - 2, verts.shape[0] - 1]])])
    uv = torch.cat([uv, torch.zeros(3, 2)])
    cams = orbit_cameras(torch.tensor([10.0, 100.0, -60.0]), torch.tensor([20.0, 0.0, 40.0]), 2.3, 50.0, 48, 40)
    tex = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    per_cam = torch.randn(3, verts.shape[0], 3, generator=torch.Generator().manual_seed(3)) * 0.01 + verts
    runs = [render_mesh(per_cam, faces, uv, faces, tex, cams, supersample=3, max_candidates=m)
            for m in (1 << 21, 1 << 21, 50, 1000)]
    for r in runs[1:]:
        for name in ("rgb", "alpha", "face_id", "barycentrics", "depth"):
            assert torch.equal(getattr(r, name), getattr(runs[0], name)), name
    assert int((runs[0].face_id == faces.shape[0] - 1).sum()) > 100
    # one camera at a time gives the same images as the batch
    single = render_mesh(per_cam[1:2], faces, uv, faces, tex, cams[1], supersample=3)
    assert torch.equal(single.rgb[0], runs[0].rgb[1]) and torch.equal(single.face_id[0], runs[0].face_id[1])


def test_shared_vertices_and_batched_vertices_agree_and_empty_mesh():
    verts, faces, _ = torus(12, 8)
    cams = orbit_cameras(torch.tensor([0.0, 90.0]), torch.tensor([10.0, 10.0]), 2.0, 50.0, 24, 24)
    a = rasterize_mesh(verts, faces, cams)
    b = rasterize_mesh(verts.expand(2, -1, -1), faces, cams)
    assert torch.equal(a.face_id, b.face_id) and torch.equal(a.barycentrics, b.barycentrics)
    empty = rasterize_mesh(verts, torch.zeros(0, 3, dtype=torch.long), cams)
    assert bool((empty.face_id == -1).all()) and bool(torch.isinf(empty.depth).all())
    assert empty.barycentrics.shape == (2, 24, 24, 3)
    behind = rasterize_mesh(torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, -1.0], [0.0, 1.0, -1.0]]),
                            torch.tensor([[0, 1, 2]]), identity_camera(16, 16))
    assert bool((behind.face_id == -1).all())


# ----------------------------------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_one_line_errors_naming_the_argument():
    verts, faces, uv = torus(8, 6)
    cams = orbit_cameras(torch.tensor([0.0]), torch.tensor([0.0]), 2.0, 50.0, 16, 16)
    tex = torch.ones(1, 4, 4, 3)
    nan = verts.clone()
    nan[3, 1] = float("nan")
    cases = [
        (lambda: rasterize_mesh(verts[:, :2], faces, cams), "vertices"),
        (lambda: rasterize_mesh(nan, faces, cams), "vertices"),
        (lambda: rasterize_mesh(verts.expand(3, -1, -1), faces, cams), "vertices"),
        (lambda: rasterize_mesh(verts.long(), faces, cams), "vertices"),
        (lambda: rasterize_mesh(verts, faces + verts.shape[0], cams), "faces"),
        (lambda: rasterize_mesh(verts, -faces, cams), "faces"),
        (lambda: rasterize_mesh(verts, faces.float(), cams), "faces"),
        (lambda: rasterize_mesh(verts, faces[:, :2], cams), "faces"),
        (lambda: rasterize_mesh(verts, faces, "camera"), "cameras"),
        (lambda: rasterize_mesh(verts, faces, cams, near=0.0), "near"),
        (lambda: rasterize_mesh(verts, faces, cams, max_candidates=0), "max_candidates"),
        (lambda: rasterize_mesh(verts, faces, cams, supersample=0), "supersample"),
        (lambda: render_mesh(verts, faces, uv, faces, tex, cams, supersample=0), "supersample"),
        (lambda: render_mesh(verts, faces, uv, faces, tex, cams, supersample=1.5), "supersample"),
        (lambda: render_mesh(verts, faces, uv, faces, tex[0], cams), "texture"),
        (lambda: render_mesh(verts, faces, uv, faces, torch.ones(1, 4, 4, 4), cams), "texture"),
        (lambda: render_mesh(verts, faces, uv, faces, torch.ones(2, 4, 4, 3), cams), "texture"),
        (lambda: render_mesh(verts, faces, uv, faces, tex * float("nan"), cams), "texture"),
        (lambda: render_mesh(verts, faces, uv[:, :1], faces, tex, cams), "uvs"),
        (lambda: render_mesh(verts, faces, uv, faces + uv.shape[0], tex, cams), "uv_faces"),
        (lambda: render_mesh(verts, faces, uv, faces[:-1], tex, cams), "uv_faces"),
        (lambda: render_mesh(verts, faces, uv, faces, tex, cams, background=(1.0, 2.0)), "background"),
    ]
    for fn, name in cases:
        with pytest.raises(GaspInputError) as err:
            fn()
        msg = str(err.value)
        assert msg.startswith(name + ":") and "\n" not in msg, (name, msg)
