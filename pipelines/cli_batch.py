"""``gasp enroll-batch``: instant enrolment of several photos (or videos, or frames folders) in one process.

    gasp enroll-batch alice.jpg bob.jpg carol.png --out avatars/ [--device cuda] [--consent granted]

The models (shipped prior and encoder, or ``--prior`` / ``--encoder``) are loaded and SHA-256 checked once
(``gasp_ops.encoder.instant_session.InstantEnroller``); each input becomes ``OUT/<its file stem>/`` with
avatar.safetensors and fit.json (``--figures``: the preview PNGs too), written as one unit. Every input and the
output are checked before any model loads; an input that fails later (e.g. no face found) is reported in one line
and the others go on; the exit status is 2 when any failed. On one H200 each photo after the first takes ~1.5 s,
tracking included (docs/benchmarks.md); a separate `gasp enroll --mode instant` per photo pays ~16-21 s of start-up.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gasp_ops.errors import GaspInputError


def cmd_enroll_batch(args) -> int:
    from gasp_ops.device import resolve_device
    from gasp_ops.encoder.instant_session import InstantEnroller
    from gasp_ops.io.output_paths import check_output
    from pipelines.cli_checks import check_consent, check_enroll_source
    from pipelines.cli_encoder import instant_threads

    check_consent(args.consent)
    inputs = [Path(p) for p in args.inputs]
    seen: dict[str, Path] = {}
    estimate = 0
    for path in inputs:
        estimate += check_enroll_source(path, None)
        name = path.stem if path.suffix else path.name
        if name in seen:
            raise GaspInputError(str(path), f"same name {name!r} as {seen[name]}: each input becomes OUT/<name>/; "
                                 "rename one")
        seen[name] = path
    out = check_output(args.out, kind="folder", inputs=[*inputs, args.prior, args.encoder],
                       estimate_bytes=estimate, writer="gasp enroll-batch")
    device = resolve_device(args.device)
    if device.type == "cpu":  # one intra-op thread on a small CPU (see instant_threads); a GPU host keeps torch's
        instant_threads("instant")
    t0 = time.perf_counter()
    enroller = InstantEnroller(device, prior_path=args.prior, encoder_path=args.encoder, figures=args.figures)
    print(f"models loaded in {time.perf_counter() - t0:.1f} s (prior {enroller.prior_path}, encoder "
          f"{enroller.encoder_path})")
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name, path in seen.items():
        t = time.perf_counter()
        try:
            written = enroller.enroll(path, out / name, consent=args.consent, owner=args.owner)
        except GaspInputError as exc:
            failed.append(name)
            print(f"gasp: error: {exc}", file=sys.stderr)
            continue
        print(f"{path} -> {written['avatar']} ({time.perf_counter() - t:.2f} s)")
    print(f"{len(seen) - len(failed)} of {len(seen)} enrolled into {out}"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 2 if failed else 0


def register(sub) -> None:
    """Add ``enroll-batch`` to the ``gasp`` subcommands."""
    p = sub.add_parser("enroll-batch", help="instant enrolment of several photos / videos / frames folders, models "
                       "loaded once")
    p.add_argument("inputs", nargs="+", help="photos (.png/.jpg), videos or folders with frames.parquet")
    p.add_argument("--out", required=True, help="output folder: one sub-folder per input, named after its file")
    p.add_argument("--device", default="auto")
    p.add_argument("--prior", help="prior file (default: the shipped prior)")
    p.add_argument("--encoder", help="encoder file trained for --prior (default: the shipped encoder)")
    p.add_argument("--consent", default="unknown", help="unknown | granted | synthetic | withdrawn (every input)")
    p.add_argument("--owner", default="")
    p.add_argument("--figures", action="store_true", help="also write the preview PNGs")
    p.set_defaults(func=cmd_enroll_batch)
