"""Aggregated tables of GASP §6: Tab. 1 (monocular / single image), Tab. 2 (multi-camera) and Tab. 3 (ablations)
from metric rows.

Cells are means over the frames (FID: the set value). A metric whose rows are all unavailable gives the cell
"unavailable" (Markdown) / NaN + a note column (Parquet). Rows that were not run (e.g. prior-size / UV sweeps that
need separately trained priors) are listed with "not run: <reason>".

ID-SIM cells are means over the frames whose ground truth has a detectable face (``id_sim_scored`` of them);
renders without a detectable face count as 0 (``id_sim_no_face`` of them). The score is a similarity in [0, 1]
(dlib: Euclidean descriptor distance mapped through dlib's 0.6 same-person threshold; ArcFace: clamped cosine),
see ``evaluation.identity`` and docs/metrics.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from evaluation.identity import NO_FACE_IN_RENDER
from evaluation.metrics import METRICS

COLUMNS = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "fid": "FID", "id_sim": "ID-SIM"}
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False, "fid": False, "id_sim": True}

#: Tab. 3 rows (GASP §6.5) and what the fitting code calls them.
TABLE3_ROWS = [
    ("Full (ours)", "full"), ("w/o prior", "no_prior"), ("w/o prior regularisation", "no_regulariser"),
    ("w/o stage 1", "no_stage1"), ("w/o stage 2", "no_stage2"), ("w/o stage 3", "no_stage3"),
]
#: Tab. 3 rows that need separately trained priors (listed as not run unless given).
TABLE3_PRIOR_ROWS = [f"prior size {n}" for n in ("1", "10", "100", "all")] + [f"UV {r}" for r in (64, 128, 256, 512)]


def aggregate(rows: pd.DataFrame, by=("setting", "method")) -> pd.DataFrame:
    """One row per ``by`` group: the mean of each metric over its available values, plus <metric>_backend
    ("unavailable: ..." when no value is available), frames, id_sim_scored (frames with an ID-SIM value) and
    id_sim_no_face (of those, renders without a detectable face, scored 0)."""
    out = []
    for key, g in rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rec = dict(zip(by, key))
        rec["frames"] = int(g.loc[g.frame >= 0, "frame"].count()) if "frame" in g else len(g)
        for m in METRICS:
            mg = g[g.metric == m]
            ok = mg[~mg.value.isna()]
            if len(ok):
                rec[m] = float(ok.value.mean())
                rec[f"{m}_backend"] = "; ".join(sorted(set(ok.backend.astype(str))))
            else:
                rec[m] = float("nan")
                rec[f"{m}_backend"] = (str(mg.backend.iloc[0]) if len(mg) else "unavailable: not computed")
        ids = g[(g.metric == "id_sim") & g.value.notna()]
        rec["id_sim_scored"] = len(ids)
        rec["id_sim_no_face"] = int(ids.backend.astype(str).str.contains(NO_FACE_IN_RENDER, regex=False).sum())
        out.append(rec)
    return pd.DataFrame(out)


#: Tab. 1 / Tab. 2 settings in the paper's order.
TABLE1_SETTINGS = ("monocular", "single_image")
TABLE2_SETTINGS = ("multi_camera",)


def comparison_table(rows: pd.DataFrame, settings=TABLE1_SETTINGS) -> pd.DataFrame:
    """Tabs. 1-2: one row per (setting, method) present in ``rows``, settings in ``settings`` order, methods in the
    order of ``gasp_ops.fitting.baselines.METHOD_LABELS`` (others after); cells are means over every subject's
    frames, plus 'subjects' (how many subjects the mean covers) and 'frames' (evaluated images, all subjects)."""
    from gasp_ops.fitting.baselines import METHOD_LABELS

    rows = rows[rows.setting.isin(list(settings))]
    df = aggregate(rows, by=("setting", "method"))
    if df.empty:
        return df
    subjects = rows.groupby(["setting", "method"]).subject.nunique()
    df["subjects"] = [int(subjects.loc[(s, m)]) for s, m in zip(df.setting, df.method)]
    per_frame = rows[rows.frame >= 0].drop_duplicates(["setting", "method", "subject", "camera", "frame"])
    frames = per_frame.groupby(["setting", "method"]).size()
    df["frames"] = [int(frames.get((s, m), 0)) for s, m in zip(df.setting, df.method)]  # evaluated images
    order = {label: i for i, label in enumerate(METHOD_LABELS.values())}
    df["_s"] = df.setting.map({s: i for i, s in enumerate(settings)})
    df["_m"] = df.method.map(lambda m: order.get(m, len(order)))
    return df.sort_values(["_s", "_m", "method"]).drop(columns=["_s", "_m"]).reset_index(drop=True)


def table1(rows: pd.DataFrame) -> pd.DataFrame:
    """Tab. 1: per setting (monocular, single_image) and method."""
    return comparison_table(rows, TABLE1_SETTINGS)


def table2(rows: pd.DataFrame) -> pd.DataFrame:
    """Tab. 2: multi-camera, per method."""
    return comparison_table(rows, TABLE2_SETTINGS)


#: Tab. 3's per-row info columns: the prior's identities, UV resolution, Gaussians, training steps; fit steps.
TABLE3_INFO_COLUMNS = ["prior_subjects", "uv_resolution", "gaussians", "prior_steps", "fit_steps"]


def table3(rows: pd.DataFrame, not_run: dict[str, str] | None = None, sweep: list[dict] | None = None,
           info: dict | None = None) -> pd.DataFrame:
    """Tab. 3: one row per ablation (column 'variant' = the paper's row name, 'method' = the ablation key) in the
    paper's order, then the sweep rows, then any ``not_run`` rows ({label: reason}).

    sweep: one dict per prior-size / UV row: label, key, status ("run", "failed: ...", "not run: ..."), rows
    (its metric rows when run, else None), info ({column of TABLE3_INFO_COLUMNS: value}). info: the info columns
    of the ablation rows (their shared prior and fit). Info columns are strings ("" when unknown)."""
    agg = aggregate(rows, by=("method",)).set_index("method") if len(rows) else pd.DataFrame()

    def infos(d):
        return {c: "" if (d or {}).get(c) is None else str((d or {})[c]) for c in TABLE3_INFO_COLUMNS}

    recs = []
    for label, key in TABLE3_ROWS:
        if key in agg.index:
            recs.append({"variant": label, "method": key, "status": "run", **infos(info), **agg.loc[key].to_dict()})
        else:
            recs.append({"variant": label, "method": key, "status": "not run: no metric rows", **infos(None)})
    for s in sweep or []:
        rec = {"variant": s["label"], "method": s["key"], "status": s["status"], **infos(s.get("info"))}
        if s["status"] == "run":
            rec.update(aggregate(s["rows"], by=("method",)).iloc[0].drop("method").to_dict())
        recs.append(rec)
    for label, reason in (not_run or {}).items():
        recs.append({"variant": label, "method": label, "status": f"not run: {reason}", **infos(None)})
    df = pd.DataFrame(recs)
    for m in METRICS:
        if m not in df:
            df[m] = float("nan")
        if f"{m}_backend" not in df:
            df[f"{m}_backend"] = ""
        df[f"{m}_backend"] = df[f"{m}_backend"].fillna("").astype(str)
    if "frames" in df:
        df["frames"] = pd.to_numeric(df["frames"], errors="coerce")
    return df


#: Decimals per metric in the Markdown tables (dB and FID to 0.01; the [0, 1] scores to 0.0001).
DECIMALS = {"psnr": 2, "fid": 2}


def _cell(value, backend, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unavailable" if str(backend).startswith("unavailable") else "–"
    return f"{value:.{DECIMALS.get(metric, 4)}f}"


def to_markdown(df: pd.DataFrame, label_cols: list[str], title: str = "") -> str:
    """Markdown table with the paper's metric columns; unavailable metrics' reasons as footnotes."""
    head = label_cols + [f"{COLUMNS[m]} {'↑' if HIGHER_IS_BETTER[m] else '↓'}" for m in METRICS]
    extra = ["status"] if "status" in df else []
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(head + extra) + " |", "|" + "---|" * (len(head) + len(extra))]
    reasons: dict[str, str] = {}
    for _, r in df.iterrows():
        cells = [str(r[c]) for c in label_cols]
        for m in METRICS:
            b = r.get(f"{m}_backend", "")
            if isinstance(b, str) and b.startswith("unavailable"):
                reasons.setdefault(COLUMNS[m], b)
            cells.append(_cell(r.get(m), b if str(r.get("status", "run")) == "run" else "not run", m))
        if extra:
            cells.append(str(r["status"]).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    if reasons:
        lines += [""] + [f"- {k}: {v}" for k, v in reasons.items()]
    scored = int(pd.to_numeric(df["id_sim_scored"], errors="coerce").fillna(0).sum()) if "id_sim_scored" in df else 0
    if scored:
        no_face = int(pd.to_numeric(df["id_sim_no_face"], errors="coerce").fillna(0).sum())
        lines += ([] if reasons else [""]) + [
            f"- ID-SIM: similarity in [0, 1] over {scored} frames with a detectable ground-truth face; {no_face} "
            "renders without a detectable face scored 0 (docs/metrics.md)."]
    return "\n".join(lines) + "\n"


def row_labels(df: pd.DataFrame, label_cols: list[str]) -> list[str]:
    """One label per row: the fewest leading ``label_cols`` that tell the rows apart, joined by " / " (e.g. Table 3:
    the variant; Table 1: setting / method)."""
    labels = []
    for k in range(1, len(label_cols) + 1):
        labels = [" / ".join(str(v) for v in row) for row in df[label_cols[:k]].itertuples(index=False)]
        if len(set(labels)) == len(labels):
            break
    return labels


def bar_charts(df: pd.DataFrame, label_cols: list[str], out_dir, prefix: str) -> dict[str, Path]:
    """One bar chart (PNG) per metric over the rows of ``df`` (bars named by ``row_labels``); an unavailable metric
    gets a chart saying why."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for m in METRICS:
        fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(df)), 3.2))
        vals = pd.to_numeric(df[m], errors="coerce") if m in df else pd.Series([float("nan")] * len(df))
        if vals.notna().any():
            ax.bar(range(len(df)), vals.fillna(0.0), color=["C0" if v == v else "0.85" for v in vals])
            ax.set_xticks(range(len(df)), row_labels(df, label_cols), rotation=35, ha="right", fontsize=7)
        else:
            reason = next((str(b) for b in df.get(f"{m}_backend", []) if str(b).startswith("unavailable")),
                          "unavailable")
            ax.text(0.5, 0.5, "\n".join(reason[i:i + 60] for i in range(0, len(reason), 60)), ha="center",
                    va="center", fontsize=7, transform=ax.transAxes)
            ax.set_xticks([])
        ax.set_title(f"{COLUMNS[m]} ({'higher' if HIGHER_IS_BETTER[m] else 'lower'} is better)")
        fig.tight_layout()
        p = out_dir / f"{prefix}_{m}.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths[m] = p
    return paths


def write_table(df: pd.DataFrame, out_dir, name: str, label_cols: list[str], title: str) -> dict[str, Path]:
    """<name>.parquet, <name>.md and <name>_<metric>.png under ``out_dir``."""
    from gasp_ops.io.atomic import atomic_path
    from gasp_ops.io.tables import write_parquet

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pq = write_parquet(out_dir / f"{name}.parquet", df)
    md = out_dir / f"{name}.md"
    with atomic_path(md, suffix=".md") as tmp:
        Path(tmp).write_text(to_markdown(df, label_cols, title))
    charts = bar_charts(df, label_cols, out_dir, name)
    return {"parquet": pq, "markdown": md, **{f"chart_{k}": v for k, v in charts.items()}}
