"""Held-out single-image fits per prior variant (issue 14): result table, chart and contact sheets from fit rows.

Rebuild every output from the committed raw rows (CPU, a few seconds, no GPU):

    python3 benchmarks/heldout_prior_report.py

reads ``results/raw/heldout_fits_2026-12-01.jsonl`` (one JSON line per fit), its provenance
``results/raw/heldout_fits_2026-12-01.provenance.json`` (per variant: readable name, identities, training steps,
SHA-256 of the prior file, the command that made the rows; run-wide: commit, device, date, resolution) and the
front/side/back strips of the first subjects in ``results/raw/heldout_strips/``, and writes

- ``results/heldout_prior_variants.parquet`` / ``.md``: one row per (variant, subject) (``statistic`` = "value") and
  per variant its mean and sample standard deviation over the subjects (``statistic`` = "mean" / "std") of
  psnr_novel, ssim_novel, psnr_back, psnr_input and fit_seconds, with the provenance columns;
- ``results/heldout_prior_variants.png``: mean novel-view PSNR per variant, std error bars, each subject a dot;
- ``docs/heldout_contact_sheet.png`` (input | shipped prior | main-job prior | no prior | truth) and
  ``docs/heldout_prior_size_sheet.png`` (1 | 10 | 100 | 1,000 identities at 4,791 steps | 1,000 at 11,453 | truth):
  one row per subject, each cell the front / side / back views top to bottom.

The rows come from ``benchmarks/gpu_heldout_fits.py`` (GPU; ``bash benchmarks/gpu_shipped_prior.sh heldout|extend``),
whose JSONL files carry base64 PNG strips for the first subjects. Importing such files (once) writes the compact copy
without the images and the decoded strips, then the outputs:

    python3 benchmarks/heldout_prior_report.py CALL2.jsonl CALL3.jsonl --save-raw

A second run, ``--study equal_steps`` (1,000 vs 100 identities at equal long training, ``bash
benchmarks/gpu_shipped_prior.sh equal_steps``), has its own raw rows / provenance / strips
(``results/raw/heldout_equal_steps_2026-12-02.*``, ``heldout_equal_steps_strips/``) and writes
``results/heldout_prior_equal_steps.*`` and ``docs/heldout_equal_steps_sheet.png`` (input | 100 | 1,000 identities |
truth), its paired differences for the novel, back and input views (``STUDIES``). A third, ``--study cpu_tiny``
(the next 1,000-identity prior, trained at batch 32, against the shipped one and the main job's, fitted on the 2-core
CPU with the tiny preset's 20 / 40 / 120 steps: ``python3 benchmarks/gpu_heldout_fits.py --device cpu --preset tiny
--workers 2 ...``), writes ``results/heldout_prior_cpu_tiny.*`` and ``docs/heldout_cpu_tiny_sheet.png``. A fourth,
``--study stage3_and_codes`` (GPU, one commit: the plain vs the visibility-aware stage 3 for the shipped and the main
job's priors, and 1,000-identity priors with code regulariser weights 0 / 0.001 / 0.01, ``bash
benchmarks/gpu_shipped_prior.sh codereg``), writes ``results/heldout_prior_stage3_and_codes.*`` and
``docs/heldout_stage3_and_codes_sheet.png``. A fifth, ``--study unseen_cpu`` (the tiny preset on the CPU with and
without ``FitConfig.unseen_prior_weight``), writes ``results/heldout_prior_unseen_cpu.*`` and
``docs/heldout_unseen_cpu_sheet.png``. A sixth, ``--study views_and_people`` (GPU: 1,000 x 16 vs 500 x 32 views at an
equal image count, ``bash benchmarks/gpu_shipped_prior.sh views``, and the shipped vs the main job's prior on people
10-29), writes ``results/heldout_prior_views_and_people.*`` and ``docs/heldout_views_sheet.png``. A seventh,
``--study fit_settings`` (GPU: fit settings of the paper preset on tuning people 30-39, then photo projection for the
shipped and the main job's prior on people 0-29 and 40-79, ``gpu_heldout_fits --prior-set``), writes
``results/heldout_prior_fit_settings.*`` and ``docs/heldout_projection_sheet.png``. An eighth, ``--study
light_uniform`` (GPU: the ten light-haired people of fit_settings fitted again under uniform light,
``gpu_heldout_fits --light uniform``), writes ``results/heldout_prior_light_uniform.*``. A ninth, ``--study lit``
(GPU: the prior trained under key + fill light, ``bash benchmarks/gpu_shipped_prior.sh lit``, against its flat control
and the priors above), writes ``results/heldout_prior_lit.*``, ``docs/heldout_lit_contact_sheet.png`` and
``docs/heldout_lit_lighting_sheet.png``.

Row fields used: prior, subject, psnr_novel, ssim_novel, psnr_back, psnr_input, fit_seconds, steps (and, when there,
the strips ``input_image`` [H, W, 3], ``sheet`` / ``sheet_truth`` [H, 3W, 3]: azimuth 0, 90, 180 side by side).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import re
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gasp_ops.errors import GaspInputError

REPO = Path(__file__).resolve().parents[1]

METRICS = ("psnr_novel", "ssim_novel", "psnr_back", "psnr_input", "fit_seconds")
REQUIRED = ("prior", "subject", *METRICS)
IMAGE_FIELDS = {"input_image": "input", "sheet": None, "sheet_truth": "truth"}  # row field -> strip kind (None: prior)
VIEWS = ("front 0°", "side 90°", "back 180°")


class Study(NamedTuple):
    """One device run's held-out fits and what the report makes of them: ``name`` of the results files, the raw
    rows / provenance / strips folder under results/raw, the contact sheets ({output key: (file name under docs/,
    columns[, subjects])}; a column is "input" / "truth" (the subject's input image / ground truth) or a variant;
    subjects: that sheet's rows, default every subject with strips of this study) and the paired per-subject
    differences (a, b, metric) reported when both variants are there. ``borrowed``: rows of other studies' raw files
    that this one reports too, ((rows path, {their variant: this study's variant}), ...) - the same fits under this
    study's names (its provenance says where they came from); their strips come from the strips folder of the study
    whose rows file it is."""

    name: str
    rows: Path
    provenance: Path
    strips: Path
    sheets: dict
    pairs: tuple
    borrowed: tuple = ()


RAW = REPO / "results" / "raw"
STAGE3_AND_CODES_ROWS = RAW / "heldout_stage3_and_codes_2026-12-03.jsonl"
VIEWS_AND_PEOPLE_ROWS = RAW / "heldout_views_and_people_2026-12-03.jsonl"
FIT_SETTINGS_ROWS = RAW / "heldout_fit_settings_2026-12-03.jsonl"
#: The shipped and the main job's priors with the plain paper preset on people 0-9 (stage3_and_codes' rows), borrowed
#: under the names shipped / main_job by the studies that report more people.
PLAIN_FITS_0_9 = (STAGE3_AND_CODES_ROWS, {"shipped_novis": "shipped", "main_job_novis": "main_job"})
STUDIES = {
    # Every prior variant against the shipped one (commit 57fec8c, 2026-12-01; plain stage 3).
    "variants": Study(
        "heldout_prior_variants", RAW / "heldout_fits_2026-12-01.jsonl",
        RAW / "heldout_fits_2026-12-01.provenance.json", RAW / "heldout_strips",
        {"contact_sheet": ("heldout_contact_sheet.png", ("input", "shipped_long", "main_job", "none", "truth")),
         "size_sheet": ("heldout_prior_size_sheet.png", ("p1", "p10", "p100", "shipped", "shipped_long", "truth"))},
        (("shipped_long", "none", "psnr_novel"), ("shipped_long", "main_job", "psnr_novel"),
         ("shipped_long", "shipped", "psnr_novel"), ("shipped", "none", "psnr_novel"))),
    # 1,000 vs 100 identities at equal long training (11,453 steps of one schedule), fitted side by side.
    "equal_steps": Study(
        "heldout_prior_equal_steps", RAW / "heldout_equal_steps_2026-12-02.jsonl",
        RAW / "heldout_equal_steps_2026-12-02.provenance.json", RAW / "heldout_equal_steps_strips",
        {"contact_sheet": ("heldout_equal_steps_sheet.png", ("input", "equal_p100", "equal_p1000", "truth"))},
        (("equal_p1000", "equal_p100", "psnr_novel"), ("equal_p1000", "equal_p100", "psnr_back"),
         ("equal_p1000", "equal_p100", "psnr_input"))),
    # The next 1,000-identity prior (batch 32, 18,938 steps) against the shipped one and the main job's, fitted on the
    # 2-core CPU with the CPU enrolment's schedule (tiny preset, 20 / 40 / 120 steps), its decoder rate 2e-3 (before)
    # and 5e-4 (now), while the next prior's encoder is not trained.
    "cpu_tiny": Study(
        "heldout_prior_cpu_tiny", RAW / "heldout_cpu_tiny_2026-12-02.jsonl",
        RAW / "heldout_cpu_tiny_2026-12-02.provenance.json", RAW / "heldout_cpu_tiny_strips",
        {"contact_sheet": ("heldout_cpu_tiny_sheet.png",
                           ("input", "shipped", "shipped_dlr", "p1000_long", "p1000_long_dlr", "main_job", "truth"))},
        (("shipped_dlr", "shipped", "psnr_novel"), ("shipped_dlr", "shipped", "psnr_back"),
         ("shipped_dlr", "shipped", "psnr_input"), ("p1000_long_dlr", "p1000_long", "psnr_novel"),
         ("p1000_long_dlr", "p1000_long", "psnr_back"), ("p1000_long_dlr", "shipped_dlr", "psnr_novel"),
         ("p1000_long_dlr", "shipped_dlr", "psnr_back"), ("p1000_long_dlr", "shipped_dlr", "psnr_input"),
         ("p1000_long", "shipped", "psnr_novel"), ("p1000_long", "shipped", "psnr_back"),
         ("shipped", "main_job", "psnr_novel"))),
    # At one commit (a86d948, 2026-12-03) on the GPU: the shipped prior against the main job's with the plain and the
    # visibility-aware stage 3, and three 1,000-identity priors differing only in the code regulariser's weight.
    "stage3_and_codes": Study(
        "heldout_prior_stage3_and_codes", STAGE3_AND_CODES_ROWS,
        RAW / "heldout_stage3_and_codes_2026-12-03.provenance.json", RAW / "heldout_stage3_and_codes_strips",
        {"contact_sheet": ("heldout_stage3_and_codes_sheet.png",
                           ("input", "shipped_novis", "main_job_novis", "none", "code0", "code0p01", "truth"))},
        (("shipped_novis", "main_job_novis", "psnr_novel"), ("shipped_novis", "none", "psnr_novel"),
         ("shipped_novis", "shipped", "psnr_novel"), ("shipped_novis", "shipped", "psnr_back"),
         ("shipped_novis", "shipped", "psnr_input"), ("main_job_novis", "main_job", "psnr_novel"),
         ("shipped", "main_job", "psnr_novel"), ("code0p001", "code0", "psnr_novel"), ("code0p01", "code0", "psnr_novel"),
         ("code0p01", "code0", "psnr_back"), ("code0", "shipped", "psnr_novel"))),
    # The CPU enrolment's schedule (tiny preset) with and without the colour L_prior on the Gaussians no view sees
    # (FitConfig.unseen_prior_weight 3 / 10), the shipped prior, the 2-core CPU (a85e4b8, 2026-12-03).
    "unseen_cpu": Study(
        "heldout_prior_unseen_cpu", RAW / "heldout_unseen_cpu_2026-12-03.jsonl",
        RAW / "heldout_unseen_cpu_2026-12-03.provenance.json", RAW / "heldout_unseen_cpu_strips",
        {"contact_sheet": ("heldout_unseen_cpu_sheet.png",
                           ("input", "shipped_base", "shipped_u3", "shipped_u10", "truth"))},
        (("shipped_u3", "shipped_base", "psnr_novel"), ("shipped_u3", "shipped_base", "psnr_back"),
         ("shipped_u3", "shipped_base", "psnr_input"), ("shipped_u10", "shipped_base", "psnr_novel"),
         ("shipped_u10", "shipped_base", "psnr_back"), ("shipped_u10", "shipped_base", "psnr_input"))),
    # Views per identity at an equal image count (1,000 x 16 vs 500 x 32, two priors trained side by side alike) and
    # the shipped prior against the main job's on 30 people: 20 more fitted at 5ca0870 (people 10-29) and the first
    # ten of stage3_and_codes (a86d948, the same preset and fit arithmetic).
    "views_and_people": Study(
        "heldout_prior_views_and_people", VIEWS_AND_PEOPLE_ROWS,
        RAW / "heldout_views_and_people_2026-12-03.provenance.json", RAW / "heldout_views_and_people_strips",
        {"contact_sheet": ("heldout_views_sheet.png", ("input", "views16", "views32", "truth"))},
        (("views32", "views16", "psnr_novel"), ("views32", "views16", "psnr_back"),
         ("views32", "views16", "psnr_input"), ("shipped", "main_job", "psnr_novel"),
         ("shipped", "main_job", "psnr_back")),
        (PLAIN_FITS_0_9,)),
    # Fit settings of the paper preset with the shipped prior on tuning people 30-39 (prior weight 3 / 10 / 0.3, decoder
    # rate 1e-3, the encoder's start, photo projection; 56e46a9, 2026-12-03), then photo projection for both the
    # shipped and the main job's prior on people 0-29 and 40-79 (56e46a9 / f129595); the plain fits of people 0-29
    # borrowed from the studies above.
    "fit_settings": Study(
        "heldout_prior_fit_settings", FIT_SETTINGS_ROWS,
        RAW / "heldout_fit_settings_2026-12-03.provenance.json", RAW / "heldout_fit_settings_strips",
        {"contact_sheet": ("heldout_projection_sheet.png", ("input", "shipped_proj", "main_job_proj", "truth"))},
        (("shipped_proj", "main_job_proj", "psnr_novel"), ("shipped_proj", "main_job_proj", "psnr_back"),
         ("shipped_proj", "main_job_proj", "psnr_input"), ("shipped_proj", "shipped", "psnr_novel"),
         ("shipped_proj", "shipped", "psnr_back"), ("shipped_proj", "shipped", "psnr_input"),
         ("main_job_proj", "main_job", "psnr_novel"), ("shipped", "main_job", "psnr_novel"),
         ("shipped_pw03", "shipped", "psnr_novel"), ("shipped_pw03", "shipped", "psnr_input"),
         ("shipped_pw3", "shipped", "psnr_novel"), ("shipped_pw10", "shipped", "psnr_novel"),
         ("shipped_dlr1e3", "shipped", "psnr_novel"), ("shipped_enc", "shipped", "psnr_novel")),
        (PLAIN_FITS_0_9, (VIEWS_AND_PEOPLE_ROWS, {"shipped": "shipped", "main_job": "main_job"}))),
    # The ten light-haired people of fit_settings fitted again under uniform light (gpu_heldout_fits --light uniform;
    # dcfb46a, 2026-12-03): both priors with photo projection.
    "light_uniform": Study(
        "heldout_prior_light_uniform", RAW / "heldout_light_uniform_2026-12-03.jsonl",
        RAW / "heldout_light_uniform_2026-12-03.provenance.json", RAW / "heldout_light_uniform_strips", {},
        tuple(("shipped_proj", "main_job_proj", m) for m in ("psnr_novel", "psnr_back", "psnr_input"))),
    # The prior trained under key + fill light (domain prior_lit, batch 32, 4,000 steps; 3c22b1c, 2026-12-03) on the 70
    # people of fit_settings, its flat control (views16, the same recipe under uniform light) on 20 of them, no prior
    # on 3; the previous shipped and the main job's priors borrowed from fit_settings, no prior without projection
    # from stage3_and_codes. It is the shipped prior since.
    "lit": Study(
        "heldout_prior_lit", RAW / "heldout_lit_2026-12-03.jsonl", RAW / "heldout_lit_2026-12-03.provenance.json",
        RAW / "heldout_lit_strips",
        {"contact_sheet": ("heldout_lit_contact_sheet.png",
                           ("input", "lit_proj", "shipped_proj", "main_job_proj", "none_proj", "truth"), (0, 1, 2)),
         "lighting_sheet": ("heldout_lit_lighting_sheet.png", ("input", "lit_proj", "views16_proj", "truth"), (75, 41))},
        (*((a, b, m) for a, b in (("lit_proj", "main_job_proj"), ("lit_proj", "shipped_proj"), ("lit_proj", "views16_proj"))
           for m in ("psnr_novel", "psnr_back", "psnr_input")),
         ("lit_proj", "none_proj", "psnr_novel"), ("lit_proj", "none", "psnr_novel"),
         ("views16_proj", "shipped_proj", "psnr_novel")),
        ((FIT_SETTINGS_ROWS, {"shipped_proj": "shipped_proj", "main_job_proj": "main_job_proj"}),
         (STAGE3_AND_CODES_ROWS, {"none": "none"}))),
}
#: Names of the metrics in the paired-difference table.
METRIC_NAMES = {"psnr_novel": "novel-view PSNR", "psnr_back": "back-view PSNR", "psnr_input": "input-view PSNR"}
#: What the fit seconds of a GPU run mean (a provenance's ``fit_seconds_note`` says it for another device).
GPU_FIT_SECONDS = "Fit seconds are wall time with 10-12 fits sharing one GPU (see the commands), not a speed figure."
PROVENANCE_COLUMNS = ("commit", "device", "date", "prior_sha256", "prior_steps", "prior_identities", "fit_steps",
                      "resolution", "command")


# ----------------------------------------------------------------------------------------------------------- inputs
def read_rows(paths, borrowed=()) -> tuple[list[dict], list[dict], dict[tuple[str, str], bytes]]:
    """Fit rows of JSONL files; the rows ``borrowed`` from other studies' files (``Study.borrowed``: only the variants
    named, renamed to this study's); and the PNG bytes of their base64 strips keyed (kind, subject) with kind =
    "input", "truth" or the variant. A bad line / missing or non-numeric field / repeated (variant, subject) / a
    row under another light than the first row's (``gpu_heldout_fits --light``: the truth differs, so one study holds
    one light), within or across all the files, is one ``GaspInputError`` naming file, line and field."""
    from gasp_ops.io.safe_paths import check_key

    rows, lent, strips, seen, first_light = [], [], {}, {}, None
    for path, names in [*((p, None) for p in paths), *borrowed]:
        path = Path(path)
        if not path.is_file():
            raise GaspInputError(str(path), "file not found")
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}: line {n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GaspInputError(where, f"not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise GaspInputError(where, "not a JSON object")
            if "error" in row:
                raise GaspInputError(f"{where}: error", f"the fit failed on the GPU ({str(row['error'])[:80]})")
            for field in REQUIRED:
                if field not in row:
                    raise GaspInputError(f"{where}: {field}", "missing")
            check_key(f"{where}: prior", row["prior"])
            if names is not None:
                if row["prior"] not in names:
                    continue
                row["prior"] = names[row["prior"]]
            if not isinstance(row["subject"], int) or row["subject"] < 0:
                raise GaspInputError(f"{where}: subject", f"{row['subject']!r} is not a subject index")
            for field in METRICS:
                v = row[field]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise GaspInputError(f"{where}: {field}", f"{v!r} is not a finite number")
            light = row.get("light", "own")
            first_light = first_light or (light, where)
            if light != first_light[0]:
                raise GaspInputError(f"{where}: light", f"{light!r}, but {first_light[1]} is {first_light[0]!r}: "
                                     "one study holds the fits of one light")
            key = (row["prior"], row["subject"])
            if key in seen:
                raise GaspInputError(where, f"variant {key[0]!r} subject {key[1]} repeats {seen[key]}")
            seen[key] = where
            for field, kind in IMAGE_FIELDS.items():
                if field in row:
                    try:
                        png = base64.b64decode(row.pop(field), validate=True)
                    except ValueError:
                        raise GaspInputError(f"{where}: {field}", "not base64") from None
                    strips[(kind or row["prior"], row["subject"])] = png
            (rows if names is None else lent).append(row)
    if not rows:
        raise GaspInputError(", ".join(map(str, paths)), "no fit rows")
    return rows, lent, strips


def strip_path(folder, kind: str, subject: int) -> Path:
    """``<folder>/s<subject>_<kind>.png`` (kind: "input", "truth" or a variant key)."""
    from gasp_ops.io.safe_paths import check_key, path_under

    return path_under(folder, f"s{int(subject)}_{check_key('strip kind', kind)}.png")


def read_strips(folder, kinds, subjects) -> dict[tuple[str, str], bytes]:
    """PNG bytes of every ``strip_path`` of ``kinds`` x ``subjects`` that exists in ``folder``."""
    out = {}
    for kind in kinds:
        for s in subjects:
            p = strip_path(folder, kind, s)
            if p.is_file():
                out[(kind, s)] = p.read_bytes()
    return out


def borrowed_strips(borrowed) -> dict[tuple[str, int], bytes]:
    """PNG bytes of the strips of ``Study.borrowed`` variants, keyed (this study's variant, subject): read from the
    strips folder of the study whose rows file each borrowed file is (none when no study has that file)."""
    out = {}
    for path, names in borrowed:
        source = next((o for o in STUDIES.values() if o.rows == Path(path)), None)
        if source is None or not source.strips.is_dir():
            continue
        for theirs, ours in names.items():
            for p in sorted(source.strips.glob(f"s*_{theirs}.png")):
                m = re.fullmatch(rf"s(\d+)_{re.escape(theirs)}\.png", p.name)
                if m:
                    out[(ours, int(m.group(1)))] = p.read_bytes()
    return out


def decode_png(png: bytes, name: str) -> np.ndarray:
    """PNG bytes -> uint8 [H, W, 3]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(png)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        raise GaspInputError(name, "not a readable PNG") from None


def read_provenance(path) -> dict:
    """The provenance JSON: {"commit", "device", "date", "resolution", "variants": {key: {"label", "identities",
    "prior_steps", "prior_sha256", "command"}}, optional "fit_seconds_note"}; variants in the report's order."""
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    try:
        prov = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GaspInputError(str(path), f"not JSON ({exc.msg})") from None
    for field in ("commit", "device", "date", "resolution", "variants"):
        if field not in prov:
            raise GaspInputError(f"{path}: {field}", "missing")
    for key, v in prov["variants"].items():
        for field in ("label", "identities", "prior_steps", "prior_sha256", "command"):
            if field not in v:
                raise GaspInputError(f"{path}: variants.{key}.{field}", "missing")
    return prov


# ------------------------------------------------------------------------------------------------------------ tables
def subject_table(rows: list[dict], prov: dict, source: str = "rows") -> pd.DataFrame:
    """One row per (variant, subject), variants in the provenance's order: METRICS + provenance columns."""
    order = list(prov["variants"])
    unknown = sorted({r["prior"] for r in rows} - set(order))
    if unknown:
        raise GaspInputError(f"{source}: prior", f"variant {unknown[0]!r} has no entry in the provenance")
    recs = []
    for r in rows:
        v = prov["variants"][r["prior"]]
        steps = r.get("steps")
        recs.append({"variant": r["prior"], "label": v["label"], "statistic": "value", "subject": int(r["subject"]),
                     "n_subjects": 1, **{m: float(r[m]) for m in METRICS},
                     "commit": str(prov["commit"]), "device": str(prov["device"]), "date": str(prov["date"]),
                     "prior_sha256": str(v["prior_sha256"]),
                     "prior_steps": "" if v["prior_steps"] is None else str(v["prior_steps"]),
                     "prior_identities": int(v["identities"]),
                     "fit_steps": "/".join(map(str, steps)) if isinstance(steps, list) else "",
                     "resolution": int(prov["resolution"]), "command": str(v["command"])})
    df = pd.DataFrame(recs)
    df["_o"] = df.variant.map(order.index)
    return df.sort_values(["_o", "subject"]).drop(columns="_o").reset_index(drop=True)


def summarise(per_subject: pd.DataFrame) -> pd.DataFrame:
    """Per variant (first-seen order): a "mean" and a "std" row (sample std, ddof 1; NaN for one subject) of
    METRICS over its subjects; subject = -1, n_subjects = how many; provenance columns of the variant."""
    out = []
    for variant, g in per_subject.groupby("variant", sort=False):
        first = g.iloc[0].to_dict()
        for stat in ("mean", "std"):
            rec = {**first, "statistic": stat, "subject": -1, "n_subjects": len(g)}
            rec.update({m: float(g[m].mean() if stat == "mean" else g[m].std(ddof=1)) for m in METRICS})
            out.append(rec)
    return pd.DataFrame(out, columns=per_subject.columns)


def paired_difference(per_subject: pd.DataFrame, a: str, b: str, metric: str = "psnr_novel") -> dict | None:
    """``a`` - ``b`` of ``metric`` over the subjects both have: mean, its standard error ``se`` (sample std /
    sqrt(n); NaN for one subject), the two-sided 95 % interval of the mean ``ci_low`` / ``ci_high`` (Student's t with
    n - 1 degrees of freedom; NaN for one subject), min, max, n, how many > 0 (None if none)."""
    from scipy.stats import t as student_t

    x = per_subject[per_subject.variant == a].set_index("subject")[metric]
    y = per_subject[per_subject.variant == b].set_index("subject")[metric]
    common = x.index.intersection(y.index)
    if len(common) == 0:
        return None
    d = (x.loc[common] - y.loc[common]).astype(float)
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    half = float(student_t.ppf(0.975, len(d) - 1)) * se if len(d) > 1 else math.nan
    return {"a": a, "b": b, "metric": metric, "n": len(d), "mean": float(d.mean()), "se": se,
            "ci_low": float(d.mean()) - half, "ci_high": float(d.mean()) + half, "min": float(d.min()),
            "max": float(d.max()), "positive": int((d > 0).sum())}


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown(table: pd.DataFrame, prov: dict, pairs: list[dict]) -> str:
    """The Markdown report: means ± std per variant, paired differences, per-subject novel PSNR, provenance."""
    per = table[table.statistic == "value"]
    mean = table[table.statistic == "mean"].set_index("variant")
    std = table[table.statistic == "std"].set_index("variant")
    variants = list(mean.index)
    lines = ["# Held-out people, one input image: novel-view quality per prior variant (issue 14)", "",
             (f"Subjects: `real_proxy` identities {per.subject.min()}..{per.subject.max()} (seed 0; a domain no "
              "prior was trained on), neutral expression, one frontal input image fitted per (subject, variant). "
              f"Novel views: azimuth 45, -45, 90, -90, 180 (never fitted); back = 180. {prov['resolution']}² images; "
              "PSNR / SSIM of the whole image over black. Means ± sample std over subjects."), "",
             f"Device: {prov['device']}. Date: {prov['date']}. Commit: {prov['commit']}.", "",
             "Commands: " + "; ".join(sorted({f"`{c}`" for c in per.command})) + ".", ""]
    body = []
    for v in variants:
        m, s = mean.loc[v], std.loc[v]
        body.append([m.label, int(m.prior_identities), m.prior_steps or "–", int(m.n_subjects),
                     _pm(m.psnr_novel, s.psnr_novel, 2), _pm(m.ssim_novel, s.ssim_novel, 3),
                     _pm(m.psnr_back, s.psnr_back, 2), _pm(m.psnr_input, s.psnr_input, 2),
                     _pm(m.fit_seconds, s.fit_seconds, 0)])
    lines += _md_table(["variant", "prior identities", "prior steps", "subjects", "novel PSNR (dB) ↑",
                        "novel SSIM ↑", "back PSNR (dB) ↑", "input PSNR (dB)", "fit s"], body)
    lines += ["", prov.get("fit_seconds_note", GPU_FIT_SECONDS), ""]
    if pairs:
        labels = dict(zip(mean.index, mean.label))
        lines += ["## Paired per-subject differences (dB; novel-view PSNR unless named)", ""]
        lines += _md_table(["a − b", "subjects", "mean", "standard error", "95 % interval", "min", "max", "a better"],
                           [[f"{labels[p['a']]} − {labels[p['b']]}" + ("" if p["metric"] == "psnr_novel" else
                                                                      f" ({METRIC_NAMES[p['metric']]})"),
                             p["n"], f"{p['mean']:+.2f}", "–" if math.isnan(p["se"]) else f"{p['se']:.2f}",
                             "–" if math.isnan(p["se"]) else f"{p['ci_low']:+.2f} … {p['ci_high']:+.2f}",
                             f"{p['min']:+.2f}", f"{p['max']:+.2f}",
                             f"{p['positive']}/{p['n']}"] for p in pairs])
        lines += [""]
    wide = per.pivot(index="subject", columns="variant", values="psnr_novel")[variants]
    lines += ["## Novel-view PSNR (dB) per subject", ""]
    lines += _md_table(["subject"] + [mean.label[v] for v in variants],
                       [[s] + [f"{wide.loc[s, v]:.2f}" if pd.notna(wide.loc[s, v]) else "–" for v in variants]
                        for s in wide.index])
    lines += ["", "## Provenance", ""]
    lines += _md_table(["variant", "key", "prior SHA-256", "prior steps", "identities", "fit steps", "command"],
                       [[mean.label[v], f"`{v}`", f"`{mean.prior_sha256[v]}`" if mean.prior_sha256[v] else "–",
                         mean.prior_steps[v] or "–", int(mean.prior_identities[v]), mean.fit_steps[v],
                         f"`{mean.command[v]}`"] for v in variants])
    notes = [f"- {n}" for n in prov.get("notes", [])]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


# ----------------------------------------------------------------------------------------------------------- figures
def bar_chart(table: pd.DataFrame, path) -> Path:
    """Mean novel-view PSNR per variant (table order) with sample-std error bars and each subject as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gasp_ops.io.atomic import atomic_path

    mean = table[table.statistic == "mean"].reset_index(drop=True)
    std = table[table.statistic == "std"].set_index("variant")
    per = table[table.statistic == "value"]
    x = np.arange(len(mean))
    err = np.nan_to_num(std.loc[mean.variant, "psnr_novel"].to_numpy(float))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.45 * len(mean)), 4.8))
    ax.bar(x, mean.psnr_novel, yerr=err, capsize=4, color="#8fb3d9", edgecolor="#30567d", zorder=2)
    rng = np.random.default_rng(0)  # jitter only spreads the dots sideways
    for i, v in enumerate(mean.variant):
        y = per[per.variant == v].psnr_novel.to_numpy(float)
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(y)), y, s=12, color="#1f2d3d", zorder=3, linewidths=0)
    lo = max(0.0, math.floor(float(np.nanmin(per.psnr_novel)) - 1.0))
    for i in range(len(mean)):  # the mean, inside the bar's foot (clear of the dots and error bars)
        ax.text(i, lo + 0.25, f"{mean.psnr_novel[i]:.2f}", ha="center", va="bottom", fontsize=10, fontweight="bold")
    ax.set_xticks(x, ["\n".join(textwrap.fill(part, 17) for part in lab.replace(" (", "\n(").split("\n")) for lab in mean.label], fontsize=8)
    ax.set_ylim(lo, max(float(np.nanmax(mean.psnr_novel + err)), float(np.nanmax(per.psnr_novel))) + 1.0)
    ax.set_ylabel("novel-view PSNR (dB), higher is better")
    n = int(mean.n_subjects.max())
    ax.set_title(f"Held-out real_proxy people (n = {n}), one frontal input: mean ± std over subjects; dots = subjects",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _wrap(text: str, font, width: int) -> list[str]:
    """Words of ``text`` on as many lines as needed to fit ``width`` px."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


#: Sheet layout in px: gap between tiles, left margin (subject and view names), font size.
PAD, LEFT, FONT = 4, 100, 16


def strip_views(strip: np.ndarray, where: str) -> list[np.ndarray]:
    """The [h, h, 3] views of a strip [h, n * h, 3]: n = 1 (an input image) or len(VIEWS) (front / side / back);
    another shape is one GaspInputError naming ``where``."""
    h = strip.shape[0]
    n = strip.shape[1] // h
    if strip.shape[1] != n * h or n not in (1, len(VIEWS)):
        raise GaspInputError(where, f"shape {strip.shape[:2]}: expected [h, h] or [h, {len(VIEWS)}h]")
    return [strip[:, k * h:(k + 1) * h] for k in range(n)]


def strip_sheet(columns: list[tuple[str, str]], subjects: list[int], strips: dict, tile: int,
                scores: dict | None = None) -> np.ndarray:
    """uint8 [H, W, 3] contact sheet: one row per subject; columns = (kind, title) with kind "input", "truth" or a
    variant key; each cell the front / side / back views top to bottom, ``tile`` px square each (strips are
    [h, 3h, 3], the input [h, h, 3]; the input cell shows only the front view). ``scores[(kind, subject)]``: a
    caption drawn in the cell's front tile when tiles are >= 8 x FONT px. A missing strip is one GaspInputError."""
    from PIL import Image, ImageDraw

    from evaluation.contact_sheet import stack_sheets
    from gasp_ops.viz.contact_sheet import contact_sheet

    font = _font(FONT)
    blank = np.full((tile, tile, 3), 255, np.uint8)

    def views(kind: str, s: int) -> list[np.ndarray]:
        if (kind, s) not in strips:
            raise GaspInputError(f"strip {kind} subject {s}", "missing (not in the rows' images nor the strips folder)")
        where = f"strip {kind} subject {s}"
        img = strips[(kind, s)]
        img = decode_png(img, where) if isinstance(img, bytes) else np.asarray(img)
        tiles = [np.asarray(Image.fromarray(v).resize((tile, tile), Image.LANCZOS)) if v.shape[0] != tile else v
                 for v in strip_views(img, where)]
        text = (scores or {}).get((kind, s))
        if text and tile >= 8 * FONT:  # captions only where they leave the face visible
            im = Image.fromarray(np.ascontiguousarray(tiles[0]))
            ImageDraw.Draw(im).text((5, 4), text, fill=(255, 255, 255), font=font)
            tiles[0] = np.asarray(im)
        return tiles + [blank] * (len(VIEWS) - len(tiles))

    blocks = []
    for s in subjects:
        cells = [views(kind, s) for kind, _ in columns]
        grid = contact_sheet([[c[r] for c in cells] for r in range(len(VIEWS))], pad=PAD)
        img = Image.new("RGB", (LEFT + grid.shape[1], grid.shape[0]), (255, 255, 255))
        img.paste(Image.fromarray(grid), (LEFT, 0))
        d = ImageDraw.Draw(img)
        d.text((6, PAD + 4), f"subject {s}", fill=(0, 0, 0), font=font)
        for r, name in enumerate(VIEWS):
            d.text((6, PAD + r * (tile + PAD) + tile // 2 - FONT // 2), name, fill=(90, 90, 90), font=font)
        blocks.append(np.asarray(img))
    body = stack_sheets(blocks, pad=PAD * 2)
    wrapped = [_wrap(title, font, tile - 4) for _, title in columns]
    head_h = 8 + (FONT + 3) * max(len(w) for w in wrapped)
    head = Image.new("RGB", (body.shape[1], head_h), (255, 255, 255))
    d = ImageDraw.Draw(head)
    for c, lines in enumerate(wrapped):
        for k, line in enumerate(lines):
            d.text((LEFT + PAD + c * (tile + PAD) + 2, 4 + k * (FONT + 3)), line, fill=(0, 0, 0), font=font)
    return np.concatenate([np.asarray(head), body], 0)


def sheet_size(n_columns: int, n_subjects: int, tile: int, title_lines: int) -> tuple[int, int]:
    """(height, width) in px of a ``strip_sheet`` with that many columns, subjects and title lines."""
    block = len(VIEWS) * (tile + PAD) + PAD + 2 * PAD
    return 8 + (FONT + 3) * title_lines + n_subjects * block, LEFT + n_columns * (tile + PAD) + PAD


# -------------------------------------------------------------------------------------------------------------- main
def save_raw(rows: list[dict], strips: dict, rows_path, strips_dir, inputs) -> None:
    """Compact rows (no images) to ``rows_path`` and each strip to ``strip_path(strips_dir, ...)`` as PNG (the same
    pixels, re-encoded with PNG optimisation); neither may be an input."""
    from PIL import Image

    from gasp_ops.io.atomic import atomic_path, write_text_atomic
    from gasp_ops.io.output_paths import check_output

    check_output(rows_path, kind="file", suffixes=(".jsonl",), inputs=inputs, flag="--raw-rows")
    check_output(strips_dir, kind="folder", inputs=inputs, flag="--strips")
    write_text_atomic(rows_path, "".join(json.dumps(r) + "\n" for r in rows))
    for (kind, s), png in sorted(strips.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        with atomic_path(strip_path(strips_dir, kind, s), suffix=".png") as tmp:
            Image.fromarray(decode_png(png, f"strip {kind} subject {s}")).save(tmp, format="PNG", optimize=True)


def build(jsonl, provenance, strips_dir, results_dir, docs_dir, tile: int = 192, save_raw_to=None,
          study: Study = STUDIES["variants"]) -> dict:
    """Everything in the module docstring for ``study`` (its outputs' names, sheets and pairs; the rows, provenance
    and strips given); returns {output name: path} and the paired differences."""
    from PIL import Image

    from gasp_ops.io.atomic import atomic_path, write_text_atomic
    from gasp_ops.io.output_paths import check_output
    from gasp_ops.io.tables import write_parquet

    jsonl = [Path(p) for p in jsonl]
    prov = read_provenance(provenance)
    rows, lent, strips = read_rows(jsonl, study.borrowed)
    per = subject_table(rows + lent, prov, source=", ".join(map(str, jsonl)))
    table = pd.concat([per, summarise(per)], ignore_index=True)
    row_files = [*jsonl, *(Path(path) for path, _ in study.borrowed)]
    inputs = [*row_files, Path(provenance), Path(strips_dir)]
    out = {"parquet": Path(results_dir) / f"{study.name}.parquet", "markdown": Path(results_dir) / f"{study.name}.md",
           "chart": Path(results_dir) / f"{study.name}.png",
           **{key: Path(docs_dir) / sheet[0] for key, sheet in study.sheets.items()}}
    for key, p in out.items():
        check_output(p, kind="file", suffixes=(p.suffix,), inputs=inputs, flag=key)
    if save_raw_to:
        save_raw(rows, strips, save_raw_to[0], save_raw_to[1], inputs=row_files)  # this study's own rows
    on_disk = (re.fullmatch(r"s(\d+)_truth\.png", p.name) for p in Path(strips_dir).glob("s*_truth.png"))
    sheet_subjects = sorted({s for _, s in strips} | {int(m.group(1)) for m in on_disk if m})
    kinds = set(prov["variants"]) | {"input", "truth"}
    strips = {**borrowed_strips(study.borrowed), **read_strips(strips_dir, kinds, sheet_subjects), **strips}
    pairs = [p for a, b, m in study.pairs if (p := paired_difference(per, a, b, m)) is not None]

    write_parquet(out["parquet"], table)
    write_text_atomic(out["markdown"], markdown(table, prov, pairs))
    bar_chart(table, out["chart"])
    labels = {k: v["label"] for k, v in prov["variants"].items()}
    labels.update(input="input (the one fitted image)", truth="ground truth")
    scores = {(r.variant, r.subject): f"novel PSNR {r.psnr_novel:.1f} dB" for r in per.itertuples()}
    for key, (_, columns, *subjects) in study.sheets.items():
        present = [c for c in columns if c in ("input", "truth") or c in set(per.variant)]
        sheet = strip_sheet([(c, labels[c]) for c in present], list(subjects[0]) if subjects else sheet_subjects,
                            strips, tile, scores)
        with atomic_path(out[key], suffix=".png") as tmp:
            Image.fromarray(sheet).save(tmp, format="PNG", optimize=True)
    return {**out, "pairs": pairs, "table": table}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", nargs="*", help="fit rows (default: the study's raw rows under results/raw)")
    ap.add_argument("--study", choices=sorted(STUDIES), default="variants",
                    help="which run: every prior variant (default), 1,000 vs 100 identities at equal steps, or the "
                    "next prior on the CPU with the tiny preset, stage 3 and the code regulariser, the unseen colour prior, "
                    "views per identity and 20 more people, the fit settings (photo projection), or the light-haired "
                    "people under uniform light")
    ap.add_argument("--provenance", default=None, help="default: the study's")
    ap.add_argument("--strips", default=None, help="folder of s<subject>_<kind>.png strips (default: the study's)")
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--docs", default=str(REPO / "docs"))
    ap.add_argument("--tile", type=int, default=192, help="px per view in the contact sheets")
    ap.add_argument("--save-raw", action="store_true", help="also write the compact rows (--raw-rows) and the "
                    "decoded strips (--strips) of the given JSONL files")
    ap.add_argument("--raw-rows", default=None, help="default: the study's")
    args = ap.parse_args(argv)
    study = STUDIES[args.study]
    strips = args.strips or str(study.strips)
    try:
        if args.tile < 16:
            raise GaspInputError("--tile", f"{args.tile} px is too small (>= 16)")
        res = build(args.jsonl or [study.rows], args.provenance or study.provenance, strips, args.results,
                    args.docs, args.tile, (args.raw_rows or study.rows, strips) if args.save_raw else None, study)
    except GaspInputError as exc:
        sys.exit(f"error: {exc}")
    t = res["table"]
    for r in t[t.statistic == "mean"].itertuples():
        s = t[(t.statistic == "std") & (t.variant == r.variant)].iloc[0]
        print(f"{r.label:45s} novel {r.psnr_novel:6.2f} ± {s.psnr_novel:4.2f}  back {r.psnr_back:6.2f}  "
              f"input {r.psnr_input:6.2f}  (n={r.n_subjects})")
    for p in res["pairs"]:
        print(f"{p['a']} - {p['b']} ({p['metric']}): mean {p['mean']:+.2f} min {p['min']:+.2f} max {p['max']:+.2f} "
              f"({p['positive']}/{p['n']} > 0)")
    for k in ("parquet", "markdown", "chart", *study.sheets):
        print(k, res[k])


if __name__ == "__main__":
    main()
