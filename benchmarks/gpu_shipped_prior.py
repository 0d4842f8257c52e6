"""The shipped prior's data and training on one GPU (issue: a real prior), in phases that resume across calls.

    python3 benchmarks/gpu_shipped_prior.py data  --root .gpu_prior --identities 1000 --views 16 --size 256 --texture 512
    python3 benchmarks/gpu_shipped_prior.py speed --root .gpu_prior --out $OUT      # 512² / 256² generation rates
    python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out $OUT --seconds 300 \
        --variant all:0 --variant p100:100 --variant p10:10 --variant p1:1

``data`` plans the paper's identity/view tables (seed 0, identities ``syn_00000..``; ``--domain real_proxy --start
20000``: the encoder's people without codes, ``rp_20000..``, never used for evaluation) and renders them with
``gasp_ops.synthetic.parallel_render`` (one process per host core, the mesh rasteriser on the GPU); complete
identities are skipped, so a second call finishes an interrupted one. ``speed`` times the generator end to end on
fresh identities (indices from 5,000, never used for training) at 512² (texture 1024, 50 views, the paper's
settings) and 256² (texture 512, 16 views) and checks GPU vs CPU renders of one identity. ``train`` trains one prior
per ``--variant name:n_subjects`` (0 = all) side by side, one process each on the same GPU, each stopping after
``--seconds`` of training with a checkpoint (the next call resumes it), and writes every variant's prior (fp16
copy), summary and curves under ``--out``. Identities 1,000..1,049 (prior domain) and every ``real_proxy`` identity
are never rendered here: they are the held-out evaluation people.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _head(device):
    from gasp_ops.headmodel.procedural import ProceduralHead

    return ProceduralHead().to(device)


def plan(root: Path, n: int, views: int, size: int, start: int = 0, seed: int = 0, domain: str = "prior"):
    """Write (or reuse) the identity and view tables of ``n`` identities of ``domain`` from index ``start``."""
    from gasp_ops.io.tables import read_parquet, write_parquet
    from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views

    if (root.parent / "plan_views.parquet").is_file():  # an earlier call ran out of time: finish its plan
        return read_parquet(root.parent / "plan_identities.parquet"), read_parquet(root.parent / "plan_views.parquet")
    if (root / "views.parquet").is_file():
        return read_parquet(root / "identities.parquet"), read_parquet(root / "views.parquet")
    head = _head("cpu")
    ids = identity_table(plan_identities(n, seed, head, domain=domain, start=start), head)
    table = plan_views(ids, views, seed, head, size)
    write_parquet(root / "identities.parquet", ids)
    write_parquet(root / "views.parquet", table)
    return ids, table


def cmd_data(args) -> dict:
    from gasp_ops.synthetic.parallel_render import render_dataset

    root = Path(args.root) / "synthetic"
    t0 = time.perf_counter()
    ids, views = plan(root, args.identities, args.views, args.size, start=args.start, domain=args.domain)
    t_plan = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = render_dataset(root, ids, views, texture_size=args.texture, supersample=3, device=args.device,
                         workers=args.workers, log=print, max_seconds=args.max_seconds, max_batch=args.max_batch)
    dt = time.perf_counter() - t1
    if len(res) < len(ids):  # out of time: train on the complete identities (a later call renders the rest)
        from gasp_ops.io.tables import write_parquet
        from gasp_ops.synthetic.dataset_render import identity_complete

        done = [i for i in ids.identity_id if identity_complete(root, i, int((views.identity_id == i).sum()))]
        print(f"only {len(done)} of {len(ids)} identities complete; tables cut to them (full plan kept)")
        write_parquet(root.parent / "plan_identities.parquet", ids)
        write_parquet(root.parent / "plan_views.parquet", views)
        write_parquet(root / "identities.parquet", ids[ids.identity_id.isin(done)])
        write_parquet(root / "views.parquet", views[views.identity_id.isin(done)])
    made = sum(r.num_views for r in res if not r.skipped)
    out = {"identities": len(ids), "views": len(views), "size": args.size, "texture": args.texture,
           "plan_seconds": t_plan, "render_seconds": dt, "images_rendered": made,
           "images_per_second": made / dt if dt > 0 else 0.0, "workers": args.workers or os.cpu_count()}
    print(json.dumps(out))
    (Path(args.root) / "data_summary.json").write_text(json.dumps(out, indent=1))
    return out


def cmd_speed(args) -> dict:
    import numpy as np
    import torch

    from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views
    from gasp_ops.synthetic.parallel_render import render_dataset
    from gasp_ops.synthetic.render import render_views
    from gasp_ops.synthetic.dataset_plan import view_inputs

    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "host_cores": os.cpu_count()}
    head = _head("cpu")
    settings = {512: (1024, 50), 256: (512, 16)}  # size -> (texture, views per identity)
    for size in args.sizes:
        (texture, n_views), n_ids = settings[size], args.speed_identities
        root = Path(args.root) / f"speed_{size}"
        shutil.rmtree(root, ignore_errors=True)
        ids = identity_table(plan_identities(n_ids, 0, head, start=5000), head)
        views = plan_views(ids, n_views, 0, head, size)
        t0 = time.perf_counter()
        # At 512² (texture 1024, supersample 3) a worker rasterising all 50 views at once held ~13.5 GB of GPU memory
        # (H200, 2026-12-01: 15 workers ran out of its 140 GB, so 8 were used); --max-batch bounds it per worker.
        res = render_dataset(root, ids, views, texture_size=texture, supersample=3, device=args.device,
                             workers=args.workers, max_batch=args.max_batch)
        dt = time.perf_counter() - t0
        report[f"{size}"] = {"identities": n_ids, "views": n_views, "texture": texture, "seconds": dt,
                             "workers": args.workers, "max_batch": args.max_batch,
                             "images_per_second": n_ids * n_views / dt,
                             "mean_seconds_per_identity": {k: float(np.mean([r.seconds[k] for r in res]))
                                                           for k in ("assets", "render", "write")}}
        if torch.cuda.is_available():
            report[f"{size}"]["peak_gpu_memory_gb_this_process"] = torch.cuda.max_memory_allocated() / 1e9
        print(json.dumps(report[f"{size}"]))
        shutil.rmtree(root, ignore_errors=True)
    # GPU vs CPU agreement on one identity, 4 views at 128².
    if args.no_agreement:
        _write_json(Path(args.out) / f"data_speed{args.tag}.json", report)
        return report
    ident = plan_identities(1, 0, head, start=5000)[0]
    one = plan_views(identity_table([ident], head), 4, 0, head, 128)
    expr, pose, cams = view_inputs(one)
    outs = {}
    for dev in ("cpu", args.device):
        h = _head(dev)
        outs[dev] = render_views(h, ident, expr, pose, cams, texture_size=256, supersample=3, device=dev)
    a, b = outs["cpu"], outs[args.device]
    report["gpu_vs_cpu"] = {
        "rgb_max_abs": float((a.rgb - b.rgb.cpu()).abs().max()),
        "rgb_mean_abs": float((a.rgb - b.rgb.cpu()).abs().mean()),
        "alpha_max_abs": float((a.alpha - b.alpha.cpu()).abs().max()),
        "face_id_agree": float((a.face_id == b.face_id.cpu()).float().mean()),
        "rgb_uint8_agree": float(np.mean(np.round(a.rgb.numpy() * 255) == np.round(b.rgb.cpu().numpy() * 255))),
    }
    print(json.dumps(report["gpu_vs_cpu"]))
    _write_json(Path(args.out) / f"data_speed{args.tag}.json", report)
    return report


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def cmd_train(args) -> None:
    root = Path(args.root)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    procs = {}
    for spec in args.variant:
        name, _, rest = spec.partition(":")
        n_sub, *extra = rest.split(";")
        folder = root / "priors" / name
        folder.mkdir(parents=True, exist_ok=True)
        sets = [f"n_subjects={int(n_sub)}", f"uv_resolution={args.uv}", f"image_size={args.size}",
                f"steps={args.steps}", "batch_size=8", "checkpoint_every=1000", "log_every=50", "holdout_views=1",
                *extra]
        cmd = [sys.executable, "-m", "gasp_ops.prior.launch", "--dataset", str(root / "synthetic"), "--out",
               str(folder), "--preset", "paper", "--device", args.device, "--max-seconds", str(args.seconds)]
        if args.stop_at:
            cmd += ["--stop-at", str(args.stop_at)]
        for s in sets:
            cmd += ["--set", s]
        log = open(folder / "train.log", "a")
        env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONUNBUFFERED": "1"}
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), folder, sets)
        print("started", name, " ".join(sets), flush=True)
    for name, (p, folder, sets) in procs.items():
        rc = p.wait()
        print(name, "exit", rc, flush=True)
    _collect(root, out, list(procs))


def _collect(root: Path, out: Path, names: list[str]) -> None:
    """fp16 copies of each variant's prior + summaries/curves into ``out/priors.tar`` (the device brings back files
    of at most 16 MiB: five fp16 priors at UV 128 are ~3.7 MB each)."""
    import tarfile

    import torch

    from gasp_ops.io.tensors import load_tensors, save_tensors

    small = out / "priors.tar"
    with tarfile.open(small, "w") as tar:
        for name in names:
            folder = root / "priors" / name
            prior = folder / "prior.safetensors"
            if prior.is_file():
                tensors, meta = load_tensors(prior)
                half = {k: (v.half() if v.is_floating_point() else v) for k, v in tensors.items()}
                save_tensors(folder / "prior_fp16.safetensors", half, meta)
                tar.add(folder / "prior_fp16.safetensors", arcname=f"{name}/prior_fp16.safetensors")
            for extra in ("summary.json", "curves.png", "identities.png"):
                if (folder / extra).is_file():
                    tar.add(folder / extra, arcname=f"{name}/{extra}")
            if (folder / "train.log").is_file():  # the progress bar makes the whole log tens of MB: keep its end
                tail = folder / "train_tail.log"
                tail.write_bytes((folder / "train.log").read_bytes()[-20000:])
                tar.add(tail, arcname=f"{name}/train_tail.log")
    print("collected", small, small.stat().st_size, flush=True)
    del torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("phase", choices=("data", "speed", "train"))
    ap.add_argument("--root", default=".gpu_prior")
    ap.add_argument("--out", default=os.environ.get("OUT", "benchmarks/out"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--identities", type=int, default=1000)
    ap.add_argument("--start", type=int, default=0, help="data: index of the first identity")
    ap.add_argument("--domain", default="prior", help="data: prior, prior_lit (the prior's people under key light) or "
                    "real_proxy (people for the encoder's proxy loss)")
    ap.add_argument("--views", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--texture", type=int, default=512)
    ap.add_argument("--max-seconds", type=float, default=None)
    ap.add_argument("--speed-identities", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=None, help="views a worker rasterises at once (render_views)")
    ap.add_argument("--tag", default="", help="speed: suffix of data_speed<TAG>.json")
    ap.add_argument("--sizes", type=int, nargs="+", choices=(512, 256), default=[512, 256], help="speed: image sizes")
    ap.add_argument("--no-agreement", action="store_true", help="speed: skip the GPU-vs-CPU render check")
    ap.add_argument("--uv", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--stop-at", type=int, default=None,
                    help="train: end every variant at this step of the --steps schedule (another prior's step count)")
    ap.add_argument("--variant", action="append", default=[], help="name:n_subjects[;key=value...] (values JSON)")
    args = ap.parse_args()
    {"data": cmd_data, "speed": cmd_speed, "train": cmd_train}[args.phase](args)


if __name__ == "__main__":
    main()
