"""Held-out people, single image: novel-view quality of fits with each prior variant (issue: a real prior).

    python3 benchmarks/gpu_heldout_fits.py --prior shipped=PATH --prior p100=PATH ... --prior none= \
        --subjects 12 --size 256 --workers 12 --out $OUT

Subjects are ``real_proxy`` identities F..F+N-1 (``--first-subject F``, default 0; or the list ``--people``; seed 0;
a domain the priors never see: other texture statistics, directional light, colour cast, sensor noise) and, with ``--prior-domain K``,
prior-domain identities 1000..1000+K-1 (held out of the shipped prior's 1,000 training identities). Each is rendered
at neutral expression from a frontal camera (the single input image) and from ``NOVEL_AZIMUTHS`` (the novel views,
never fitted). Every (subject, prior) pair is fitted with the same ``FitConfig`` (default: the paper's 500 / 500 /
100 steps; ``none`` = no prior, the same total number of steps of direct Gaussian optimisation; ``--prior-set`` gives
one prior name its own settings, so one file under several names compares fit settings, and ``init="encoder"``
starts stage 1 from the ``--encoder`` file's code), rendered at the
novel cameras and scored over black: PSNR and SSIM of the whole image (the ground truth is premultiplied, so
silhouette errors count). One process per worker shares the GPU; each writes one JSON row per fit, so a partial run
keeps what finished. The first subjects' renders are kept for contact sheets (``--sheet-subjects``).
``--light uniform`` renders the ``real_proxy`` people (their own textures) under the prior domain's look instead of
their own - uniform white light, no colour cast, blur or sensor noise - for input and truth alike (the lighting
ablation: how much of a fit's error on the unseen side is the key light the input image shows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOVEL_AZIMUTHS = (45.0, -45.0, 90.0, -90.0, 180.0)
SHEET_AZIMUTHS = (0.0, 90.0, 180.0)

_W: dict = {}


def _init(device: str, gsplat_so: str | None, crash_dir: str | None = None, encoder: str | None = None,
          light: str = "own") -> None:
    import torch

    from benchmarks.fit_pool import enable_crash_log
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    enable_crash_log(crash_dir)
    use_prebuilt_extension(gsplat_so)
    torch.set_num_threads(1)
    from gasp_ops.headmodel.procedural import ProceduralHead

    _W.update(device=device, head=ProceduralHead().to(device), priors={}, subjects={}, encoder_path=encoder,
              light=light)


def subject_views(domain: str, index: int, size: int):
    """(identity, FitInputs of the frontal image, novel SyntheticViews, sheet SyntheticViews) for one person, rendered
    under the look of ``domain`` (or the prior domain's uniform light when the pool's ``light`` is "uniform")."""
    import torch

    from gasp_ops.fitting.inputs import from_synthetic
    from gasp_ops.headmodel.pose import HeadPose
    from gasp_ops.synthetic.assets import build_assets
    from gasp_ops.synthetic.cameras import fixed_cameras
    from gasp_ops.synthetic.identity import sample_identity

    key = (domain, index, size)
    if key in _W["subjects"]:
        return _W["subjects"][key]
    head = _W["head"]
    ident = sample_identity(index, 0, head, domain=domain)
    assets = build_assets(head, ident, 512, device=_W["device"])
    azimuths = (0.0, *NOVEL_AZIMUTHS, *SHEET_AZIMUTHS)
    cams = fixed_cameras(azimuths, [0.0] * len(azimuths), size, head=head)
    n = len(azimuths)
    expr = torch.zeros(n, head.n_expression)
    pose = HeadPose.zeros(n)
    look = "prior" if _W.get("light") == "uniform" else domain
    inputs, views = from_synthetic(head, ident, cams, expr, pose, domain=look, supersample=3, assets=assets)
    front = inputs.subset([0])
    novel = list(range(1, 1 + len(NOVEL_AZIMUTHS)))
    sheet = list(range(1 + len(NOVEL_AZIMUTHS), n))
    _W["subjects"][key] = (ident, front, inputs, views, novel, sheet)
    return _W["subjects"][key]


def _prior(name: str, path: str):
    from gasp_ops.prior.checkpoint import load_prior

    if not path:
        return None
    if name not in _W["priors"]:
        _W["priors"][name] = load_prior(path, _W["head"], _W["device"])[0]
    return _W["priors"][name]


def _encoder(config):
    """The ``--encoder`` file's encoder when ``config`` starts stage 1 from its code (``init="encoder"``), else None."""
    from gasp_ops.encoder.checkpoint import load_encoder

    if config.init != "encoder":
        return None
    if "encoder" not in _W:
        _W["encoder"] = load_encoder(_W["encoder_path"], _W["device"])[0]
    return _W["encoder"]


def fit_one(domain: str, index: int, prior_name: str, prior_path: str, size: int, config_json: str,
            keep: bool) -> dict:
    import numpy as np
    import torch

    from evaluation.metrics import psnr, ssim
    from gasp_ops.encoder.modes import fit_with_mode
    from gasp_ops.fitting.config import FitConfig
    from gasp_ops.fitting.scene import posed_vertices
    from gasp_ops.render.render import render
    from gasp_ops.runtime.posing import FastPoser

    head, dev = _W["head"], _W["device"]
    _ident, front, inputs, views, novel, sheet = subject_views(domain, index, size)
    prior = _prior(prior_name, prior_path)
    config = FitConfig.from_dict(json.loads(config_json))
    if prior is None:
        config = config.replace(use_prior=False)
    t0 = time.perf_counter()
    result = fit_with_mode(prior, head, front, config, encoder=_encoder(config), device=dev, uv_resolution=128)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        idx = torch.tensor([0, *novel, *sheet])
        sub = inputs.subset(idx).to(dev)
        out = render(FastPoser(result.avatar, device=dev)(posed_vertices(head, sub)), sub.cameras)
        pred = out.rgb.clamp(0, 1).cpu()
        truth = views.rgb[idx.to(views.rgb.device)].cpu()
    row = {"domain": domain, "subject": index, "prior": prior_name, "light": _W.get("light", "own"),
           "fit_seconds": seconds,
           "gaussians": int(result.avatar.count), "steps": [config.steps_inversion, config.steps_decoder,
                                                           config.steps_refine],
           "psnr_input": psnr(pred[0], truth[0]),
           "psnr_novel": float(np.mean([psnr(pred[k], truth[k]) for k in range(1, 1 + len(novel))])),
           "ssim_novel": float(np.mean([ssim(pred[k], truth[k]) for k in range(1, 1 + len(novel))])),
           "psnr_back": psnr(pred[len(novel)], truth[len(novel)]),
           "psnr_per_view": [psnr(pred[k], truth[k]) for k in range(1, 1 + len(novel))]}
    if keep:  # front / side / back renders and truth, as base64 PNG strips (kept small for the trip back)
        s0 = 1 + len(novel)
        row["sheet"] = _png_strip(pred[s0:])
        row["sheet_truth"] = _png_strip(truth[s0:])
        row["input_image"] = _png_strip(truth[:1])
    return row


def _png_strip(images) -> str:
    """[K, H, W, 3] float in [0, 1] -> base64 of one PNG with the K images side by side."""
    import base64

    import cv2
    import numpy as np

    strip = np.concatenate(list((images.numpy().clip(0, 1) * 255 + 0.5).astype(np.uint8)), axis=1)
    _ok, buf = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return base64.b64encode(buf.tobytes()).decode()


def _apply_set(config: dict, item: str) -> dict:
    """``config`` with one ``KEY=JSON`` applied: a JSON object updates a nested group (lr, loss, prior_reg) key by key
    instead of replacing it."""
    k, sep, v = item.partition("=")
    if not sep or not k:
        raise ValueError(f"expected KEY=JSON, got {item!r}")
    try:
        v = json.loads(v)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{item!r}: the value is not JSON ({exc.msg})") from None
    return {**config, k: {**config[k], **v} if isinstance(v, dict) and isinstance(config.get(k), dict) else v}


def fit_configs(preset: str, sets: list[str], prior_sets: list[str], names: list[str]) -> dict[str, dict]:
    """The FitConfig dict of each prior name: the preset's defaults, then ``sets`` (every prior), then the
    ``NAME:KEY=JSON`` items of ``prior_sets`` for that name. Each is validated by ``FitConfig.from_dict``; an unknown
    name, a malformed item or a bad value raises ``ValueError`` (one line)."""
    from gasp_ops.errors import GaspInputError
    from gasp_ops.fitting.config import PRESET_DEFAULTS, FitConfig

    base = dict(PRESET_DEFAULTS[preset])
    for item in sets:
        base = _apply_set(base, item)
    configs = {name: base for name in names}
    for item in prior_sets:
        name, sep, rest = item.partition(":")
        if not sep or name not in configs:
            raise ValueError(f"--prior-set {item!r}: expected NAME:KEY=JSON with NAME one of {', '.join(names)}")
        configs[name] = _apply_set(configs[name], rest)
    for name, config in configs.items():
        try:
            FitConfig.from_dict(config)
        except GaspInputError as exc:
            raise ValueError(f"fit settings of prior {name!r}: {exc}") from None
    return configs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", action="append", default=[], help="name=path (empty path: no prior)")
    ap.add_argument("--subjects", type=int, default=12)
    ap.add_argument("--first-subject", type=int, default=0, help="the first real_proxy identity (more people)")
    ap.add_argument("--people", default=None, metavar="I,J,...",
                    help="these real_proxy identities instead of --first-subject / --subjects (e.g. one group's people)")
    ap.add_argument("--prior-domain", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--gsplat-so", default=None)
    ap.add_argument("--preset", choices=("paper", "tiny"), default="paper",
                    help="FitConfig preset (paper: 500 / 500 / 100 steps; tiny: the CPU enrolment's 20 / 40 / 120)")
    ap.add_argument("--set", action="append", default=[],
                    help="FitConfig key=JSON value over the preset (a JSON object updates a group, e.g. lr, key by key)")
    ap.add_argument("--prior-set", action="append", default=[], metavar="NAME:KEY=JSON",
                    help="like --set, for the fits of prior NAME only (fit-setting variants of one prior file, "
                         "each --prior NAME=PATH under its own name, in one pool)")
    ap.add_argument("--encoder", default=None,
                    help="identity encoder file for the fits whose settings say init=\"encoder\" (stage 1 from its code)")
    ap.add_argument("--light", choices=("own", "uniform"), default="own",
                    help="the people's own look (default) or the prior domain's uniform white light (lighting ablation)")
    ap.add_argument("--sheet-subjects", type=int, default=3)
    ap.add_argument("--out", default=os.environ.get("OUT", "benchmarks/out"))
    ap.add_argument("--deadline", type=float, default=1e9, help="seconds; unfinished fits are reported missing")
    args = ap.parse_args()
    if args.first_subject < 0 or args.subjects < 0:
        ap.error("--first-subject and --subjects must be >= 0 (real_proxy identities are numbered from 0)")
    priors = [p.partition("=")[::2] for p in args.prior]
    try:
        configs = fit_configs(args.preset, args.set, args.prior_set, [name for name, _ in priors])
    except ValueError as exc:
        ap.error(str(exc))
    if any(c.get("init") == "encoder" for c in configs.values()) and not args.encoder:
        ap.error('init="encoder" needs --encoder (the identity encoder trained for that prior)')
    if args.encoder and not Path(args.encoder).is_file():
        ap.error(f"--encoder {args.encoder}: no such file")
    first = args.first_subject
    proxy = list(range(first, first + args.subjects))
    if args.people is not None:
        try:
            proxy = [int(i) for i in args.people.split(",")]
        except ValueError:
            ap.error(f"--people {args.people}: not a comma-separated list of identity numbers")
        if any(i < 0 for i in proxy) or len(set(proxy)) != len(proxy):
            ap.error(f"--people {args.people}: identities must be >= 0 and distinct")
    people = [("real_proxy", i) for i in proxy] + [("prior", 1000 + i) for i in range(args.prior_domain)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "heldout_fits.jsonl"
    t0 = time.perf_counter()
    import multiprocessing as mp

    sheet = set(proxy[:args.sheet_subjects])
    tasks = [(d, i, name, path, args.size, json.dumps(configs[name]), (d == "real_proxy" and i in sheet))
             for d, i in people for name, path in priors]
    # Each worker takes one person's fits in turn so its subject cache is reused.
    from benchmarks.fit_pool import collect_rows, report_crash_logs

    crash_dir = Path(tempfile.mkdtemp(prefix="gasp_fit_crash_"))
    pool = ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn"), initializer=_init,
                               initargs=(args.device, args.gsplat_so, str(crash_dir), args.encoder, args.light))
    futures = {pool.submit(fit_one, *t): t for t in tasks}
    collect_rows(pool, futures, args.deadline, rows_path,
                 lambda t, exc: {"domain": t[0], "subject": t[1], "prior": t[2], "error": repr(exc)[:300]},
                 lambda row: {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()
                              if k not in ("sheet", "sheet_truth", "input_image", "psnr_per_view")}, t0)
    report_crash_logs(crash_dir)
    shutil.rmtree(crash_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
