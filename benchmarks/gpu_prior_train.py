"""Prior training on one GPU: throughput at the paper's scale and a small prior's held-out PSNR. No Dagster.

``--part throughput``: the procedural head bound at UV 558 (188,102 Gaussians, the paper's 187,776 on FLAME's
UV 512), 512² images, batch 8 of distinct subjects, bf16 autocast decoder, gsplat rendering, Adam, full loss
(L1 + SSIM + alpha + regularisers; LPIPS when its weights are cached). Targets are teacher renders
(``gasp_ops.prior.toy_dataset``, rendered on the GPU first), not the synthetic mesh renders. It reports images/s
over timed steps after warm-up, and the time of the decoder alone (forward + backward + Adam) and of the
render alone (forward + backward) for the same batch. Run under torchrun to time the DDP path (NCCL).

``--part small``: render a teacher dataset (``--subjects`` x ``--views`` at ``--size``), train a prior (UV
``--uv``) for ``--steps`` steps with the paper's learning rates, report the PSNR of held-out views of the
training identities (decoded vs the canonical template alone) and write the curves, grid and JSON to $OUT.

    python3 benchmarks/gpu_prior_train.py --gsplat-so .gsplat_build --part throughput
    torchrun --standalone --nproc_per_node=1 benchmarks/gpu_prior_train.py --gsplat-so .gsplat_build --part throughput
    python3 benchmarks/gpu_prior_train.py --gsplat-so .gsplat_build --part small --subjects 100 --uv 128 --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def _load_gsplat(folder):
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(folder)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(args, out: Path) -> dict:
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.dataset_batches import BatchSchedule
    from gasp_ops.prior.distributed import init_distributed, shutdown
    from gasp_ops.prior.perceptual import load_lpips
    from gasp_ops.prior.prior_model import GaussianPrior
    from gasp_ops.prior.toy_dataset import toy_views
    from gasp_ops.prior.trainer import camera_extent, make_optimizer, median_triangle_scale, train_step
    from gasp_ops.render.render import render

    info = init_distributed(args.device)
    device = info.device
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    head = ProceduralHead().to(device)
    B = args.batch
    t0 = time.perf_counter()
    views = toy_views(head, B * info.world_size, 2, args.size, uv_resolution=args.teacher_uv, seed=1,
                      holdout_views=0).to(device)
    _sync(device)
    t_data = time.perf_counter() - t0
    config = PriorConfig(uv_resolution=args.uv, batch_size=B * info.world_size, steps=10**6,
                         mixed_precision=not args.fp32)
    model = GaussianPrior.build(head, config, views.num_subjects, views.identity_coeffs.to(device)).to(device)
    opt = make_optimizer(model, config, camera_extent(views.to("cpu")) / median_triangle_scale(model, head))
    module = model
    if info.active:
        from torch.nn.parallel import DistributedDataParallel

        module = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    lp, lp_status = load_lpips("vgg", device)
    ac = None if args.fp32 or device.type != "cuda" else torch.bfloat16
    # distinct subjects in every batch: view 0 of each of the first B subjects (on this rank)
    idx = torch.arange(B) * 2 + info.rank * B * 2
    bg_gen = torch.Generator().manual_seed(0)

    def step():
        batch = views.gather(idx, device)
        bg = torch.rand(B, 3, generator=bg_gen).to(device)
        loss, _ = train_step(model, module, batch, head, bg, config, lp, ac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.timed):
        loss = step()
    _sync(device)
    dt = (time.perf_counter() - t0) / args.timed
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0

    # render alone: forward + backward of B posed avatars
    subjects = torch.arange(B, device=device)
    with torch.no_grad():
        batch = views.gather(idx, device)
        verts = head(batch.identity, batch.expression, batch.pose)
        g, _ = model(subjects, torch.arange(B, device=device), verts, None)
    fields = [t.detach().requires_grad_(True) for t in (g.means, g.quats, g.scales, g.opacities, g.colors)]
    from gasp_ops.render.gaussians import Gaussians3D

    def ren_step():
        o = render(Gaussians3D(*fields), batch.cameras)
        (o.rgb.mean() + o.alpha.mean()).backward()

    for _ in range(3):
        ren_step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.timed):
        ren_step()
    _sync(device)
    t_ren = (time.perf_counter() - t0) / args.timed
    # decoder alone: forward + backward + Adam for B distinct subjects

    def dec_step():
        attrs = model.decode(subjects, ac)
        loss = sum(v.float().square().mean() for v in attrs.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        dec_step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.timed):
        dec_step()
    _sync(device)
    t_dec = (time.perf_counter() - t0) / args.timed

    result = {"part": "throughput", "gaussians": model.count, "image_size": args.size, "batch_per_rank": B,
              "world_size": info.world_size, "ddp": info.active, "bf16": ac is not None,
              "lpips": lp_status.available, "lpips_reason": lp_status.reason,
              "step_ms": 1000 * dt, "images_per_s": B * info.world_size / dt, "decoder_fwd_bwd_adam_ms": 1000 * t_dec,
              "render_fwd_bwd_ms": 1000 * t_ren, "peak_mem_gib": peak, "teacher_data_s": t_data,
              "final_loss": float(loss.detach())}
    if info.is_main:
        print(json.dumps(result, indent=1))
        (out / f"throughput{'_ddp' if info.active else ''}{'_fp32' if args.fp32 else ''}.json").write_text(json.dumps(result, indent=1))
    shutdown(info)
    return result


def small(args, out: Path) -> dict:
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.images import save_png
    from gasp_ops.prior.checkpoint import save_prior
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.curves import plot_curves
    from gasp_ops.prior.distributed import init_distributed
    from gasp_ops.prior.evaluate import identity_grid, reconstruction_report
    from gasp_ops.prior.toy_dataset import toy_views
    from gasp_ops.prior.trainer import train_prior

    info = init_distributed(args.device)
    device = info.device
    head = ProceduralHead().to(device)
    t0 = time.perf_counter()
    views = toy_views(head, args.subjects, args.views, args.size, uv_resolution=args.teacher_uv, seed=2,
                      holdout_views=1)
    t_data = time.perf_counter() - t0
    config = PriorConfig(uv_resolution=args.uv, batch_size=args.batch, steps=args.steps, checkpoint_every=10**9,
                         log_every=max(args.steps // 200, 1))
    res = train_prior(config, views.to(device), head, out, dist_info=info, log=print, progress=False)
    views_cpu = views
    report_held = reconstruction_report(res.model, views_cpu.to(device), head, idx=views.heldout_indices())
    report_train = reconstruction_report(res.model, views_cpu.to(device), head, idx=views.train_indices()[:200])
    plot_curves(res.history, out / "small_prior_curves.png")
    save_png(out / "small_prior_grid.png", identity_grid(res.model, views_cpu.to(device), head, max_subjects=8))
    result = {"part": "small", "subjects": args.subjects, "views_per_subject": args.views, "image_size": args.size,
              "uv": args.uv, "gaussians": res.model.count, "steps": args.steps, "batch": args.batch,
              "train_seconds": res.seconds, "images_per_s": res.images_per_second, "teacher_data_s": t_data,
              "heldout": report_held, "train_views": report_train, "lpips": res.lpips.reason,
              "final": {k: v[-1] for k, v in res.history.items() if v}}
    print(json.dumps(result, indent=1))
    (out / "small_prior.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("throughput", "small"), default="throughput")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--gsplat-so", default=None, help="folder holding a prebuilt gsplat_cuda*.so")
    ap.add_argument("--uv", type=int, default=558)
    ap.add_argument("--teacher-uv", type=int, default=256)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timed", type=int, default=20)
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast (tf32 matmuls)")
    ap.add_argument("--subjects", type=int, default=100)
    ap.add_argument("--views", type=int, default=12)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default=os.environ.get("OUT", "benchmarks/out"))
    args = ap.parse_args()
    _load_gsplat(args.gsplat_so)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {"python": platform.python_version(), "torch": torch.__version__,
           "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"}
    print(json.dumps(env))
    (throughput if args.part == "throughput" else small)(args, out)


if __name__ == "__main__":
    main()
