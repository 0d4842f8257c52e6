"""One held-out person fitted under its own key light and under uniform light: a contact sheet (issue 14).

    python3 benchmarks/lighting_ablation_sheet.py ROWS.jsonl [ROWS.jsonl ...] --subject 75 \
        --priors shipped_proj,main_job_proj --out docs/heldout_lighting_sheet.png

The rows are ``benchmarks/gpu_heldout_fits.py`` rows kept with their strips (``--sheet-subjects``): a run with the
people's own look (rows without ``light`` or ``light: "own"``) and a run with ``--light uniform``. The sheet has one
block per light (front / side / back rows) and one column per prior plus the ground truth of that light; each prior's
front tile is captioned with its novel-view and back-view PSNR.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.heldout_prior_report import VIEWS, decode_png, strip_views
from gasp_ops.errors import GaspInputError

LIGHTS = {"own": "own key light", "uniform": "uniform light"}


def read_fits(paths, subject: int) -> dict[tuple[str, str], dict]:
    """{(light, prior): row} of ``subject`` from JSONL files; a bad line or a repeated (light, prior) is one
    ``GaspInputError`` naming the file and line."""
    fits = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise GaspInputError(str(path), "no such rows file")
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GaspInputError(f"{path}:{n}", f"not JSON ({exc.msg})") from None
            if row.get("subject") != subject or "error" in row:
                continue
            key = (row.get("light", "own"), row.get("prior"))
            if key in fits:
                raise GaspInputError(f"{path}:{n}", f"second row for light {key[0]}, prior {key[1]}")
            fits[key] = row
    return fits


def _views(row: dict, field: str, where: str) -> list[np.ndarray]:
    if field not in row:
        raise GaspInputError(where, f"no {field} strip (fit it with --sheet-subjects)")
    import base64

    views = strip_views(decode_png(base64.b64decode(row[field]), where), where)
    if len(views) != len(VIEWS):
        raise GaspInputError(where, f"{field} strip of {len(views)} view(s): expected {len(VIEWS)}")
    return views


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.fromarray(np.ascontiguousarray(tile))
    ImageDraw.Draw(im).text((4, 3), text, fill=(255, 255, 255))
    return np.asarray(im)


def lighting_sheet(fits: dict, subject: int, priors: list[str]) -> np.ndarray:
    """uint8 [H, W, 3]: rows = (light, view), columns = priors + truth."""
    from gasp_ops.viz.contact_sheet import contact_sheet

    lights = [light for light in LIGHTS if any((light, p) in fits for p in priors)]
    if not lights:
        raise GaspInputError(f"subject {subject}", f"no rows for priors {', '.join(priors)}")
    grid, labels = [], []
    for light in lights:
        cols = []
        for p in priors:
            where = f"subject {subject}, {LIGHTS[light]}, prior {p}"
            if (light, p) not in fits:
                raise GaspInputError(where, "no row")
            row = fits[(light, p)]
            views = _views(row, "sheet", where)
            views[0] = _caption(views[0], f"novel {row['psnr_novel']:.1f} / back {row['psnr_back']:.1f} dB")
            cols.append(views)
        cols.append(_views(fits[(light, priors[0])], "sheet_truth", f"subject {subject}, {LIGHTS[light]}, truth"))
        grid += [[c[r] for c in cols] for r in range(len(VIEWS))]
        labels += [f"{LIGHTS[light]}, {v}" for v in VIEWS]
    return contact_sheet(grid, row_labels=labels, col_labels=[*priors, "truth"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="+", help="gpu_heldout_fits rows (JSONL) with strips")
    ap.add_argument("--subject", type=int, required=True)
    ap.add_argument("--priors", default="shipped_proj,main_job_proj", help="comma-separated prior names (columns)")
    ap.add_argument("--out", required=True, help="PNG")
    args = ap.parse_args(argv)
    from PIL import Image

    from gasp_ops.io.atomic import atomic_path
    from gasp_ops.io.output_paths import check_output

    try:
        out = check_output(args.out, kind="file", suffixes=(".png",), inputs=args.rows)
        sheet = lighting_sheet(read_fits(args.rows, args.subject), args.subject, args.priors.split(","))
    except GaspInputError as exc:
        ap.exit(2, f"error: {exc}\n")
    with atomic_path(out, suffix=".png") as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG", optimize=True)
    print(out)


if __name__ == "__main__":
    main()
