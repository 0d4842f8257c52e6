"""The capture asset module loads into Definitions with the shared resources (the lead wires it into pipelines/),
and its assets materialise end to end with ``dg.materialize`` on a very small embedded ``real_proxy`` subject."""

import dagster as dg
import pandas as pd
import torch

from assets_defs import capture_assets
from assets_defs.resources import DataRoot, default_resources


def test_capture_assets_load():
    defs = dg.Definitions(assets=dg.load_assets_from_modules([capture_assets]), resources=default_resources())
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"nersemble_subject", "preprocessed_frames", "capture_preprocessed", "embedded_capture_subject",
            "embedded_capture_frames"} <= keys
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert {"landmark_reprojection_px", "matte_coverage"} <= checks


def test_capture_assets_materialise(tmp_path):
    torch.set_num_threads(1)
    from assets_defs.capture_assets import (REAL_PROXY, embedded_capture_frames, embedded_capture_subject,
                                            nersemble_subject, preprocessed_frames)

    instance = dg.DagsterInstance.ephemeral()
    res = {**default_resources(), "data_root": DataRoot(root=str(tmp_path))}
    small = {"cameras": 3, "num_frames": 2, "image_size": 128}
    fast = {"iteration_scale": 0.15}
    run = dg.materialize([embedded_capture_subject, embedded_capture_frames], resources=res, instance=instance,
                         run_config={"ops": {"embedded_capture_subject": {"config": small},
                                             "embedded_capture_frames": {"config": fast}}})
    assert run.success
    assert instance.has_dynamic_partition("subjects", REAL_PROXY)  # registered by the embedded subject
    table = pd.read_parquet(tmp_path / "tiny" / "capture" / "900" / "frames.parquet")
    assert len(table) == 3 * 2
    meta = run.asset_materializations_for_node("embedded_capture_frames")[0].metadata
    assert "tracked_mesh_overlay" in str(list(meta)) or any("overlay" in k for k in meta)
    # the per-subject assets on the registered partition reuse the written folder
    part = dg.materialize([nersemble_subject, preprocessed_frames], resources=res, instance=instance,
                          partition_key=REAL_PROXY,
                          run_config={"ops": {"preprocessed_frames": {"config": fast}}})
    assert part.success
    assert part.asset_materializations_for_node("nersemble_subject")[0].metadata["cameras"].value.__len__() == 3
    assert {c.check_name for c in part.get_asset_check_evaluations()} == {"landmark_reprojection_px",
                                                                           "matte_coverage"}
