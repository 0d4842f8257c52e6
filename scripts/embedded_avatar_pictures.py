"""The main job's embedded avatar as a user sees it (issue 14): input-view PSNR and a six-view turntable strip.

    python3 scripts/embedded_avatar_pictures.py --data-root data          # after the README's first command
    python3 scripts/embedded_avatar_pictures.py --data-root data --out /tmp/x

Reads ``<data root>/<preset>/avatars/<subject>/monocular/`` (``avatar.safetensors`` + ``fit.json``, written by the
``embedded_avatar_fit`` asset) and the subject's frame table, renders the avatar at the fit's own input frames
(cameras, expressions, poses; ``gasp_ops.fitting.report.render_input_views``) and prints their PSNR over black against
input x matte (JSON); writes ``embedded_avatar_turntable_shipped_prior.png`` (azimuth 0, 45, 90, 180, 270, 315
degrees at 256 px, neutral expression) and copies the job's ``input_vs_render.png`` as
``embedded_avatar_input_vs_render_shipped_prior.png`` into ``--out`` (default docs/). The data root is only read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AZIMUTH_FRAMES = (0, 1, 2, 4, 6, 7)  # of an 8-frame orbit: 0, 45, 90, 180, 270, 315 degrees


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--subject", default="900")
    ap.add_argument("--out", default=str(ROOT / "docs"))
    args = ap.parse_args(argv)

    from evaluation.metrics import psnr
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.errors import GaspInputError
    from gasp_ops.export.video import render_turntable
    from gasp_ops.fitting import from_frame_table
    from gasp_ops.fitting.report import render_input_views
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.images import save_png
    from gasp_ops.presets import get_preset

    folder = Path(args.data_root) / args.preset / "avatars" / args.subject / "monocular"
    table = Path(args.data_root) / args.preset / "capture" / args.subject / "frames.parquet"
    for path in (folder / "avatar.safetensors", folder / "fit.json", table):
        if not path.is_file():
            raise GaspInputError(str(path), "not found: run the main job first (README's first command)")
    head = ProceduralHead()
    avatar_file = load_avatar_file(folder / "avatar.safetensors", head)
    labels = json.loads((folder / "fit.json").read_text())["labels"]
    inputs = from_frame_table(table, image_size=get_preset(args.preset).image_size)
    index = {str(label): i for i, label in enumerate(inputs.labels)}
    missing = [label for label in labels if label not in index]
    if missing:
        raise GaspInputError(str(table), f"the fit's frames {missing} are not in the frame table")
    inputs = inputs.subset([index[label] for label in labels])
    sub, out = render_input_views(avatar_file.avatar, head, inputs, len(labels))
    scores = [psnr(out.rgb[i], sub.images[i] * sub.mattes[i, ..., None]) for i in range(len(labels))]
    frames = render_turntable(avatar_file.avatar, head, avatar_file.identity, n_frames=8, image_size=256)
    strip = np.concatenate([frames[i] for i in AZIMUTH_FRAMES], axis=1)
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    save_png(dest / "embedded_avatar_turntable_shipped_prior.png", strip)
    shutil.copyfile(folder / "input_vs_render.png", dest / "embedded_avatar_input_vs_render_shipped_prior.png")
    print(json.dumps({"avatar": str(folder / "avatar.safetensors"), "frames": labels,
                      "input_view_psnr_over_black": [round(float(s), 2) for s in scores],
                      "turntable": str(dest / "embedded_avatar_turntable_shipped_prior.png")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
