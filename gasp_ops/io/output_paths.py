"""Output paths checked before any work: an output never overwrites an input, has the writer's file type, and its
location is writable with room to spare.

``check_output`` is the one rule every command with inputs and outputs applies (``gasp enroll``, ``render``,
``export-ply``, ``preview``):

- file outputs must carry one of the writer's suffixes (``export-ply --out x.safetensors`` is refused: a PLY under an
  avatar's name is how an avatar gets replaced); folder outputs may not carry a data-file suffix;
- the output may not be, or resolve to, an input (same path, symbolic link or hard link); a folder output (replaced
  as a whole when it is swapped in) may not contain an input;
- an existing output of the other kind (a file where a folder goes, a folder where a file goes) is refused;
- the nearest existing folder on the way must be writable (checked by creating and removing a staging folder
  there) and its filesystem must have ``estimate_bytes`` free.

Every problem is one ``GaspInputError`` line naming the flag and the path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from gasp_ops.errors import GaspInputError

#: Suffixes of the data files this project reads or writes; a folder output named like one is a mistake.
DATA_SUFFIXES = (".safetensors", ".ply", ".mp4", ".png", ".jpg", ".jpeg", ".parquet", ".json", ".pkl", ".npy",
                 ".npz", ".obj", ".pt", ".pth", ".yaml", ".txt", ".csv", ".md")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _nearest_existing(path: Path) -> Path:
    """The folder a staging file or folder for ``path`` goes in (its parent), or the nearest existing ancestor."""
    p = path.resolve().parent
    while not p.exists():
        p = p.parent
    return p


def check_output(out, *, kind: str, suffixes: Iterable[str] = (), inputs: Iterable = (), flag: str = "--out",
                 estimate_bytes: int = 0, writer: str = "") -> Path:
    """Check an output path before the work that writes it; returns it as a ``Path``.

    kind: ``"file"`` or ``"folder"``; suffixes: the file suffixes the writer produces (kind ``"file"``);
    inputs: the command's input paths (None entries ignored); estimate_bytes: a rough size of what will be
    written (checked against the free space); writer: the command's name, for the messages."""
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', got {kind!r}")
    out = Path(out)
    what = f"{writer} writes" if writer else "this writes"
    name = f"{flag} {out}"
    if str(out).strip() == "":
        raise GaspInputError(flag, "empty path")
    suffix = out.suffix.lower()
    if kind == "file":
        allowed = tuple(s.lower() for s in suffixes)
        if allowed and suffix not in allowed:
            raise GaspInputError(name, f"{what} a {' or '.join(allowed)} file; a {suffix or 'suffix-less'} name "
                                 "would mislabel it (or replace a file of that type)")
        if out.is_dir():
            raise GaspInputError(name, "is a folder; give a file name")
    else:
        if suffix in DATA_SUFFIXES:
            raise GaspInputError(name, f"{what} a folder; a {suffix} name looks like a file (did you mean a folder "
                                 "name without a suffix?)")
        if out.exists() and not out.is_dir():
            raise GaspInputError(name, "is an existing file; give a folder")
    for src in inputs:
        if src is None or str(src) == "":
            continue
        src = Path(src)
        if _same_file(out, src):
            raise GaspInputError(name, f"is the input {src}; writing it would destroy the input")
        if kind == "folder" and src.exists() and src.resolve().is_relative_to(out.resolve()):
            raise GaspInputError(name, f"holds the input {src}; the output folder is replaced as a whole, "
                                 "which would delete it")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise GaspInputError(name, f"{parent} is a file, not a folder")
    base = _nearest_existing(out)
    try:
        probe = tempfile.mkdtemp(prefix=".gasp-write-check-", dir=base)
        os.rmdir(probe)
    except OSError as exc:
        raise GaspInputError(name, f"cannot write in {base} ({exc.strerror or exc})") from None
    if estimate_bytes > 0:
        free = shutil.disk_usage(base).free
        if free < estimate_bytes:
            raise GaspInputError(name, f"needs about {estimate_bytes / 1e6:.0f} MB, only {free / 1e6:.0f} MB free "
                                 f"on the filesystem of {base}")
    return out
