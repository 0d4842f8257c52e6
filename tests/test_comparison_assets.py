"""Tab. 1 / Tab. 2 assets end to end at a tiny size: the benchmark-layout subject (provided alpha maps and tracking),
the per-(subject, setting) comparison steps, the tables with their checks, and a failing partition that leaves the
others alone."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import torch

TINY = {"steps_inversion": 2, "steps_decoder": 2, "steps_refine": 2, "image_size": 32, "max_eval_frames": 3,
        "metrics": ["psnr", "ssim", "lpips"]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    from assets_defs.capture_assets import embedded_benchmark_frames
    from assets_defs.resources import DataRoot, default_resources
    from gasp_ops.headmodel.factory import build_head_model
    from gasp_ops.prior.checkpoint import PRIOR_NAME, save_prior
    from gasp_ops.prior.prior_model import GaussianPrior
    from tests.fitting_fixture import tiny_prior_config

    root = tmp_path_factory.mktemp("comparison")
    res = {**default_resources(), "data_root": DataRoot(root=str(root))}
    instance = dg.DagsterInstance.ephemeral()
    cap = dg.materialize([embedded_benchmark_frames], resources=res, instance=instance,
                         run_config={"ops": {"embedded_benchmark_frames": {"config": {
                             "cameras": 3, "num_frames": 2, "image_size": 64}}}})
    assert cap.success
    # An untrained prior (random codes / decoder): this test checks the plumbing (rows, tables, checks, failure
    # isolation), never the numbers; test_baselines and test_fitting_* cover fitting quality.
    model = GaussianPrior.build(build_head_model("procedural"), tiny_prior_config(), num_subjects=4)
    save_prior(root / "tiny" / "prior" / PRIOR_NAME, model, {"config": tiny_prior_config().as_dict()})
    return root, res, instance, cap


def test_benchmark_subject_reads_provided_tracking(setup):
    root, _, _, cap = setup
    table = pd.read_parquet(root / "tiny" / "capture" / "901" / "frames.parquet")
    assert len(table) == 6 and set(table.tracking_seed) == {"provided"}
    assert (table.matte_coverage > 0.05).all()
    checks = {c.check_name: c for c in cap.get_asset_check_evaluations()}
    assert checks["matte_coverage"].passed


def test_table1_and_table2_assets(setup):
    from assets_defs.comparison_assets import comparison_metrics, comparison_table1, comparison_table2, main_comparisons

    root, res, instance, _ = setup
    mine = [a for a in main_comparisons if "_901_" in a.key.path[0]]
    run = dg.materialize([*mine, comparison_table1], resources=res, instance=instance,
                         run_config={"ops": {a.key.path[0]: {"config": TINY} for a in mine}})
    assert run.success
    folder = root / "tiny" / "evaluation"
    rows = pd.read_parquet(folder / "comparison_metrics_table1.parquet")
    assert set(rows.method) == {"GASP (ours)", "gaussian_avatars-style (ours)", "flash_avatar-style (ours)"}
    assert set(rows.setting) == {"monocular", "single_image"} and set(rows.subject) == {"901"}
    assert np.isfinite(rows[rows.metric.isin(["psnr", "ssim"])].value).all()
    table = pd.read_parquet(folder / "table1.parquet")
    assert len(table) == 6 and list(table.method[:3]) == ["GASP (ours)", "gaussian_avatars-style (ours)",
                                                          "flash_avatar-style (ours)"]
    assert "gaussian_avatars-style (ours)" in (folder / "table1.md").read_text()
    assert (folder / "table1_contact_sheet.png").stat().st_size > 1000
    checks = {c.check_name: c.passed for c in run.get_asset_check_evaluations()}
    assert checks == {"every_method_has_rows": True, "no_nan": True}

    # Tab. 2 through the partitioned asset (multi-camera: scored on the frames it did not train on).
    run2 = dg.materialize([comparison_metrics], resources=res, instance=instance, partition_key="multi_camera|901",
                          run_config={"ops": {"comparison_metrics": {"config": TINY}}})
    assert run2.success
    multi = pd.read_parquet(folder / "comparison" / "901" / "multi_camera" / "metrics.parquet")
    assert set(multi.frame[multi.frame >= 0]) == {1}  # frame 0 trained on every camera
    run3 = dg.materialize([comparison_metrics, comparison_table2], resources=res, instance=instance,
                          selection=[comparison_table2])
    assert run3.success and len(pd.read_parquet(folder / "table2.parquet")) == 3


def test_a_failing_partition_leaves_the_others(setup):
    from assets_defs.comparison_assets import comparison_metrics

    root, res, instance, _ = setup
    before = sorted(p.name for p in (root / "tiny" / "evaluation" / "comparison").glob("*/*/metrics.parquet"))
    instance.add_dynamic_partitions("subjects", ["999"])
    run = dg.materialize([comparison_metrics], resources=res, instance=instance, partition_key="monocular|999",
                         raise_on_error=False, run_config={"ops": {"comparison_metrics": {"config": TINY}}})
    assert not run.success
    failure = [e for e in run.all_events if e.is_step_failure][0]
    assert "999" in failure.step_failure_data.error.message and "frame table" in failure.step_failure_data.error.message
    after = sorted(p.name for p in (root / "tiny" / "evaluation" / "comparison").glob("*/*/metrics.parquet"))
    assert after == before and not (root / "tiny" / "evaluation" / "comparison" / "999").exists()
