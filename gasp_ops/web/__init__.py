"""The browser side of an avatar: the animation bundle the web viewer reads (``bundle``), its built-in expression
sequence (``expressions``) and the local server of ``gasp view`` (``server``). The viewer's JavaScript is built
from web_viewer/ into the ``gasp_viewer`` package (docs/web_bundle.md)."""
