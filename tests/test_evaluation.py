"""Evaluation: metrics (PSNR, SSIM, LPIPS/FID availability, ID-SIM), tables, the ablations assets, the benchmark
schedule and sensor."""

import math

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.metrics import (PSNR_CAP_DB, evaluate_frames, fid_score, lpips_distance, psnr, ssim)
from evaluation.weights import alexnet_weights, inception_weights
from tests.dagster_fixtures import materialise_tiny_capture


def _img(seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(size, size, 3, generator=g)


def test_psnr_identical_is_capped_and_known_value():
    a = _img()
    assert psnr(a, a) == PSNR_CAP_DB
    b = torch.full((8, 8, 3), 0.5)
    assert psnr(b, b + 0.1) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01 -> 20 dB
    mask = torch.zeros(8, 8)
    mask[:4] = 1
    c = b.clone()
    c[4:] = 0.0  # errors outside the head mask are ignored
    assert psnr(b, c, mask) == PSNR_CAP_DB
    c[:4] += 0.1
    assert psnr(b, c, mask) == pytest.approx(20.0, abs=1e-4)


def test_ssim_matches_pytorch_msssim():
    from pytorch_msssim import ssim as ref

    a, b = _img(0), (_img(0) * 0.7 + 0.3 * _img(1))
    expect = float(ref(a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None], data_range=1.0))
    assert ssim(a, b) == pytest.approx(expect, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, b) < 0.99


def test_unavailable_metrics_carry_the_reason():
    a = _img()
    r = lpips_distance(a, a)
    if not alexnet_weights().available:
        assert math.isnan(r.value) and r.backend.startswith("unavailable: ") and "AlexNet" in r.backend
    f = fid_score([a, a], [a, a])
    if not inception_weights().available:
        assert math.isnan(f.value) and f.backend.startswith("unavailable: ") and "Inception" in f.backend
    rows = evaluate_frames([a], [a], [torch.ones(32, 32)],
                           [dict(subject="s", setting="monocular", method="m", camera="c", frame=0)],
                           metrics=("psnr", "lpips", "fid"))
    assert set(rows.metric) == {"psnr", "lpips", "fid"}
    assert list(rows.columns) == ["subject", "setting", "method", "camera", "frame", "metric", "value", "backend"]
    if not alexnet_weights().available:
        assert rows[rows.metric == "lpips"].backend.iloc[0].startswith("unavailable")


def test_dlib_identity_similarity():
    from skimage import data

    from evaluation.identity import NO_FACE_IN_RENDER, NoFaceInGroundTruth, face_embedder, id_similarity

    embedder, backend, reason = face_embedder("dlib")
    assert embedder is not None, reason
    face = data.astronaut()
    same, note = id_similarity(face, face, embedder=embedder)
    assert same == pytest.approx(1.0, abs=1e-9) and "dlib" in note
    flipped, _ = id_similarity(face, np.ascontiguousarray(face[:, ::-1]), embedder=embedder)
    assert flipped < 1.0 - 1e-4
    other, note = id_similarity(data.chelsea(), face, embedder=embedder)  # a cat: no face in the render -> 0
    assert other == 0.0 < flipped and NO_FACE_IN_RENDER in note
    with pytest.raises(NoFaceInGroundTruth):
        id_similarity(face, data.chelsea(), embedder=embedder)


def test_tables_markdown_and_charts(tmp_path):
    from evaluation.tables import TABLE3_PRIOR_ROWS, table3, write_table

    rows = []
    for method, v in (("full", 25.0), ("no_prior", 20.0)):
        for f in range(2):
            rows += [dict(subject="900", setting="monocular", method=method, camera="c", frame=f, metric="psnr",
                          value=v + f, backend="masked_mse"),
                     dict(subject="900", setting="monocular", method=method, camera="c", frame=f, metric="lpips",
                          value=float("nan"), backend="unavailable: no weights")]
    df = table3(pd.DataFrame(rows), not_run={r: "needs its own prior" for r in TABLE3_PRIOR_ROWS})
    assert df.set_index("method").loc["full", "psnr"] == pytest.approx(25.5)
    assert len(df) == 6 + len(TABLE3_PRIOR_ROWS)
    assert df.set_index("method").loc["no_stage1", "status"].startswith("not run")
    paths = write_table(df, tmp_path, "table3", ["variant"], "Table 3")
    md = paths["markdown"].read_text()
    assert "| Full (ours) | 25.5000 |" in md or "| Full (ours) | 25.50 |" in md
    assert "unavailable" in md and "no weights" in md and "UV 512" in md
    assert all(paths[f"chart_{m}"].stat().st_size > 1000 for m in ("psnr", "ssim", "lpips", "fid", "id_sim"))
    assert pd.read_parquet(paths["parquet"]).shape[0] == len(df)


def test_benchmark_schedule_yields_a_run_request(monkeypatch):
    from pipelines import evaluation_jobs

    monkeypatch.setenv(evaluation_jobs.CRON_ENV, "15 1 * * *")
    sched = evaluation_jobs.make_benchmark_schedule()
    assert sched.cron_schedule == "15 1 * * *"
    assert evaluation_jobs.make_benchmark_schedule("0 3 * * *").cron_schedule == "0 3 * * *"
    data = sched.evaluate_tick(dg.build_schedule_context())
    assert data.run_requests and isinstance(data.run_requests[0], dg.RunRequest)
    assert sched.job_name == "benchmark"


def test_sensor_requests_benchmark_on_new_prior_materialisation():
    from assets_defs.prior_assets import gaussian_prior
    from pipelines.evaluation_jobs import benchmark_on_new_prior

    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance) as ctx:
        before = list(benchmark_on_new_prior(ctx) or [])
    assert not [r for r in before if isinstance(r, dg.RunRequest)]  # nothing materialised yet
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=gaussian_prior.key))
    with dg.build_sensor_context(instance=instance) as ctx:
        reqs = [r for r in benchmark_on_new_prior(ctx) if isinstance(r, dg.RunRequest)]
    assert len(reqs) == 1 and isinstance(reqs[0], dg.RunRequest)
    assert reqs[0].run_key.startswith("gaussian_prior:")


def test_ablations_assets_materialise_every_table3_row(tmp_path):
    torch.set_num_threads(1)
    from assets_defs.ablation_sweep_assets import ablation_table
    from assets_defs.evaluation_assets import ablation_metrics
    from evaluation.tables import TABLE3_PRIOR_ROWS, TABLE3_ROWS
    from gasp_ops.headmodel.factory import build_head_model
    from gasp_ops.prior.checkpoint import PRIOR_NAME, save_prior
    from tests.fitting_fixture import tiny_prior_config, train_tiny_prior

    res, instance = materialise_tiny_capture(tmp_path)
    model = train_tiny_prior(build_head_model("procedural"), steps=5)
    save_prior(tmp_path / "tiny" / "prior" / PRIOR_NAME, model, {"config": tiny_prior_config(steps=5).as_dict()})
    steps = {"steps_inversion": 2, "steps_decoder": 2, "steps_refine": 2, "max_eval_frames": 2,
             "metrics": ["psnr", "ssim", "lpips"], "image_size": 32,
             "uv_resolution": 32}
    run = dg.materialize([ablation_metrics, ablation_table], resources=res, instance=instance,
                         run_config={"ops": {"ablation_metrics": {"config": steps}}})
    assert run.success
    folder = tmp_path / "tiny" / "evaluation"
    rows = pd.read_parquet(folder / "ablation_metrics.parquet")
    assert set(rows.method) == {k for _, k in TABLE3_ROWS}
    assert np.isfinite(rows[rows.metric == "psnr"].value).all()
    table = pd.read_parquet(folder / "table3.parquet")
    assert list(table.variant) == [v for v, _ in TABLE3_ROWS] + TABLE3_PRIOR_ROWS
    assert (table.status == "run").sum() == len(TABLE3_ROWS)
    assert table.set_index("method").loc["full", "uv_resolution"] == "32"  # info columns of the ablation rows
    assert table.set_index("method").loc["uv_512", "status"].startswith("not run: not materialised")
    md = (folder / "table3.md").read_text()
    assert "PSNR" in md and "ID-SIM" in md and "w/o stage 3" in md and "not run" in md
    assert (folder / "table3_psnr.png").is_file()


def test_chart_bars_are_named_by_the_columns_that_tell_rows_apart():
    from evaluation.tables import row_labels

    t1 = pd.DataFrame({"setting": ["monocular", "monocular", "single_image"],
                       "method": ["GASP (ours)", "flash_avatar-style (ours)", "GASP (ours)"]})
    assert row_labels(t1, ["setting", "method"]) == ["monocular / GASP (ours)", "monocular / flash_avatar-style (ours)",
                                                     "single_image / GASP (ours)"]
    t3 = pd.DataFrame({"variant": ["Full (ours)", "UV 64"], "uv_resolution": [32, 64]})
    assert row_labels(t3, ["variant", "uv_resolution"]) == ["Full (ours)", "UV 64"]
