"""Which fits a results contact sheet shows: recorded beside it when it is drawn, compared when it is kept.

A table's contact sheet is drawn from its fits' renders, which only a device call's tar holds; a report rebuilt from
the kept rows (``results/raw``) cannot redraw it and keeps the file. Whether the kept picture still shows the fits
the table reports is decided here, not assumed: the report that draws a sheet writes ``<sheet>.fits.json``
({fit_id: mean test PSNR}); a later report compares the fits it would show with that record, fit by fit (the same
PSNR: the same run; a refit of the same fit id never matches, see ``evaluation.id_sim_reuse``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def record_path(sheet: Path) -> Path:
    """``tableN_contact_sheet.png`` -> ``tableN_contact_sheet.fits.json``."""
    sheet = Path(sheet)
    return sheet.with_name(sheet.stem + ".fits.json")


def write_record(sheet: Path, shown: dict[str, float]) -> Path:
    """Record the fits a freshly drawn ``sheet`` shows ({fit_id: mean test PSNR}), written atomically."""
    from gasp_ops.io.atomic import atomic_path

    path = record_path(sheet)
    with atomic_path(path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(dict(sorted(shown.items())), indent=1) + "\n")
    return path


def stale_fits(sheet: Path, shown: dict[str, float], tolerance: float = 1e-9) -> list[str] | None:
    """The fit ids of ``shown`` that the kept ``sheet`` does not show as these very runs (absent from its record, or
    with another PSNR), sorted; None when the sheet has no record (drawn before records were kept)."""
    path = record_path(sheet)
    if not path.is_file():
        return None
    drawn = json.loads(path.read_text())
    return sorted(f for f, psnr in shown.items()
                  if f not in drawn or not (math.isfinite(psnr) and abs(float(drawn[f]) - psnr) <= tolerance))
