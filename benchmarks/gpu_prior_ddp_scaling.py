"""Prior training with torch DDP on several GPUs: the same run at world size 1, 2, ... (issue: multi-GPU prior).

Launch once per world size with torchrun; each run trains the prior at the paper's Gaussian count (UV 558 on the
procedural head = 188,102 Gaussians) at 512² for a fixed number of steps on teacher renders
(``gasp_ops.prior.toy_dataset``; every rank builds the same set from the same seed) and writes, on rank 0,
``<out>/ddp_ws<W>.json`` with the per-step loss history, images/s and wall time. With the same global batch,
world sizes must give the same loss curve within noise (DDP averages gradients over ranks; the batch order is a
function of the step).

    torchrun --standalone --nproc_per_node=1 benchmarks/gpu_prior_ddp_scaling.py --gsplat-so .gsplat_build --out $OUT
    torchrun --standalone --nproc_per_node=2 benchmarks/gpu_prior_ddp_scaling.py --gsplat-so .gsplat_build --out $OUT
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
    ap.add_argument("--uv", type=int, default=558)
    ap.add_argument("--teacher-uv", type=int, default=128)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--subjects", type=int, default=32)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8, help="global batch (split over the ranks)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", default="benchmarks/out")
    args = ap.parse_args()
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.distributed import init_distributed, shutdown
    from gasp_ops.prior.toy_dataset import toy_views
    from gasp_ops.prior.trainer import train_prior

    info = init_distributed("auto")
    torch.backends.cuda.matmul.allow_tf32 = True
    head = ProceduralHead().to(info.device)
    views = toy_views(head, args.subjects, args.views, args.size, uv_resolution=args.teacher_uv, seed=3,
                      holdout_views=0).to(info.device)
    config = PriorConfig(uv_resolution=args.uv, batch_size=args.batch, steps=args.steps, checkpoint_every=10**9,
                         log_every=1)
    if info.active:
        torch.distributed.barrier()
    t0 = time.perf_counter()
    res = train_prior(config, views, head, None, dist_info=info, progress=False)
    wall = time.perf_counter() - t0
    if info.is_main:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result = {"world_size": info.world_size, "gpu": torch.cuda.get_device_name(info.device) if info.device.type == "cuda" else "cpu",
                  "gaussians": res.model.count, "image_size": args.size, "global_batch": args.batch,
                  "steps": args.steps, "wall_s": wall, "train_s": res.seconds,
                  "images_per_s": res.images_per_second, "history": res.history}
        (out / f"ddp_ws{info.world_size}.json").write_text(json.dumps(result))
        print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1))
    shutdown(info)


if __name__ == "__main__":
    main()
