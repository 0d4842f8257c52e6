"""The viewer page in real browsers, served by gasp_ops.web.server as `gasp view` serves it.

A region-coloured avatar at the tiny preset's UV 128 (the main job's Gaussian count; local offsets, rotations and
scales randomised so that the shader's posing is checked term by term) is exported with
`gasp export-web`; headless Chromium (Debian's, installed with apt-get when missing, driven by Playwright as the UI
test does) loads the page: the canvas for the turntable's frontal camera shows the head with a foreground pixel
count within 10 % of the Python reference renderer's for the same frame and camera, animation changes the image,
play advances frames, the turntable turns, and the fps readout counts. Firefox (Debian's firefox-esr, Marionette)
loads the same page and renders the same frame. Screenshots go to tmp_path only; docs/web_viewer.png is refreshed
by `python benchmarks/cpu_web_viewer.py --screenshot docs/web_viewer.png`.
"""

import numpy as np
import pytest
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

from gasp_ops.export.video import head_orbit
from gasp_ops.web.bundle import BUNDLE_NAME, read_web_bundle
from gasp_ops.web.demo import write_demo_avatar
from gasp_ops.web.server import serve_in_thread, url_of
from pipelines.cli import main as gasp

pytestmark = pytest.mark.timeout(1500)  # a fresh machine also installs chromium / firefox-esr / xvfb with apt-get
SIZE = 200
FRAMES = (0, 45)  # neutral, and the middle of the jaw-opening beat


@pytest.fixture(scope="module")
def site(head, tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    avatar = write_demo_avatar(root / "avatar.safetensors", head, 128, jitter=0.3)  # offsets, rotations matter
    assert gasp(["export-web", str(avatar), "--out", str(root / "site")]) == 0
    server, _ = serve_in_thread(root / "site")
    try:
        yield url_of(server), read_web_bundle(root / "site" / BUNDLE_NAME)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def reference(head, site):
    """Python renders of FRAMES through the turntable's frontal camera, on black."""
    cam = head_orbit(head, [0.0], 5.0, SIZE)
    return cam, {f: python_render(site[1], f, cam) for f in FRAMES}


def _check_against_reference(images: dict, reference) -> list[float]:
    ratios = []
    for f, want in reference[1].items():
        got = images[f]
        assert got.shape == want.shape
        n_web, n_py = foreground_pixels(got), foreground_pixels(want)
        assert n_py > 0.15 * want.shape[0] * want.shape[1]  # the head fills a good part of the frame
        ratios.append(n_web / n_py)
        assert abs(n_web / n_py - 1) < 0.10, (f, n_web, n_py)
        assert np.abs(got.astype(float) - want).mean() < 3.0, f  # same picture, not just the same silhouette
    a, b = (images[f].astype(float) for f in FRAMES)
    assert np.abs(a - b).mean() > 0.5 and np.abs(a - b).max() > 60  # the animation changes the image
    return ratios


def test_chromium_shows_the_avatar_and_animates(site, reference, tmp_path):
    from playwright.sync_api import sync_playwright

    url, bundle = site
    exe, _ = ensure_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(exe), headless=True, args=WEBGL_CHROMIUM_ARGS)
        try:
            page, errors = open_viewer(browser, url, bundle.avatar.count)
            images = {f: data_url_rgb(page.evaluate(f"() => {{ {render_script(reference[0], f)} }}")) for f in FRAMES}
            _check_against_reference(images, reference)
            # the page as a person uses it: free camera, play, scrubber, turntable, fps readout
            page.evaluate("window.gaspViewer.clearCameraOverride()")
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "page.png"))
            start = int(page.input_value("#scrub"))
            page.click("#play")
            page.wait_for_timeout(2500)
            assert int(page.input_value("#scrub")) != start  # frames advance while playing
            assert page.inner_text("#play") == "Pause"
            assert page.inner_text("#fps").endswith(" fps") and page.evaluate("window.gaspViewer.fps()") > 0
            # while playing, the order comes from the sort worker (the page draws with its latest answer)
            assert page.evaluate("!!(window.gaspViewer.viewer.worker && window.gaspViewer.viewer.sorted)")
            page.click("#play")
            page.fill("#scrub", "45")  # the scrubber picks a frame
            assert page.inner_text("#frame").startswith("46 /")
            before = page.locator("#view").screenshot()
            page.check("#turntable")
            page.wait_for_timeout(1500)
            after = page.locator("#view").screenshot()
            assert before != after  # the turntable turns the camera
            page.uncheck("#turntable")
            position = page.evaluate("window.gaspViewer.viewer.camera.position.toArray()")
            page.mouse.move(450, 300)
            page.mouse.down()
            page.mouse.move(560, 330, steps=8)  # orbit: drag on the canvas
            page.mouse.up()
            page.wait_for_timeout(800)
            moved = page.evaluate("window.gaspViewer.viewer.camera.position.toArray()")
            assert max(abs(a - b) for a, b in zip(position, moved)) > 0.05  # metres: the camera orbited
            bench = page.evaluate("window.gaspViewer.benchmark(5)")
            assert bench["fps"] > 0 and bench["gaussians"] == bundle.avatar.count
            assert not errors, errors
        finally:
            browser.close()


def test_firefox_loads_and_renders_the_avatar(site, reference, tmp_path):
    from firefox_marionette import Marionette, virtual_display

    url, bundle = site
    with virtual_display() as display, Marionette(tmp_path / "profile", 900, 650, display=display) as ff:
        ff.goto(url + "?bg=000000&autoplay=0")
        ff.wait_for(f"return {LOADED};")
        assert ff.evaluate("return window.gaspViewer.error;") is None
        assert ff.evaluate("return window.gaspViewer.info.count;") == bundle.avatar.count
        images = {f: data_url_rgb(ff.evaluate(render_script(reference[0], f))) for f in FRAMES}
        _check_against_reference(images, reference)
        ff.evaluate("window.gaspViewer.clearCameraOverride(); return true;")
        png = ff.screenshot_png()
        (tmp_path / "firefox.png").write_bytes(png)
        import io

        from PIL import Image

        shot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        h, w = shot.shape[:2]
        middle = shot[h // 3:2 * h // 3, w // 3:2 * w // 3]  # the head, away from the control bars
        assert foreground_pixels(middle) > 0.5 * middle.shape[0] * middle.shape[1]
