"""CPU posing speed at the paper's scale (GASP §6.6: 67 poses/s on a 24-core i9-13900K): 187,776 Gaussians
bound to the procedural head (UV 558 binding, truncated to the paper's count), vertices -> world Gaussians.

Compares the naive ``gasp_ops.avatar.pose`` with ``gasp_ops.runtime.FastPoser`` (precomputed static data), checks
they agree, and reports the avatar file size (fp32 / fp16) at that scale. No Dagster.

    python benchmarks/cpu_pose_speed.py [--threads 2] [--seconds 5] [--n 187776]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def paper_scale_avatar(head, n: int, uv: int = 558):
    from gasp_ops.avatar import GaussianAvatar
    from gasp_ops.binding.uv_init import uv_binding

    b = uv_binding(head.topology, uv)
    base = GaussianAvatar.from_binding(head.topology, b, head.template)
    keep = torch.arange(min(n, base.count))
    g = torch.Generator().manual_seed(0)
    k = len(keep)
    return GaussianAvatar(faces=base.faces, face_ids=base.face_ids[keep], barycentrics=base.barycentrics[keep],
                          offsets=0.1 * torch.randn(k, 3, generator=g), log_scales=base.log_scales[keep],
                          quats=torch.randn(k, 4, generator=g), colors=torch.rand(k, 3, generator=g),
                          opacity_logits=torch.randn(k, generator=g))


def rate(fn, seconds: float) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--n", type=int, default=187_776)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from gasp_ops.avatar import pose
    from gasp_ops.avatar_file import save_avatar_file
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.runtime import FastPoser

    head = ProceduralHead()
    avatar = paper_scale_avatar(head, args.n)
    with torch.no_grad():
        verts = head(0.5 * torch.randn(1, head.n_identity), 0.5 * torch.randn(1, head.n_expression))[0].contiguous()
    t0 = time.perf_counter()
    poser = FastPoser(avatar)
    setup = time.perf_counter() - t0
    ref, fast = pose(avatar, verts), poser(verts)
    err = float((ref.means[0, poser.order] - fast.means).abs().max())
    with torch.no_grad():
        naive = rate(lambda: pose(avatar, verts), args.seconds)
    fastr = rate(lambda: poser(verts), args.seconds)
    with tempfile.TemporaryDirectory() as d:
        ident = torch.zeros(head.n_identity)
        s32 = save_avatar_file(Path(d) / "a32.safetensors", avatar, ident, head).stat().st_size
        s16 = save_avatar_file(Path(d) / "a16.safetensors", avatar, ident, head, fp16=True).stat().st_size
    print(f"Gaussians: {avatar.count}, threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"naive gasp_ops.avatar.pose: {naive:.1f} poses/s ({1000 / naive:.1f} ms)")
    print(f"FastPoser: {fastr:.1f} poses/s ({1000 / fastr:.2f} ms); one-off setup {setup * 1000:.0f} ms; "
          f"max |mean error| {err:.2e} m")
    print(f"avatar file: {s32 / 1e6:.2f} MB (float32), {s16 / 1e6:.2f} MB (float16)")


if __name__ == "__main__":
    main()
