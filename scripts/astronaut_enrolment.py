"""`gasp enroll` on scikit-image's astronaut photo as a new user runs it, timed, and what it gives (issue 14).

    python3 scripts/astronaut_enrolment.py                  # writes docs/astronaut_enrolment.png, prints JSON
    python3 scripts/astronaut_enrolment.py --out /tmp/x --enroll-arg=--mode=mean

Runs ``gasp enroll astronaut.png --out TMP --consent granted`` (the defaults: shipped prior and encoder, tiny
preset) as a subprocess and reports its wall time, its CPU time (user + system of the subprocess) and the 1-minute
load average before and after (the development machine is shared); then renders the avatar at azimuths 0, +45, -45
and 180 degrees and writes one picture: the photo | front | +45 | -45 | back. The dlib face descriptor distance (dlib's
same-person threshold 0.6; the issue asks <= 0.45) compares the frontal render, at the photo's tracked camera and
expression, with the photo's head crop. Nothing is written into the repository unless ``--out`` points there
(default: docs/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AZIMUTHS = (0.0, 45.0, -45.0, 180.0)


def main(argv=None) -> int:
    import cv2
    import skimage.data
    import torch

    from evaluation.identity import face_embedder
    from evaluation.metrics import psnr
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.export.video import head_orbit, render_frames
    from gasp_ops.fitting.report import load_inputs
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.images import save_png

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--name", default="astronaut_enrolment.png")
    ap.add_argument("--enroll-arg", action="append", default=[], help="extra `gasp enroll` argument (repeatable)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "astronaut.png"
        cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
        out = Path(tmp) / "avatar"
        cmd = [sys.executable, "-m", "pipelines.cli", "enroll", str(photo), "--out", str(out), "--consent", "granted",
               *args.enroll_arg]
        load_before, ru0 = os.getloadavg()[0], resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        ru1, load_after = resource.getrusage(resource.RUSAGE_CHILDREN), os.getloadavg()[0]
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            return proc.returncode
        head = ProceduralHead()
        av = load_avatar_file(out / "avatar.safetensors", head)
        inputs = load_inputs(out / "preprocessed" / "astronaut", head, Path(tmp) / "work")
        size = int(inputs.images.shape[1])
        cams = head_orbit(head, AZIMUTHS, 5.0, size)
        views = render_frames(av.avatar, head, av.identity, torch.zeros(len(AZIMUTHS), head.n_expression), None, cams)
        photo_crop = (inputs.images[0].numpy() * 255 + 0.5).astype(np.uint8)
        row = np.concatenate([photo_crop, *views], axis=1)
        embedder, name, reason = face_embedder()
        front = _frontal_render(av.avatar, head, inputs)
        psnr_front = float(psnr(torch.from_numpy(front).float()[None] / 255,
                                (inputs.images[:1] * inputs.mattes[:1, ..., None]).float().cpu()))
        dist = None
        if embedder is not None:
            a, b = embedder.embed(front), embedder.embed(photo_crop)
            dist = float(np.linalg.norm(a - b)) if a is not None and b is not None else None
        target = Path(args.out) / args.name
        save_png(target, row)
        stages = {k: round(float(v), 1) for k, v in (av.fit.get("seconds") or {}).items()}
        report = {"command": " ".join(["gasp", *cmd[3:]]).replace(tmp, "TMP"), "wall_seconds": round(wall, 1),
                  "cpu_seconds": round(cpu, 1), "load_1min_before_after": [round(load_before, 2),
                                                                            round(load_after, 2)],
                  "fit_stage_seconds": stages, "input_view_psnr_over_black": round(psnr_front, 2),
                  "dlib_distance_front": dist, "embedder": name or reason,
                  "picture": str(target), "columns": ["photo crop", *[f"azimuth {a:+.0f}" for a in AZIMUTHS]]}
        print(json.dumps(report, indent=1))
    return 0



def _frontal_render(avatar, head, inputs) -> np.ndarray:
    """uint8 [H, W, 3]: the avatar at the photo's tracked camera, expression and pose, over black."""
    import torch

    from gasp_ops.fitting.report import render_input_views

    with torch.no_grad():
        _, out = render_input_views(avatar, head, inputs, 1)
    return (out.rgb[0].clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


if __name__ == "__main__":
    sys.exit(main())
