"""A small prior trained on the synthetic mesh renders (not teacher data), on one GPU. No Dagster.

Renders ``--identities`` synthetic people x ``--views`` views at ``--size`` with the dataset writer
(``gasp_ops.synthetic.dataset_*``, the same code as the ``synthetic_renders`` asset), trains a prior at UV ``--uv``
for ``--steps`` steps (batch 8, the paper's learning rates) and reports held-out-view PSNR of the training
identities (last view of each identity held out): decoded identities vs the canonical template alone.

    python3 benchmarks/gpu_small_prior_synthetic.py --gsplat-so .gsplat_build --identities 100 --views 12 --size 256 --uv 128 --steps 2000 --out $OUT
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
    ap.add_argument("--identities", type=int, default=100)
    ap.add_argument("--views", type=int, default=12)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--texture", type=int, default=256)
    ap.add_argument("--uv", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--data", default="/tmp/gasp_small_prior_data")
    ap.add_argument("--out", default="benchmarks/out")
    args = ap.parse_args()
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.images import save_png
    from gasp_ops.io.tables import write_parquet
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.curves import plot_curves
    from gasp_ops.prior.evaluate import identity_grid, reconstruction_report
    from gasp_ops.prior.run import open_training_views
    from gasp_ops.prior.trainer import train_prior
    from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views
    from gasp_ops.synthetic.dataset_render import render_identity

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    head = ProceduralHead().to(device)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ids = identity_table(plan_identities(args.identities, 0, head), head)
    views = plan_views(ids, args.views, 0, head, args.size)
    write_parquet(data / "identities.parquet", ids)
    write_parquet(data / "views.parquet", views)
    for row in ids.itertuples(index=False):
        render_identity(data, row, views[views.identity_id == row.identity_id], head, args.texture, 3, device=device)
    t_data = time.perf_counter() - t0
    config = PriorConfig(uv_resolution=args.uv, image_size=args.size, batch_size=8, steps=args.steps,
                         checkpoint_every=10**9, log_every=max(1, args.steps // 200), holdout_views=1)
    prior_views = open_training_views(data, config)
    res = train_prior(config, prior_views.to(device), head, None, progress=False)
    model = res.model.eval()
    held = reconstruction_report(model, prior_views.to(device), head)
    train = reconstruction_report(model, prior_views.to(device), head, idx=prior_views.train_indices()[:200])
    plot_curves(res.history, out / "small_prior_synthetic_curves.png")
    save_png(out / "small_prior_synthetic_grid.png", identity_grid(model, prior_views.to(device), head, max_subjects=8))
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "identities": args.identities, "views": args.views, "size": args.size, "uv": args.uv,
              "gaussians": model.count, "steps": args.steps, "data_seconds": t_data, "train_seconds": res.seconds,
              "images_per_s": res.images_per_second, "heldout": held, "train_views": train,
              "lpips": res.lpips.reason}
    print(json.dumps(result, indent=1))
    (out / "small_prior_synthetic.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
