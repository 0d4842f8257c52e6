"""GPU inference speed (GASP §6.6: 70 fps end to end on an RTX 4090): 3DMM parameters -> head model -> posing
(FastPoser) -> gsplat render at 512 x 512, 187,776 Gaussians, one frame at a time.

Reports frames/s for gsplat alone (pre-posed Gaussians), head + posing alone (eager and CUDA graph), and end to
end (eager and with head + posing in a CUDA graph). No Dagster.

    python3 benchmarks/gpu_runtime.py --gsplat-so .gsplat_build [--frames 500] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def timed(fn, frames: int) -> float:
    for _ in range(20):
        fn(0)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(frames):
        fn(i)
    torch.cuda.synchronize()
    return frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gsplat-so", default=None)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--n", type=int, default=187_776)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cpu_pose_speed import paper_scale_avatar

    from gasp_ops.export.video import head_orbit
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.render.gsplat_backend import render_gsplat
    from gasp_ops.runtime import AvatarRuntime
    from gasp_ops.synthetic import sample_expressions

    dev = torch.device("cuda")
    head = ProceduralHead()
    avatar = paper_scale_avatar(head, args.n)
    # the template's opacities/colours are random; make it a plausible opaque head for a representative render
    avatar.opacity_logits = torch.full_like(avatar.opacity_logits, 3.0)
    avatar.offsets = avatar.offsets * 0.0
    ident = 0.5 * torch.randn(head.n_identity, generator=torch.Generator().manual_seed(0))
    expr, pose = sample_expressions(range(64), 0, head)
    expr, pose = expr.to(dev), pose.to(dev)
    cams = head_orbit(head, [20.0], 5.0, args.size).to(dev)
    eager = AvatarRuntime(head, avatar, ident, dev)
    graphed = AvatarRuntime(head, avatar, ident, dev, cuda_graph=True)
    g0 = eager.gaussians(expr[:1], pose[0])
    res = {
        "gaussians": eager.poser.count, "image": args.size, "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "gsplat_only_fps": timed(lambda i: render_gsplat(g0, cams), args.frames),
        "pose_only_eager_fps": timed(lambda i: eager.gaussians(expr[i % 64:i % 64 + 1], pose[i % 64]), args.frames),
        "pose_only_graph_fps": timed(lambda i: graphed.gaussians(expr[i % 64:i % 64 + 1], pose[i % 64]), args.frames),
        "end_to_end_eager_fps": timed(lambda i: eager.render(expr[i % 64:i % 64 + 1], pose[i % 64], cams), args.frames),
        "end_to_end_graph_fps": timed(lambda i: graphed.render(expr[i % 64:i % 64 + 1], pose[i % 64], cams), args.frames),
    }
    out = graphed.render(expr[:1], pose[0], cams)
    res["mean_alpha"] = float(out.alpha.mean())
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "gpu_runtime.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
