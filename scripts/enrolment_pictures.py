"""Enrolment pictures for docs/: the astronaut and a cluttered composite through the phone path's default matte.

    python3 scripts/enrolment_pictures.py                    # writes docs/enrol_matte_astronaut.png, ..._clutter.png
    GASP_MEDIAPIPE_PYTHON=~/mp/bin/python python3 scripts/enrolment_pictures.py --out docs

Composite: the astronaut cut out with one fixed matte of her studio photo (``--cutout-landmarks`` +
``--cutout-matting``, default dlib + GrabCut, whatever backends are being pictured, so every backend is scored
against the same cut-out), pasted on a busy scikit-image picture (``--background``: coffee, chelsea, ...) together
with a second, smaller copy, so the face choice and the crop matter too. The cut-out's matte is that composite's
ground truth: the script prints the IoU of the composite's matte against it (inside the crop). Each picture: the crop the pipeline chose, the matte,
the person over green, and the tracked mesh overlay; the title row names the backends used.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    import cv2
    import skimage.data
    import torch

    from gasp_ops.capture.phone import preprocess_capture
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.images import save_png

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--background", default="coffee")
    ap.add_argument("--matting", default="auto")
    ap.add_argument("--landmarks", default="auto")
    ap.add_argument("--suffix", default="", help="added to the file names (e.g. _dlib_grabcut)")
    ap.add_argument("--cutout-matting", default="grabcut", help="matte of the studio photo cut out for the composite")
    ap.add_argument("--cutout-landmarks", default="dlib")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    head = ProceduralHead()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        astro = skimage.data.astronaut()
        path = save_png(tmp / "astronaut.png", astro)
        rep = preprocess_capture(path, tmp / "pre", head, matting=args.matting, landmarks=args.landmarks, log=print)
        cap = rep.capture
        label = f"astronaut: {cap['landmarks']} + {cap['matting']}"
        save_png(out / f"enrol_matte_astronaut{args.suffix}.png", sheet_from(rep, "astronaut", astro, label))
        # the cut-out: the astronaut times her matte (in the crop), pasted on clutter with a smaller second copy
        if (args.cutout_matting, args.cutout_landmarks) != (cap["matting"], cap["landmarks"]):
            rep = preprocess_capture(path, tmp / "cut", head, matting=args.cutout_matting,
                                     landmarks=args.cutout_landmarks)
        x0, y0, x1, y1 = rep.capture["crop_box"]
        person = astro[y0:y1, x0:x1].astype(np.float32)
        alpha = rep.mattes["astronaut"][0, 0]
        bg = getattr(skimage.data, args.background)()
        bg = cv2.resize(bg[..., :3], (900, 600), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        truth = np.zeros(bg.shape[:2], np.float32)
        for scale, (px, py) in ((1.0, (420, 600 - 218)), (0.55, (120, 600 - 120))):
            p = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            a = cv2.resize(alpha, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_AREA)[..., None]
            h, w = p.shape[:2]
            region = bg[py:py + h, px:px + w]
            bg[py:py + h, px:px + w] = region * (1 - a) + p * a
            if scale == 1.0:
                truth[py:py + h, px:px + w] = a[..., 0]
        composite = np.clip(bg + 0.5, 0, 255).astype(np.uint8)
        cpath = save_png(tmp / "clutter.png", composite)
        rep2 = preprocess_capture(cpath, tmp / "pre", head, matting=args.matting, landmarks=args.landmarks, log=print)
        c2 = rep2.capture
        bx0, by0, bx1, by1 = c2["crop_box"]
        m2 = rep2.mattes["clutter"][0, 0]
        t2 = cv2.resize(truth[by0:by1, bx0:bx1], (m2.shape[1], m2.shape[0]), interpolation=cv2.INTER_AREA)
        inter = ((m2 > 0.5) & (t2 > 0.5)).sum()
        iou = inter / max(1, ((m2 > 0.5) | (t2 > 0.5)).sum())
        print(f"clutter composite ({args.background}): {c2['faces_found']} faces, used {c2['face_index']}; "
              f"matte IoU vs the pasted cut-out {iou:.3f}")
        label = (f"on {args.background}: {c2['landmarks']} + {c2['matting']}, IoU {iou:.3f} vs the "
                 f"{rep.capture['landmarks']} + {rep.capture['matting']} cut-out")
        save_png(out / f"enrol_matte_clutter{args.suffix}.png", sheet_from(rep2, "clutter", composite, label))
        save_png(out / "enrol_clutter_input.png", cv2.resize(composite, (450, 300), interpolation=cv2.INTER_AREA))
    print(f"wrote {out}/enrol_matte_astronaut{args.suffix}.png, enrol_matte_clutter{args.suffix}.png, "
          "enrol_clutter_input.png")
    return 0


def sheet_from(rep, name: str, photo: np.ndarray, label: str) -> np.ndarray:
    """[crop | matte | over green | tracked mesh] for the one frame of ``rep`` (see module docstring)."""
    from gasp_ops.capture.photo_crop import crop_frames
    from gasp_ops.viz.contact_sheet import contact_sheet

    cap = rep.capture
    crop = crop_frames(photo[None], tuple(cap["crop_box"]), max(cap["crop_size"]))[0]
    f = crop.astype(np.float32) / 255.0
    matte = rep.mattes[name][0, 0]
    comp = f * matte[..., None] + (1 - matte[..., None]) * np.array([0.0, 0.8, 0.2], np.float32)
    return contact_sheet([[f, np.repeat(matte[..., None], 3, -1), comp, rep.overlays[name][0]]],
                         row_labels=[label], col_labels=["crop", "matte", "over green", "tracked mesh"])


if __name__ == "__main__":
    sys.exit(main())
