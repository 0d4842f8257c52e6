"""Time-vs-quality curve of enrolment (issue 17): novel-view PSNR / SSIM / ID-SIM against wall time and steps, from
the encoder's code (0 steps = instant mode) and from the mean init, single image and monocular (Tab. 1 protocol,
``evaluation.time_quality``).

    # GPU (the lead): the real_proxy subjects' preprocessed frame tables, the shipped prior and encoder
    python3 benchmarks/time_vs_quality.py --prior PRIOR.safetensors --encoder ENCODER.safetensors \
        --frames data/paper/capture/900/frames.parquet --frames data/paper/capture/901/frames.parquet \
        --steps 0,50,100,300,1100 --image-size 256 --device cuda --tag h200 --out results
    # CPU, tiny preset (a tiny prior / encoder, 64 px, small budgets)
    python3 benchmarks/time_vs_quality.py --prior P --encoder E --frames F --preset tiny --steps 0,8,32 \
        --image-size 64 --device cpu --tag cpu_tiny --out results

Writes results/time_vs_quality_<tag>.parquet (per frame and metric, with init, steps, seconds, device and the
provenance columns commit, date, torch, preset, image_size, prior_sha256, encoder_sha256),
results/time_vs_quality_<tag>.md (means) and results/time_vs_quality_<tag>.png (the curve). ``--append`` adds this
call's points to an existing parquet of the same tag (a point measured again replaces the old one), so a long
sweep can run in several calls (e.g. one per setting or subject within a device's time limit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def with_provenance(rows, *, prior_path, encoder_path, preset: str, image_size: int, commit: str = ""):
    """``rows`` with provenance columns: commit (``--commit`` or ``git rev-parse``), date (UTC), torch (those three
    from ``gpu_tables.provenance``, as the tables' rows), prior_sha256, encoder_sha256, preset, image_size."""
    from benchmarks.gpu_tables import provenance
    from gasp_models import file_sha256

    prov = provenance("cpu", commit)
    return rows.assign(commit=prov["commit"], torch=prov["torch"], date=prov["date"], preset=preset,
                       image_size=int(image_size), prior_sha256=file_sha256(prior_path),
                       encoder_sha256=file_sha256(encoder_path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", required=True)
    ap.add_argument("--encoder", required=True)
    ap.add_argument("--frames", action="append", required=True, help="a subject's frames.parquet (repeatable)")
    ap.add_argument("--out", default="results")
    ap.add_argument("--tag", default=None, help="file-name tag (default: the device type)")
    ap.add_argument("--preset", default="paper", help="base FitConfig (stage proportions, rates): paper | tiny")
    ap.add_argument("--steps", default="0,50,100,300,1100", help="comma-separated step budgets (0 = no optimisation)")
    ap.add_argument("--inits", default="encoder,mean")
    ap.add_argument("--settings", default="single_image,monocular")
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--max-eval-frames", type=int, default=16)
    ap.add_argument("--max-train-frames", type=int, default=None)
    ap.add_argument("--metrics", default="psnr,ssim,id_sim")
    ap.add_argument("--device", default="cuda", help="cuda (falls back to cpu when absent) or cpu")
    ap.add_argument("--gsplat-so", default=None, help="folder with a prebuilt gsplat_cuda.so")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--append", action="store_true", help="merge with an existing parquet of the same tag")
    ap.add_argument("--commit", default="", help="the commit measured (default: git rev-parse of this checkout)")
    ap.add_argument("--photo-projection", choices=("off", "on"), default="off",
                    help="on: every point's fit uses FitConfig.photo_projection (stage 3 from the photos' projected "
                         "colours; at 0 steps the decoded avatar gets them); the instant point projects either way")
    args = ap.parse_args(argv)

    import torch

    from evaluation.time_quality import markdown_table, plot_time_quality, summarise, time_vs_quality
    from gasp_ops.encoder.checkpoint import load_encoder
    from gasp_ops.fitting.config import default_fit_config
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.atomic import write_text_atomic
    from gasp_ops.io.tables import write_parquet
    from gasp_ops.prior.checkpoint import load_prior

    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(args.gsplat_so)
    device = torch.device(args.device if (args.device != "cuda" or torch.cuda.is_available()) else "cpu")
    head = ProceduralHead().to(device)
    prior, _ = load_prior(args.prior, head, device)
    encoder, _ = load_encoder(args.encoder, device)
    metrics = [m for m in args.metrics.split(",") if m]
    embedder = None
    if "id_sim" in metrics:
        from evaluation.identity import face_embedder

        embedder = face_embedder()[0]
    config = default_fit_config(args.preset, seed=args.seed).replace(photo_projection=args.photo_projection == "on")
    rows = time_vs_quality(args.frames, prior, encoder, head, config,
                           settings=[s for s in args.settings.split(",") if s],
                           budgets=[int(s) for s in args.steps.split(",") if s != ""],
                           inits=[i for i in args.inits.split(",") if i], image_size=args.image_size,
                           max_eval_frames=args.max_eval_frames, max_train_frames=args.max_train_frames,
                           metrics=metrics, embedder=embedder, device=device, log=lambda m: print(m, flush=True))
    rows = with_provenance(rows, prior_path=args.prior, encoder_path=args.encoder, preset=args.preset,
                           image_size=args.image_size, commit=args.commit).assign(photo_projection=args.photo_projection)
    tag = args.tag or device.type
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"time_vs_quality_{tag}.parquet"
    if args.append and target.is_file():
        import pandas as pd

        from gasp_ops.io.tables import read_parquet

        old = read_parquet(target)
        key = ["subject", "setting", "init", "steps"]
        new_keys = set(map(tuple, rows[key].astype(str).to_numpy()))
        keep = [tuple(k) not in new_keys for k in old[key].astype(str).to_numpy()]
        rows = pd.concat([old[keep], rows], ignore_index=True)
    write_parquet(target, rows)
    summary = summarise(rows)
    prov = rows.drop_duplicates(["commit", "prior_sha256", "encoder_sha256"]) if "commit" in rows else rows.iloc[:0]
    lines = [f"- commit {r.commit}, {r.date}, torch {r.torch}, preset {r.preset}, {r.image_size} px, prior SHA-256 "
             f"{r.prior_sha256}, encoder SHA-256 {r.encoder_sha256}" for r in prov.itertuples(index=False)]
    write_text_atomic(out / f"time_vs_quality_{tag}.md", markdown_table(summary) + "\n\nProvenance:\n"
                      + "\n".join(lines) + "\n")
    plot_time_quality(summary, out / f"time_vs_quality_{tag}.png", metrics)
    print(markdown_table(summary))
    print(f"wrote {out}/time_vs_quality_{tag}.parquet / .md / .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
