"""A local static server for the viewer (``gasp view``): the folder of ``export_web`` on 127.0.0.1 only."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

HOST = "127.0.0.1"


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".safetensors": "application/octet-stream"}

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # quiet: one line per request is noise for a viewer
        pass


def make_server(folder, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server for ``folder`` on 127.0.0.1:``port`` (0 = any free port); call ``serve_forever`` to run it."""
    handler = functools.partial(_Handler, directory=str(Path(folder)))
    return http.server.ThreadingHTTPServer((HOST, int(port)), handler)


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"


def serve_in_thread(folder, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    """Start a server in a daemon thread (tests); stop it with ``server.shutdown(); server.server_close()``."""
    server = make_server(folder, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def view_command(avatar, head_model=None) -> str:
    """The ``gasp view`` command line for an avatar file; ``head_model``: anything with the ``HeadModelResource``
    fields (kind, flame_*_path), None = the built-in procedural head."""
    import shlex

    parts = ["gasp", "view", shlex.quote(str(avatar))]
    kind = getattr(head_model, "kind", "procedural") or "procedural"
    if kind != "procedural":
        parts += ["--head", shlex.quote(kind)]
        for flag, field in (("--flame-model", "flame_model_path"), ("--flame-uv", "flame_uv_path"),
                            ("--flame-masks", "flame_masks_path"), ("--flame-landmarks", "flame_landmarks_path")):
            value = getattr(head_model, field, None)
            if value:
                parts += [flag, shlex.quote(str(value))]
    return " ".join(parts)
