"""``render_views``: batched, anti-aliased renders of one synthetic identity with exact per-pixel annotations."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.raster.interpolate import interpolate
from gasp_ops.raster.mesh_raster import rasterize_mesh
from gasp_ops.raster.texture_shading import box_downsample, composite_background, shade_textured
from gasp_ops.seeding import generator
from gasp_ops.synthetic.assets import PARTS, IdentityAssets, build_assets
from gasp_ops.synthetic.identity import SyntheticIdentity, check_domain
from gasp_ops.synthetic.lighting import camera_effects, lambert_shading, sample_look
from gasp_ops.validation import check_tensor


@dataclass
class SyntheticViews:
    """K rendered views of one identity.

    rgb: [K, H, W, 3] float32 in [0, 1], composited over ``background`` (default black, 0).
    alpha: [K, H, W] float32 anti-aliased coverage (fraction of the s x s samples that see the mesh).
    face_id: [K, H, W] long, combined-mesh face at the pixel centre, -1 background (exact, from the rasteriser).
    part_id: [K, H, W] long, index into ``PARTS`` (head, hair, facial_hair, clothing), -1 background.
    region_id: [K, H, W] long, ``HeadTopology.face_regions`` of visible head faces, -1 elsewhere.
    depth: [K, H, W] camera z at the pixel centre (inf background); barycentrics [K, H, W, 3] of face_id there.
    vertices: [K, V_total, 3] the combined mesh per view; faces [F_total, 3]; face_part [F_total];
    part_ranges: {part: (first face id, end)}; cameras: the K cameras; domain.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    face_id: torch.Tensor
    part_id: torch.Tensor
    region_id: torch.Tensor
    depth: torch.Tensor
    barycentrics: torch.Tensor
    vertices: torch.Tensor
    faces: torch.Tensor
    face_part: torch.Tensor
    part_ranges: dict
    cameras: Cameras
    domain: str


def render_views(head: HeadModel, identity: SyntheticIdentity, expressions: torch.Tensor, poses: HeadPose,
                 cameras: Cameras, domain: str = "prior", supersample: int = 3, *,
                 assets: IdentityAssets | None = None, texture_size: int = 256, background=0.0,
                 seed: int = 0, device: torch.device | str | None = None,
                 max_batch: int | None = None) -> SyntheticViews:
    """Render view k with expression k, pose k and camera k (K = len(cameras)).

    expressions: [K, n_expression]; poses: ``HeadPose`` of batch K; cameras: K cameras (one image size).
    domain: 'prior' (flat albedo, uniform white light), 'real_proxy' (Lambert key + fill + ambient, colour cast,
        blur, sensor noise; the look is drawn from ``seed`` and the identity) or 'prior_lit' (the same Lambert light,
        no colour cast, blur or noise). The *texture* statistics follow ``identity.domain`` (the domain it was
        sampled in).
    supersample: s x s samples per pixel for colour and alpha (box filter); annotations are exact at pixel
        centres (odd s recommended, see ``render_mesh``).
    assets: from ``build_assets(head, identity, texture_size)``; built here when None (pass them in when rendering
        the same identity repeatedly). Runs on ``device`` (default: the device of the head model's buffers; the
        head model itself is evaluated where its buffers are); no host syncs beyond the rasteriser's planning step.
    max_batch: rasterise and shade at most this many views at once (None: all K). The supersampled fragments of a
        view dominate memory (512², s = 3: ~0.23 GB per view), so a pool of GPU workers bounds each worker's memory
        with it; every view's pixels are computed alone, and the camera effects run over all K views after, so the
        result does not depend on ``max_batch`` (tests/test_synthetic_people.py).
    """
    domain = check_domain(domain)
    if not isinstance(cameras, Cameras):
        raise GaspInputError("cameras", f"expected gasp_ops.cameras.Cameras, got {type(cameras).__name__}")
    K = len(cameras)
    if K < 1:
        raise GaspInputError("cameras", "need at least one view")
    check_tensor("expressions", expressions, [K, head.n_expression])
    if not isinstance(poses, HeadPose):
        raise GaspInputError("poses", f"expected a HeadPose, got {type(poses).__name__}")
    poses.validate(K)
    hdev = head.template.device
    device = torch.device(device) if device is not None else hdev
    if assets is None:
        assets = build_assets(head, identity, texture_size, device=device)
    assets = assets.to(device)
    dtype = head.template.dtype
    cams = cameras.to(device)
    if max_batch is not None and int(max_batch) < 1:
        raise GaspInputError("max_batch", f"must be >= 1, got {max_batch}")
    step = K if max_batch is None else int(max_batch)
    lit = domain in ("real_proxy", "prior_lit")
    look = sample_look(seed, identity.seed, identity.index) if lit else None
    with torch.no_grad():
        ident = assets.identity.to(device=hdev, dtype=dtype).expand(K, -1)
        head_v = head(ident, expressions.to(device=hdev, dtype=dtype), poses.to(device=hdev, dtype=dtype))
        head_v = head_v.to(device)
        poses = poses.to(device=device, dtype=dtype)
        verts = assets.combined_vertices(head_v, poses)
        parts = [_render_chunk(verts[i:i + step], cams[i:i + step], assets, supersample, background, look)
                 for i in range(0, K, step)]
        rgb, alpha, face_id, depth, bary = (torch.cat(x) if len(parts) > 1 else x[0] for x in zip(*parts))
        if domain == "real_proxy":
            rgb = camera_effects(rgb, look, generator(seed, "sensor_noise", identity.seed, identity.index))
        rgb = rgb.clamp(0.0, 1.0)
        valid = face_id >= 0
        safe = face_id.clamp_min(0)
        part_id = torch.where(valid, assets.face_part[safe], -1)
        regions = head.topology.face_regions.to(device)
        F_head = regions.shape[0]
        region_id = torch.where(valid & (face_id < F_head), regions[safe.clamp_max(F_head - 1)], -1)
    return SyntheticViews(rgb=rgb, alpha=alpha[..., 0], face_id=face_id, part_id=part_id, region_id=region_id,
                          depth=depth, barycentrics=bary, vertices=verts, faces=assets.faces, face_part=assets.face_part,
                          part_ranges=dict(assets.part_ranges), cameras=cams, domain=domain)


def _render_chunk(verts: torch.Tensor, cams: Cameras, assets: IdentityAssets, supersample: int, background, look):
    """Views [k] of ``render_views``: (rgb [k, H, W, 3] composited, before the camera effects; alpha [k, H, W, 1];
    face_id, depth [k, H, W] and barycentrics [k, H, W, 3] at the pixel centres). verts: [k, V_total, 3]."""
    frags = rasterize_mesh(verts, assets.faces, cams, supersample=supersample)
    colour, cover = shade_textured(frags, assets.uvs, assets.uv_faces, assets.atlas)
    if look is not None:
        normals = assets.normals(verts)
        n = interpolate(frags, assets.faces, normals)
        n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        pts = interpolate(frags, assets.faces, verts)
        view = cams.centers.to(pts)[:, None, None, :] - pts
        view = view / view.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        colour = colour * lambert_shading(n, view, look) * cover[..., None]
    s = frags.supersample
    rgb = box_downsample(colour, s)
    alpha = box_downsample(cover[..., None], s)
    rgb = composite_background(rgb, alpha, background, "background")
    m = s // 2
    if s % 2 == 1:
        face_id = frags.face_id[:, m::s, m::s].contiguous()
        depth = frags.depth[:, m::s, m::s].contiguous()
        bary = frags.barycentrics[:, m::s, m::s].contiguous()
    else:
        centre = rasterize_mesh(verts, assets.faces, cams, supersample=1)
        face_id, depth, bary = centre.face_id, centre.depth, centre.barycentrics
    return rgb, alpha, face_id, depth, bary


__all__ = ["PARTS", "SyntheticViews", "render_views"]
