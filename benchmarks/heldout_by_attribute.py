"""Where one prior beats another: paired held-out differences grouped by the people's generator attributes (issue 14).

    python3 benchmarks/heldout_by_attribute.py [--table results/heldout_prior_fit_settings.parquet] \
        [--a shipped_proj --b main_job_proj] [--out results/heldout_prior_by_attribute]

Reads a held-out study table (``benchmarks/heldout_prior_report.py``: one ``value`` row per variant and subject),
takes variant a minus variant b per subject (novel-view and back-view PSNR) and groups the subjects by the
attributes their ``real_proxy`` identity was drawn with (seed 0, as the fits): hair colour, hair luminance, hairstyle,
age group and facial hair. Writes ``OUT.parquet`` (one row per attribute group, with the source table's provenance
columns) and ``OUT.md``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.heldout_prior_report import paired_difference
from gasp_ops.errors import GaspInputError

REPO = Path(__file__).resolve().parents[1]
#: Hair luminance (Rec. 709 of the identity's linear hair colour) bins.
LUMINANCE_BINS = (0.0, 0.15, 0.3, 0.5, 1.0)
ATTRIBUTES = ("hair_colour", "hair_luminance", "hairstyle", "age_group", "facial_hair")
PROVENANCE = ("commit", "device", "date", "fit_steps", "resolution")


def identity_attributes(subjects, seed: int = 0) -> pd.DataFrame:
    """One row per ``real_proxy`` subject: the generator's categorical attributes and the hair luminance bin."""
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.synthetic.identity import sample_identity

    head = ProceduralHead()
    rows = []
    for s in subjects:
        ident = sample_identity(int(s), seed, head, domain="real_proxy")
        lum = float(np.dot([0.2126, 0.7152, 0.0722], ident.hair))
        rows.append({"subject": int(s), "hair_colour": ident.hair_colour, "hair_luminance": lum,
                     "hairstyle": ident.hairstyle, "age_group": ident.age_group, "facial_hair": ident.facial_hair})
    out = pd.DataFrame(rows)
    edges = LUMINANCE_BINS
    out["hair_luminance"] = [next(f"{lo:.2f}-{hi:.2f}" for lo, hi in itertools.pairwise(edges) if v <= hi)
                             for v in out.hair_luminance]
    return out


def paired_by_attribute(table: pd.DataFrame, a: str, b: str, attributes: pd.DataFrame) -> pd.DataFrame:
    """Per attribute group: n, mean and standard error of a - b (novel and back PSNR), and how many a wins
    (``heldout_prior_report.paired_difference`` over the group's people)."""
    per = table[table.statistic == "value"]
    for v in (a, b):
        if v not in set(per.variant):
            raise GaspInputError(f"variant {v}", f"not in the table (has {', '.join(sorted(set(per.variant)))})")
    both = set(per[per.variant == a].subject) & set(per[per.variant == b].subject)
    if not both:
        raise GaspInputError(f"{a} - {b}", "no subject has both variants")
    people = attributes[attributes.subject.isin(both)]
    out = []
    groups = [("all", people.assign(all="all"))] + [(attr, people) for attr in ATTRIBUTES]
    for attr, frame in groups:
        for value, g in frame.groupby(attr, sort=True):
            rec = {"attribute": attr, "group": str(value), "n": len(g), "a": a, "b": b}
            members = per[per.subject.isin(g.subject)]
            for metric, name in (("psnr_novel", "novel"), ("psnr_back", "back")):
                pair = paired_difference(members, a, b, metric)
                rec.update({f"{name}_mean": pair["mean"], f"{name}_se": pair["se"],
                            f"{name}_a_better": pair["positive"]})
            out.append(rec)
    return pd.DataFrame(out)


def markdown(groups: pd.DataFrame, prov: dict, labels: dict, source: str) -> str:
    a, b = groups.a.iloc[0], groups.b.iloc[0]
    lines = [f"# Held-out people by attribute: {labels.get(a, a)} − {labels.get(b, b)} (issue 14)", "",
             (f"Source: `{source}` (novel-view PSNR over azimuth ±45°, ±90°, 180°; back = 180°). Subjects grouped by "
             "the attributes their `real_proxy` identity was drawn with (seed 0). Hair luminance: Rec. 709 luminance "
             "of the identity's hair colour."), "",
             (f"Device: {prov['device']}. Date: {prov['date']}. Commit: {prov['commit']}. Fit steps: "
             f"{prov['fit_steps']}, {prov['resolution']}² images."), "",
             f"Command: `python3 benchmarks/heldout_by_attribute.py --table {source} --a {a} --b {b}`.", "",
             "| attribute | group | people | novel: mean (se) | a better | back: mean (se) | a better |",
             "|---|---|---|---|---|---|---|"]

    def cell(m, se):
        return f"{m:+.2f}" if math.isnan(se) else f"{m:+.2f} ({se:.2f})"

    for r in groups.itertuples():
        lines.append(f"| {r.attribute} | {r.group} | {r.n} | {cell(r.novel_mean, r.novel_se)} | "
                     f"{r.novel_a_better}/{r.n} | {cell(r.back_mean, r.back_se)} | {r.back_a_better}/{r.n} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=str(REPO / "results" / "heldout_prior_fit_settings.parquet"))
    ap.add_argument("--a", default="shipped_proj")
    ap.add_argument("--b", default="main_job_proj")
    ap.add_argument("--out", default=str(REPO / "results" / "heldout_prior_by_attribute"),
                    help="output stem: writes STEM.parquet and STEM.md")
    args = ap.parse_args(argv)
    from gasp_ops.io.atomic import write_text_atomic
    from gasp_ops.io.output_paths import check_output
    from gasp_ops.io.tables import read_parquet, write_parquet

    try:
        if not Path(args.table).is_file():
            raise GaspInputError(f"--table {args.table}", "no such file")
        outs = [check_output(f"{args.out}{ext}", kind="file", suffixes=(ext,), inputs=[args.table], flag="--out")
                for ext in (".parquet", ".md")]
        table = read_parquet(args.table)
        per = table[table.statistic == "value"]
        groups = paired_by_attribute(table, args.a, args.b, identity_attributes(sorted(set(per.subject))))
    except GaspInputError as exc:
        ap.exit(2, f"error: {exc}\n")
    first = per[per.variant == args.a].iloc[0]
    prov = {k: first[k] for k in PROVENANCE}
    try:
        source = str(Path(args.table).resolve().relative_to(REPO))
    except ValueError:
        source = str(args.table)
    labels = dict(zip(per.variant, per.label))
    for k, v in {**prov, "source": source}.items():
        groups[k] = v
    write_parquet(outs[0], groups)
    write_text_atomic(outs[1], markdown(groups, prov, labels, source))
    print(outs[1].read_text())


if __name__ == "__main__":
    main()
