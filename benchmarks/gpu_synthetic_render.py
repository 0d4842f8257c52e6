"""Synthetic-data generation speed (images/s), the paper's scale: 512^2 renders, supersample 3, 1024^2 textures.

    python3 benchmarks/gpu_synthetic_render.py --identities 4 --views 50 --size 512 --texture 1024 [--device cuda]

For each identity: build its assets (texture + hair/clothing geometry; NumPy on the CPU), then render all views in
batches of ``--batch`` cameras with ``render_views`` on the device. Prints per-identity times and the two rates:
end to end (assets + renders + copying images back to the host, as the dataset writer does) and render only.
No Dagster; writes nothing except an optional JSON (--json).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.synthetic.assets import build_assets
from gasp_ops.synthetic.cameras import sample_cameras
from gasp_ops.synthetic.expression import sample_expressions
from gasp_ops.synthetic.identity import sample_identity
from gasp_ops.synthetic.render import render_views


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--identities", type=int, default=4)
    ap.add_argument("--views", type=int, default=50)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--texture", type=int, default=1024)
    ap.add_argument("--supersample", type=int, default=3)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--domain", default="prior")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json")
    args = ap.parse_args()
    device = torch.device(args.device)
    head = ProceduralHead().to(device)
    # Warm-up (kernels, allocator) on one small identity.
    ident = sample_identity(10_000, 0, head)
    expr, poses = sample_expressions(list(range(2)), 0, head)
    cams, _, _ = sample_cameras(2, 0, args.size, head=head)
    render_views(head, ident, expr.to(device), poses.to(device), cams.to(device), args.domain, args.supersample,
                 texture_size=args.texture, device=device)
    sync(device)
    rows = []
    for i in range(args.identities):
        t0 = time.perf_counter()
        ident = sample_identity(i, 0, head, domain=args.domain)
        assets = build_assets(head, ident, args.texture, device=device)
        sync(device)
        t1 = time.perf_counter()
        expr, poses = sample_expressions([i * 1000 + v for v in range(args.views)], 0, head)
        cams, _, _ = sample_cameras(args.views, i, args.size, head=head)
        render_s = 0.0
        for s in range(0, args.views, args.batch):
            sl = slice(s, min(args.views, s + args.batch))
            r0 = time.perf_counter()
            out = render_views(head, ident, expr[sl].to(device), poses[sl].to(device),
                               cams[sl].to(device), args.domain, args.supersample, assets=assets, device=device)
            sync(device)
            render_s += time.perf_counter() - r0
            _ = (out.rgb.cpu(), out.alpha.cpu(), out.face_id.cpu())
        t2 = time.perf_counter()
        rows.append({"identity": i, "assets_s": t1 - t0, "render_s": render_s, "total_s": t2 - t0})
        print(f"identity {i}: assets {t1 - t0:.2f} s, render {render_s:.2f} s, total {t2 - t0:.2f} s "
              f"({args.views} views)", flush=True)
    total = sum(r["total_s"] for r in rows)
    render_total = sum(r["render_s"] for r in rows)
    n = args.identities * args.views
    summary = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "images": n, "size": args.size, "texture": args.texture, "supersample": args.supersample,
               "batch": args.batch, "end_to_end_images_per_s": n / total, "render_only_images_per_s": n / render_total,
               "peak_gpu_mem_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
               "rows": rows}
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
