"""Tables 1-3 from the rows of ``benchmarks/gpu_tables.py`` (issue 15) -> ``results/``, on the CPU.

    python3 benchmarks/tables_report.py --rows <files_at>/tables_single_image+monocular.tar \\
        --rows <files_at>/tables_ablations+prior_size+multi_camera.tar --results results

``--rows`` takes what a device call returned: a tar (or its ``.tar.part.*`` pieces, joined in name order), or a folder
holding ``rows.jsonl`` and ``renders/``, or a call's rows alone (``.jsonl``, as ``results/raw`` keeps them: the renders
stay on the device machine, which keeps nothing). Later sources win when a fit appears twice (a retried fit).
``--rows-from results/raw/tables_sources.txt`` reads the sources from a list (one path per line, relative to the list,
``#`` comments), before any ``--rows``: the committed tables are rebuilt from the repository alone with

    python3 benchmarks/tables_report.py --rows-from results/raw/tables_sources.txt --results results

(ID-SIM of a fit without renders: the earlier report's rows of that very fit, ``evaluation.id_sim_reuse``; a contact
sheet that would lack a fit's renders is not redrawn, and its table says whether the kept one shows these very runs:
``tableN_contact_sheet.fits.json`` records the fits a sheet was drawn from, ``evaluation.sheet_fits``).

Writes, for N = 1, 2, 3: ``tableN.parquet`` (one row per setting x method / variant: the mean over every person's
test frames, ``subject = "mean"``, then one row per person; provenance columns commit, device, date, prior_sha256,
steps, resolution, and fit seconds), ``tableN.md`` (the means, the per-person table, targets met or missed,
provenance, what was not run and why), ``tableN_<metric>.png`` bar charts of the means, ``tableN_contact_sheet.png``
(ground truth and each method on the 4 test cameras of the first ``--sheet-subjects`` people, one frame per camera,
each another unseen expression), ``tableN_rows.parquet`` (every per-frame metric row); Tables 1 and 2 also
``tableN_loss_curves.png`` (training loss of each method over its steps, mean over people; the baselines' plateau
figure is in the Markdown). ID-SIM is computed here (dlib / ArcFace, ``evaluation.identity``) from the returned
renders of the frontal camera at the unseen test expressions (the device has no face models, and dlib finds no face
at the 45-60° test cameras); PSNR / SSIM / LPIPS / FID cover every test-camera frame.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gpu_tables import (
    ENCODER_VARIANTS,
    ENROLMENT_REFERENCE_ROWS,
    ENROLMENT_ROWS,
    EQUAL_BUDGET,
    PROJECTION_ROWS,
)
from evaluation.budget_psnr import budget_lines, psnr_by_budget
from evaluation.id_sim_reuse import earlier_rows
from evaluation.metrics import ROW_COLUMNS
from evaluation.rerun_noise import (
    fit_psnr,
    mean_difference_tolerance,
    noise_line,
    refit_pairs,
)
from evaluation.sheet_fits import record_path, stale_fits, write_record

PROVENANCE = ["commit", "device", "date", "prior_sha256", "steps", "resolution"]
SETTINGS_OF = {"1": ("monocular", "single_image"), "2": ("multi_camera",)}
#: Targets of issue 15: GASP's PSNR over the best baseline's (dB) per setting.
MARGINS = {"single_image": 3.0, "monocular": 2.0}
#: A baseline counts as plateaued when its mean training loss over the last 20% of its steps is less than this much
#: below the mean over the 20% before.
PLATEAU_DROP = 0.02
#: Prior-size rows fitted with their own prior (``--prior pN=PATH``): the 1 / 10 / 100-identity priors and the
#: 1,000-identity prior at the same 4,791 training steps (the shipped one, = Full, trained on to 11,453).
PRIOR_SIZE_ROWS = [("p1", "prior size 1"), ("p10", "prior size 10"), ("p100", "prior size 100"),
                   ("p1000", "prior size 1000 (same steps as 1/10/100)")]
#: UV rows fitted with their own prior (``--prior uvN=PATH``): four priors trained side by side on the same data (the
#: 100-identity prior's) for the same number of steps, differing only in the UV resolution of the Gaussian binding
#: (``bash benchmarks/gpu_shipped_prior.sh uv``); the shipped prior is UV 128 too (= Full, 1,000 identities).
UV_ROWS = [("uv64", "UV 64 (100 identities, equal steps)"), ("uv128", "UV 128 (100 identities, equal steps)"),
           ("uv256", "UV 256 (100 identities, equal steps)"), ("uv512", "UV 512 (100 identities, equal steps)")]
UV_NOT_RUN = ("not run: needs a prior trained at this UV resolution (`bash benchmarks/gpu_shipped_prior.sh uv`, a "
              "device call of its own)")


# ---------------------------------------------------------------------------------------------------------- inputs
def _sources(paths, tmp: Path) -> list[Path]:
    """Folders holding rows.jsonl (+ renders/), in the given order; tars (and joined .tar.part.* pieces) unpacked, a
    ``.jsonl`` (a call's rows without its renders, as ``results/raw`` keeps them) put in a folder of its own."""
    from gasp_ops.errors import GaspInputError

    folders, parts = [], {}
    for p in map(Path, paths):
        if p.is_dir():
            folders.append(p)
        elif ".tar.part." in p.name:
            parts.setdefault(str(p).split(".part.")[0], []).append(p)
            if len(parts[str(p).split(".part.")[0]]) == 1:
                folders.append(("parts", str(p).split(".part.")[0]))
        elif p.is_file() and p.name.endswith(".tar"):
            folders.append(("tar", p))
        elif p.is_file() and p.name.endswith(".jsonl"):
            folders.append(("rows", p))
        else:
            raise GaspInputError(str(p), "not a folder, a .tar, a .tar.part.* piece of gpu_tables.sh's output or a "
                                         "rows .jsonl")
    out = []
    for i, f in enumerate(folders):
        if isinstance(f, Path):
            out.append(f)
            continue
        dest = tmp / f"src{i}"
        dest.mkdir()
        if f[0] == "rows":  # a call's rows kept in the repository (results/raw): no renders
            shutil.copyfile(f[1], dest / "rows.jsonl")
            out.append(dest)
            continue
        if f[0] == "parts":
            joined = tmp / f"src{i}.tar"
            with open(joined, "wb") as w:
                w.writelines(piece.read_bytes() for piece in sorted(parts[f[1]], key=lambda q: q.name))
            f = ("tar", joined)
        with tarfile.open(f[1]) as t:
            t.extractall(dest, filter="data")
        out.append(dest)
    for f in out:
        if not (f / "rows.jsonl").is_file():
            raise GaspInputError(str(f), "no rows.jsonl (expected gpu_tables.py's output)")
    return out


def listed_sources(path: Path) -> list[Path]:
    """The sources named in a list file: one path per line relative to its folder; blank lines and ``#`` comments
    skipped. A missing list or a listed path that does not exist is a one-line error naming it."""
    from gasp_ops.errors import GaspInputError

    if not path.is_file():
        raise GaspInputError(str(path), "no such sources list")
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            source = path.parent / entry
            if not source.exists():
                raise GaspInputError(f"{path}:{number}", f"lists {entry}, which does not exist")
            out.append(source)
    return out


def all_records(folders) -> list[dict]:
    """Every row of every source, in source order, each with its ``source_folder`` (``load_fits`` keeps one per fit;
    ``evaluation.rerun_noise.refit_pairs`` pairs the refits)."""
    return [{**json.loads(line), "source_folder": str(folder)} for folder in folders
            for line in (folder / "rows.jsonl").read_text().splitlines() if line.strip()]


def load_fits(folders, records: list[dict]) -> tuple[pd.DataFrame, dict]:
    """(one row per fit of ``records`` (``all_records(folders)``), the last successful one of each fit_id; {subject:
    folder of its renders}). Failed fits that never succeeded are kept with their ``error``."""
    recs, render_dirs = {}, {}
    for r in records:
        if "error" not in r or r["fit_id"] not in recs or "error" in recs[r["fit_id"]]:
            recs[r["fit_id"]] = r
    for folder in folders:
        for truth in (folder / "renders").glob("*__truth.png"):
            render_dirs.setdefault(truth.name.split("__")[0], folder / "renders")
    return pd.DataFrame(list(recs.values())), render_dirs


def current_encoder_fits(fits: pd.DataFrame, encoder_sha256: str | None) -> tuple[pd.DataFrame, list[str]]:
    """(fits without the rows of ``gpu_tables.ENCODER_VARIANTS`` made with any other encoder than ``encoder_sha256``
    - rows that name none were made before rows named it, with the encoder shipped then -, note lines): a later
    encoder replaces every earlier row. ``None``: keep every row."""
    if encoder_sha256 is None or fits.empty or "variant" not in fits:
        return fits, []
    sha = fits["encoder_sha256"] if "encoder_sha256" in fits else pd.Series("", index=fits.index)
    uses = fits.variant.isin(ENCODER_VARIANTS)
    if not uses.any():
        return fits, []
    other = uses & (sha.fillna("").astype(str) != encoder_sha256)
    kept = fits[~other]
    lines = [f"- enrolment rows: encoder SHA-256 {encoder_sha256} ({int((uses & ~other).sum())} fits)"
             + (f"; {int(other.sum())} fits of earlier encoders left out" if other.any() else "")]
    return kept.reset_index(drop=True), lines


def _strip(path: Path, k: int) -> list[np.ndarray]:
    from gasp_ops.io.images import load_png

    a = load_png(path)
    w = a.shape[1] // k
    return [a[:, i * w:(i + 1) * w] for i in range(k)]


def truth_frames(render_dirs: dict, subject: str) -> dict:
    """A person's ground truth: {labels, frontalness, gt: [[H, W, 3] float, image x matte], mattes: [[H, W]]} of the
    sheet frames (test cameras) and idsim_labels / idsim_gt / idsim_mattes of the ID-SIM frames (frontal camera,
    unseen expressions)."""
    d = render_dirs[subject]
    meta = json.loads((d / f"{subject}__truth.json").read_text())

    def load(name, n):
        tiles = _strip(d / name, n)
        mattes = [t[..., 3].astype(np.float32) / 255 for t in tiles]
        return [t[..., :3].astype(np.float32) / 255 * m[..., None] for t, m in zip(tiles, mattes)], mattes

    gt, mattes = load(f"{subject}__truth.png", len(meta["labels"]))
    idsim_gt, idsim_mattes = load(f"{subject}__idsim_truth.png", len(meta["idsim_labels"]))
    return {**meta, "gt": gt, "mattes": mattes, "idsim_gt": idsim_gt, "idsim_mattes": idsim_mattes}


def metric_rows(fits: pd.DataFrame, render_dirs: dict, id_sim: bool = True,
                earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-frame rows (ROW_COLUMNS) of every successful fit: the device's PSNR / SSIM / LPIPS / FID rows (test
    cameras), plus ID-SIM from the returned renders of the ID-SIM frames (frontal camera, unseen expressions;
    ``unavailable`` rows with the reason when there is no face model). A fit whose renders are not in the sources
    (a ``results/raw`` rows file) gets the ID-SIM rows an earlier report computed from them (``earlier``: its per-frame
    rows; ``evaluation.id_sim_reuse``), or ``unavailable`` rows when none belong to that very fit."""
    import torch

    from evaluation.id_sim_reuse import reused_id_sim
    from evaluation.identity import face_embedder
    from evaluation.metrics import frame_metrics

    embedder, reason = (face_embedder()[0], face_embedder()[2]) if id_sim else (None, "not computed (--no-id-sim)")
    parts, truths = [], {}
    for fit in fits[fits.get("error", pd.Series(index=fits.index, dtype=object)).isna()].itertuples(index=False):
        rows = pd.DataFrame(fit.metric_rows, columns=ROW_COLUMNS)
        parts.append(rows[rows.metric != "id_sim"])
        if not (Path(fit.source_folder) / fit.render.replace(".png", "__idsim.png")).is_file():
            kept = reused_id_sim(rows, earlier) if earlier is not None and id_sim else None
            parts.append(kept if kept is not None else pd.DataFrame(
                [{"subject": fit.subject, "setting": fit.setting, "method": fit.method, "camera": "", "frame": -1,
                  "metric": "id_sim", "value": float("nan"),
                  "backend": "unavailable: the fit's renders are not in these sources"}], columns=ROW_COLUMNS))
            continue
        if fit.subject not in truths:
            truths[fit.subject] = truth_frames(render_dirs, fit.subject)
        t = truths[fit.subject]
        preds = _strip(Path(fit.source_folder) / fit.render.replace(".png", "__idsim.png"), len(t["idsim_labels"]))
        recs = []
        for pred, gt, m, label in zip(preds, t["idsim_gt"], t["idsim_mattes"], t["idsim_labels"]):
            _, cam, frame = label.split("/")
            key = {"subject": fit.subject, "setting": fit.setting, "method": fit.method, "camera": cam,
                   "frame": int(frame), "metric": "id_sim"}
            if embedder is None:
                recs.append({**key, "value": float("nan"), "backend": f"unavailable: {reason}"})
                continue
            r = frame_metrics(torch.as_tensor(pred[..., :3].astype(np.float32) / 255), torch.as_tensor(gt),
                              torch.as_tensor(m), embedder=embedder, metrics=("id_sim",))["id_sim"]
            recs.append({**key, "value": r.value, "backend": r.backend})
        parts.append(pd.DataFrame(recs, columns=ROW_COLUMNS))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)


# ---------------------------------------------------------------------------------------------------------- tables
def _s(v) -> str:
    """A cell as text; whole floats (integers that a NaN elsewhere made float) without '.0'."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _provenance(fits: pd.DataFrame) -> dict:
    """Provenance cells of a group of fits: unique values joined with '; '; date as first..last."""
    def join(col):
        vals = [_s(v) for v in fits[col].dropna().unique() if str(v) != ""] if col in fits else []
        return "; ".join(sorted(vals)) if vals else ""

    dates = sorted(str(d) for d in fits["date"].dropna()) if "date" in fits else []
    return {"commit": join("commit"), "device": join("device"),
            "date": (dates[0] if dates and dates[0] == dates[-1] else f"{dates[0]}..{dates[-1]}") if dates else "",
            "prior_sha256": join("prior_sha256") or "none", "steps": join("steps"), "resolution": join("resolution"),
            "fit_seconds_mean": float(pd.to_numeric(fits["fit_seconds"]).mean()) if len(fits) else float("nan"),
            "fits": len(fits)}


def _info(fits: pd.DataFrame) -> dict:
    """Tab. 3 info columns (``evaluation.tables.TABLE3_INFO_COLUMNS``) of a group of fits: the prior's identities /
    UV / steps, the fitted Gaussians (mean) and the fit's stage steps."""
    def one(col):
        vals = sorted({_s(v) for v in fits[col].dropna()}) if col in fits else []
        return "; ".join(vals)

    return {"prior_subjects": one("prior_subjects"), "uv_resolution": one("uv_resolution"),
            "gaussians": str(int(pd.to_numeric(fits["gaussians"]).mean())) if len(fits) else "",
            "prior_steps": one("prior_steps"), "fit_steps": one("steps")}


def loss_drop(history: dict) -> float:
    """Relative drop of the training loss ('total') between the mean over the 60-80% and the 80-100% windows of
    the last stage's steps (the baselines have one stage); NaN when too short."""
    stage = list(history.values())[-1] if history else {}
    loss = np.asarray(stage.get("total", []), float)
    if len(loss) < 10:
        return float("nan")
    n = len(loss)
    a, b = loss[int(0.6 * n):int(0.8 * n)].mean(), loss[int(0.8 * n):].mean()
    return float((a - b) / max(abs(a), 1e-12))


def comparison_tables(rows: pd.DataFrame, fits: pd.DataFrame, number: str) -> pd.DataFrame:
    """Table 1 / 2 (``evaluation.tables.comparison_table``): means, then per person; provenance columns."""
    from evaluation.tables import aggregate, comparison_table

    settings = SETTINGS_OF[number]
    mine = fits[(fits.table == number) & fits.get("error", pd.Series(index=fits.index, dtype=object)).isna()]
    r = rows[rows.setting.isin(settings) & rows.method.isin(set(mine.method))]
    if r.empty:
        return pd.DataFrame()
    parts, notes = [], []
    for setting in settings:
        rs = r[r.setting == setting]
        if rs.empty:
            continue
        people = complete_people(rs, optional=[m for m in rs.method.unique() if _is_gasp(m) and m != "GASP (ours)"])
        parts.append(rs[rs.subject.isin(people)])
        notes.append(people_note(rs, people, setting))
    means = comparison_table(pd.concat(parts, ignore_index=True), settings).assign(subject="mean")
    per = aggregate(r, by=("setting", "method", "subject"))
    per["subjects"] = 1
    order = {(s, m): i for i, (s, m) in enumerate(zip(means.setting, means.method))}
    per = per.assign(_o=[order.get((s, m), 99) for s, m in zip(per.setting, per.method)]) \
        .sort_values(["_o", "subject"]).drop(columns="_o")
    out = pd.concat([means, per], ignore_index=True)
    prov = []
    for rec in out.itertuples(index=False):
        g = mine[(mine.setting == rec.setting) & (mine.method == rec.method)]
        if rec.subject != "mean":
            g = g[g.subject == rec.subject]
        drops = [loss_drop(h) for h in g.history]
        prov.append({**_provenance(g), "loss_drop_last20": float(np.nanmean(drops)) if len(drops) and
                     not np.isnan(drops).all() else float("nan")})
    table = pd.concat([out.reset_index(drop=True), pd.DataFrame(prov)], axis=1)
    table.attrs["people"] = notes
    return table


def table3_frame(rows: pd.DataFrame, fits: pd.DataFrame, priors_not_run: dict) -> pd.DataFrame:
    """Table 3 (``evaluation.tables.table3``): Full = the monocular GASP fit with the shipped prior (also the
    'prior size 1000' and 'UV 128' rows), the ablations, the prior-size rows; means then per person."""
    from evaluation.tables import TABLE3_INFO_COLUMNS, TABLE3_ROWS, table3

    ok = fits[fits.get("error", pd.Series(index=fits.index, dtype=object)).isna()]
    full_fits = ok[(ok.group == "monocular") & (ok.variant == "gasp")]
    abl_fits = ok[ok.group.isin(["ablations", "prior_size"])]
    full = rows[(rows.setting == "monocular") & (rows.method == "GASP (ours)")].assign(method="full")
    rest = rows[(rows.setting == "monocular") & rows.method.isin(set(abl_fits.method))]
    base = pd.concat([full, rest], ignore_index=True)
    fit_of = {"full": full_fits, **{k: abl_fits[abl_fits.method == k] for k in set(abl_fits.method)}}
    names = dict(PRIOR_SIZE_ROWS + UV_ROWS)
    extra = sorted(k for k in set(abl_fits.method) if k.startswith("prior_") and k[6:] not in names)

    def build(sub_rows, subject):
        def sweep_entry(key, label, source_key, reason):
            g = sub_rows[sub_rows.method == source_key]
            if len(g):
                return {"label": label, "key": key, "status": "run", "rows": g}
            return {"label": label, "key": key, "status": reason, "rows": None}

        sweep = []
        for k, label in PRIOR_SIZE_ROWS:
            sweep.append(sweep_entry(f"prior_{k}", label, f"prior_{k}", priors_not_run.get(k, "not run: no rows")))
        sweep.append(sweep_entry("prior_shipped", "prior size 1000 (= Full, shipped)", "full", "not run: no Full rows"))
        sweep.append(sweep_entry("uv_shipped", "UV 128 (= Full, shipped)", "full", "not run: no Full rows"))
        for k, label in UV_ROWS:
            sweep.append(sweep_entry(f"prior_{k}", label, f"prior_{k}", UV_NOT_RUN))
        for k in extra:
            sweep.append(sweep_entry(k, k, k, "not run"))
        df = table3(sub_rows[sub_rows.method.isin([key for _, key in TABLE3_ROWS])], sweep=sweep)
        return df.assign(subject=subject)

    if base.empty:
        return pd.DataFrame()
    # Means over the people with Full, every ablation and the 1 / 10 / 100 priors; the 1,000-identity prior at
    # equal steps (a second 1,000 row beside Full) and any extra prior may cover fewer (paired in the targets).
    people = complete_people(base, optional=[m for m in base.method.unique()
                                             if m.startswith("prior_") and m not in ("prior_p1", "prior_p10", "prior_p100")])
    parts = [build(base[base.subject.isin(people)], "mean")]
    parts += [build(base[base.subject == s], s) for s in sorted(base.subject.unique())]
    out = pd.concat(parts, ignore_index=True)
    prov = []
    for rec in out.itertuples(index=False):
        key = {"prior_shipped": "full", "uv_shipped": "full"}.get(rec.method, rec.method)
        g = fit_of.get(key, ok.iloc[0:0])
        if rec.subject != "mean":
            g = g[g.subject == rec.subject]
        prov.append({**_provenance(g), **_info(g)} if rec.status == "run" else {"fits": 0})
    out = pd.concat([out.drop(columns=[c for c in TABLE3_INFO_COLUMNS if c in out]).reset_index(drop=True),
                     pd.DataFrame(prov)], axis=1)
    for c in TABLE3_INFO_COLUMNS:
        out[c] = out[c].fillna("").astype(str) if c in out else ""
    for c in PROVENANCE:
        out[c] = out[c].fillna("").astype(str) if c in out else ""
    out.attrs["people"] = [people_note(base, people, "Table 3")]
    return out


# ---------------------------------------------------------------------------------------------------------- notes
def _psnr(df, **where) -> float:
    m = df[df.subject == "mean"]
    for k, v in where.items():
        m = m[m[k] == v]
    return float(m.psnr.iloc[0]) if len(m) and pd.notna(m.psnr.iloc[0]) else float("nan")


def complete_people(rows: pd.DataFrame, optional=()) -> list[str]:
    """The people every method of ``rows`` (per-frame rows: subject, method) other than ``optional`` was fitted for:
    a table's means are taken over them only, so every row of it compares the same people (a fit cut by a device
    call's deadline would otherwise move one row's mean to other people)."""
    sets = [set(g.subject) for m, g in rows.groupby("method") if m not in set(optional)]
    return sorted(set.intersection(*sets)) if sets else []


def people_note(rows: pd.DataFrame, people: list[str], what: str) -> str:
    """One line: which people the means cover, and each method fitted for fewer of them."""
    short = [f"{m} ({len(set(g.subject) & set(people))} of {len(people)}: without "
             f"{', '.join(sorted(set(people) - set(g.subject)))})" for m, g in rows.groupby("method", sort=False)
             if set(people) - set(g.subject)]
    extra = sorted(set(rows.subject) - set(people))
    return (f"- {what}: means over the {len(people)} people with every row ({', '.join(people)})"
            + (f"; people with some rows only, in the per-person table: {', '.join(extra)}" if extra else "")
            + (f"; rows over fewer people (their targets are paired on those people): {'; '.join(short)}"
               if short else "") + ".")


def _paired(df: pd.DataFrame, methods: list[str], **where) -> tuple[dict, list[str]]:
    """({method: mean PSNR over the people that have every one of ``methods``}, those people) from the per-person
    rows of a result table (``subject != "mean"``)."""
    per = df[df.subject != "mean"]
    for k, v in where.items():
        per = per[per[k] == v]
    per = per[per.method.isin(methods) & per.psnr.notna()]
    people = sorted(set.intersection(*[set(per[per.method == m].subject) for m in methods])) if len(per) else []
    if not people:
        return {m: float("nan") for m in methods}, []
    per = per[per.subject.isin(people)]
    return {m: float(per[per.method == m].psnr.mean()) for m in methods}, people


def _is_gasp(method: str) -> bool:
    """GASP's own rows (the paper's fit and the enrolment modes), as opposed to the baselines."""
    return str(method).startswith("GASP")


#: Issue 17's targets per enrolment variant of ``gpu_tables.ENROLMENT_ROWS``: (text, lowest PSNR difference to the
#: paper's mean-code fit that meets it, dB).
ENROLMENT_TARGETS = {"gasp_instant": ("instant within 2 dB of the full fit", -2.0),
                     "gasp_fast": ("fast (1/4 of the steps) within 0.5 dB of the full fit", -0.5),
                     "gasp_encoder": ("full fit from the encoder's code >= from the mean code", 0.0)}


#: The same targets for today's modes, every one starting from the photo projection: (mode row, reference row, what,
#: floor in dB); full mode = the encoder's code + projection, its mean-code twin = the paper's fit + projection.
PROJECTED_TARGETS = (("gasp_instant", "gasp_encoder_projected", "instant within 2 dB of full mode", -2.0),
                     ("gasp_fast_projected", "gasp_encoder_projected", "fast (1/4 of the steps) within 0.5 dB of full "
                      "mode", -0.5),
                     ("gasp_encoder_projected", "gasp_projected", "full mode from the encoder's code >= from the mean "
                      "code, both with projection", 0.0))


def _row_label(variant: str) -> str:
    """Table 1 method label of an enrolment or projection variant."""
    return ENROLMENT_ROWS[variant][1] if variant in ENROLMENT_ROWS else PROJECTION_ROWS[variant][1]


def _fast_split() -> str:
    """Fast mode's stage steps for the paper's 500 / 500 / 100 (``gasp_ops.encoder.modes.fast_steps``), as "a/b/c"."""
    from gasp_ops.encoder.modes import fast_steps
    from gasp_ops.fitting import default_fit_config

    return "/".join(str(v) for v in fast_steps(default_fit_config("paper")).values())


def _people_count(df: pd.DataFrame) -> int:
    """How many people a comparison table's per-person rows cover."""
    return int(df[df.subject != "mean"].subject.nunique())


def _complete_people(df: pd.DataFrame) -> int:
    """How many people have every row of a per-person table (those its means are over)."""
    counts = df[(df.subject != "mean") & df.psnr.notna()].groupby("subject").size()
    return int((counts == counts.max()).sum()) if len(counts) else 0


def _verdict(d: float, floor: float, tolerance: float) -> str:
    """'met' / 'missed' for a difference ``d`` against ``floor``; an 'at least as good' target (floor 0) counts as met
    within the run noise when ``-tolerance <= d < 0`` (``evaluation.rerun_noise``), and says so."""
    if d >= floor:
        return "**met**"
    if floor == 0.0 and not np.isnan(tolerance) and d >= -tolerance:
        return f"**met within rerun noise** (a tie: {d:+.2f} dB is inside ±{tolerance:.2f} dB)"
    return "**missed**"


def targets_enrolment(df: pd.DataFrame, refits: list | None = None) -> list[str]:
    """Lines: issue 17's targets per setting where the enrolment rows ran (full fit = the paper's mean-code GASP);
    ``refits``: ``evaluation.rerun_noise.refit_pairs`` of the sources, the tolerance of the 'at least as good' ones."""
    refits = refits or []
    lines = []
    for setting in dict.fromkeys(df.setting) if len(df) else []:
        for variant, (text, floor) in ENROLMENT_TARGETS.items():
            method = ENROLMENT_ROWS[variant][1]
            p, people = _paired(df, ["GASP (ours)", method], setting=setting)
            if people:
                d = p[method] - p["GASP (ours)"]
                lines.append(f"- {setting}: {text}: {p[method]:.2f} vs {p['GASP (ours)']:.2f} dB = {d:+.2f} dB "
                             f"on {len(people)} people "
                             f"{_verdict(d, floor, mean_difference_tolerance(refits, len(people)))}")
        for variant, reference, text, floor in PROJECTED_TARGETS:
            method, ref = _row_label(variant), _row_label(reference)
            p, people = _paired(df, [ref, method], setting=setting)
            if people:
                d = p[method] - p[ref]
                lines.append(f"- {setting}: today's modes: {text}: {p[method]:.2f} vs {p[ref]:.2f} dB = {d:+.2f} dB "
                             f"on {len(people)} people "
                             f"{_verdict(d, floor, mean_difference_tolerance(refits, len(people)))}")
        code, instant = ENROLMENT_REFERENCE_ROWS["gasp_code_only"], ENROLMENT_ROWS["gasp_instant"][1]
        decoded = PROJECTION_ROWS["gasp_decoded"][1]
        p, people = _paired(df, [code, instant, decoded], setting=setting)
        if people:
            lines.append(f"- {setting}: photo projection: instant {p[instant]:.2f} dB vs the encoder's decoded avatar "
                         f"without it {p[decoded]:.2f} dB ({p[instant] - p[decoded]:+.2f} dB) and vs stage 1 alone (the "
                         f"best code through the frozen decoder, 500 steps) {p[code]:.2f} dB, on {len(people)} people")
        for variant, (_, method) in PROJECTION_ROWS.items():
            p, people = _paired(df, ["GASP (ours)", method], setting=setting) if variant != "gasp_decoded" else ({}, [])
            if people:
                lines.append(f"- {setting}: {method}: {p[method]:.2f} vs GASP (ours) {p['GASP (ours)']:.2f} dB = "
                             f"{p[method] - p['GASP (ours)']:+.2f} dB on {len(people)} people")
        fast, even = ENROLMENT_ROWS["gasp_fast"][1], ENROLMENT_REFERENCE_ROWS["gasp_fast_even"]
        p, people = _paired(df, [fast, even], setting=setting)
        if people:
            lines.append(f"- {setting}: fast mode's split {_fast_split()} vs the even 125/125/25: {p[fast]:.2f} vs "
                         f"{p[even]:.2f} dB on {len(people)} people")
    if any(m in set(df.method) for _, m in PROJECTION_ROWS.values()):
        lines.append(f"- the '{ENROLMENT_ROWS['gasp_fast'][1]}' and '{ENROLMENT_ROWS['gasp_encoder'][1]}' rows were "
                     f"fitted before fast / full mode started stage 3 from the photo projection (commit 49c3399); "
                     f"today's full mode is '{PROJECTION_ROWS['gasp_encoder_projected'][1]}'")
    return lines


def targets_comparison(df: pd.DataFrame) -> list[str]:
    """Lines: per setting, GASP's PSNR minus the best baseline's against the issue's margin."""
    lines = []
    for setting in dict.fromkeys(df.setting) if len(df) else []:
        gasp = _psnr(df, setting=setting, method="GASP (ours)")
        base = [_psnr(df, setting=setting, method=m) for m in df[(df.setting == setting)].method.unique()
                if not _is_gasp(m)]
        base = [b for b in base if not np.isnan(b)]
        if np.isnan(gasp) or not base:
            lines.append(f"- {setting}: not assessable (missing GASP or baseline rows)")
            continue
        d = gasp - max(base)
        want = MARGINS.get(setting)
        verdict = "" if want is None else (f" -> target >= +{want:.1f} dB **{'met' if d >= want else 'missed'}**")
        lines.append(f"- {setting}: GASP {gasp:.2f} dB vs best baseline {max(base):.2f} dB = {d:+.2f} dB{verdict}")
        for m in df[df.setting == setting].method.unique():  # Table 2's GASP at the baselines' step budget
            if any(str(m).startswith(label) for label in EQUAL_BUDGET.values()):
                p = _psnr(df, setting=setting, method=m)
                lines.append(f"- {setting}: {m} {p:.2f} dB vs best baseline {max(base):.2f} dB = {p - max(base):+.2f} dB")
    return lines


def targets_table3(df: pd.DataFrame, refits: list | None = None) -> list[str]:
    """Lines: Table 3's targets of issue 15; a met ordering whose smallest step is inside the rerun noise of its
    people (``evaluation.rerun_noise``) says so (met, but not shown beyond noise)."""
    lines = []
    if not len(df):
        return lines

    def check(text, better, worse):
        p, people = _paired(df, [better, worse])
        if not people:
            lines.append(f"- {text}: not assessable (a row was not run)")
        else:
            ok = p[better] > p[worse]
            lines.append(f"- {text}: {p[better]:.2f} vs {p[worse]:.2f} dB on {len(people)} people "
                         f"**{'met' if ok else 'missed'}**")

    check("Full > w/o prior", "full", "no_prior")
    check("w/o stage 3 < Full", "full", "no_stage3")
    for last, text in (("prior_p1000", "same training steps"), ("full", "1000 = the shipped prior, Full")):
        keys = ["prior_p1", "prior_p10", "prior_p100", last]
        p, people = _paired(df, keys)
        head = f"- prior size 1 < 10 < 100 < 1000 ({text})"
        if not people:
            lines.append(f"{head}: not assessable (a row was not run)")
        else:
            sizes = [p[k] for k in keys]
            ok = all(a < b for a, b in itertools.pairwise(sizes))
            step = min(b - a for a, b in itertools.pairwise(sizes))
            tol = mean_difference_tolerance(refits or [], len(people))
            noise = (f" (its smallest step, {step:+.2f} dB, is inside the rerun noise ±{tol:.2f} dB: not shown beyond "
                     f"noise)" if ok and not np.isnan(tol) and step < tol else "")
            lines.append(f"{head}: " + ", ".join(f"{s:.2f}" for s in sizes) + f" dB on {len(people)} people "
                         f"({', '.join(people)}) **{'met' if ok else 'missed'}**{noise}")
    keys = [f"prior_{k}" for k, _ in UV_ROWS]
    run = [k for k in keys if (df.method.eq(k) & df.psnr.notna() & df.subject.ne("mean")).any()]
    p, people = _paired(df, run) if run else ({}, [])
    if people:  # no target in the issue: the four values, for the reader
        lines.append("- UV " + " / ".join(k[8:] for k in keys if k in p) + " (100 identities, equal steps): "
                     + ", ".join(f"{p[k]:.2f}" for k in keys if k in p) + f" dB on {len(people)} people "
                     f"({', '.join(people)}) (no target: reported)")
    return lines


def provenance_lines(fits: pd.DataFrame) -> list[str]:
    p = _provenance(fits)
    return [f"- commit `{p['commit']}`, device {p['device']}, date {p['date']}, resolution {p['resolution']}²,",
            (f"  prior SHA-256 {p['prior_sha256']}; fits {p['fits']}; torch "
            f"{'; '.join(sorted(map(str, fits['torch'].dropna().unique()))) if 'torch' in fits else ''}.")]


def per_subject_markdown(df: pd.DataFrame, label_cols: list[str]) -> str:
    from evaluation.tables import to_markdown

    per = df[df.subject != "mean"]
    return to_markdown(per, ["subject", *label_cols], "Per person") if len(per) else ""


# ---------------------------------------------------------------------------------------------------------- pictures
def _column_key(method: str) -> tuple:
    """A contact sheet's column order, the same for every person whichever calls fitted them: GASP's rows first, then
    by name with numbers by value (prior_uv64 before prior_uv128)."""
    return not _is_gasp(method), [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(method))]


def contact_sheet(fits: pd.DataFrame, render_dirs: dict, groups: list[tuple[str, str]], sheet_subjects: int,
                  title: str) -> tuple[np.ndarray | None, list[str], dict[str, float]]:
    """(one sheet per (group, person) for the first ``sheet_subjects`` people: ground truth then each fit's renders of
    the 4 test cameras (``evaluation.contact_sheet.comparison_sheet``), stacked; the fit ids it would show whose
    renders (or whose person's ground truth) are not in the sources; {fit_id: mean test PSNR} of every fit it would
    show, for ``evaluation.sheet_fits``). With any such fit there is no sheet (None): a sheet never mixes in gaps."""
    import torch

    from evaluation.contact_sheet import comparison_sheet, stack_sheets

    ok = fits[fits.get("error", pd.Series(index=fits.index, dtype=object)).isna()]
    people = sorted(ok.subject.unique())[:sheet_subjects]
    chosen = []
    for group, setting in groups:
        for s in people:
            prefixes = tuple(x + "/" for x in group.split("|"))
            g = ok[(ok.subject == s) & ok.fit_id.str.startswith(prefixes)]
            if not g.empty:
                chosen.append((setting, s, g.iloc[sorted(range(len(g)), key=lambda i: _column_key(g.method.iloc[i]))]))
    missing = [r.fit_id for _, s, g in chosen for r in g.itertuples(index=False)
               if s not in render_dirs or not (Path(r.source_folder) / r.render).is_file()]
    shown = {r.fit_id: fit_psnr({"metric_rows": r.metric_rows}) for _, _, g in chosen for r in g.itertuples(index=False)}
    if missing:
        return None, missing, shown
    sheets = []
    for setting, s, g in chosen:
        t = truth_frames(render_dirs, s)
        renders = {row.method: [torch.as_tensor(x[..., :3].astype(np.float32) / 255) for x in
                                _strip(Path(row.source_folder) / row.render, len(t["labels"]))]
                   for row in g.itertuples(index=False)}
        comp = SimpleNamespace(labels=t["labels"], frontalness=t["frontalness"], renders=renders,
                               ground_truth=[torch.as_tensor(x) for x in t["gt"]])
        sheets.append(comparison_sheet(comp, 4, title=f"{title}: person {s}, {setting} (test cameras, unseen "
                                                      "expressions)"))
    return (stack_sheets(sheets) if sheets else None), [], shown


def _listed(fit_ids: list[str]) -> str:
    return ", ".join(fit_ids[:4]) + (", ..." if len(fit_ids) > 4 else "")


def sheet_note(path: Path, unseen: list[str], shown: dict[str, float]) -> list[str]:
    """A table's note on its contact sheet when it could not be drawn from these sources (``contact_sheet``'s list of
    fits without renders and of the fits it would show); nothing when it was. A kept sheet is compared with the record
    of the fits it was drawn from (``evaluation.sheet_fits``)."""
    if not unseen:
        return []
    head = (f"Contact sheet: not redrawn - the renders of {len(unseen)} of its fits are not in these sources "
            f"({_listed(unseen)}); ")
    if not path.is_file():
        return ["", head + "there is none."]
    stale = stale_fits(path, shown)
    if stale is None:
        kept = ("the file there is the one an earlier report drew from those renders, with no record of which runs "
                "(a fit refitted since would show its earlier run)")
    elif stale:
        kept = (f"the file there, drawn by an earlier report, shows other runs than these rows for {len(stale)} of "
                f"its {len(shown)} fits ({_listed(stale)}; {record_path(path).name})")
    else:
        kept = (f"the file there was drawn by an earlier report from these very runs (all {len(shown)} fits match "
                f"{record_path(path).name} by PSNR)")
    return ["", head + kept + "."]


def loss_curves(fits: pd.DataFrame, number: str, path: Path) -> Path | None:
    """Training loss ('total', log scale) over each method's steps, one panel per setting; thin lines per person."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = fits[(fits.table == number) & fits.get("error", pd.Series(index=fits.index, dtype=object)).isna()]
    settings = [s for s in SETTINGS_OF[number] if s in set(ok.setting)]
    if not settings:
        return None
    fig, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 3.6), squeeze=False)
    for ax, setting in zip(axes[0], settings):
        for ci, (method, g) in enumerate(ok[ok.setting == setting].groupby("method", sort=False)):
            for j, h in enumerate(g.history):
                xs, ys, offset = [], [], 0
                for stage in h.values():
                    xs += [offset + s for s in stage["step"]]
                    ys += stage["total"]
                    offset += stage["step"][-1] if stage["step"] else 0
                ax.plot(xs, ys, color=f"C{ci}", lw=0.8, alpha=0.6, label=method if j == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("training loss (total)")
        ax.set_title(f"Table {number}, {setting}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------------------- writing
def write_result_table(df: pd.DataFrame, out: Path, name: str, label_cols: list[str], title: str,
                       notes: list[str]) -> dict:
    """<name>.parquet (means + per person), <name>.md (means, notes, per person), <name>_<metric>.png (means)."""
    from evaluation.tables import bar_charts, to_markdown
    from gasp_ops.io.atomic import atomic_path
    from gasp_ops.io.tables import write_parquet

    out.mkdir(parents=True, exist_ok=True)
    means = df[df.subject == "mean"].reset_index(drop=True)
    pq = write_parquet(out / f"{name}.parquet", df)
    md = out / f"{name}.md"
    text = to_markdown(means, label_cols, title) + "\n" + "\n".join(notes) + "\n\n" + per_subject_markdown(df, label_cols)
    with atomic_path(md, suffix=".md") as tmp:
        Path(tmp).write_text(text)
    charts = bar_charts(means, label_cols, out, name)
    return {"parquet": pq, "markdown": md, **{f"chart_{k}": v for k, v in charts.items()}}


def build_report(sources, results: Path, *, id_sim: bool = True, sheet_subjects: int = 2,
                 encoder_sha256: str | None = "shipped") -> dict:
    """Every table file under ``results`` from ``gpu_tables.py`` outputs (see module docstring) -> {name: path}.
    encoder_sha256: the encoder whose enrolment rows count ("shipped": the pinned shipped one; None: every row)."""
    from gasp_ops.errors import GaspInputError
    from gasp_ops.io.images import save_png
    from gasp_ops.io.tables import write_parquet

    results = Path(results)
    written = {}
    with tempfile.TemporaryDirectory(prefix="tables_report_") as tmp:
        folders = _sources(sources, Path(tmp))
        if any(results.resolve() == f.resolve() or results.resolve() in f.resolve().parents for f in folders):
            raise GaspInputError(str(results), "the results folder holds an input; choose another --results")
        records = all_records(folders)
        fits, render_dirs = load_fits(folders, records)
        refits = refit_pairs(records)
        by_budget = psnr_by_budget(records, ("gaussian_avatars", "flash_avatar"))  # the baselines' budgets
        if fits.empty:
            raise GaspInputError(str(folders[0] / "rows.jsonl"), "no fit rows")
        if encoder_sha256 == "shipped":
            from gasp_ops.encoder.checkpoint import shipped_sha256

            encoder_sha256 = shipped_sha256()
        fits, encoder_lines = current_encoder_fits(fits, encoder_sha256)
        if "error" not in fits:
            fits["error"] = np.nan
        rows = metric_rows(fits, render_dirs, id_sim=id_sim, earlier=earlier_rows(results))
        failed = fits[fits.error.notna()]
        fail_lines = [f"- failed: {r.fit_id}: {str(r.error)[:160]}" for r in failed.itertuples(index=False)]
        ok = fits[fits.error.isna()]
        protocol = ["", ("Protocol: generated `real_proxy` people (never in the prior's data), a 16-camera arc; training "
                    "frames from the frontal camera (multi-camera: every camera); scored on the 4 cameras at the "
                    "largest angle to it and expressions not seen in training (benchmarks/gpu_tables.py). PSNR / "
                    "SSIM over every test frame on the head matte; ID-SIM (dlib) on the frontal camera at the unseen test "
                    "expressions, because dlib's detector finds no face in the 45-60° test cameras' ground truth; "
                    "'frames' counts both.")]
        for number in ("1", "2"):
            df = comparison_tables(rows, fits, number)
            if df.empty:
                continue
            lines = ["", "People:", *df.attrs.get("people", []), "", "Targets:", *targets_comparison(df),
                     *targets_enrolment(df, refits), noise_line(refits, _people_count(df)), "",
                     ("Baselines' training loss, drop over the last "
                     f"20% of the steps (plateau when < {PLATEAU_DROP:.0%}; curves: table{number}_loss_curves.png):")]
            for rec in df[(df.subject == "mean") & ~df.method.map(_is_gasp)].itertuples(index=False):
                d = rec.loss_drop_last20
                lines.append(f"- {rec.setting} / {rec.method} ({rec.steps} steps): {d:.1%} "
                             f"{'(plateaued)' if d < PLATEAU_DROP else '(**still falling**)'}" if not np.isnan(d) else
                             f"- {rec.setting} / {rec.method}: no loss history")
            budgets = budget_lines(by_budget, SETTINGS_OF[number])
            if budgets:
                lines += ["", ("Baselines' test PSNR at each step budget they were run with (more steps, better "
                               "novel views?):"), *budgets]
            with_encoder = ok[(ok.table == number) & ok.variant.isin(ENCODER_VARIANTS)] if "variant" in ok else ok[:0]
            lines += ["", "Provenance:", *provenance_lines(ok[ok.table == number]),
                      *(encoder_lines if len(with_encoder) else []), *protocol,
                      *[ln for ln in fail_lines if ln.split(": ")[1].split("/")[0] in SETTINGS_OF[number]]]
            sheet, unseen, shown = contact_sheet(fits, render_dirs, [(s, s) for s in SETTINGS_OF[number]],
                                                 sheet_subjects, f"Table {number}")
            lines += sheet_note(results / f"table{number}_contact_sheet.png", unseen, shown)
            title = (f"Table {number}: {' / '.join(SETTINGS_OF[number])} (held-out real_proxy people "
                     f"{', '.join(sorted(ok[ok.table == number].subject.unique()))}; mean over test frames)")
            written.update({f"table{number}_{k}": v for k, v in write_result_table(
                df, results, f"table{number}", ["setting", "method"], title, lines).items()})
            mine = rows.setting.isin(SETTINGS_OF[number]) & rows.method.isin(set(ok[ok.table == number].method))
            written[f"table{number}_rows"] = write_parquet(results / f"table{number}_rows.parquet", rows[mine])
            curves = loss_curves(fits, number, results / f"table{number}_loss_curves.png")
            if curves:
                written[f"table{number}_loss_curves"] = curves
            if sheet is not None:
                written[f"table{number}_contact_sheet"] = save_png(results / f"table{number}_contact_sheet.png", sheet)
                written[f"table{number}_contact_sheet_fits"] = write_record(written[f"table{number}_contact_sheet"],
                                                                            shown)
        priors_run = set(ok[ok.group == "prior_size"].variant.str[6:])
        not_run = {k: "not run: no prior file given (--prior)" for k, _ in PRIOR_SIZE_ROWS if k not in priors_run}
        df3 = table3_frame(rows, fits, not_run)
        if not df3.empty:
            sheet, unseen, shown = contact_sheet(fits, render_dirs,
                                                 [("monocular/gasp|ablations|prior_size", "monocular")],
                                                 sheet_subjects, "Table 3")
            lines = ["", "People:", *df3.attrs.get("people", []), "", "Targets:", *targets_table3(df3, refits),
                     noise_line(refits, _complete_people(df3)), "",
                     "Provenance:",
                     *provenance_lines(ok[(ok.table == "3") | ((ok.group == "monocular") & (ok.variant == "gasp"))]),
                     *protocol, "Full = GASP's monocular fit of Table 1 (shipped prior: 1,000 identities, UV 128).",
                     *[ln for ln in fail_lines if ln.split(": ")[1].split("/")[0] in ("ablations", "prior_size")],
                     *sheet_note(results / "table3_contact_sheet.png", unseen, shown)]
            written.update({f"table3_{k}": v for k, v in write_result_table(
                df3, results, "table3", ["variant"], "Table 3: ablations (monocular, held-out real_proxy people)",
                lines).items()})
            keys = set(df3.method) | {"GASP (ours)"} | set(ok[ok.table == "3"].method)
            written["table3_rows"] = write_parquet(results / "table3_rows.parquet",
                                                   rows[(rows.setting == "monocular") & rows.method.isin(keys)])
            if sheet is not None:
                written["table3_contact_sheet"] = save_png(results / "table3_contact_sheet.png", sheet)
                written["table3_contact_sheet_fits"] = write_record(written["table3_contact_sheet"], shown)
    return written


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", action="append", default=[],
                    help="a gpu_tables.sh tar / .tar.part.* / folder, or a call's rows .jsonl (results/raw)")
    ap.add_argument("--rows-from", default=None, help="a list of --rows sources (results/raw/tables_sources.txt)")
    ap.add_argument("--results", default="results")
    ap.add_argument("--sheet-subjects", type=int, default=2)
    ap.add_argument("--no-id-sim", action="store_true")
    ap.add_argument("--encoder-sha", default="shipped",
                    help="SHA-256 of the encoder whose enrolment rows count (default: the shipped one; 'any': all)")
    args = ap.parse_args(argv)
    sources = [*(listed_sources(Path(args.rows_from)) if args.rows_from else []), *args.rows]
    if not sources:
        ap.error("no sources: give --rows and / or --rows-from")
    written = build_report(sources, Path(args.results), id_sim=not args.no_id_sim,
                           sheet_subjects=args.sheet_subjects,
                           encoder_sha256=None if args.encoder_sha == "any" else args.encoder_sha)
    for k, v in written.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
