"""The capture asset module loads into Definitions with the shared resources (the lead wires it into pipelines/)."""

import dagster as dg

from assets_defs import capture_assets
from assets_defs.resources import default_resources


def test_capture_assets_load():
    defs = dg.Definitions(assets=dg.load_assets_from_modules([capture_assets]), resources=default_resources())
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"nersemble_subject", "preprocessed_frames", "capture_preprocessed"} <= keys
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert {"landmark_reprojection_px", "matte_coverage"} <= checks
