"""The main job's own fitted avatar in the browser (issue 18): the avatar ``gasp_main`` fits (``embedded_avatar_fit``,
the embedded real_proxy subject, monocular) is exported with ``gasp export-web``, served as ``gasp view`` serves it
and loaded in headless Chromium (Debian's, software WebGL on SwiftShader, as tests/test_web_browser.py drives it).

Reuses the session's one run of the main job (the ``main_job`` fixture, tests/main_job_fixture.py): no second run.
Checks: the asset's Dagster metadata names the viewer command for that avatar file; the canvas through the
turntable's frontal camera shows the head with a foreground pixel count within 10 % of the Python reference
renderer's for the same frame and camera (and the same picture: mean difference < 3 / 255); two animation frames
differ; the page as a person opens it (default background, its own orbit camera) is upright, its canvas matches the
Python render through that camera and the head sits in the middle of the screenshot; play advances frames and the
page's fps readout counts; the page's own benchmark (``gaspViewer.benchmark``: animate + turn, waiting for the GPU)
gives the frame rate at 200 px and at the page's 900 x 650 (printed and recorded as the test's ``browser_fps``
property; software GL). The screenshot goes to the ``pictures_dir`` fixture: tmp_path, or
docs/web_viewer_main_job.png when GASP_REFRESH_DOCS=1 (scripts/refresh_docs_pictures.sh).
"""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from ui_chromium import ensure_chromium
from web_browser import (
    LOADED,
    WEBGL_CHROMIUM_ARGS,
    data_url_rgb,
    foreground_pixels,
    open_viewer,
    python_render,
    render_script,
)

from gasp_ops.cameras import Cameras
from gasp_ops.export.video import head_orbit
from gasp_ops.io.atomic import write_bytes_atomic
from gasp_ops.web.bundle import BUNDLE_NAME, read_web_bundle
from gasp_ops.web.server import serve_in_thread, url_of, view_command
from pipelines.cli import main as gasp

pytestmark = pytest.mark.timeout(1500)  # the main job (shared fixture) runs first when this test is run alone
SIZE = 200
FRAMES = (0, 45)  # neutral, and the middle of the built-in sequence's jaw-opening beat
FIT_ASSET = "embedded_avatar_fit"
SCREENSHOT = "web_viewer_main_job.png"


#: The page's own (orbit-controls) camera as OpenCV w2c / [fx, fy, cx, cy], and its canvas drawn with it.
FREE_CAMERA = ("() => { const v = window.gaspViewer; v.renderNow(); const c = v.viewer.cameraCV(); "
               "return {w2c: Array.from(c.w2c), K: c.K, W: v.viewer.canvas.width, H: v.viewer.canvas.height, "
               "png: v.viewer.canvas.toDataURL('image/png')}; }")


def _opencv_camera(free: dict) -> Cameras:
    fx, fy, cx, cy = free["K"]
    K = torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Cameras(torch.tensor(free["w2c"], dtype=torch.float32).reshape(1, 4, 4), K[None], free["W"], free["H"])


def _page_images(page, cam) -> dict:
    return {f: data_url_rgb(page.evaluate(f"() => {{ {render_script(cam, f)} }}")) for f in FRAMES}


def test_main_job_avatar_in_chromium(main_job, head, tmp_path, pictures_dir, record_property):
    from playwright.sync_api import sync_playwright

    assert main_job.result.success
    meta = main_job.metadata(FIT_ASSET)
    avatar = meta["avatar_file"]
    assert meta["viewer"] == view_command(avatar)  # the Dagster UI tells the user how to open this very avatar
    site = tmp_path / "site"
    assert gasp(["export-web", avatar, "--out", str(site)]) == 0
    bundle = read_web_bundle(site / BUNDLE_NAME)
    assert bundle.avatar.count == meta["gaussians"]
    cam = head_orbit(head, [0.0], 5.0, SIZE)
    want = {f: python_render(bundle, f, cam) for f in FRAMES}

    exe, _ = ensure_chromium()
    server, _ = serve_in_thread(site)
    url = url_of(server)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(exe), headless=True, args=WEBGL_CHROMIUM_ARGS)
            try:
                page, errors = open_viewer(browser, url, bundle.avatar.count)
                got = _page_images(page, cam)
                ratios = {}
                for f in FRAMES:
                    n_web, n_py = foreground_pixels(got[f]), foreground_pixels(want[f])
                    assert n_py > 0.15 * SIZE * SIZE, (f, n_py)  # the fitted head fills a good part of the frame
                    ratios[f] = n_web / n_py
                    assert abs(ratios[f] - 1) < 0.10, (f, n_web, n_py)
                    assert np.abs(got[f].astype(float) - want[f]).mean() < 3.0, f  # same picture, not only outline
                a, b = (got[f].astype(float) for f in FRAMES)
                assert np.abs(a - b).mean() > 0.3 and np.abs(a - b).max() > 60  # the animation changes the image
                bench_small = page.evaluate("window.gaspViewer.benchmark(20)")  # the 200 px camera above
                assert not errors, errors

                # The page as a person opens it (`gasp view`): default background, free camera, playing.
                page = browser.new_page(viewport={"width": 900, "height": 650})
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url + "?autoplay=0")
                page.wait_for_function(LOADED, timeout=120_000)
                page.evaluate("window.gaspViewer.setFrame(15)")  # the smile's peak in the built-in sequence
                page.wait_for_timeout(1500)
                shot = page.screenshot()
                free = page.evaluate(FREE_CAMERA)
                start = int(page.input_value("#scrub"))
                page.click("#play")
                page.wait_for_timeout(2500)
                assert int(page.input_value("#scrub")) != start  # frames advance while playing
                readout = page.inner_text("#fps")
                assert readout.endswith(" fps") and page.evaluate("window.gaspViewer.fps()") > 0
                page.click("#play")
                bench = page.evaluate("window.gaspViewer.benchmark(30)")  # animate + turn, wait for the GPU
                assert bench["fps"] > 0 and bench["gaussians"] == bundle.avatar.count
                assert not errors, errors
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()

    # The page's free camera is upright (world +y, the head's up, points up in the image: OpenCV -y) and its canvas
    # is the Python render through that same camera (so the screenshot shows the head as the Python side does).
    cam_free = _opencv_camera(free)
    assert float(cam_free.world_to_cam[0, 1, 1]) < -0.9, free["w2c"]
    canvas = data_url_rgb(free["png"])
    bg = canvas[2, 2]
    ref = python_render(bundle, 15, cam_free, background=tuple(bg / 255.0))
    n_web, n_py = foreground_pixels(canvas, bg), foreground_pixels(ref, bg)
    ratios["free_camera_frame_15"] = n_web / n_py
    assert n_py > 0.1 * canvas.shape[0] * canvas.shape[1] and abs(n_web / n_py - 1) < 0.10, (n_web, n_py)
    assert np.abs(canvas.astype(float) - ref).mean() < 3.0

    img = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    h, w = img.shape[:2]
    bg = img[5, w // 2].astype(int)  # the page's background colour, above the head
    fg = np.argwhere(np.abs(img.astype(int) - bg).max(-1) > 12)
    middle = fg[(fg[:, 0] > h // 8) & (fg[:, 0] < 7 * h // 8)]  # rows away from the page's header and control bar
    assert len(middle) > 0.05 * h * w
    cy, cx = middle.mean(0)
    assert abs(cx - w / 2) < 0.1 * w and abs(cy - h / 2) < 0.2 * h, (cx, cy)  # the head is centred in the page
    write_bytes_atomic(pictures_dir / SCREENSHOT, shot)
    figures = {"gaussians": bundle.avatar.count, "pixel_ratio_web_over_python": ratios,
               "benchmark_page": bench,
               "benchmark_200px": bench_small, "fps_readout_playing": readout}
    record_property("browser_fps", json.dumps(figures))
    print("main-job avatar in Chromium:", json.dumps(figures))
