"""Command line for prior training, single process or multi-GPU under torchrun (no Dagster).

    python -m gasp_ops.prior.launch --dataset data/tiny/synthetic --out data/tiny/prior --preset tiny
    torchrun --standalone --nproc_per_node=4 -m gasp_ops.prior.launch --dataset DIR --out DIR --preset paper \
        --set n_subjects=100 --set steps=200000

``--set key=value`` overrides any ``PriorConfig`` field (JSON values: numbers, true/false). Every rank trains
on its share of each global batch (DDP, NCCL on CUDA, gloo on CPU); rank 0 writes the outputs.
"""

from __future__ import annotations

import argparse
import json


def main(argv=None) -> None:
    from gasp_ops.headmodel.factory import build_head_model
    from gasp_ops.prior.config import default_config
    from gasp_ops.prior.distributed import init_distributed, shutdown
    from gasp_ops.prior.run import train_from_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--head", default="procedural")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop after this much training, checkpointed (run again to resume)")
    ap.add_argument("--stop-at", type=int, default=None,
                    help="end at this step of the schedule of `steps` (its learning-rate decay unchanged)")
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    config = default_config(args.preset, **overrides)
    info = init_distributed(args.device)
    head = build_head_model(args.head)
    try:
        summary = train_from_dataset(args.dataset, args.out, config, head, dist_info=info, log=print,
                                     max_seconds=args.max_seconds, stop_at=args.stop_at)
        if info.is_main:
            print(json.dumps({k: v for k, v in summary.items() if not k.endswith("_image")}, indent=1, default=str))
    finally:
        shutdown(info)


if __name__ == "__main__":
    main()
