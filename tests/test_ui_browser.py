"""The Dagster UI used as a person would: dagster-webserver on localhost, opened in headless Chromium.

Materialises the two head-model assets into a fresh SQLite DAGSTER_HOME, starts ``dagster-webserver -w
workspace.yaml`` on it, checks that the main job's asset graph shows its assets and that the materialised assets
show their metadata (the contact-sheet image, the Gaussian-count table, the numbers), and saves screenshots
ui_asset_graph.png, ui_asset_metadata.png and ui_asset_table.png into the ``pictures_dir`` fixture's folder: the
test's tmp_path, or docs/ (atomically) when GASP_REFRESH_DOCS=1 (README, "Pictures in docs/").

Debian's chromium is installed with apt-get when /usr/bin/chromium is missing (Playwright's own browser download
needs the internet); if that is impossible the test fails with the reason, it is never skipped.
"""

import base64
import importlib.metadata
import io
import subprocess
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from assets_defs.head_model_assets import head_model_preview, uv_binding_counts
from assets_defs.resources import DataRoot, PipelinePreset, default_resources
from gasp_ops.io.atomic import write_bytes_atomic
from pipelines.definitions import defs
from pipelines.jobs import MAIN_JOB
import ui_chromium
from ui_browser import asset_names_in_graph, metadata_row, open_chromium
from ui_chromium import ChromiumUnavailable, ensure_chromium
from ui_server import dagster_webserver, live_group_members, stop_process_group, write_dagster_home

LOCATION = "gasp"  # workspace.yaml's location_name
WRITTEN_FOR = "1.13"  # dagster-webserver version whose pages the selectors below read

pytestmark = pytest.mark.timeout(1500)  # the first run on a fresh box also installs chromium with apt-get


def _materialise(home: Path, data_root: Path) -> dg.ExecuteInProcessResult:
    """Materialise the head-model assets into the DAGSTER_HOME the webserver reads (in this process, while the
    server boots)."""
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        return dg.materialize([uv_binding_counts, head_model_preview], instance=instance,
                              resources={**default_resources(), "data_root": DataRoot(root=str(data_root)),
                                         "preset": PipelinePreset(name="tiny")})
    finally:
        instance.dispose()


def _metadata_value(result: dg.ExecuteInProcessResult, asset: str, key: str):
    (mat,) = result.asset_materializations_for_node(asset)
    return mat.metadata[key].value


def _data_uri_image(src: str) -> np.ndarray:
    assert src.startswith("data:image/png;base64,"), src[:60]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def _check_asset_graph(page, url: str, pictures: Path) -> None:
    page.goto(f"{url}/locations/{LOCATION}/jobs/{MAIN_JOB}")
    page.get_by_text("head_model", exact=True).first.wait_for()
    page.get_by_text("Hide navigation").click()
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
    expected = {k.to_user_string() for k in defs.resolve_job_def(MAIN_JOB).asset_layer.executable_asset_keys}
    assert {"synthetic_renders", "gaussian_prior", "embedded_avatar_fit", "head_model_preview"} <= expected
    page.get_by_text("head_model_preview", exact=True).wait_for()
    page.wait_for_timeout(1000)  # let the expand / zoom-to-fit animation settle
    shot = page.screenshot()  # before the names are hovered, so no tooltip covers the graph
    assert asset_names_in_graph(page) == expected
    write_bytes_atomic(pictures / "ui_asset_graph.png", shot)


def _check_preview_metadata(page, url: str, result, data_root: Path, pictures: Path) -> None:
    page.goto(f"{url}/assets/head_model_preview")
    for key in ("num_gaussians", "min_view_coverage"):
        expected = str(_metadata_value(result, "head_model_preview", key))
        row = metadata_row(page, key)
        row.wait_for()
        assert expected in row.inner_text(), (key, expected, row.inner_text())
    metadata_row(page, "contact_sheet").get_by_text("[Show Markdown]").click()
    img = page.get_by_role("dialog").locator("img").first
    img.wait_for()
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    natural = img.evaluate("el => [el.naturalWidth, el.naturalHeight]")
    shown = _data_uri_image(img.get_attribute("src"))
    sheet = Image.open(data_root / "tiny" / "head_model" / "preview.png").convert("RGB")
    sheet.thumbnail((1024, 1024))  # assets_defs.metadata.image_metadata's max_side
    assert natural == [sheet.width, sheet.height] and min(natural) > 0
    np.testing.assert_array_equal(shown, np.asarray(sheet))  # the UI shows the contact sheet the asset wrote
    box = img.bounding_box()
    assert box["width"] > 200 and box["height"] > 200, box  # drawn at a visible size, not a broken-image icon
    write_bytes_atomic(pictures / "ui_asset_metadata.png", page.screenshot())


def _check_table_metadata(page, url: str, data_root: Path, pictures: Path) -> None:
    page.goto(f"{url}/assets/uv_binding_counts")
    cell = metadata_row(page, "table")
    cell.get_by_text("num_gaussians").wait_for()
    text = cell.inner_text()
    counts = pd.read_parquet(data_root / "tiny" / "head_model" / "uv_binding_counts.parquet")
    for res, n in zip(counts.uv_resolution, counts.num_gaussians):
        assert f"{res}" in text and f"{n}" in text, (res, n, text)
    write_bytes_atomic(pictures / "ui_asset_table.png", page.screenshot())


def test_dagster_ui_in_headless_chromium(tmp_path, pictures_dir):
    try:
        chromium, install_s = ensure_chromium()
    except ChromiumUnavailable as err:
        pytest.fail(f"the UI test needs Debian's chromium: {err}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the UI test needs the `playwright` package: pip install -e '.[test]'")
    if install_s:
        print(f"installed {chromium} with apt-get in {install_s:.0f} s")

    t0 = time.perf_counter()
    home, data_root = write_dagster_home(tmp_path / "dagster_home"), tmp_path / "data"
    with dagster_webserver(home, {"GASP_DATA_ROOT": str(data_root)}, tmp_path / "webserver.log") as server:
        result = _materialise(home, data_root)
        assert result.success
        server.wait_until_serving()
        with sync_playwright() as pw:
            context = open_chromium(pw, chromium, tmp_path / "chromium_profile")
            page = context.new_page()
            try:
                _check_asset_graph(page, server.url, pictures_dir)
                _check_preview_metadata(page, server.url, result, data_root, pictures_dir)
                _check_table_metadata(page, server.url, data_root, pictures_dir)
            except PlaywrightError as err:  # a page element never came: say where to look
                page.screenshot(path=str(tmp_path / "failure.png"))
                pytest.fail(f"{err}\nUI page at failure: {page.url}, screenshot {tmp_path / 'failure.png'} "
                            f"(the selectors were written against the dagster-webserver {WRITTEN_FOR} UI; this is "
                            f"{importlib.metadata.version('dagster-webserver')})\nwebserver log tail:\n"
                            f"{server.log_tail()}")
            finally:
                context.close()
    assert server.proc.poll() is not None and not live_group_members(server.proc.pid), "the server outlived the test"
    print(f"UI browser test: {time.perf_counter() - t0:.0f} s after chromium was present")


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_stop_process_group_ends_every_process_of_the_group(ignores_sigterm):
    trap = "trap '' TERM; " if ignores_sigterm else ""
    proc = subprocess.Popen(["sh", "-c", f"{trap}sleep 60 & sleep 60"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(live_group_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(live_group_members(proc.pid)) >= 2
    stop_process_group(proc, grace=1.0)
    assert proc.returncode is not None and live_group_members(proc.pid) == []


def test_missing_chromium_that_apt_cannot_install_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(ui_chromium, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(ui_chromium.os, "geteuid", lambda: 0)
    monkeypatch.setattr(ui_chromium.shutil, "which", lambda name: f"/usr/bin/{name}")
    failed = subprocess.CompletedProcess(["apt-get"], 100, "", "E: Unable to locate package chromium")
    monkeypatch.setattr(ui_chromium, "_apt", lambda args, timeout: failed)
    with pytest.raises(ChromiumUnavailable, match="Unable to locate package chromium"):
        ensure_chromium()
    monkeypatch.setattr(ui_chromium.shutil, "which", lambda name: None)
    with pytest.raises(ChromiumUnavailable, match="no apt-get"):
        ensure_chromium()
