"""The built web viewer (package data): static/index.html + static/viewer.js, built from web_viewer/ with
``cd web_viewer && npm ci && npm run build`` (three.js + the project's WebGL2 splat renderer, bundled by esbuild).
The built files are committed, so installing the Python package is enough to run ``gasp view``."""

from __future__ import annotations

import shutil
from pathlib import Path

FILES = ("index.html", "viewer.js")


def static_dir() -> Path:
    return Path(__file__).resolve().parent / "static"


def copy_viewer(dest) -> list[Path]:
    """Copy the viewer page and script into folder ``dest``; raises FileNotFoundError when the build is missing."""
    dest = Path(dest)
    out = []
    for name in FILES:
        src = static_dir() / name
        if not src.is_file():
            raise FileNotFoundError(f"{src} is missing: build it with `cd web_viewer && npm ci && npm run build`")
        out.append(Path(shutil.copyfile(src, dest / name)))
    return out
