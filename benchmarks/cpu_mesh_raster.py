"""CPU speed of the synthetic-data mesh rasteriser on the procedural head mesh (9,002 vertices, 18,000 faces).

    python benchmarks/cpu_mesh_raster.py [--size 128] [--supersample 3] [--threads 1] [--repeats 5]

Prints seconds per image (best and median of the repeats) for one camera with a 1024^2 texture.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gasp_ops.head_preview import framing_cameras
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.raster.mesh_raster import render_mesh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--supersample", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    head = ProceduralHead()
    topo = head.topology
    verts = head(torch.zeros(1, head.n_identity), torch.zeros(1, head.n_expression))[0]
    cams = framing_cameras(verts, [30.0], args.size)
    tex = torch.rand(1, 1024, 1024, 3, generator=torch.Generator().manual_seed(0))
    render_mesh(verts, topo.faces, topo.uvs, topo.uv_faces, tex, cams, supersample=args.supersample)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        render_mesh(verts, topo.faces, topo.uvs, topo.uv_faces, tex, cams, supersample=args.supersample)
        times.append(time.perf_counter() - t0)
    print(f"render_mesh {args.size}x{args.size} s={args.supersample} threads={args.threads}: "
          f"best {min(times):.3f} s, median {statistics.median(times):.3f} s per image")


if __name__ == "__main__":
    main()
