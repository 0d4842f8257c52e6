"""docs/photo_projection_sheet.png: what the photo projection changes, on two of the tables' held-out people.

    python3 scripts/photo_projection_sheet.py --tar CALL1.tar --tar CALL8.tar --folder CPU_INSTANT2 --out docs/photo_projection_sheet.png

Reads the test-camera render strips that ``benchmarks/gpu_tables.py`` writes (``renders/<fit>.png``: the 4 test
cameras, each at another unseen expression) from the calls' tars / folders and stacks, per person (single image):
truth | the paper's fit | the fit with stage 3 from the projection | instant without projection | instant (with it).
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROWS = (("truth", "{s}__truth"), ("paper's fit (500/500/100)", "single_image__gasp__{s}"),
        ("fit + photo projection", "projection__single_image__gasp_projected__{s}"),
        ("instant, no projection", "projection__single_image__gasp_decoded__{s}"),
        ("instant (encoder + projection)", "enrolment__single_image__gasp_instant__{s}"))


def load_renders(tars: list[str], folders: list[str]) -> dict[str, Image.Image]:
    """{render name without .png: RGB image}; later sources win."""
    out = {}
    for t in tars:
        with tarfile.open(t) as tf:
            for m in tf.getmembers():
                if m.name.startswith("./renders/") and m.name.endswith(".png") and "__idsim" not in m.name:
                    out[Path(m.name).stem] = Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB")
    for f in folders:
        for p in sorted(Path(f, "renders").glob("*.png")):
            if "__idsim" not in p.name:
                out[p.stem] = Image.open(p).convert("RGB")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tar", action="append", default=[])
    ap.add_argument("--folder", action="append", default=[])
    ap.add_argument("--subjects", default="rp011,rp012")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    renders = load_renders(args.tar, args.folder)
    label_w, scale = 230, 0.5
    blocks = []
    for s in args.subjects.split(","):
        for label, key in ROWS:
            img = renders[key.format(s=s)]
            img = img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
            row = Image.new("RGB", (label_w + img.width, img.height), "white")
            row.paste(img, (label_w, 0))
            ImageDraw.Draw(row).text((6, img.height // 2 - 6), f"{s}: {label}", fill="black")
            blocks.append(np.asarray(row))
    Image.fromarray(np.concatenate(blocks, 0)).save(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
