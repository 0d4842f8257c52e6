"""Paths built from keys (partition keys: subjects, settings) stay under the data root.

A key is a short name, never a path: ``KEY_PATTERN`` (letters, digits, ``_`` and ``-``, 1 to 64 characters) is
checked where keys are created (``gasp backfill --subjects``, dynamic partitions added by assets) and where they are
used (``avatar_fit`` partitions ``setting|subject``). ``path_under`` joins parts onto a root and refuses a result
that normalises (``..`` and absolute parts applied) to a place outside it, so even a key that slipped past the first
check cannot make a reader or writer leave the root. Symbolic links that the root's owner placed inside it (e.g.
``<root>/nersemble`` -> a dataset disk) are followed as usual: a key cannot create one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gasp_ops.errors import GaspInputError

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_key(name: str, key) -> str:
    """``key`` if it is a str matching ``KEY_PATTERN``; else a one-line ``GaspInputError`` naming ``name``."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise GaspInputError(name, f"{key!r} is not a valid key (1-64 characters of A-Z, a-z, 0-9, '_' and '-'; "
                             "no path separators or '..')")
    return key


def path_under(root: str | os.PathLike, *parts: str) -> Path:
    """``root / parts...`` after checking that it stays inside ``root`` once ``..`` and absolute parts are applied.

    Returns the joined path (not normalised, so messages show what the user configured)."""
    root = Path(root)
    path = root.joinpath(*parts)
    base = Path(os.path.abspath(root))
    normal = Path(os.path.abspath(path))
    if normal != base and not normal.is_relative_to(base):
        raise GaspInputError(str(path), f"resolves to {normal}, outside the data root {base}")
    return path
