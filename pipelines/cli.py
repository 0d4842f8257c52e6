"""The ``gasp`` command line.

  gasp run [--job gasp_main] [--preset tiny]      materialise a job of the Dagster project in-process
  gasp preview --out sheet.png [--preset tiny]    render the head-model contact sheet (no Dagster needed)
  gasp head-info [--head procedural]              vertex/face counts and Gaussians per UV resolution
"""

from __future__ import annotations

import argparse
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gasp", description="GASP: Gaussian Avatars with Synthetic Priors")
    sub = parser.add_subparsers(dest="command", required=True)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (GaspInputError, GaspUnavailableError) as exc:
        print(f"gasp: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
