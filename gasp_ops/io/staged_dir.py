"""Folders written as one unit: stage every file in a unique folder beside the target, then swap it in.

``staged_directory(target)`` locks the target (``fcntl.flock`` on ``.<name>.lock`` beside it: a second writer of
the same folder gets a one-line ``GaspInputError`` at once instead of colliding), yields a fresh staging folder
``.<name>.staging-XXXX`` in the same parent, and on success exchanges it with the target. On Linux the exchange is
one ``renameat2(RENAME_EXCHANGE)`` call, so a reader sees either the old folder or the new one, never a mix; elsewhere
it is two renames (old aside, new in) and a crash between them is repaired by the next writer, which puts the old
folder back. On an error, or a kill, the target keeps its previous content; leftover staging folders of a killed
writer are removed by the next writer (it holds the lock, so nothing else is using them).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gasp_ops.errors import GaspInputError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def output_lock(target: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive, non-blocking lock on ``target`` (released when the block ends or the process dies)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(target)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GaspInputError(str(target), "another gasp process is writing this output right now (lock "
                                 f"{lock.name}); wait for it to finish or choose another output") from None
        yield lock
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where the system lacks it."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Remove a folder tree, or a file / symbolic link (a swapped-out link to a folder is removed, not followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _recover(target: Path) -> None:
    """Under the lock: put back an old folder a killed two-rename swap left aside; remove stale staging folders."""
    parent = target.parent
    olds = sorted(parent.glob(f".{target.name}.old-*"))
    if olds and not target.exists():
        os.rename(olds.pop(), target)
    for p in olds + sorted(parent.glob(f".{target.name}.staging-*")):
        _remove(p)


def swap_in(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target`` folder (the old one, if any, is removed afterwards)."""
    if target.exists() and not target.is_dir():
        raise GaspInputError(str(target), "is an existing file; the output must be a folder")
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        _remove(staging)  # now holds the old folder (or the old link to one)
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
        os.rename(staging, target)
        _remove(old)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Lock ``target``, yield an empty staging folder beside it, swap it in when the block succeeds.

    Write every file of the result into the yielded folder; paths to return to callers are ``target / rel``."""
    target = Path(target)
    with output_lock(target):
        _recover(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
        try:
            yield staging
            swap_in(staging, target)
        finally:
            if staging.exists() or staging.is_symlink():
                _remove(staging)


def retarget(value, staging: Path, target: Path):
    """Map paths inside ``staging`` (also inside dicts/lists) to the same place under ``target``."""
    if isinstance(value, Path) and value.is_relative_to(staging):
        return target / value.relative_to(staging)
    if isinstance(value, dict):
        return {k: retarget(v, staging, target) for k, v in value.items()}
    if isinstance(value, list):
        return [retarget(v, staging, target) for v in value]
    return value
