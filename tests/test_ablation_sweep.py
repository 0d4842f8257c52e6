"""Tab. 3's prior sweeps: row definitions, one row materialised end to end at toy size, the table's statuses."""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.ablation_sweep import MAIN_DATASET, SWEEP_DATASET, SWEEP_ROWS, SweepSettings, prior_overrides
from evaluation.tables import TABLE3_PRIOR_ROWS, TABLE3_ROWS
from tests.dagster_fixtures import materialise_tiny_capture


def test_sweep_rows_are_the_table3_prior_rows_and_in_the_ablations_job():
    from pipelines.evaluation_jobs import ablations

    assert [r.label for r in SWEEP_ROWS] == TABLE3_PRIOR_ROWS
    by_key = {r.key: r for r in SWEEP_ROWS}
    assert [by_key[f"subjects_{n}"].n_subjects for n in ("1", "10", "100", "all")] == [1, 10, 100, 0]
    assert {by_key[f"uv_{r}"].uv_resolution for r in (64, 128, 256, 512)} == {64, 128, 256, 512}
    assert all(r.dataset == SWEEP_DATASET for r in SWEEP_ROWS if r.key.startswith("subjects"))
    assert all(r.dataset == MAIN_DATASET and r.n_subjects == 0 for r in SWEEP_ROWS if r.key.startswith("uv"))
    settings = SweepSettings()
    uv = prior_overrides(by_key["uv_512"], settings)
    assert uv["uv_resolution"] == 512 and uv["steps"] == settings.prior_steps and uv["n_subjects"] == 0
    assert "uv_resolution" not in prior_overrides(by_key["subjects_10"], settings)  # the preset's prior UV
    from pipelines.definitions import defs

    names = {n.name for n in defs.get_job_def(ablations.name).graph.node_defs}
    expected = {f"ablation_{kind}_{r.key}" for r in SWEEP_ROWS for kind in ("prior", "row")}
    assert expected | {"ablation_sweep_dataset", "ablation_metrics", "ablation_table"} <= names


def test_one_sweep_row_materialises_and_the_table_lists_every_row(tmp_path):
    """Toy scale (~1 min on 2 cores): a 2-identity sweep set, the '1 subject' row (prior + fit + metrics), the
    '10 subjects' row failing (the set is too small), and Tab. 3 with every row and its status."""
    torch.set_num_threads(1)
    from assets_defs.ablation_sweep_assets import SWEEP_ASSETS, ablation_sweep_dataset, ablation_table

    res, instance = materialise_tiny_capture(tmp_path)
    prior_1, row_1 = SWEEP_ASSETS["subjects_1"]
    prior_10, _ = SWEEP_ASSETS["subjects_10"]
    dataset_cfg = {"identities": 2, "views": 2, "image_size": 32, "texture_size": 32, "supersample": 1}
    prior_cfg = {"prior_steps": 3, "prior_batch_size": 1}
    row_cfg = {"steps_inversion": 2, "steps_decoder": 2, "steps_refine": 2, "max_train_frames": 2,
               "max_eval_frames": 2, "image_size": 32, "metrics": ["psnr", "ssim"]}
    run = dg.materialize([ablation_sweep_dataset, prior_1, row_1], resources=res, instance=instance, run_config={
        "ops": {"ablation_sweep_dataset": {"config": dataset_cfg}, prior_1.op.name: {"config": prior_cfg},
                row_1.op.name: {"config": row_cfg}}})
    assert run.success
    folder = tmp_path / "tiny" / "evaluation" / "sweep"
    assert len(pd.read_parquet(folder / "synthetic" / "identities.parquet")) == 2
    rows = pd.read_parquet(folder / "subjects_1" / "metrics.parquet")
    assert set(rows.metric) == {"psnr", "ssim"} and set(rows.method) == {"subjects_1"}
    assert np.isfinite(rows.value).all() and len(rows) == 2 * 2
    status = json.loads((folder / "subjects_1" / "status.json").read_text())
    assert status["status"] == "run" and status["prior_subjects"] == 1 and status["prior_steps"] == 3

    failed = dg.materialize([prior_10], resources=res, instance=instance, raise_on_error=False,
                            selection=[prior_10.key], run_config={"ops": {prior_10.op.name: {"config": prior_cfg}}})
    assert not failed.success
    assert "10 identities" in json.loads((folder / "subjects_10" / "status.json").read_text())["reason"]

    table_run = dg.materialize([ablation_table], resources=res, instance=instance)
    assert table_run.success
    table = pd.read_parquet(tmp_path / "tiny" / "evaluation" / "table3.parquet")
    assert list(table.variant) == [v for v, _ in TABLE3_ROWS] + TABLE3_PRIOR_ROWS
    st = table.set_index("method").status
    assert st["subjects_1"] == "run" and st["subjects_10"].startswith("failed: prior:")
    assert st["uv_512"].startswith("not run: not materialised") and st["full"].startswith("not run")
    one = table.set_index("method").loc["subjects_1"]
    assert one.psnr == pytest.approx(rows[rows.metric == "psnr"].value.mean())
    assert one.prior_subjects == "1" and one.fit_steps == "2/2/2"
    md = (tmp_path / "tiny" / "evaluation" / "table3.md").read_text()
    assert "prior size 100" in md and "UV 512" in md and "failed: prior:" in md
