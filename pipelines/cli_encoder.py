"""The encoder's part of the ``gasp`` command line (issue 17).

  gasp enroll INPUT --out DIR --mode instant|fast|full [--encoder E]   enrolment modes (see gasp_ops.encoder.modes)
  gasp train-encoder --prior P --dataset D --out DIR [--preset tiny]   train an encoder for a prior (CPU or GPU)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from gasp_ops.errors import GaspInputError


def trained_encoder_path(preset: str) -> Path:
    """``$GASP_DATA_ROOT/<preset>/encoder/encoder.safetensors`` (default data root: ``<project>/data``)."""
    from gasp_ops.encoder.checkpoint import ENCODER_NAME

    root = os.environ.get("GASP_DATA_ROOT") or str(Path(__file__).resolve().parents[1] / "data")
    return Path(root) / preset / "encoder" / ENCODER_NAME


def add_mode_args(p: argparse.ArgumentParser) -> None:
    """--mode / --encoder / --encoder-sha256 of ``gasp enroll``."""
    from gasp_ops.encoder.modes import MODES

    p.add_argument("--mode", choices=(*MODES, "mean"), help="instant: encoder only (no optimisation); fast: encoder + "
                   "a quarter of the fit's steps; full: encoder + the full fit; mean: the paper's fit from the mean "
                   "code. Default: full with the shipped prior (its encoder ships beside it), else mean")
    p.add_argument("--encoder", help="encoder file (default: $GASP_DATA_ROOT/<preset>/encoder/encoder.safetensors, "
                   "else the shipped gasp_models/encoder.safetensors)")
    p.add_argument("--encoder-sha256", help="expected SHA-256 of the encoder file (e.g. from its model card)")


def default_mode(args, prior_path) -> str | None:
    """The enrolment mode for ``args.mode`` (None = the paper's mean-code fit): unset means ``full`` (encoder
    init, then the fit) when the prior is the shipped one, whose encoder ships beside it; ``mean`` means None.
    Measured on the astronaut (docs/benchmarks.md#cpu-enrolment): the encoder's code gives her short hair from
    the side and back, the mean code a long-haired head."""
    if args.mode == "mean":
        return None
    if args.mode is None and getattr(args, "ablation", "full") != "no_prior" and _is_shipped_prior(prior_path):
        from gasp_ops.encoder.checkpoint import SHIPPED_PATH

        if SHIPPED_PATH.is_file():
            return "full"
    return args.mode


def instant_threads(mode) -> None:
    """``--mode instant`` runs on one CPU intra-op thread unless ``OMP_NUM_THREADS`` is set: its work (3DMM tracking,
    one encoder pass, one decode, a few small renders) is thousands of small tensor ops whose two-thread barriers
    stall whenever the other core is busy. Measured on the 2-core machine beside another job using ~2 cores (load
    ~3.4): the whole command 52.7 s with 2 threads, 17.9 s with 1 (docs/benchmarks.md#cpu-enrolment); tracked
    parameters differ by <= 1e-4 (reduction order), not in quality. Other modes keep torch's default."""
    if mode == "instant" and not os.environ.get("OMP_NUM_THREADS"):
        import torch

        torch.set_num_threads(1)


def _is_shipped_prior(prior_path) -> bool:
    """True when ``prior_path`` is a file of the shipped models' folder (``gasp_models/``)."""
    from gasp_ops.encoder.checkpoint import SHIPPED_PATH

    return prior_path is not None and Path(prior_path).resolve().parent == SHIPPED_PATH.parent


def load_mode_encoder(args, device, prior_path=None):
    """The encoder a ``--mode`` needs (None without a mode); one-line errors name the file. Default file: the
    shipped encoder with the shipped prior (``prior_path`` in ``gasp_models/``), else the data root's."""
    if not getattr(args, "mode", None):
        return None
    from gasp_ops.encoder.checkpoint import load_encoder, resolve_encoder_path

    path, pinned = resolve_encoder_path(args.encoder, trained_encoder_path(args.preset),
                                        "shipped" if _is_shipped_prior(prior_path) else None)
    if not path.is_file():
        raise GaspInputError(str(path), "encoder file not found (train one with `gasp train-encoder` or pass "
                             "--encoder)")
    print(f"loading encoder {path}")
    return load_encoder(path, device, sha256=args.encoder_sha256 or pinned)[0]


def cmd_train_encoder(args) -> int:
    from gasp_ops.device import resolve_device
    from gasp_ops.encoder.config import default_encoder_config
    from gasp_ops.encoder.run import train_encoder_from_files
    from gasp_ops.headmodel.factory import build_head_model

    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise GaspInputError("--set", f"expected field=value, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            raise GaspInputError(f"--set {key}", f"value {value!r} is not JSON") from None
    config = default_encoder_config(args.preset, **overrides)
    device = resolve_device(args.device)
    head = build_head_model(args.head).to(device)
    summary = train_encoder_from_files(args.prior, args.dataset, args.out, config, head, device=device, log=print,
                                       max_seconds=args.seconds)
    val = summary["report"].get("val_single")
    val = val if isinstance(val, dict) else {}
    print(f"wrote {summary['encoder_path']} ({summary['encoder_bytes'] / 1e6:.2f} MB, sha256 "
          f"{summary['encoder_sha256']}); held-out code error {val.get('code_nmse', float('nan')):.4f} "
          f"(mean code {val.get('mean_code_nmse', float('nan')):.4f})")
    return 0


def register(sub) -> None:
    """Add ``train-encoder`` to the ``gasp`` subcommands."""
    p = sub.add_parser("train-encoder", help="train the identity encoder (photo -> code) for a trained prior")
    p.add_argument("--prior", required=True, help="trained prior file")
    p.add_argument("--dataset", required=True, help="the synthetic dataset folder the prior was trained on")
    p.add_argument("--out", required=True, help="output folder (encoder.safetensors, curves, summary, checkpoint)")
    p.add_argument("--preset", default="tiny", help="encoder size and schedule: tiny (CPU) or paper")
    p.add_argument("--seconds", type=float, help="stop after this much training (checkpointed; rerun resumes)")
    p.add_argument("--set", action="append", default=[], help="EncoderConfig field=value (value JSON)")
    p.add_argument("--device", default="auto")
    p.add_argument("--head", default="procedural")
    p.set_defaults(func=cmd_train_encoder)
