"""Photo -> avatar file latency of instant enrolment in a warm process (issue 17's "<= 2 s on the H200, tracking
included"), with where the time goes.

    python3 benchmarks/instant_latency.py --device cuda --runs 5 --out $OUT/instant_latency.json
    python3 benchmarks/instant_latency.py --device cpu --runs 3 --profile /tmp/instant.prof

A service holds the head model, the shipped prior and the shipped encoder in memory
(``gasp_ops.encoder.instant_session.InstantEnroller``: loaded and SHA-256 checked once, timed as "load"); each
request is ``InstantEnroller.enroll`` on a photo file: face framing, landmarks,
matte, 3DMM tracking, frame files (= "preprocess"), encoder + decode + photo projection ("fit"), the avatar file and
fit.json written as one unit ("outputs"; ``--figures`` adds the three preview PNGs the CLI writes). The photo is
scikit-image's astronaut (the one real photo the project may use) unless ``--photo`` names another. The first
request is reported apart (CUDA / gsplat / allocator warm-up); "warm" is the median of the others. Nothing is
written outside a temporary folder and ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _astronaut(folder: Path) -> Path:
    import cv2
    import skimage.data

    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return photo


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=5, help="requests, the first one included")
    ap.add_argument("--photo", help="photo file (default: scikit-image's astronaut)")
    ap.add_argument("--figures", action="store_true", help="also write the preview PNGs (as `gasp enroll` does)")
    ap.add_argument("--landmarks", default="auto")
    ap.add_argument("--matting", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--profile", help="cProfile the last request into this file")
    ap.add_argument("--out", help="JSON report file")
    ap.add_argument("--commit", default="", help="the commit measured (the device copy has no .git)")
    args = ap.parse_args(argv)
    if args.runs < 2:
        ap.error("--runs must be >= 2 (the first request is the warm-up)")
    if args.threads:
        torch.set_num_threads(args.threads)

    from gasp_ops.encoder.instant_session import InstantEnroller

    device = torch.device(args.device)
    t0 = time.perf_counter()
    enroller = InstantEnroller(device, figures=args.figures)  # imports, head arrays, both models + SHA-256
    t_load = time.perf_counter() - t0

    requests = []
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(args.photo) if args.photo else _astronaut(Path(tmp))
        for k in range(args.runs):
            timings: dict = {}
            prof = None
            if args.profile and k == args.runs - 1:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            out = enroller.enroll(photo, Path(tmp) / f"avatar_{k}", consent="granted", timings=timings,
                                  capture={"landmarks": args.landmarks, "matting": args.matting})
            wall = time.perf_counter() - t
            if prof is not None:
                prof.disable()
                prof.dump_stats(args.profile)
            assert out["avatar"].is_file()
            requests.append({"wall_s": wall, **{f"{k}_s": v for k, v in timings.items()},
                             "avatar_mb": out["avatar"].stat().st_size / 1e6})
            print(f"request {k}: {wall:.3f} s " + " ".join(f"{n} {v:.3f}" for n, v in timings.items()), flush=True)
    warm = requests[1:]
    report = {
        "what": "photo -> avatar file, instant mode, warm process (models loaded once)",
        "photo": str(args.photo or "skimage.data.astronaut()"), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "threads": torch.get_num_threads(), "figures": args.figures,
        "landmarks": args.landmarks, "matting": args.matting, "commit": args.commit,
        "date": time.strftime("%Y-%m-%d"), "load_s": t_load,
        "first_request_s": requests[0]["wall_s"],
        "warm_median_s": statistics.median(r["wall_s"] for r in warm),
        "warm_stage_median_s": {n: statistics.median(r[f"{n}_s"] for r in warm) for n in ("preprocess", "fit",
                                                                                          "outputs")},
        "requests": requests,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "requests"}, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
