"""Driving the viewer page in real browsers: Debian's Chromium (Playwright, software WebGL through SwiftShader) and
Debian's Firefox (Marionette, on a virtual display, WebGL through Mesa's llvmpipe), and the Python reference
render of the same frame through the same camera for comparison. Shared by tests/test_web_browser.py and
benchmarks/cpu_web_viewer.py."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image
from ui_chromium import CHROMIUM_ARGS

#: Chromium with WebGL on a machine without a GPU: ANGLE on SwiftShader (the UI test's flags minus --disable-gpu).
WEBGL_CHROMIUM_ARGS = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + [
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]
LOADED = "window.gaspViewer && (window.gaspViewer.loaded || window.gaspViewer.error)"


def open_viewer(browser, url: str, count: int, query: str = "?bg=000000&autoplay=0"):
    """A new 900 x 650 page on the viewer at ``url`` + ``query``, loaded without error and showing ``count``
    Gaussians; returns (page, list that collects the page's script errors)."""
    page = browser.new_page(viewport={"width": 900, "height": 650})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + query)
    page.wait_for_function(LOADED, timeout=120_000)
    assert page.evaluate("window.gaspViewer.error") is None
    assert page.evaluate("window.gaspViewer.info.count") == count
    return page, errors


def camera_args(cam) -> tuple[list[float], list[float], int, int]:
    """A one-camera ``Cameras`` as the page's setCameraOpenCV arguments: w2c row-major, [fx, fy, cx, cy], W, H."""
    K = cam.K[0]
    return (cam.world_to_cam[0].reshape(-1).tolist(), [float(K[0, 0]), float(K[1, 1]), float(K[0, 2]),
                                                       float(K[1, 2])], int(cam.width), int(cam.height))


def render_script(cam, frame: int) -> str:
    """A function body for the page: set the camera and the frame, render, return the canvas as a PNG data URL."""
    w2c, K, W, H = camera_args(cam)
    return (f"const v = window.gaspViewer; v.setCameraOpenCV({w2c}, {K}, {W}, {H}); v.setFrame({frame}); "
            "v.renderNow(); return v.viewer.canvas.toDataURL('image/png');")


def data_url_rgb(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,"), url[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


def python_render(bundle, frame: int, cam, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """uint8 [H, W, 3]: the bundle's frame posed by FastPoser and rendered by the reference rasteriser."""
    from gasp_ops.render import render
    from gasp_ops.runtime import FastPoser

    with torch.no_grad():
        g = FastPoser(bundle.avatar)(bundle.vertices[frame])
        img = render(g, cam, torch.tensor(background), backend="reference").rgb[0].clamp(0, 1).numpy()
    return (img * 255 + 0.5).astype(np.uint8)


def foreground_pixels(img: np.ndarray, background=(0, 0, 0), tol: int = 8) -> int:
    """Pixels whose colour differs from the background by more than ``tol`` (0-255) in some channel."""
    return int((np.abs(img.astype(int) - np.asarray(background)[None, None]).max(-1) > tol).sum())
