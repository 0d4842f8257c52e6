"""Mattes and landmarks of the phone path on held-out synthetic ``real_proxy`` photos with exact annotations (CPU).

    python3 benchmarks/cpu_matte_landmarks.py --n 20 --out results/matte_landmarks
    python3 benchmarks/cpu_matte_landmarks.py --fit-map        # writes gasp_ops/capture/mediapipe_68.py

Images: ``gasp_ops.capture.synthetic_faces.render_face_photos`` (identities ``--first`` = 9000.., seed 0; the
face_net_grabcut cue settings were chosen on 9000..9039, so ``--first 9040`` gives an independent check; never in
the prior, which trains on the ``prior`` domain; azimuth +-25 deg, random expression and hairstyle) at ``--size``
px over a busy scikit-image crop (``clutter``) and over flat grey. Exact alpha includes hair, neck and clothing.

Backends measured on the same images:
  landmarks  dlib (the default before face_net: HOG + 68-point model) | mediapipe (face mesh -> 68 via
             ``mesh_to_68``)
  matte      grabcut_exact_seeds (GrabCut, the default before face_net, seeded from the *exact* head pose: an
             upper bound of what the tracked seeds give) | mediapipe_exact_seeds (the same seeds + the selfie
             segmentation cue, ``matting_mediapipe``) | selfie_raw (the selfie model's probability > 0.5, for
             reference)
  --tracked K: the first K images per background also go end to end through ``preprocess_capture`` (face choice,
             crop, landmarks, tracking, matte) with face_net + grabcut (the default without MediaPipe),
             face_net + face_net, dlib + grabcut (the default before face_net), mediapipe + grabcut and
             mediapipe + mediapipe; matte IoU inside the crop, landmark error of the detector in the crop
             (lm_tracked_*) and of the tracked 3DMM's projected landmarks (lm_fitted_3dmm_*: what the avatar
             fit uses); failures (no face) count as IoU 0.
  face_net   the project's own matte + landmark network (gasp_models/face_net.safetensors; its landmarks are
             the default, its matte alone an option); matte_face_net_grabcut_exact_seeds: GrabCut with the
             exact-pose seeds and face_net's alpha as the second cue (``matting_face_net``: the default matte
             without MediaPipe).
Metrics: matte IoU of alpha > 0.5 against exact alpha > 0.5; landmark error = mean Euclidean px distance to the
exact projections of the head model's 68-point embedding, over all 68 and over the 51 inner points (17..67: the
jaw contour's convention differs between detectors); detection rate. MediaPipe runs in-process or through
``$GASP_MEDIAPIPE_PYTHON`` (see ``gasp_ops/capture/mediapipe_backend.py``); without it those rows say why not.

``--fit-map`` renders *training* identities (5000.., seed 1), runs the face mesh, and fits for each of the 68 points
the 4 nearest mesh vertices' affine weights (least squares, sum to 1) -> ``gasp_ops/capture/mediapipe_68.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def lm_errors(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    d = np.linalg.norm(pred - truth, axis=-1)
    return float(d.mean()), float(d[17:].mean())


def fit_map(head, n: int, size: int, k: int = 4) -> dict:
    from gasp_ops.capture.mediapipe_backend import run_mediapipe
    from gasp_ops.capture.synthetic_faces import render_face_photos

    halves = [render_face_photos(head, n // 2, size, seed=1, first_index=5000, background="clutter"),
              render_face_photos(head, n - n // 2, size, seed=1, first_index=5000 + n // 2, background="grey")]
    rgb = np.concatenate([h.rgb for h in halves])
    truth = np.concatenate([h.landmarks for h in halves])
    mesh = run_mediapipe(rgb, ("mesh",))["mesh"]
    ok = np.isfinite(mesh).all((1, 2))
    mesh, truth = mesh[ok], truth[ok]
    verts, weights, resid = [], [], []
    for lmk in range(68):
        dist = np.linalg.norm(mesh - truth[:, lmk:lmk + 1], axis=-1).mean(0)  # [478]
        near = np.argsort(dist)[:k]
        base = mesh[:, near[0]]
        A = np.stack([(mesh[:, j] - base).reshape(-1) for j in near[1:]], 1)  # [2N, k-1]
        b = (truth[:, lmk] - base).reshape(-1)
        lam = 1e-2 * len(b)
        w = np.linalg.solve(A.T @ A + lam * np.eye(k - 1), A.T @ b)
        full = np.concatenate([[1.0 - w.sum()], w])
        verts.append([int(v) for v in near])
        weights.append([round(float(x), 5) for x in full])
        resid.append(float(np.linalg.norm(base + (A @ w).reshape(-1, 2) - truth[:, lmk], axis=-1).mean()))
    return {"vertices": verts, "weights": weights, "images": int(ok.sum()), "train_residual_px": float(np.mean(resid))}


def write_map(m: dict, size: int) -> Path:
    path = ROOT / "gasp_ops" / "capture" / "mediapipe_68.py"
    text = (
        '"""MediaPipe face mesh (478 points) -> iBUG-68: point i = sum_k WEIGHTS[i][k] * mesh[VERTICES[i][k]].\n\n'
        f"Generated by ``benchmarks/cpu_matte_landmarks.py --fit-map`` on {m['images']} synthetic training renders\n"
        f"(real_proxy identities 5000.., seed 1, {size} px; disjoint from the held-out benchmark identities 9000..).\n"
        f"Mean residual on those renders: {m['train_residual_px']:.2f} px. Do not edit by hand.\n"
        '"""\n\n'
        f"VERTICES = {json.dumps(m['vertices'])}\n\n"
        f"WEIGHTS = {json.dumps(m['weights'])}\n")
    lines = []
    for line in text.splitlines():  # keep lines short: break the JSON lists after commas
        while len(line) > 118:
            cut = line.rfind(", ", 0, 118) + 1
            lines.append(line[:cut])
            line = "    " + line[cut:].lstrip()
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def end_to_end(head, ph, k: int, with_mediapipe: bool) -> dict:
    """Matte IoU / landmark errors of ``preprocess_capture`` on the first ``k`` photos, inside the chosen crop."""
    import tempfile

    from gasp_ops.capture.face_net import shipped
    from gasp_ops.capture.phone import preprocess_capture
    from gasp_ops.capture.tracking import TrackingConfig
    from gasp_ops.errors import GaspInputError

    combos = ([("face_net", "face_net_grabcut"), ("face_net", "grabcut"), ("face_net", "face_net")] if shipped()
              else []) + [("dlib", "grabcut")]
    combos += [("mediapipe", "grabcut"), ("mediapipe", "mediapipe")] if with_mediapipe else []
    out = {}
    for lm_b, matte_b in combos:
        ious, errs, fits = [], [], []
        for i in range(min(k, len(ph.rgb))):
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    rep = preprocess_capture(f"{ph.labels[i]}.png", tmp, head, frames=ph.rgb[i:i + 1],
                                             matting=matte_b, landmarks=lm_b, config=TrackingConfig())
                except GaspInputError as exc:
                    print(f"  {lm_b}/{matte_b} {ph.labels[i]}: {exc}", flush=True)
                    ious.append(0.0)
                    errs.append(None)
                    fits.append(None)
                    continue
            x0, y0, x1, y1 = rep.capture["crop_box"]
            name = ph.labels[i]
            matte = rep.mattes[name][0, 0]
            ious.append(iou(ph.alpha[i][y0:y1, x0:x1], matte))
            det = np.asarray(rep.table.iloc[0].landmarks_detected, np.float64)
            ok = det.size == 136 and np.isfinite(det).all()
            errs.append(lm_errors(det.reshape(68, 2) + [x0, y0], ph.landmarks[i]) if ok else None)
            fit = np.asarray(rep.table.iloc[0].landmarks_tracked, np.float64).reshape(68, 2)
            fits.append(lm_errors(fit + [x0, y0], ph.landmarks[i]))
            print(f"  {lm_b}/{matte_b} {name}: IoU {ious[-1]:.3f}", flush=True)
        out[f"matte_tracked_{lm_b}_{matte_b}"] = ious
        if f"lm_tracked_{lm_b}" not in out:
            out[f"lm_tracked_{lm_b}"] = errs
        out[f"lm_fitted_3dmm_{lm_b}_{matte_b}"] = fits
    return out


def evaluate(head, n: int, size: int, backgrounds: list[str], tracked: int = 0, first: int = 9000) -> dict:
    from gasp_ops.capture.face_net import load_face_net, predict, shipped
    from gasp_ops.capture.landmarks import detect_landmarks
    from gasp_ops.capture.matting_cue import cued_grabcut_matte
    from gasp_ops.capture.matting_face_net import CUE_OPTIONS
    from gasp_ops.capture.matting_grabcut import grabcut_matte
    from gasp_ops.capture.matting_mediapipe import mediapipe_matte
    from gasp_ops.capture.mediapipe_backend import mediapipe_mode, mesh_landmarks_68, run_mediapipe
    from gasp_ops.capture.seeds import grabcut_seeds
    from gasp_ops.capture.synthetic_faces import render_face_photos

    results = {"n_per_background": n, "size": size, "first_identity": first,
               "mediapipe": mediapipe_mode() or "unavailable", "rows": []}
    for bg in backgrounds:
        t0 = time.time()
        ph = render_face_photos(head, n, size, seed=0, first_index=first, background=bg)
        print(f"[{bg}] rendered {n} in {time.time() - t0:.0f} s", flush=True)
        per = {k: [] for k in ("lm_dlib", "lm_mediapipe", "matte_grabcut_exact_seeds", "matte_mediapipe_exact_seeds",
                               "matte_selfie_raw")}
        mp = None
        if mediapipe_mode():
            mp = run_mediapipe(ph.rgb, ("mesh", "segment"))
        fa = None
        if shipped():  # the project's own network (gasp_models/face_net.safetensors, SHA-256 checked on load)
            fa, fl = predict(load_face_net(), ph.rgb)
            per["lm_face_net"] = [lm_errors(fl[i], ph.landmarks[i]) for i in range(n)]
            per["matte_face_net"] = [iou(ph.alpha[i], fa[i]) for i in range(n)]
            per["matte_face_net_grabcut_exact_seeds"] = []
        for i in range(n):
            truth = ph.landmarks[i]
            d = detect_landmarks(ph.rgb[i])
            per["lm_dlib"].append(None if d is None else lm_errors(d.points, truth))
            sure, prob = grabcut_seeds(head, ph.vertices[i], ph.cameras[i])
            per["matte_grabcut_exact_seeds"].append(iou(ph.alpha[i], grabcut_matte(ph.rgb[i], sure, prob)))
            if fa is not None:
                per["matte_face_net_grabcut_exact_seeds"].append(
                    iou(ph.alpha[i], cued_grabcut_matte(ph.rgb[i], fa[i], sure, prob, **CUE_OPTIONS)))
            if mp is not None:
                mesh = mp["mesh"][i]
                found = bool(np.isfinite(mesh).all())
                per["lm_mediapipe"].append(lm_errors(mesh_landmarks_68(mesh), truth) if found else None)
                per["matte_selfie_raw"].append(iou(ph.alpha[i], mp["segment"][i]))
                per["matte_mediapipe_exact_seeds"].append(
                    iou(ph.alpha[i], mediapipe_matte(ph.rgb[i], mp["segment"][i], sure, prob)))
        if tracked:
            per.update(end_to_end(head, ph, tracked, mediapipe_mode() is not None))
        for key, vals in per.items():
            if not vals:
                results["rows"].append({"background": bg, "measure": key, "status": "unavailable: mediapipe not "
                                        "installed and $GASP_MEDIAPIPE_PYTHON unset"})
                continue
            row = {"background": bg, "measure": key, "images": len(vals)}
            if key.startswith("lm_"):
                ok = [v for v in vals if v is not None]
                row.update(detected=len(ok), mean_px_68=float(np.mean([v[0] for v in ok])) if ok else None,
                           mean_px_inner51=float(np.mean([v[1] for v in ok])) if ok else None,
                           median_px_68=float(np.median([v[0] for v in ok])) if ok else None)
            else:
                row.update(mean_iou=float(np.mean(vals)), median_iou=float(np.median(vals)),
                           min_iou=float(np.min(vals)), share_ge_095=float(np.mean(np.asarray(vals) >= 0.95)))
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
    return results


def markdown(res: dict, command: str) -> str:
    first = res.get("first_identity", 9000)
    last = first + res["n_per_background"] - 1
    out = [f"# Phone-path mattes and landmarks on held-out synthetic photos ({res['size']} px)", "",
           f"Command: `{command}`  ", f"MediaPipe: {res['mediapipe']}; {res['n_per_background']} images per "
           f"background (real_proxy identities {first}..{last}, seed 0).", "",
           "| background | measure | images | detected | mean px (68) | mean px (inner 51) | mean IoU | median IoU "
           "| min IoU | IoU >= 0.95 |", "|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, p=2: "" if v is None else f"{v:.{p}f}"  # noqa: E731
    for r in res["rows"]:
        if "status" in r:
            out.append(f"| {r['background']} | {r['measure']} | {r['status']} |||||||")
            continue
        out.append(f"| {r['background']} | {r['measure']} | {r['images']} | {r.get('detected', '')} | "
                   f"{f(r.get('mean_px_68'))} | {f(r.get('mean_px_inner51'))} | {f(r.get('mean_iou'), 3)} | "
                   f"{f(r.get('median_iou'), 3)} | {f(r.get('min_iou'), 3)} | {f(r.get('share_ge_095'), 2)} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="images per background")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--backgrounds", default="clutter,grey")
    ap.add_argument("--out", default=str(ROOT / "results" / "matte_landmarks"))
    ap.add_argument("--fit-map", action="store_true")
    ap.add_argument("--tracked", type=int, default=0, help="images per background also run end to end")
    ap.add_argument("--first", type=int, default=9000,
                    help="first held-out identity index (9000.. were used to tune the face_net_grabcut cue; "
                         "9040.. were not)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.io.atomic import write_text_atomic

    head = ProceduralHead()
    if args.fit_map:
        m = fit_map(head, max(args.n, 8), args.size)
        print(f"fitted on {m['images']} renders, residual {m['train_residual_px']:.2f} px -> {write_map(m, args.size)}")
        return 0
    res = evaluate(head, args.n, args.size, args.backgrounds.split(","), args.tracked, args.first)
    out = Path(args.out)
    command = "python3 benchmarks/cpu_matte_landmarks.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res["command"] = command
    write_text_atomic(out.with_suffix(".json"), json.dumps(res, indent=1))
    write_text_atomic(out.with_suffix(".md"), markdown(res, command))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
