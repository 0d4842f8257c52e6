"""CPU posing speed at the paper's scale (GASP §6.6: 67 poses/s on a 24-core i9-13900K): 187,776 Gaussians
bound to the procedural head (UV 558 binding, truncated to the paper's count), vertices -> world Gaussians.

Measures, for each thread count, the median time per pose over ``--repeats`` calls (after a warm-up; the numba
JIT compile / cache load is timed separately and excluded) of:
  * ``gasp_ops.runtime.FastPoser`` numba kernel (the default on the CPU; numba threads = the count),
  * ``FastPoser(backend="torch")`` (the fallback without numba; torch threads = the count),
  * the naive reference ``gasp_ops.avatar.pose`` (fewer repeats: ~0.1 s each),
checks the numba path against the reference (means, quaternions up to sign, scales), prints the load average
before and after (the development machine is shared), and the avatar file size (fp32 / fp16) at that scale.
No Dagster.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/cpu_pose_speed.py [--threads 1 2] [--repeats 300] [--n 187776]

On a shared machine set OMP_WAIT_POLICY=PASSIVE (before torch loads libgomp, which numba's OpenMP layer also
calls): with the default policy, spinning idle workers make 2 threads slower than 1 under contention.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def median_seconds(fn, repeats: int, warmup: int = 10) -> float:
    """Median wall time of one call over ``repeats`` timed calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--naive-repeats", type=int, default=20)
    ap.add_argument("--n", type=int, default=187_776)
    args = ap.parse_args()
    from gasp_ops.avatar import pose
    from gasp_ops.avatar_file import save_avatar_file
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.runtime import FastPoser
    from gasp_ops.runtime.posing import numba_backend

    print(f"load average before (1/5/15 min): {load()}; cores: {os.cpu_count()}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; torch {torch.__version__}")
    torch.set_num_threads(1)
    head = ProceduralHead()
    avatar = paper_scale_avatar(head, args.n)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        verts = head(0.5 * torch.randn(1, head.n_identity, generator=g),
                     0.5 * torch.randn(1, head.n_expression, generator=g))[0].contiguous()
    nb = numba_backend()
    t0 = time.perf_counter()
    fast = FastPoser(avatar)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = fast(verts)  # first call: numba compile, or load from its cache
    first = time.perf_counter() - t0
    slow = FastPoser(avatar, backend="torch")
    o = fast.order
    ref = pose(avatar, verts)
    qr = torch.nn.functional.normalize(ref.quats[0, o], dim=-1)
    err_m = float((ref.means[0, o] - out.means).abs().max())
    err_q = float(torch.minimum((out.quats - qr).abs().amax(-1), (out.quats + qr).abs().amax(-1)).max())
    err_s = float(((ref.scales[0, o] - out.scales).abs() / ref.scales[0, o]).max())
    print(f"Gaussians: {avatar.count}, faces used: {fast.faces_used.shape[0]}; FastPoser backend: "
          f"{fast.backend_used}" + (f" (numba {__import__('numba').__version__}, threading layer "
                                    f"{__import__('numba').threading_layer()})" if nb else " (numba unavailable)"))
    print(f"FastPoser setup {setup * 1000:.0f} ms, first call (JIT compile or cache load, not timed below) "
          f"{first * 1000:.0f} ms")
    print(f"{fast.backend_used} vs reference pose(): max |mean error| {err_m:.2e} m, max quaternion error (up to "
          f"sign) {err_q:.2e}, max relative scale error {err_s:.2e}")
    for t in args.threads:
        torch.set_num_threads(t)
        if nb:
            nb.set_threads(t)
        tf = median_seconds(lambda: fast(verts), args.repeats)
        ts = median_seconds(lambda: slow(verts), args.repeats // 4, warmup=3)
        with torch.no_grad():
            tn = median_seconds(lambda: pose(avatar, verts), args.naive_repeats, warmup=2)
        print(f"threads {t}: FastPoser[{fast.backend_used}] {1 / tf:.1f} poses/s ({tf * 1000:.2f} ms, median of "
              f"{args.repeats}); FastPoser[torch] {1 / ts:.1f} poses/s ({ts * 1000:.1f} ms, median of "
              f"{args.repeats // 4}); naive pose() {1 / tn:.1f} poses/s ({tn * 1000:.0f} ms, median of "
              f"{args.naive_repeats}); load average now {load()}")
    with tempfile.TemporaryDirectory() as d:
        ident = torch.zeros(head.n_identity)
        s32 = save_avatar_file(Path(d) / "a32.safetensors", avatar, ident, head).stat().st_size
        s16 = save_avatar_file(Path(d) / "a16.safetensors", avatar, ident, head, fp16=True).stat().st_size
    print(f"avatar file: {s32 / 1e6:.2f} MB (float32), {s16 / 1e6:.2f} MB (float16)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
