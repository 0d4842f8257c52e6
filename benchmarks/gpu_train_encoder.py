"""Train the identity encoder (issue 17) for a trained prior on one GPU, time-boxed, and write what ships.

    python3 benchmarks/gpu_train_encoder.py --prior PRIOR.safetensors --dataset DATASET_DIR --out $OUT --seconds 240

PRIOR: a prior file (``gasp_ops.prior.run``; an fp16 copy works too). DATASET_DIR: the synthetic dataset folder it
was trained on (identities.parquet, views.parquet, images); its codes index the first ``n_subjects`` identities in
``PriorViews.from_synthetic`` order, with the prior's image size. Steps: a short calibration (two throw-away runs,
5 and 25 steps) measures the step time, then ``steps = 0.9 x seconds / step time`` (the cosine schedule ends on
time; ``max_seconds`` stops it anyway at ``--seconds``). Held-out: 5 % of the identities (every view), never
trained on. Outputs in --out: encoder.safetensors (fp16, <= 16 MB), encoder_summary.json (held-out code errors
single-frame and pooled, training-identity error, novel-view PSNR with the predicted / the prior's own / the mean
code, train and held-out curves, timings, SHA-256), encoder_curves.png, gpu_train_encoder.json (this script's
record: device, calibration, latency of one photo -> code -> decoded avatar). Checkpoints stay in --work, which
starts empty unless ``--resume`` (then the checkpoint's own config and step count are kept, no calibration: a run
cut off by the device's time limit continues exactly). With gsplat installed from wheels, pass ``--gsplat-so`` as
for the other GPU scripts (the novel-view check renders; without gsplat it uses the reference renderer).
``--set key=value`` overrides ``EncoderConfig`` fields (values JSON), e.g. ``--set render_weight=0.1``.
``--proxy-dataset DIR``: a second synthetic dataset of people the prior has no code for (e.g. ``real_proxy``
identities rendered by ``gpu_shipped_prior.py data --domain real_proxy``), used by the render loss of
``--set proxy_weight=W`` (each encoded from its input frames, rendered at another of its views); 5 % of them held
out and scored (novel-view PSNR) in the summary.
CPU smoke run: ``--device cpu --preset tiny --seconds 20``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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


def calibrate(prior, views, config, head, device, proxy_views=None) -> dict:
    """Seconds per training step (incl. its data work), from a 25-step throw-away run after a 5-step warm-up."""
    from gasp_ops.encoder.train import train_encoder

    probe = config.replace(val_every=0, keep_best=False, steps=10**6)
    train_encoder(prior, views, probe, head, None, device=device, stop_at=5, proxy_views=proxy_views)
    t0 = time.perf_counter()
    train_encoder(prior, views, probe, head, None, device=device, stop_at=25, proxy_views=proxy_views)
    _sync(device)
    per = (time.perf_counter() - t0) / 25
    return {"seconds_per_step": per}


@torch.no_grad()
def instant_latency(model, prior, views, head, device, repeats: int = 20) -> dict:
    """Median seconds of crop + encoder (1 frame) and of decoding the code into an avatar (one held-out view)."""
    from gasp_ops.encoder.crop import view_crops

    idx = torch.tensor([int(views.heldout_indices()[0]) if len(views.heldout_indices()) else 0])
    shape = views.identity_coeffs[views.subject[idx].cpu()].to(device)
    enc, dec = [], []
    for _ in range(repeats + 3):
        _sync(device)
        t0 = time.perf_counter()
        code = model.encode(view_crops(views, idx, head, model.config, device), shape[0])
        _sync(device)
        t1 = time.perf_counter()
        prior.avatar(code=code).to("cpu")
        _sync(device)
        enc.append(t1 - t0)
        dec.append(time.perf_counter() - t1)
    enc, dec = sorted(enc[3:]), sorted(dec[3:])
    return {"crop_and_encode_s": enc[len(enc) // 2], "decode_to_cpu_avatar_s": dec[len(dec) // 2]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", default=os.environ.get("OUT", "benchmarks/out"))
    ap.add_argument("--work", default="/tmp/gasp_encoder_work", help="checkpoints (resumable; not copied to --out)")
    ap.add_argument("--seconds", type=float, default=240.0, help="training time budget")
    ap.add_argument("--preset", default="paper", choices=("paper", "tiny"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--gsplat-so", default=None, help="folder with a prebuilt gsplat_cuda.so (as the other scripts)")
    ap.add_argument("--set", action="append", default=[], help="EncoderConfig field=value (value JSON)")
    ap.add_argument("--resume", action="store_true", help="continue --work's checkpoint (default: start afresh)")
    ap.add_argument("--proxy-dataset", default=None, help="people without codes for --set proxy_weight=W")
    args = ap.parse_args()

    from gasp_ops.encoder.config import EncoderConfig, default_encoder_config
    from gasp_ops.encoder.run import evaluation_report, open_prior_views, write_encoder_outputs
    from gasp_ops.encoder.train import CHECKPOINT_NAME, train_encoder
    from gasp_ops.io.tensors import load_tensors
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.checkpoint import load_prior

    _load_gsplat(args.gsplat_so)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    record: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
                    or "cpu", "torch": torch.__version__, "argv": sys.argv[1:]}
    t0 = time.perf_counter()
    head = ProceduralHead().to(device)
    prior, meta = load_prior(args.prior, head, device)
    views = open_prior_views(meta, args.dataset, args.prior)
    if device.type == "cuda":
        views = views.to(device)
    proxy = None
    if args.proxy_dataset:
        from gasp_ops.prior.dataset_batches import PriorViews
        from gasp_ops.synthetic.dataset_reader import SyntheticDataset

        proxy = PriorViews.from_synthetic(SyntheticDataset.open(Path(args.proxy_dataset), check_files=True), 0,
                                          views.image_size[0], 0)
        proxy = proxy.to(device) if device.type == "cuda" else proxy
        print(f"proxy people: {proxy.num_subjects} identities, {len(proxy)} views", flush=True)
    record["load_seconds"] = time.perf_counter() - t0
    print(f"loaded {views.num_subjects} identities, {len(views)} views at {views.image_size[0]} px in "
          f"{record['load_seconds']:.1f} s", flush=True)
    ckpt = work / CHECKPOINT_NAME
    if args.resume and ckpt.is_file():
        config = EncoderConfig.from_dict(load_tensors(ckpt)[1]["config"])
        record["resumed_from"] = str(ckpt)
    else:
        config = default_encoder_config(args.preset, **overrides)
        record["calibration"] = calibrate(prior, views, config, head, device, proxy)
        steps = max(10, int(0.9 * args.seconds / record["calibration"]["seconds_per_step"]))
        config = config.replace(steps=steps, checkpoint_every=max(steps // 4, 1))
        print(f"calibration: {record['calibration']['seconds_per_step'] * 1000:.1f} ms/step -> {steps} steps",
              flush=True)
    record["steps_planned"] = config.steps
    result = train_encoder(prior, views, config, head, work, device=device, log=lambda m: print(m, flush=True),
                           max_seconds=args.seconds, progress=False, proxy_views=proxy)
    t1 = time.perf_counter()
    report = evaluation_report(result, prior, views, head, device, proxy_views=proxy)
    record["eval_seconds"] = time.perf_counter() - t1
    try:
        record["latency"] = instant_latency(result.model, prior, views, head, device)
    except Exception as exc:  # noqa: BLE001 - a failed timing must not lose the trained encoder
        record["latency"] = f"unavailable: {type(exc).__name__}: {exc}"
    summary = write_encoder_outputs(work, result, report, prior_path=args.prior, dataset_root=args.dataset,
                                    extra={"device": record["device"], "proxy_dataset": args.proxy_dataset or ""})
    for name in ("encoder.safetensors", "encoder_summary.json", "encoder_curves.png"):
        shutil.copyfile(work / name, out / name)
    record.update({k: summary[k] for k in ("steps", "stopped_early", "train_seconds_this_run", "parameters",
                                           "encoder_sha256", "encoder_bytes", "prior_sha256", "report")})
    record.update({k: summary[k] for k in ("best_step", "best_val_code_nmse") if k in summary})
    (out / "gpu_train_encoder.json").write_text(json.dumps(record, indent=1, default=str))
    print(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
