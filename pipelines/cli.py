"""The ``gasp`` command line.

  gasp run [--job gasp_main] [--preset tiny]      materialise a job of the Dagster project in-process
  gasp preview --out sheet.png [--preset tiny]    render the head-model contact sheet (no Dagster needed)
  gasp head-info [--head procedural]              vertex/face counts and Gaussians per UV resolution
  gasp enroll INPUT --out DIR [--prior P]         photo / video / frames folder -> avatar file (+ figures)
  gasp enroll INPUT --out DIR --mode instant|fast|full [--encoder E]   encoder code (+ a short / full fit)
  gasp enroll-batch A.jpg B.jpg ... --out DIR     instant mode, models loaded once (pipelines/cli_batch.py)
  gasp train-encoder --prior P --dataset D --out DIR   identity encoder for a prior (pipelines/cli_encoder.py)
  gasp render AVATAR --out X.mp4|DIR [--params F] turntable (default) or re-enactment from 3DMM parameters
  gasp export-ply AVATAR --out frame.ply|.splat   a posed frame as a standard 3DGS PLY (or compact .splat)
  gasp export-web AVATAR --out DIR [--params F]   animation bundle + web viewer (pipelines/cli_web.py)
  gasp view AVATAR [--params F] [--port N]        the avatar in the browser, served on 127.0.0.1
  gasp backfill --subjects 036,037 --settings monocular,single_image   one run per subject|setting
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from gasp_ops.errors import GaspInputError, GaspUnavailableError


def _head_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--head", default="procedural", help="head model: procedural (built in) or flame")
    p.add_argument("--flame-model", help="FLAME .pkl model file (with --head flame)")
    p.add_argument("--flame-uv", help="FLAME UV layout .obj (head_template.obj)")
    p.add_argument("--flame-masks", help="FLAME_masks.pkl")
    p.add_argument("--flame-landmarks", help="68-landmark embedding (.npy)")


def _build_head(args):
    from gasp_ops.headmodel.factory import build_head_model

    return build_head_model(args.head, args.flame_model, args.flame_uv, args.flame_masks, args.flame_landmarks)


def cmd_run(args) -> int:
    import dagster as dg

    from pipelines.definitions import defs

    job = defs.resolve_job_def(args.job)
    config = {"resources": {"preset": {"config": {"name": args.preset}}}}
    instance = dg.DagsterInstance.get() if args.persist else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(run_config=config, instance=instance)
    return 0 if result.success else 1


def cmd_preview(args) -> int:
    from gasp_ops.device import resolve_device
    from gasp_ops.head_preview import render_head_preview
    from gasp_ops.io.images import save_png
    from gasp_ops.presets import get_preset
    from pipelines.cli_checks import check_preview

    check_preview(args)
    p = get_preset(args.preset)
    head = _build_head(args)
    prev = render_head_preview(head, args.uv_resolution or p.uv_resolution, args.size or p.image_size,
                               args.identities or p.preview_identities, p.preview_views, seed=args.seed,
                               device=resolve_device(args.device))
    save_png(args.out, prev.sheet)
    print(f"wrote {args.out}: {prev.stats}")
    return 0


def cmd_head_info(args) -> int:
    from gasp_ops.binding.uv_init import uv_binding

    head = _build_head(args)
    print(f"{head.name}: {head.num_vertices} vertices, {head.topology.num_faces} faces, "
          f"{head.n_identity} identity and {head.n_expression} expression components")
    for res in args.resolutions:
        n = uv_binding(head.topology, res).count
        print(f"UV {res}x{res}: {n} Gaussians ({n / res**2:.1%} of texels)")
    return 0


def _enroll_prior_path(args):
    """--prior: unset or ``shipped`` = the shipped prior (SHA-256 checked); ``job`` = the ``gaussian_prior`` asset's
    file under $GASP_DATA_ROOT/<preset>/prior/; anything else is a prior file's path."""
    from gasp_ops.fitting.report import default_prior_path
    from gasp_ops.prior.shipped import shipped_prior_path

    if args.prior in (None, "shipped"):
        if getattr(args, "head", "procedural") != "procedural":
            raise GaspInputError("--prior", "the shipped prior is for the procedural head; pass a prior trained for "
                                 "this head model (--prior PATH or --prior job)")
        return shipped_prior_path()
    if args.prior == "job":
        return default_prior_path(args.preset)
    return Path(args.prior)


def cmd_enroll(args) -> int:
    from gasp_ops.device import resolve_device
    from gasp_ops.fitting.report import enroll
    from gasp_ops.prior.checkpoint import load_prior
    from pipelines.cli_encoder import default_mode, instant_threads, load_mode_encoder
    from pipelines.cli_checks import check_enroll

    prior_path = _enroll_prior_path(args)
    args.mode = default_mode(args, prior_path)
    instant_threads(args.mode)
    check_enroll(args, prior_path)
    head = _build_head(args)
    device = resolve_device(args.device)
    config = enroll_config(args)
    prior = None
    if config.use_prior:
        print(f"loading prior {prior_path}")
        prior, _ = load_prior(prior_path, head, device)
    out = enroll(args.input, args.out, head.to(device), prior, config, setting=args.setting,
                 image_size=args.image_size, device=device, subject=args.subject, consent=args.consent,
                 owner=args.owner, fp16=args.fp16, log=print, progress=True, mode=args.mode,
                 encoder=load_mode_encoder(args, device, prior_path),
                 capture={"face": args.face, "matting": args.matting, "landmarks": args.landmarks},
                 figures=args.figures)
    figures = ", ".join(str(out[k]) for k in ("curves", "input_vs_render", "turntable_strip") if k in out)
    print(f"wrote {out['avatar']} ({out['avatar'].stat().st_size / 1e6:.2f} MB), {figures}")
    return 0


def enroll_config(args):
    """The ``FitConfig`` of ``gasp enroll``: the preset's, the ablation, ``--steps``; the LPIPS term only with
    ``--lpips`` (its VGG backbone is ImageNet-trained, non-commercial terms: off the default path, docs/models.md)."""
    from gasp_ops.fitting.config import default_fit_config

    overrides = {}
    if args.steps:
        overrides.update(steps_inversion=args.steps[0], steps_decoder=args.steps[1], steps_refine=args.steps[2])
    config = default_fit_config(args.preset, args.ablation, **overrides)
    if not args.lpips:
        config = config.replace(loss=dataclasses.replace(config.loss, lpips=0.0))
    return config


def _load_params(path, head):
    """3DMM sequence (expressions [T, E], ``HeadPose`` batch T) from a .parquet frame table or a .safetensors file,
    checked field by field (``gasp_ops.runtime.params_file``)."""
    from gasp_ops.runtime.params_file import load_params

    return load_params(path, head)


def cmd_render(args) -> int:
    from pathlib import Path

    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.export.video import render_reenactment, render_turntable, write_mp4
    from gasp_ops.io.images import save_png
    from gasp_ops.io.staged_dir import staged_directory
    from pipelines.cli_checks import check_render, check_render_memory

    check_render(args)
    head = _build_head(args)
    f = load_avatar_file(args.avatar, head)
    if args.params:
        expr, pose = _load_params(args.params, head)
        check_render_memory(len(expr), args.size)
        frames = render_reenactment(f.avatar, head, f.identity, expr, pose, image_size=args.size)
    else:
        frames = render_turntable(f.avatar, head, f.identity, n_frames=args.frames, image_size=args.size)
    out = Path(args.out)
    if out.suffix.lower() == ".mp4":
        write_mp4(out, frames, fps=args.fps)
    else:  # a folder of PNGs, replaced as a whole: no stale frames of an earlier render stay in it
        with staged_directory(out) as stage:
            for i, fr in enumerate(frames):
                save_png(stage / f"frame_{i:05d}.png", fr)
    print(f"wrote {len(frames)} frames to {out}")
    return 0


def cmd_export_ply(args) -> int:
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.export.ply import export_avatar_ply
    from pipelines.cli_checks import check_export_ply, check_frame_index

    check_export_ply(args)
    head = _build_head(args)
    f = load_avatar_file(args.avatar, head)
    expression = pose = None
    if args.params:
        expr, hp = _load_params(args.params, head)
        check_frame_index("--frame", args.frame, len(expr), args.params)
        expression, pose = expr[args.frame], hp[args.frame]
    path = export_avatar_ply(args.out, f.avatar, head, f.identity, expression, pose, args.coords, args.scale,
                             label=f.provenance.get("label", ""))
    print(f"wrote {path} ({f.avatar.count} Gaussians)")
    return 0


def cmd_backfill(args) -> int:
    from pipelines.scale_backfill import submit_backfill

    return submit_backfill(args.subjects, args.settings, args.job)


def build_parser() -> argparse.ArgumentParser:
    from pipelines.cli_batch import register as register_batch
    from pipelines.cli_encoder import add_mode_args, register as register_encoder

    parser = argparse.ArgumentParser(prog="gasp", description="GASP: Gaussian Avatars with Synthetic Priors")
    sub = parser.add_subparsers(dest="command", required=True)
    register_encoder(sub)
    register_batch(sub)
    p = sub.add_parser("run", help="materialise a Dagster job in-process")
    p.add_argument("--job", default="gasp_main")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--persist", action="store_true", help="record the run in $DAGSTER_HOME's instance")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("preview", help="render a contact sheet of the head model as bound Gaussians")
    p.add_argument("--out", required=True)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--uv-resolution", type=int)
    p.add_argument("--size", type=int)
    p.add_argument("--identities", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    _head_args(p)
    p.set_defaults(func=cmd_preview)
    p = sub.add_parser("head-info", help="head model statistics")
    p.add_argument("--resolutions", type=int, nargs="+", default=[64, 128, 256, 512])
    _head_args(p)
    p.set_defaults(func=cmd_head_info)
    p = sub.add_parser("enroll", help="fit an avatar to a photo, a video or a preprocessed frames folder")
    p.add_argument("input", help="photo (.png/.jpg), video, or a folder with frames.parquet")
    p.add_argument("--out", required=True, help="output folder (avatar.safetensors, curves.png, ...)")
    p.add_argument("--prior", help="prior: 'shipped' (default: gasp_models/gasp_prior_uv128_1k.safetensors), 'job' "
                   "($GASP_DATA_ROOT/<preset>/prior/prior.safetensors, from the main job) or a prior file")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--setting", choices=["single_image", "monocular", "multi_camera", "three_frame"])
    p.add_argument("--ablation", default="full", help="full, no_prior, no_regulariser, no_stage1/2/3")
    p.add_argument("--lpips", action="store_true", help="add the VGG-LPIPS loss term when its weights are in the torch "
                   "cache (ImageNet-trained: non-commercial terms; off by default)")
    p.add_argument("--steps", type=int, nargs=3, metavar=("S1", "S2", "S3"))
    p.add_argument("--image-size", type=int, help="resize frames so the longer side has this many pixels")
    p.add_argument("--no-figures", dest="figures", action="store_false",
                   help="write the avatar file and fit.json only (no curves / input-vs-render / turntable PNGs)")
    p.add_argument("--subject", default="")
    p.add_argument("--consent", default="unknown", help="unknown | granted | synthetic | withdrawn")
    p.add_argument("--owner", default="", help="account allowed to operate the avatar (likeness management)")
    p.add_argument("--fp16", action="store_true", help="store the Gaussians in float16 (half the size)")
    p.add_argument("--face", type=int, help="face to enrol, 0-based by box size, largest first (default: largest)")
    p.add_argument("--matting", default="auto", help="auto | alpha | mediapipe | face_net_grabcut | grabcut | face_net | "
                   "rvm (photo/video; auto: the photo's alpha, else mediapipe if installed, else face_net_grabcut)")
    p.add_argument("--landmarks", default="auto", help="auto | mediapipe | face_net | dlib (photo/video input)")
    p.add_argument("--device", default="auto")
    _head_args(p)
    add_mode_args(p)
    p.set_defaults(func=cmd_enroll)
    p = sub.add_parser("render", help="render an avatar file: turntable, or re-enactment from 3DMM parameters")
    p.add_argument("avatar")
    p.add_argument("--out", required=True, help="an .mp4 file, or a folder for PNG frames")
    p.add_argument("--params", help="frames.parquet or .safetensors with expression [T, E] (+ pose) to re-enact")
    p.add_argument("--frames", type=int, default=90, help="turntable frames")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--fps", type=int, default=30)
    _head_args(p)
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("export-ply", help="export a posed frame of an avatar as a standard 3DGS PLY")
    p.add_argument("avatar")
    p.add_argument("--out", required=True)
    p.add_argument("--params", help="3DMM parameters (as for render); default: neutral expression, rest pose")
    p.add_argument("--frame", type=int, default=0)
    p.add_argument("--coords", choices=["3dgs", "head"], default="3dgs", help="3dgs: upright in common viewers "
                   "(centred, +y down, 10 units/m); head: the project's +y-up head frame in metres")
    p.add_argument("--scale", type=float, help="units per metre (default 10 for 3dgs, 1 for head)")
    _head_args(p)
    p.set_defaults(func=cmd_export_ply)
    p = sub.add_parser("backfill", help="submit a Dagster backfill of avatar_fit: every subject in every setting")
    p.add_argument("--subjects", required=True, help="comma-separated subject ids, e.g. 036,037")
    p.add_argument("--settings", required=True, help="comma-separated settings, e.g. monocular,single_image")
    p.add_argument("--job", default="avatar_fitting_celery", help="avatar_fitting_celery (Celery workers, default) "
                   "or avatar_fitting (Dagster's default executor)")
    p.set_defaults(func=cmd_backfill)
    from pipelines.cli_web import add_web_commands

    add_web_commands(sub, _head_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (GaspInputError, GaspUnavailableError, OSError) as exc:  # OSError: e.g. the disk filled up mid-write
        print(f"gasp: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
