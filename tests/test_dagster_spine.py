"""The Dagster spine: Definitions load, partitions, resources, and the main job materialises its assets."""

import json
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from PIL import Image

from assets_defs.partitions import SETTINGS, subject_setting_partitions
from assets_defs.resources import DataRoot, PipelinePreset
from gasp_ops.errors import GaspInputError
from pipelines.definitions import defs
from pipelines.jobs import MAIN_JOB

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_and_name_the_main_job():
    job = defs.resolve_job_def(MAIN_JOB)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"uv_binding_counts", "head_model_preview"} <= keys
    assert job.name == MAIN_JOB


def test_workspace_points_at_the_definitions():
    text = (ROOT / "workspace.yaml").read_text()
    assert "pipelines.definitions" in text and "defs" in text


def test_subject_by_setting_partitions():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("subjects", ["s036", "s037"])
    keys = subject_setting_partitions.get_partition_keys(dynamic_partitions_store=instance)
    assert len(keys) == 2 * len(SETTINGS)
    assert dg.MultiPartitionKey({"subject": "s036", "setting": "monocular"}) in keys


def test_unknown_preset_fails_with_a_clear_error():
    with pytest.raises(GaspInputError, match="unknown preset 'huge'"):
        PipelinePreset(name="huge").get()


def test_main_job_materialises_on_tiny(main_job):
    result, tmp_path = main_job.result, main_job.root  # the session's one run of gasp_main (tests/main_job_fixture.py)
    assert result.success
    counts = pd.read_parquet(tmp_path / "tiny" / "head_model" / "uv_binding_counts.parquet")
    assert list(counts.uv_resolution) == [64, 128, 256, 512]
    assert counts.num_gaussians.is_monotonic_increasing and int(counts.num_gaussians.iloc[0]) > 1000
    sheet = Image.open(tmp_path / "tiny" / "head_model" / "preview.png")
    assert sheet.size[0] > 4 * 128 and sheet.size[1] > 4 * 128
    mats = result.asset_materializations_for_node("head_model_preview")
    assert "contact_sheet" in mats[0].metadata and mats[0].metadata["num_gaussians"].value > 1000
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {"head_visible_in_every_view", "cameras_valid", "no_nan", "masks_non_empty"}
    assert all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]
    synthetic = tmp_path / "tiny" / "synthetic"
    identities = pd.read_parquet(synthetic / "identities.parquet")
    views = pd.read_parquet(synthetic / "views.parquet")
    assert len(identities) == 8 and len(views) == 8 * 12
    assert len(list((synthetic / "manifests").glob("*.json"))) == 8
    assert all((synthetic / p).is_file() for p in views.image_path)
    renders = result.asset_materializations_for_node("synthetic_renders")
    assert len(renders) == 16  # one materialisation per shard partition, all in this single run
    assert "contact_sheet" in renders[0].metadata
    # The prior, trained on these renders inside the job, decodes held-out views of its training identities
    # clearly better than the canonical template alone.
    summary = json.loads((tmp_path / "tiny" / "prior" / "summary.json").read_text())
    assert summary["heldout"]["psnr_decoded"] > summary["heldout"]["psnr_template"] + 1.0, summary["heldout"]
    # The embedded capture subject was fitted end to end into an avatar file.
    assert any((tmp_path / "tiny" / "avatars").rglob("avatar.safetensors"))


def test_one_shard_renders_only_its_identities_and_reruns_skip(tmp_path):
    from assets_defs.resources import default_resources
    from assets_defs.synthetic_assets import synthetic_identities, synthetic_renders, synthetic_views

    instance = dg.DagsterInstance.ephemeral()
    res = {**default_resources(), "data_root": DataRoot(root=str(tmp_path))}
    assert dg.materialize([synthetic_identities, synthetic_views], resources=res, instance=instance).success
    assets = [synthetic_renders, synthetic_identities, synthetic_views]
    select = [dg.AssetKey("synthetic_renders")]
    one = dg.materialize(assets, selection=select, resources=res, instance=instance, partition_key="shard_03")
    assert one.success
    manifests = sorted(p.stem for p in (tmp_path / "tiny" / "synthetic" / "manifests").glob("*.json"))
    assert manifests == ["syn_00003"]
    again = dg.materialize(assets, selection=select, resources=res, instance=instance, partition_key="shard_03")
    meta = again.asset_materializations_for_node("synthetic_renders")[0].metadata
    assert meta["identities_skipped"].value == 1 and meta["views_rendered"].value == 0


def test_readme_holds_exactly_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)
    assert len(commands) == 2
    assert "dagster job execute -m pipelines.definitions -j " + MAIN_JOB in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_cli_rejects_unknown_preset_in_one_line():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "preview", "--out", "/tmp/x.png", "--preset", "huge"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unknown preset 'huge'" in out.stderr


def test_workspace_loads_through_the_dagster_cli():
    out = subprocess.run(["dagster", "job", "list", "-w", "workspace.yaml"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"Job: {MAIN_JOB}" in out.stdout
