"""Renderer parity: the pure-torch reference rasteriser vs gsplat (the anchor, 1.5.3) on one CUDA device.

Renders one scene with both backends of ``gasp_ops.render.render`` from several cameras at several image sizes,
and reports image errors (rgb, alpha, expected depth), projection errors (gsplat's meta vs
``reference.project``), gradient errors of a fixed scalar loss wrt means/quats/scales/opacities/colors, and the
time of both backends. Prints a Markdown table and writes ``render_parity.json`` to ``--out`` (default $OUT, else
benchmarks/out). No Dagster; pure torch + gasp_ops.

    python benchmarks/gpu_render_parity.py --scene random --n 20000 --res 256 512 --cameras 4
    python benchmarks/gpu_render_parity.py --scene head            # ProceduralHead + UV binding + avatar
    python benchmarks/gpu_render_parity.py --device cpu --res 128   # reference timings only

``--gsplat-so DIR``: import a prebuilt ``gsplat_cuda`` extension from DIR instead of JIT-building it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from gasp_ops.cameras import orbit_cameras  # noqa: E402
from gasp_ops.render import Gaussians3D, render  # noqa: E402

FIELDS = ("means", "quats", "scales", "opacities", "colors")


def random_head_shell(n: int, seed: int = 0, device="cpu") -> Gaussians3D:
    """N Gaussians on a noisy head-sized ellipsoid shell (radii 8 x 11 x 10 cm), mostly flat along the normal,
    smooth colours, opacities in [0.05, 1]."""
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, 3, generator=g)
    d = d / d.norm(dim=-1, keepdim=True)
    radii = torch.tensor([0.08, 0.11, 0.10])
    means = d * radii * (1 + 0.03 * torch.randn(n, 1, generator=g))
    # spacing of n points on the shell ~ sqrt(area / n); in-plane std about that, thin along the normal
    area = 4 * math.pi * 0.1**2
    side = math.sqrt(area / n)
    scales = side * torch.exp(0.4 * torch.randn(n, 3, generator=g)) * torch.tensor([0.9, 0.9, 0.3])
    quats = torch.randn(n, 4, generator=g)
    opac = (0.05 + 0.95 * torch.rand(n, generator=g) ** 0.5).clamp(max=1.0)
    colors = (0.5 + 0.4 * torch.sin(6 * means + torch.tensor([0.0, 2.0, 4.0]) + 0.3 * torch.randn(n, 3, generator=g))).clamp(0, 1)
    return Gaussians3D(*(t.to(device) for t in (means, quats, scales, opac, colors)))


def head_scene(uv_res: int, device="cpu") -> Gaussians3D:
    """The team's procedural head, UV-bound Gaussians (GaussianAvatar.from_binding), posed at rest."""
    try:
        from gasp_ops.avatar import GaussianAvatar, pose
        from gasp_ops.binding import uv_binding
        from gasp_ops.headmodel.procedural import ProceduralHead
    except ImportError as exc:
        raise SystemExit(f"--scene head needs gasp_ops.headmodel.procedural/binding/avatar: {exc}") from None
    head = ProceduralHead()
    verts = head(torch.zeros(1, head.n_identity), torch.zeros(1, head.n_expression))
    binding = uv_binding(head.topology, uv_res)
    avatar = GaussianAvatar.from_binding(head.topology, binding, verts[0])
    g = pose(avatar, verts).frame(0)
    gen = torch.Generator().manual_seed(0)
    # non-trivial colours and a little anisotropy so every gradient path is exercised
    colors = (0.5 + 0.4 * torch.sin(25 * g.means + torch.tensor([0.0, 2.0, 4.0]))).clamp(0, 1)
    quats = g.quats + 0.1 * torch.randn(g.quats.shape, generator=gen)
    return Gaussians3D(*(t.detach().to(torch.float32).contiguous().to(device)
                         for t in (g.means, quats, g.scales, g.opacities, colors)))


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeats):
    fn()  # warm-up
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def _loss_weights(C, H, W, device):
    g = torch.Generator().manual_seed(123)
    return torch.rand(C, H, W, 5, generator=g).to(device)


def _loss(out, wts):
    # depth enters weighted by a detached alpha > 0.5 mask: expected depth is ill-conditioned where alpha ~ 0
    m = (out.alpha.detach() > 0.5).to(out.depth.dtype)
    return (out.rgb * wts[..., :3]).sum() + (out.alpha * wts[..., 3:4]).sum() + (out.depth * m * wts[..., 4:5]).sum()


def run_backend(scene: Gaussians3D, cams, bg, backend, wts, repeats, dtype=torch.float32):
    leaves = {f: getattr(scene, f).detach().to(dtype).clone().requires_grad_(True) for f in FIELDS}
    g = Gaussians3D(**leaves)
    device = scene.means.device
    out = render(g, cams, bg.to(dtype), backend=backend)
    _loss(out, wts).backward()
    grads = {f: leaves[f].grad.detach().float() for f in FIELDS}
    fwd = _timed(lambda: render(g, cams, bg.to(dtype), backend=backend), device, repeats)

    def fwd_bwd():
        for t in leaves.values():
            t.grad = None
        _loss(render(g, cams, bg.to(dtype), backend=backend), wts).backward()

    fb = _timed(fwd_bwd, device, repeats)
    return out, grads, fwd, fb


def _err(a, b, mask=None):
    d = (a.detach().float() - b.detach().float()).abs()
    if mask is not None:
        d = d[mask.expand_as(d)]
    if d.numel() == 0:
        return {"max": 0.0, "mean": 0.0}
    out = {"max": float(d.max()), "mean": float(d.mean()), "frac_gt_1e-3": float((d > 1e-3).float().mean())}
    if mask is None:  # where the worst pixel is, and both values there (tells which threshold flipped)
        i = int(d.flatten().argmax())
        out["worst"] = {"index": list(torch.unravel_index(torch.tensor(i), d.shape)),
                        "a": float(a.detach().flatten()[i]), "b": float(b.detach().flatten()[i])}
        out["worst"]["index"] = [int(x) for x in out["worst"]["index"]]
    return out


def _grad_err(gr, gg):
    d = (gr - gg).abs()
    return {
        "max": float(d.max()),
        "mean": float(d.mean()),
        "rel": float((gr - gg).norm() / gg.norm().clamp_min(1e-30)),
        "cos": float(torch.nn.functional.cosine_similarity(gr.flatten(), gg.flatten(), dim=0)),
        "scale_mean_abs": float(gg.abs().mean()),
    }


def projection_parity(scene, cams):
    """gsplat's own projection (fully_fused_projection, packed=False) vs reference.project."""
    from gsplat import fully_fused_projection

    from gasp_ops.render.reference import project

    radii, means2d, depths, conics, _ = fully_fused_projection(
        scene.means, None, scene.quats, scene.scales, cams.world_to_cam, cams.K, cams.width, cams.height,
        eps2d=0.3, packed=False, near_plane=0.01, far_plane=1e10, radius_clip=0.0, opacities=scene.opacities,
    )
    p = project(scene.means[None], scene.quats[None], scene.scales[None], scene.opacities[None], scene.colors[None],
                cams.world_to_cam, cams.K, cams.width, cams.height)
    if radii.ndim == 2:  # older gsplat: one radius
        radii = radii[..., None].expand(-1, -1, 2)
    both = (radii > 0).all(-1) & (p.radii > 0).all(-1)
    rel_conic = ((p.conics - conics).abs() / conics.abs().amax(-1, keepdim=True).clamp_min(1e-12))[both]
    return {
        "radii_equal_frac": float((radii == p.radii).all(-1).float().mean()),
        "culled_mismatch": int(((radii > 0).all(-1) != (p.radii > 0).all(-1)).sum()),
        "means2d_max_abs": float((p.means2d - means2d).abs()[both].max()) if both.any() else 0.0,
        "depths_max_abs": float((p.depths - depths).abs()[both].max()) if both.any() else 0.0,
        "conics_max_rel": float(rel_conic.max()) if both.any() else 0.0,
    }


def batched_check(scene, az, el, bg):
    """Batched Gaussians [B, N] with B cameras through both backends vs per-frame unbatched gsplat renders."""
    B = min(2, len(az))
    cams = orbit_cameras(az[:B], el[:B], 0.55, 30.0, 128, 128).to(scene.means.device)
    shift = torch.tensor([0.01, -0.02, 0.0], device=scene.means.device)
    frames = [scene.means, scene.means + shift][:B]
    gb = Gaussians3D(torch.stack(frames), *(getattr(scene, f)[None].expand(B, *getattr(scene, f).shape).contiguous()
                                            for f in FIELDS[1:]))
    res = {}
    singles = [render(gb.frame(b), cams[b], bg, backend="gsplat") for b in range(B)]
    for backend in ("gsplat", "reference"):
        out = render(gb, cams, bg, backend=backend)
        res[backend] = max(float((out.rgb[b] - singles[b].rgb[0]).abs().max()) for b in range(B))
    return {"rgb_max_abs_vs_per_frame_gsplat": res}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", choices=("random", "head"), default="random")
    ap.add_argument("--n", type=int, default=20000, help="Gaussians in the random scene")
    ap.add_argument("--uv-res", type=int, default=256, help="UV binding resolution of the head scene")
    ap.add_argument("--res", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--gsplat-so", default=None, help="folder holding a prebuilt gsplat_cuda*.so")
    ap.add_argument("--ref-float64", action="store_true", help="also compare a float64 reference at the first size")
    ap.add_argument("--out", default=os.environ.get("OUT") or str(Path(__file__).parent / "out"))
    args = ap.parse_args(argv)

    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    device = torch.device(args.device)
    with_gsplat = device.type == "cuda"
    if with_gsplat:
        import gsplat

        gsplat_version = gsplat.__version__
    else:
        gsplat_version = None

    t0 = time.perf_counter()
    scene = random_head_shell(args.n, device=device) if args.scene == "random" else head_scene(args.uv_res, device)
    scene_s = time.perf_counter() - t0
    n = scene.count
    az = torch.linspace(-75, 75, args.cameras) if args.cameras > 1 else torch.tensor([20.0])
    el = torch.linspace(-10, 15, args.cameras) if args.cameras > 1 else torch.tensor([5.0])
    bg = torch.tensor([0.25, 0.35, 0.45], device=device)
    info = {
        "scene": args.scene, "gaussians": n, "cameras": args.cameras, "scene_build_s": scene_s,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "gsplat": gsplat_version, "date": time.strftime("%Y-%m-%d"), "results": [],
    }
    rows = []
    for i, res in enumerate(args.res):
        cams = orbit_cameras(az, el, 0.55, 30.0, res, res).to(device)
        wts = _loss_weights(len(cams), res, res, device)
        ref_out, ref_g, ref_f, ref_fb = run_backend(scene, cams, bg, "reference", wts, args.repeats)
        entry = {"res": res, "reference": {"fwd_s": ref_f, "fwd_bwd_s": ref_fb},
                 "alpha_mean": float(ref_out.alpha.detach().mean())}
        if with_gsplat:
            gs_out, gs_g, gs_f, gs_fb = run_backend(scene, cams, bg, "gsplat", wts, args.repeats)
            hit = (gs_out.alpha > 0.5) & (ref_out.alpha > 0.5)
            entry["gsplat"] = {"fwd_s": gs_f, "fwd_bwd_s": gs_fb}
            entry["image"] = {
                "rgb": _err(ref_out.rgb, gs_out.rgb), "alpha": _err(ref_out.alpha, gs_out.alpha),
                "depth_all": _err(ref_out.depth, gs_out.depth), "depth_alpha_gt_0.5": _err(ref_out.depth, gs_out.depth, hit),
            }
            entry["grad"] = {f: _grad_err(ref_g[f], gs_g[f]) for f in FIELDS}
            entry["projection"] = projection_parity(scene, cams)
            if args.ref_float64 and i == 0:
                r64, g64, _, _ = run_backend(scene, cams, bg, "reference", wts.double(), 1, dtype=torch.float64)
                entry["reference_float64_vs_gsplat"] = {
                    "rgb": _err(r64.rgb, gs_out.rgb), "alpha": _err(r64.alpha, gs_out.alpha),
                    "grad_rel": {f: _grad_err(g64[f], gs_g[f])["rel"] for f in FIELDS},
                }
            rows.append(entry)
        info["results"].append(entry)
        print(json.dumps(entry), flush=True)

    if with_gsplat:
        info["batched_check"] = batched_check(scene, az, el, bg)
        print("batched:", json.dumps(info["batched_check"]), flush=True)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "render_parity.json").write_text(json.dumps(info, indent=2))
    print(f"\n{args.scene} scene, {n} Gaussians, {args.cameras} cameras, device {info['device']}, torch {info['torch']}, gsplat {gsplat_version}\n")
    if with_gsplat:
        print(markdown_table(info))
    else:
        for e in info["results"]:
            print(f"{e['res']}^2: reference fwd {e['reference']['fwd_s']*1e3:.1f} ms, fwd+bwd {e['reference']['fwd_bwd_s']*1e3:.1f} ms")


def markdown_table(info) -> str:
    lines = [
        "| size | rgb max / mean abs | alpha max / mean abs | depth max / mean abs (alpha>0.5) | "
        + " | ".join(f"d{f} rel (max abs)" for f in FIELDS)
        + " | reference fwd / fwd+bwd ms | gsplat fwd / fwd+bwd ms |",
        "|" + "---|" * (5 + len(FIELDS)),
    ]
    for e in info["results"]:
        im, gr = e["image"], e["grad"]
        cells = [
            f"{e['res']}²",
            f"{im['rgb']['max']:.1e} / {im['rgb']['mean']:.1e}",
            f"{im['alpha']['max']:.1e} / {im['alpha']['mean']:.1e}",
            f"{im['depth_alpha_gt_0.5']['max']:.1e} / {im['depth_alpha_gt_0.5']['mean']:.1e}",
            *[f"{gr[f]['rel']:.1e} ({gr[f]['max']:.1e})" for f in FIELDS],
            f"{e['reference']['fwd_s']*1e3:.1f} / {e['reference']['fwd_bwd_s']*1e3:.1f}",
            f"{e['gsplat']['fwd_s']*1e3:.2f} / {e['gsplat']['fwd_bwd_s']*1e3:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
