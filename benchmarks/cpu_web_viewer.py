"""The web viewer measured in real browsers on this machine, and the sizes of the static exports.

  python benchmarks/cpu_web_viewer.py --uv 558 --fps-frames 10                    browser fps, both browsers
  python benchmarks/cpu_web_viewer.py --uv 128 --screenshot docs/web_viewer.png   refresh the docs screenshot
  python benchmarks/cpu_web_viewer.py --uv 558 --sizes                            PLY / .splat / SOG / SPZ / bundle

Browsers: Debian's Chromium (Playwright; WebGL on SwiftShader, the CPU) and Firefox ESR (Marionette on Xvfb; WebGL
on Mesa llvmpipe, the CPU), the drivers of tests/test_web_browser.py. fps = rendered frames per second of
``gaspViewer.benchmark``: each frame advances the animation and turns the camera (pose centres on the CPU for the
sort, 32-bit radix sort, upload vertices + order, draw, wait for the GPU with a 1-pixel readPixels). The avatar is
the demo avatar (``gasp_ops.web.demo``: the procedural head bound at --uv, region colours).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser drivers of the tests

import torch  # noqa: E402

from gasp_ops.io.atomic import write_bytes_atomic  # noqa: E402
from gasp_ops.web.demo import write_demo_avatar  # noqa: E402
from gasp_ops.web.server import serve_in_thread, url_of  # noqa: E402
from pipelines.cli import main as gasp  # noqa: E402


def chromium_fps(url: str, frames: int, size: tuple[int, int], screenshot: Path | None) -> dict:
    from playwright.sync_api import sync_playwright
    from ui_chromium import ensure_chromium
    from web_browser import LOADED, WEBGL_CHROMIUM_ARGS

    exe, _ = ensure_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(exe), headless=True, args=WEBGL_CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            t0 = time.perf_counter()
            page.goto(url + "?autoplay=0")
            page.wait_for_function(LOADED, timeout=600_000)
            load = time.perf_counter() - t0
            out = {"browser": f"chromium {browser.version}", "load_s": round(load, 2)}
            out.update(page.evaluate(f"window.gaspViewer.benchmark({frames})"))
            if screenshot is not None:
                page.evaluate("window.gaspViewer.setFrame(15)")  # the smile's peak in the built-in sequence
                page.wait_for_timeout(2500)
                write_bytes_atomic(screenshot, page.screenshot())
            return out
        finally:
            browser.close()


def firefox_fps(url: str, frames: int, size: tuple[int, int]) -> dict:
    from firefox_marionette import Marionette, virtual_display
    from web_browser import LOADED

    with tempfile.TemporaryDirectory() as tmp, virtual_display() as display, \
            Marionette(Path(tmp) / "profile", size[0], size[1], display=display) as ff:
        t0 = time.perf_counter()
        ff.goto(url + "?autoplay=0")
        ff.wait_for(f"return {LOADED};", timeout=600)
        load = time.perf_counter() - t0
        out = {"browser": "firefox " + ff.evaluate("return navigator.userAgent.split('Firefox/')[1];"),
               "load_s": round(load, 2)}
        out.update(ff.evaluate(f"return window.gaspViewer.benchmark({frames});"))
        return out


def export_sizes(avatar: Path, tmp: Path) -> dict:
    """Bytes of the static exports of the neutral frame: PLY, .splat, and splat-transform's SOG, SPZ and
    compressed PLY made from our PLY; plus the web bundle (300 frames)."""
    from web_tools import splat_transform

    ply, spl = tmp / "avatar.ply", tmp / "avatar.splat"
    assert gasp(["export-ply", str(avatar), "--out", str(ply)]) == 0
    assert gasp(["export-ply", str(avatar), "--out", str(spl)]) == 0
    sizes = {"ply": ply.stat().st_size, "splat": spl.stat().st_size}
    for ext in ("sog", "spz", "compressed.ply"):
        t0 = time.perf_counter()
        splat_transform(ply, tmp / f"avatar.{ext}")
        sizes[ext] = (tmp / f"avatar.{ext}").stat().st_size
        sizes[f"{ext}_seconds"] = round(time.perf_counter() - t0, 1)
    return sizes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uv", type=int, default=558, help="UV resolution of the demo avatar (558: 188,102 Gaussians)")
    ap.add_argument("--fps-frames", type=int, default=0, help="frames per browser fps run (0: skip)")
    ap.add_argument("--browsers", default="chromium,firefox")
    ap.add_argument("--size", default="1000x700", help="browser window, WxH")
    ap.add_argument("--screenshot", type=Path, help="write a Chromium screenshot of the page here (e.g. docs/)")
    ap.add_argument("--sizes", action="store_true", help="measure export sizes (splat-transform needs node)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from gasp_ops.headmodel.procedural import ProceduralHead

    size = tuple(int(x) for x in args.size.split("x"))
    head = ProceduralHead()
    result = {"uv": args.uv, "date": time.strftime("%Y-%m-%d", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        avatar = write_demo_avatar(tmp / "avatar.safetensors", head, args.uv)
        site = tmp / "site"
        t0 = time.perf_counter()
        assert gasp(["export-web", str(avatar), "--out", str(site)]) == 0
        result["export_web_s"] = round(time.perf_counter() - t0, 1)
        result["bundle_bytes"] = (site / "bundle.safetensors").stat().st_size
        if args.sizes:
            result["sizes"] = export_sizes(avatar, tmp)
        server, _ = serve_in_thread(site)
        try:
            url = url_of(server)
            if args.fps_frames or args.screenshot:
                if "chromium" in args.browsers or args.screenshot:
                    result["chromium"] = chromium_fps(url, max(args.fps_frames, 1), size, args.screenshot)
                if args.fps_frames and "firefox" in args.browsers:
                    result["firefox"] = firefox_fps(url, args.fps_frames, size)
        finally:
            server.shutdown()
            server.server_close()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
