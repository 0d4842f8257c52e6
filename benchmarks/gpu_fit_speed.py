"""GPU fitting speed at the paper's scale (target <= 45 s on an H100 for 500 + 500 + 100 steps): a *randomly
initialised* prior (weights do not change the cost; TIMING ONLY) with the paper's decoder (8-d features, 512-d
code, 6 x 256 trunk, 5 branches) on the procedural head at UV 558 (188,102 Gaussians), monocular frames at 512 px.

Targets are renders of the prior's template (realistic screen coverage). Prints the per-stage and total seconds.
No Dagster.

    python3 benchmarks/gpu_fit_speed.py --gsplat-so .gsplat_build [--frames 16] [--batch 4] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gsplat-so", default=None)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--uv", type=int, default=558)
    ap.add_argument("--steps", type=int, nargs=3, default=[500, 500, 100])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    from gasp_ops.avatar import pose
    from gasp_ops.export.video import head_orbit
    from gasp_ops.fitting import FitConfig, FitInputs, fit_avatar
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.prior_model import GaussianPrior
    from gasp_ops.render.render import render
    from gasp_ops.synthetic import sample_expressions

    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    head = ProceduralHead().to(dev)
    t0 = time.perf_counter()
    prior = GaussianPrior.build(head, PriorConfig(uv_resolution=args.uv), num_subjects=1000).to(dev)
    build_s = time.perf_counter() - t0
    T = args.frames
    az = torch.linspace(-15, 15, T)
    cams = head_orbit(head, az, 5.0, args.size)
    expr, hp = sample_expressions(range(T), 1, head)
    ident = 0.3 * torch.randn(head.n_identity, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        verts = head(ident[None].expand(T, -1).to(dev), expr.to(dev), hp.to(dev))
        out = render(pose(prior.avatar().to(dev), verts), cams.to(dev))
        a = out.alpha[..., 0]
        straight = (out.rgb / a[..., None].clamp_min(1e-4)).clamp(0, 1)
    inputs = FitInputs(straight.cpu(), a.cpu(), cams, expr, hp, ident, [f"f{i}" for i in range(T)], "benchmark")
    cfg = FitConfig(steps_inversion=args.steps[0], steps_decoder=args.steps[1], steps_refine=args.steps[2],
                    batch_size=args.batch, log_every=50)
    # warm-up (cuBLAS/gsplat initialisation) with a few steps, not timed
    fit_avatar(prior, head, inputs, cfg.replace(steps_inversion=3, steps_decoder=3, steps_refine=3), device=dev)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = fit_avatar(prior, head, inputs, cfg, device=dev)
    torch.cuda.synchronize()
    total = time.perf_counter() - t0
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "gaussians": prior.count,
              "frames": T, "batch": args.batch, "image": args.size, "steps": args.steps,
              "stage_seconds": res.seconds, "total_seconds": total, "prior_build_seconds": build_s,
              "lpips": res.lpips, "note": "randomly initialised prior: timing only",
              "final_psnr": {k: v["psnr"][-1] for k, v in res.history.items()}}
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "gpu_fit_speed.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
