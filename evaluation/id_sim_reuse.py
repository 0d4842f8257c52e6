"""ID-SIM rows of a fit whose renders are gone, taken from an earlier report's per-frame rows of the same fit.

The device returns a fit's renders only inside its call's tar; the repository keeps each call's rows
(``results/raw/*_rows.jsonl``: PSNR / SSIM / LPIPS / FID per test frame, no renders) and the tables' per-frame rows
(``results/tableN_rows.parquet``, ID-SIM included). ID-SIM is computed on the CPU from the renders (dlib is not on the
device), so a later report that re-reads the raw rows finds no renders for the fits of earlier sessions. For such a
fit the earlier report's ID-SIM rows are reused when - and only when - they belong to the same fit: the earlier rows
of its (subject, setting, method) hold exactly this fit's PSNR at every test frame. A refit of the same fit id never
passes (gsplat's backward accumulates with atomics, so two runs differ in the last digits at least).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.metrics import ROW_COLUMNS

#: The per-frame row files of ``benchmarks/tables_report.py`` that hold ID-SIM rows.
ROW_FILES = ("table1_rows.parquet", "table2_rows.parquet", "table3_rows.parquet")


def earlier_rows(results: Path) -> pd.DataFrame:
    """Every per-frame row (``ROW_COLUMNS``) of the tables already under ``results`` (none: an empty frame)."""
    parts = [pd.read_parquet(Path(results) / name) for name in ROW_FILES if (Path(results) / name).is_file()]
    if not parts:
        return pd.DataFrame(columns=ROW_COLUMNS)
    rows = pd.concat(parts, ignore_index=True)[ROW_COLUMNS]
    return rows.drop_duplicates(subset=["subject", "setting", "method", "camera", "frame", "metric"],
                                ignore_index=True)


def reused_id_sim(fit_rows: pd.DataFrame, earlier: pd.DataFrame, tolerance: float = 1e-9) -> pd.DataFrame | None:
    """The earlier ID-SIM rows of the fit whose device rows are ``fit_rows`` (``ROW_COLUMNS``, one subject / setting /
    method), or None when ``earlier`` holds no rows of that fit: its PSNR rows must cover the same test frames
    (camera, frame) with values within ``tolerance``."""
    psnr = fit_rows[fit_rows.metric == "psnr"]
    if psnr.empty or earlier.empty:
        return None
    key = psnr.iloc[0]
    same = earlier[(earlier.subject == key.subject) & (earlier.setting == key.setting)
                   & (earlier.method == key.method)]
    before = same[same.metric == "psnr"]
    if len(before) != len(psnr):
        return None
    paired = psnr.merge(before, on=["camera", "frame"], suffixes=("", "_before"))
    if len(paired) != len(psnr) or not ((paired.value - paired.value_before).abs() <= tolerance).all():
        return None
    id_sim = same[same.metric == "id_sim"]
    return id_sim.reset_index(drop=True) if len(id_sim) else None
