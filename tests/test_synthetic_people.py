"""Synthetic people generator (gasp_ops.synthetic): determinism, cameras, exact annotations, metadata, domains."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gasp_ops.errors import GaspInputError  # noqa: E402
from gasp_ops.headmodel import HeadPose, ProceduralHead  # noqa: E402
from gasp_ops.headmodel.lbs import pose_rotations  # noqa: E402
from gasp_ops.io.images import to_uint8  # noqa: E402
from gasp_ops.synthetic import (  # noqa: E402
    AGE_GROUPS, EYE_COLOURS, FACIAL_HAIR_STYLES, HAIR_COLOURS, HAIRSTYLES, PARTS, build_assets, fixed_cameras, render_views, sample_cameras, sample_expression,
    sample_expressions, sample_identity,
)

SIZE = 64
CATS = {"hairstyle": HAIRSTYLES, "hair_colour": HAIR_COLOURS, "eye_colour": EYE_COLOURS, "age_group": AGE_GROUPS,
        "facial_hair_style": FACIAL_HAIR_STYLES}
TEX = 128


@pytest.fixture(scope="module")
def head():
    return ProceduralHead()


def _render(head, index, seed=0, overrides=None, domain="prior", azimuths=(0.0, 35.0, 180.0), size=SIZE,
            elevation=8.0, neutral=False):
    ident = sample_identity(index, seed, head, "prior", overrides)
    assets = build_assets(head, ident, TEX)
    cams = fixed_cameras(list(azimuths), [elevation], size, head=head)
    expr, poses = sample_expressions([index] * len(azimuths), seed, head)
    if neutral:
        expr = torch.zeros_like(expr)
        poses = HeadPose.zeros(len(azimuths))
    return ident, assets, render_views(head, ident, expr, poses, cams, domain, assets=assets, seed=seed)


def _hash(views) -> str:
    return hashlib.sha256(b"".join(to_uint8(im).tobytes() for im in views.rgb)).hexdigest()


# ------------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_images(head):
    _, _, a = _render(head, 3, seed=7)
    _, _, b = _render(head, 3, seed=7)
    _, _, c = _render(head, 3, seed=8)
    assert _hash(a) == _hash(b)
    assert torch.equal(a.face_id, b.face_id)
    assert _hash(a) != _hash(c)


@pytest.mark.parametrize("domain", ["prior", "real_proxy", "prior_lit"])
def test_views_rendered_in_chunks_equal_one_batch(head, domain):
    """``max_batch`` bounds memory only: every output equals the one-batch render (sensor noise included)."""
    azimuths = (0.0, 35.0, 180.0)
    ident, assets, whole = _render(head, 4, domain=domain, seed=3, azimuths=azimuths)
    cams = fixed_cameras(list(azimuths), [8.0], SIZE, head=head)
    expr, poses = sample_expressions([4] * len(azimuths), 3, head)
    parts = render_views(head, ident, expr, poses, cams, domain, assets=assets, seed=3, max_batch=2)
    for name in ("rgb", "alpha", "face_id", "part_id", "region_id", "depth", "barycentrics"):
        assert torch.equal(getattr(whole, name), getattr(parts, name)), name
    with pytest.raises(GaspInputError, match="max_batch"):
        render_views(head, ident, expr, poses, cams, domain, assets=assets, seed=3, max_batch=0)


def test_identity_sampling_is_deterministic_and_overrides_are_local(head):
    a = sample_identity(5, 1, head)
    b = sample_identity(5, 1, head)
    assert a.metadata == b.metadata and torch.equal(a.identity, b.identity)
    forced = sample_identity(5, 1, head, overrides={"hairstyle": "long"})
    assert forced.hairstyle == "long" and forced.long_hair and forced.metadata["long_hair"]
    assert torch.equal(forced.identity, a.identity) and forced.eye_colour == a.eye_colour
    assert sample_identity(5, 2, head).metadata != a.metadata


def test_population_covers_every_category(head):
    metas = [sample_identity(i, 0, head).metadata for i in range(200)]
    for key in ("hairstyle", "hair_colour", "eye_colour", "age_group", "facial_hair_style"):
        seen = {m[key] for m in metas}
        assert len(seen) >= min(4, len(set(CATS[key]))), (key, seen)
    assert {m["hairstyle"] for m in metas} == set(HAIRSTYLES)
    tones = np.array([m["skin_tone"] for m in metas])
    assert tones.min() < 1.5 and tones.max() > 5.5


# ------------------------------------------------------------------------------------------- cameras


def test_cameras_uniform_in_angle_and_in_range(head):
    cams, az, el = sample_cameras(4000, 3, 64, head=head)
    assert len(cams) == 4000 and az.shape == (4000,) and el.shape == (4000,)
    assert float(az.min()) >= -180 and float(az.max()) <= 180
    assert float(el.min()) >= -20 and float(el.max()) <= 45
    assert stats.kstest(az.numpy(), "uniform", args=(-180, 360)).pvalue > 1e-3
    assert stats.kstest(el.numpy(), "uniform", args=(-20, 65)).pvalue > 1e-3
    hist, _ = np.histogram(az.numpy(), bins=8, range=(-180, 180))
    assert hist.min() > 0.8 * 500 and hist.max() < 1.2 * 500
    # camera centres: on a sphere around the target, azimuth/elevation as documented
    c = cams.centers.double()
    d = c.norm(dim=-1)
    _, sub_az, sub_el = sample_cameras(3, 3, 64, azimuth_range=(10, 20), elevation_range=(0, 5))
    assert ((sub_az >= 10) & (sub_az <= 20)).all() and ((sub_el >= 0) & (sub_el <= 5)).all()
    assert float(d.std()) < 0.05  # roughly the same distance (target offset aside)
    front, _, _ = sample_cameras(1, 0, 64, azimuth_range=(0, 0), elevation_range=(0, 0), head=head)
    assert float(front.centers[0, 2]) > 0.5  # azimuth 0 is in front of the face (+z)


def test_head_fills_most_of_the_frame(head):
    _, _, v = _render(head, 2, overrides={"hairstyle": "short"}, azimuths=(0.0,), neutral=True, elevation=0.0)
    rows = torch.nonzero((v.part_id[0] == 0) | (v.part_id[0] == 1))[:, 0]
    head_rows = torch.nonzero(v.region_id[0] >= 0)[:, 0]
    frac = (float(head_rows.max()) - float(rows.min()) + 1) / SIZE
    assert 0.55 < frac < 0.85
    assert bool((v.part_id[0] == PARTS.index("clothing")).any())  # a bit of shoulders


@pytest.mark.parametrize("kw", [dict(azimuth_range=(30, -30)), dict(elevation_range=(45, -20)),
                                dict(elevation_range=(-100, 0)), dict(azimuth_range=(0, 270))])
def test_bad_camera_ranges_raise(kw):
    field = next(iter(kw))
    with pytest.raises(GaspInputError) as err:
        sample_cameras(4, 0, 64, **kw)
    assert err.value.name == field


def test_zero_views_and_bad_inputs_raise(head):
    with pytest.raises(GaspInputError) as err:
        sample_cameras(0, 0, 64)
    assert err.value.name == "n"
    with pytest.raises(GaspInputError) as err:
        sample_identity(0, 0, head, overrides={"hairstyle": "mohawk"})
    assert err.value.name == "hairstyle" and "mohawk" in str(err.value)
    with pytest.raises(GaspInputError) as err:
        sample_identity(0, 0, head, overrides={"eye_colour": "purple"})
    assert err.value.name == "eye_colour"
    with pytest.raises(GaspInputError) as err:
        sample_identity(0, 0, head, overrides={"shoe_size": 3})
    assert err.value.name == "overrides"
    with pytest.raises(GaspInputError) as err:
        sample_identity(0, 0, head, domain="cartoon")
    assert err.value.name == "domain"
    ident = sample_identity(0, 0, head)
    cams = fixed_cameras([0.0], [0.0], 32, head=head)
    e, p = sample_expression(0, 0, head)
    with pytest.raises(GaspInputError) as err:
        render_views(head, ident, e[None].repeat(2, 1), p, cams)
    assert err.value.name == "expressions"
    with pytest.raises(GaspInputError) as err:
        render_views(head, ident, e[None], p, cams, domain="film")
    assert err.value.name == "domain"


def test_expression_sampler(head):
    e, p = sample_expression(4, 0, head)
    assert e.shape == (head.n_expression,) and p.batch == 1
    assert torch.equal(p.translation, torch.zeros(1, 3))
    es = torch.stack([sample_expression(i, 0, head)[0] for i in range(50)])
    frac_active = float((es > 0).float().mean())
    assert 0.05 < frac_active < 0.4 and float(es.max()) <= 0.9 + 1e-6 and float(es.min()) >= 0
    jaws = torch.cat([sample_expression(i, 0, head)[1].jaw[:, 0] for i in range(50)])
    necks = torch.cat([sample_expression(i, 0, head)[1].neck for i in range(50)])
    assert float(jaws.max()) > 0.05 and float(jaws.min()) >= 0
    assert float(necks.abs().max()) <= math.radians(6) + 1e-6


# ------------------------------------------------------------------------------------------- annotations


def _pixel_rays(cams, k, ij):
    K = cams.K[k].double()
    w2c = cams.world_to_cam[k].double()
    pix = torch.stack([ij[:, 1].double() + 0.5, ij[:, 0].double() + 0.5, torch.ones(len(ij), dtype=torch.float64)], 1)
    d_cam = pix @ torch.linalg.inv(K).T
    R, t = w2c[:3, :3], w2c[:3, 3]
    return -(R.T @ t), d_cam @ R  # origin [3], directions [N, 3] (world, camera z = 1)


def test_face_ids_are_exact_at_pixel_centres(head):
    ident, assets, v = _render(head, 1, overrides={"hairstyle": "long", "facial_hair": "beard"},
                               azimuths=(0.0, 60.0, 150.0))
    g = torch.Generator().manual_seed(0)
    for k in range(3):
        covered = torch.nonzero(v.face_id[k] >= 0)
        pick = covered[torch.randperm(len(covered), generator=g)[:300]]
        f = v.face_id[k][pick[:, 0], pick[:, 1]]
        tri = v.vertices[k].double()[v.faces[f]]  # [N, 3, 3]
        o, d = _pixel_rays(v.cameras, k, pick)
        # Moller-Trumbore: the pixel-centre ray hits the labelled triangle, at the labelled depth.
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        pv = torch.linalg.cross(d, e2, dim=-1)
        det = (e1 * pv).sum(-1)
        tv = o - tri[:, 0]
        u = (tv * pv).sum(-1) / det
        qv = torch.linalg.cross(tv, e1, dim=-1)
        w = (d * qv).sum(-1) / det
        tt = (e2 * qv).sum(-1) / det
        assert bool((u >= -1e-4).all() and (w >= -1e-4).all() and (u + w <= 1 + 1e-4).all())
        depth = v.depth[k][pick[:, 0], pick[:, 1]].double()
        assert torch.allclose(tt, depth, rtol=1e-4, atol=1e-6)
        # barycentrics reproduce the hit point
        hit = (v.barycentrics[k][pick[:, 0], pick[:, 1]].double()[..., None] * tri).sum(1)
        assert torch.allclose(hit, o + tt[:, None] * d, atol=1e-5)


def test_projected_face_centroids_land_on_their_face(head):
    _, assets, v = _render(head, 4, azimuths=(0.0, 90.0, 200.0), size=96)
    F_head = assets.part_ranges["head"][1]
    hits = total = 0
    for k in range(3):
        verts = v.vertices[k].double()
        cen = verts[v.faces[:F_head]].mean(1)
        w2c = v.cameras.world_to_cam[k].double()
        cam = cen @ w2c[:3, :3].T + w2c[:3, 3]
        pix = cam @ v.cameras.K[k].double().T
        x, y = pix[:, 0] / pix[:, 2], pix[:, 1] / pix[:, 2]
        j, i = torch.floor(x).long(), torch.floor(y).long()
        inside = (i >= 0) & (i < 96) & (j >= 0) & (j < 96)
        f = torch.nonzero(inside)[:, 0]
        fid = v.face_id[k][i[f], j[f]]
        depth = v.depth[k][i[f], j[f]].double()
        visible = depth > cam[f, 2] - 1e-4  # not occluded by something nearer
        ok = (fid == f) | (~visible)
        hits += int(ok.sum())
        total += len(f)
        assert int((fid == f).sum()) > 50  # many centroids are seen exactly on their own face
    assert hits / total > 0.9


# ------------------------------------------------------------------------------------------- metadata


def test_long_hair_hangs_below_the_ears_and_bald_has_none(head):
    ident, assets, v = _render(head, 6, overrides={"hairstyle": "long"}, azimuths=(180.0,), neutral=True)
    a = assets.anatomy
    h0, h1 = assets.vertex_ranges["hair"]
    assert h1 > h0 and float(v.vertices[0, h0:h1, 1].min()) < a.y_chin  # hangs below the ears, past the chin
    back = v.part_id[0]
    rows = torch.nonzero(back == PARTS.index("hair"))[:, 0]
    assert len(rows) > 0.1 * SIZE * SIZE
    _, assets_b, vb = _render(head, 6, overrides={"hairstyle": "bald"}, azimuths=(180.0, 0.0), neutral=True)
    assert assets_b.part_ranges["hair"][0] == assets_b.part_ranges["hair"][1]
    assert not bool((vb.part_id == PARTS.index("hair")).any())
    _, assets_s, vs = _render(head, 6, overrides={"hairstyle": "short"}, azimuths=(180.0,), neutral=True)
    s0, s1 = assets_s.vertex_ranges["hair"]
    assert float(vs.vertices[0, s0:s1, 1].min()) > a.y_chin  # short hair stays above the chin


def test_facial_hair_is_visible(head):
    _, assets, v = _render(head, 2, overrides={"facial_hair": "beard"}, azimuths=(0.0,), neutral=True)
    assert bool((v.part_id[0] == PARTS.index("facial_hair")).sum() > 20)
    _, a_none, v_none = _render(head, 2, overrides={"facial_hair": "none"}, azimuths=(0.0,), neutral=True)
    _, a_stub, v_stub = _render(head, 2, overrides={"facial_hair": "stubble"}, azimuths=(0.0,), neutral=True)
    assert a_stub.part_ranges["facial_hair"][0] == a_stub.part_ranges["facial_hair"][1]  # texture only
    # the stubble darkens the chin area of the same person
    chin = (v_none.face_id[0] >= 0) & (v_none.region_id[0] >= 0)
    rows = torch.arange(SIZE)[:, None].expand(SIZE, SIZE)
    lm8_row = int(torch.nonzero(chin)[:, 0].max()) - 8
    zone = chin & (rows > lm8_row - 6) & (rows <= lm8_row)
    assert int(zone.sum()) > 5
    assert float(v_stub.rgb[0][zone].mean()) < float(v_none.rgb[0][zone].mean()) - 0.03


def test_hair_and_eye_colour_are_visible(head):
    def hair_mean(colour):
        _, _, v = _render(head, 9, overrides={"hair_colour": colour, "hairstyle": "medium", "age_group": "young"},
                          azimuths=(180.0,), neutral=True)
        return v.rgb[0][v.part_id[0] == PARTS.index("hair")].mean(0)

    black, blond = hair_mean("black"), hair_mean("blond")
    assert float(blond.mean()) > float(black.mean()) + 0.25

    def iris_texel(colour):
        ident = sample_identity(9, 0, head, overrides={"eye_colour": colour})
        a = build_assets(head, ident, TEX)
        lm = a.anatomy.landmarks
        return lm, a

    lm, a_blue = iris_texel("blue")
    _, a_brown = iris_texel("brown")
    diff = (a_blue.atlas - a_brown.atlas).abs().sum(-1)[0]
    assert int((diff > 0.1).sum()) > 4  # iris texels differ
    blue_minus = (a_blue.atlas - a_brown.atlas)[0][diff > 0.1]
    assert float(blue_minus[:, 2].mean()) > 0.1  # bluer


def test_age_shows_wrinkles(head):
    young = build_assets(head, sample_identity(11, 0, head, overrides={"age_group": "young", "hairstyle": "bald",
                                                                              "hair_colour": "brown"}),
                         TEX)
    old = build_assets(head, sample_identity(11, 0, head, overrides={"age_group": "old", "hairstyle": "bald",
                                                                            "hair_colour": "brown"}), TEX)
    skin_y, skin_o = young.atlas[0, :, :TEX], old.atlas[0, :, :TEX]
    assert float((skin_y - skin_o).abs().max()) > 0.08
    assert float(skin_o.mean()) < float(skin_y.mean())  # darker lines
    assert int(((skin_y - skin_o).mean(-1) > 0.04).sum()) > 50


# ------------------------------------------------------------------------------------------- posing


def test_hair_follows_the_skull_and_clothing_the_root(head):
    ident = sample_identity(1, 0, head, overrides={"hairstyle": "long"})
    assets = build_assets(head, ident, TEX)
    e = torch.zeros(2, head.n_expression)
    pose = HeadPose.zeros(2)
    pose.neck[1] = torch.tensor([0.2, 0.3, 0.0])
    hv = head(assets.identity.expand(2, -1), e, pose)
    cv = assets.combined_vertices(hv, pose)
    h0, h1 = assets.vertex_ranges["hair"]
    c0, c1 = assets.vertex_ranges["clothing"]
    assert torch.allclose(cv[0, c0:c1], cv[1, c0:c1])  # neck turn: clothing stays
    R = pose_rotations(pose)[1, 1]
    rel0 = cv[0, h0:h1] - hv[0, assets.hair_anchor]
    rel1 = cv[1, h0:h1] - hv[1, assets.hair_anchor]
    assert torch.allclose(rel1, rel0 @ R.T, atol=1e-6)
    root = HeadPose.zeros(1)
    root.rotation[0, 1] = 0.3
    cr = assets.combined_vertices(head(assets.identity, e[:1], root), root)
    assert not torch.allclose(cr[0, c0:c1], cv[0, c0:c1], atol=1e-3)  # root turn: clothing turns


# ------------------------------------------------------------------------------------------- domains


def test_real_proxy_differs_statistically(head):
    _, _, prior = _render(head, 5, azimuths=(0.0, 120.0), domain="prior")
    _, _, real = _render(head, 5, azimuths=(0.0, 120.0), domain="real_proxy")
    assert torch.equal(prior.face_id, real.face_id)  # same geometry and annotations
    bg = prior.alpha == 0
    assert float(prior.rgb[bg].abs().max()) == 0.0
    assert float(real.rgb[bg].std()) > 0.003  # sensor noise on the background
    fg = prior.alpha == 1
    lap = lambda x: (4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:])  # noqa
    assert float((real.rgb - prior.rgb)[fg].abs().mean()) > 0.03  # lighting changes the colours
    # shading: luminance spread over the head is larger with directional light
    lum_p = prior.rgb.mean(-1)[fg]
    lum_r = real.rgb.mean(-1)[fg]
    assert float(lum_r.std()) > 1.05 * float(lum_p.std()) or float((lum_r - lum_p).abs().mean()) > 0.05
    assert lap(real.rgb.mean(-1)).shape[1] == SIZE - 2


def test_prior_lit_is_the_prior_person_under_the_key_light(head):
    """``prior_lit``: the prior's person (same draws, same atlas) with the real_proxy Lambert light and nothing else:
    no sensor noise on the background, and the back of the head darker relative to the front than under uniform
    light (the key light is always in front)."""
    from dataclasses import asdict

    from gasp_ops.synthetic.dataset_plan import (
        identity_id,
        identity_table,
        plan_identities,
    )

    a, b = sample_identity(6, 0, head, "prior"), sample_identity(6, 0, head, "prior_lit")
    da, db = asdict(a), asdict(b)
    assert (da.pop("domain"), db.pop("domain")) == ("prior", "prior_lit")
    assert torch.equal(da.pop("identity"), db.pop("identity")) and da == db
    ta, tb = build_assets(head, a, TEX), build_assets(head, b, TEX)
    assert torch.equal(ta.atlas, tb.atlas)
    cams = fixed_cameras([0.0, 180.0], [8.0], SIZE, head=head)
    expr, poses = torch.zeros(2, head.n_expression), HeadPose.zeros(2)
    flat = render_views(head, a, expr, poses, cams, "prior", assets=ta)
    lit = render_views(head, b, expr, poses, cams, "prior_lit", assets=tb)
    again = render_views(head, b, expr, poses, cams, "prior_lit", assets=tb)
    assert torch.equal(lit.rgb, again.rgb) and torch.equal(lit.face_id, flat.face_id)
    assert float(lit.rgb[lit.alpha == 0].abs().max()) == 0.0  # no noise, no blur onto the background
    fg = (flat.alpha == 1) & (lit.alpha == 1)
    assert float((lit.rgb - flat.rgb)[fg].abs().mean()) > 0.03
    def lum(views, k: int) -> float:  # mean brightness of view k over the head both renders cover
        return float(views.rgb[k].mean(-1)[fg[k]].mean())

    assert lum(lit, 1) / lum(lit, 0) < 0.9 * lum(flat, 1) / lum(flat, 0)
    assert identity_id(6, "prior_lit") == "lit_00006"
    table = identity_table(plan_identities(2, 0, head, domain="prior_lit"), head)
    assert list(table.identity_id) == ["lit_00000", "lit_00001"] and set(table.domain) == {"prior_lit"}


# ------------------------------------------------------------------------------------------- FLAME


def test_works_with_the_flame_fixture(tmp_path):
    from flame_fixture import write_flame_fixture

    from gasp_ops.headmodel.flame import FlameHead

    fx = write_flame_fixture(tmp_path, "2020")
    flame = FlameHead(fx.model_path, fx.uv_obj_path, fx.masks_path, fx.landmark_path, n_identity=20,
                      n_expression=10)
    ident = sample_identity(0, 0, flame, overrides={"hairstyle": "long", "facial_hair": "beard"})
    assert ident.identity.shape == (20,)
    assets = build_assets(flame, ident, 64)
    expr, poses = sample_expressions([0, 1], 0, flame)
    assert expr.shape == (2, 10)
    cams, _, _ = sample_cameras(2, 0, 48, head=flame, azimuth_range=(-60, 60))
    v = render_views(flame, ident, expr, poses, cams, "real_proxy", assets=assets)
    assert v.rgb.shape == (2, 48, 48, 3) and v.face_id.shape == (2, 48, 48)
    assert bool((v.part_id == PARTS.index("head")).any())
    assert int(v.face_id.max()) < v.faces.shape[0]
    assert bool(torch.isfinite(v.rgb).all())
