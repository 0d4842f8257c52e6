"""``gasp export-web`` and ``gasp view``: the avatar in the browser (docs/web_bundle.md).

  gasp export-web AVATAR --out DIR [--params frames.parquet|.safetensors] [--fps 30] [--no-viewer] [--bake-vertices]
      DIR/bundle.safetensors (+ index.html, viewer.js: a static site any web server can host)
  gasp view AVATAR|DIR [--params ...] [--port 8018] [--open]
      exports to a temporary folder (or serves an exported DIR) on http://127.0.0.1:PORT/ until Ctrl-C
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def _export(args, out_dir: Path, with_viewer: bool = True) -> Path:
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.runtime.params_file import load_params
    from gasp_ops.web.bundle import export_web
    from pipelines.cli import _build_head

    head = _build_head(args)
    f = load_avatar_file(args.avatar, head)
    expr = pose = None
    animation = None
    if args.params:
        expr, pose = load_params(args.params, head)
        animation = {"source": "params", "file": Path(args.params).name}
    return export_web(out_dir, f, head, expr, pose, fps=args.fps, animation=animation, with_viewer=with_viewer,
                      bake_vertices=args.bake_vertices)


def cmd_export_web(args) -> int:
    from gasp_ops.io.output_paths import check_output
    from pipelines.cli_checks import head_inputs

    check_output(args.out, kind="folder", inputs=[args.avatar, args.params, *head_inputs(args)],
                 estimate_bytes=40_000_000, writer="gasp export-web")
    path = _export(args, Path(args.out), with_viewer=not args.no_viewer)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB); open it with `gasp view {args.out}`")
    return 0


def cmd_view(args) -> int:
    from gasp_ops.web.bundle import BUNDLE_NAME
    from gasp_ops.web.server import make_server, url_of

    src = Path(args.avatar)
    with tempfile.TemporaryDirectory(prefix="gasp_view_") as tmp:
        if src.is_dir() and (src / BUNDLE_NAME).is_file():
            folder = src
            if not (src / "index.html").is_file():  # a bundle exported with --no-viewer: serve a copy with the page
                from gasp_viewer import copy_viewer

                folder = Path(tmp) / "site"
                folder.mkdir()
                (folder / BUNDLE_NAME).symlink_to((src / BUNDLE_NAME).resolve())
                copy_viewer(folder)
        else:
            folder = Path(tmp) / "site"
            _export(args, folder)
        server = make_server(folder, args.port)
        url = url_of(server)
        print(f"serving {folder} at {url} (Ctrl-C to stop)", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def add_web_commands(sub, head_args) -> None:
    """Register export-web and view on the ``gasp`` sub-parsers (``head_args`` adds the --head options)."""
    p = sub.add_parser("export-web", help="write an avatar's animation bundle + the web viewer into a folder")
    p.add_argument("avatar")
    p.add_argument("--out", required=True, help="output folder (replaced as a whole)")
    p.add_argument("--params", help="3DMM sequence (.parquet frame table or .safetensors); default: built-in expressions")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--no-viewer", action="store_true", help="write only bundle.safetensors")
    p.add_argument("--bake-vertices", action="store_true", help="store per-frame mesh vertices instead of the head "
                   "model + 3DMM parameters (larger; for head models the page should not evaluate)")
    head_args(p)
    p.set_defaults(func=cmd_export_web)
    p = sub.add_parser("view", help="show an avatar (or an exported folder) in the browser, served on 127.0.0.1")
    p.add_argument("avatar", help="avatar file, or a folder written by export-web")
    p.add_argument("--params", help="3DMM sequence (.parquet or .safetensors); default: built-in expressions")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--port", type=int, default=8018, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument("--bake-vertices", action="store_true", help="as for export-web")
    head_args(p)
    p.set_defaults(func=cmd_view)

