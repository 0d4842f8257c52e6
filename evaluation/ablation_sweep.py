"""The prior sweeps of GASP Tab. 3 (§6.5, Appendix G) as plain data + the shared fit-and-score step.

Rows: "prior size 1 / 10 / 100 / all" (a prior trained on the first n identities of a synthetic set, UV of the
preset's prior) and "UV 64 / 128 / 256 / 512" (a prior trained on every identity of the preset's synthetic set at
that UV resolution). Each row trains its own prior with ``gasp_ops.prior.run.train_from_dataset``, fits the
evaluation subject with it (``gasp_ops.fitting.fit_avatar``, the "full" ablation) and scores the fit on held-out
frames (``evaluation.avatar_eval``). ``SweepSettings`` are the same for every row, so rows compare with each
other; they are smaller than the main prior's / fit's schedule so the UV-512 row (~158k Gaussians through a
256-wide MLP) is feasible on a CPU (see docs/benchmarks.md for the measured cost).

The subject sweep needs more identities than the tiny preset's synthetic set (8): it uses its own synthetic set
(``SweepDataset``: cheaper renders, by default 128 identities x 4 views at 64 px), so "all" means every identity
of that set (128, not the paper's 1,000) and the table says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import pandas as pd

#: Which synthetic set a row's prior trains on: the sweep's own set, or the preset's (the main prior's) set.
SWEEP_DATASET, MAIN_DATASET = "sweep", "main"


@dataclass(frozen=True)
class SweepRow:
    """One Tab. 3 sweep row. key: asset/folder name; label: the row in evaluation.tables (TABLE3_PRIOR_ROWS);
    n_subjects: first n identities (0 = all of the dataset); uv_resolution: None = the preset's prior UV;
    dataset: SWEEP_DATASET or MAIN_DATASET."""

    key: str
    label: str
    n_subjects: int
    uv_resolution: int | None
    dataset: str


SWEEP_ROWS: tuple[SweepRow, ...] = (
    *(SweepRow(f"subjects_{n or 'all'}", f"prior size {n or 'all'}", n, None, SWEEP_DATASET) for n in (1, 10, 100, 0)),
    *(SweepRow(f"uv_{r}", f"UV {r}", 0, r, MAIN_DATASET) for r in (64, 128, 256, 512)),
)


def sweep_row(key: str) -> SweepRow:
    for row in SWEEP_ROWS:
        if row.key == key:
            return row
    from gasp_ops.errors import GaspInputError

    raise GaspInputError("sweep_row", f"unknown row {key!r}; known: {', '.join(r.key for r in SWEEP_ROWS)}")


@dataclass(frozen=True)
class SweepDataset:
    """The subject sweep's synthetic set (same generator and seed as the preset's set, cheaper renders):
    identities (>= the largest numeric row, 100), views per identity (the last is held out by the prior),
    image_size / texture_size / supersample of the renders."""

    identities: int = 128
    views: int = 4
    image_size: int = 64
    texture_size: int = 64
    supersample: int = 3
    seed: int = 0


@dataclass(frozen=True)
class SweepSettings:
    """Shared by every sweep row: prior_steps / prior_batch_size (the rest of the prior config = the preset's);
    steps_* of the fit's three stages; max_train_frames / max_eval_frames: frames fitted / scored."""

    prior_steps: int = 40
    prior_batch_size: int = 2
    steps_inversion: int = 20
    steps_decoder: int = 20
    steps_refine: int = 10
    max_train_frames: int = 4
    max_eval_frames: int = 8

    def as_dict(self) -> dict:
        return asdict(self)

    def fit_steps(self) -> str:
        return f"{self.steps_inversion}/{self.steps_decoder}/{self.steps_refine}"


def prior_overrides(row: SweepRow, settings: SweepSettings) -> dict:
    """``gasp_ops.prior.config.default_config`` overrides of ``row``'s prior."""
    out = {"n_subjects": row.n_subjects, "steps": settings.prior_steps, "batch_size": settings.prior_batch_size,
           "checkpoint_every": max(1, settings.prior_steps // 4)}
    if row.uv_resolution is not None:
        out["uv_resolution"] = row.uv_resolution
    return out


def fit_and_score(prior, head, train, evals, fit_config, *, uv_resolution: int, subject: str, setting: str,
                  method: str, metrics, embedder=None, device="cpu",
                  log: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, float]:
    """Fit ``train`` (FitInputs) with ``fit_config`` (prior None for the no-prior variant) and score the avatar on
    ``evals`` (held-out FitInputs) -> (metric rows of evaluation.metrics.ROW_COLUMNS, fit seconds)."""
    from evaluation.avatar_eval import evaluate_avatar
    from gasp_ops.fitting import fit_avatar

    result = fit_avatar(prior if fit_config.use_prior else None, head, train, fit_config, device=device, log=log,
                        uv_resolution=uv_resolution)
    rows, _ = evaluate_avatar(result.avatar, train.identity, head, evals, subject=subject, setting=setting,
                              method=method, metrics=tuple(metrics), embedder=embedder, device=device)
    return rows, float(sum(result.seconds.values()))
