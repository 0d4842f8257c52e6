"""Optional numba kernels: import a kernel module only when numba is installed and ``GASP_NO_NUMBA`` is unset.

The CPU posing kernel (``gasp_ops.runtime.numba_posing``) and the CPU compositing kernels
(``gasp_ops.render.numba_composite``) import numba at module level; their callers ask for them here and fall back
to their torch paths on None. The switch is read on every call (tests and users can flip it at run time); the
import is attempted once per module.
"""

from __future__ import annotations

import importlib
import os

_MODULES: dict[str, object] = {}  # module name -> module, or False when it could not be imported


def numba_module(name: str):
    """The imported module ``name``, or None when ``GASP_NO_NUMBA`` is set (to anything but 0) or it cannot be
    imported (numba missing)."""
    if os.environ.get("GASP_NO_NUMBA", "") not in ("", "0"):
        return None
    if name not in _MODULES:
        try:
            _MODULES[name] = importlib.import_module(name)
        except ImportError:
            _MODULES[name] = False
    return _MODULES[name] or None
