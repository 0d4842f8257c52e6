"""Load array-only pickles (FLAME model files, region masks, landmark embeddings) without running their code.

A pickle can name any importable callable and call it while loading, so ``pickle.load`` on a user's file is
arbitrary code execution. ``RestrictedUnpickler`` resolves a global only when it is on a short allow-list:

- NumPy array reconstruction: ``numpy.ndarray``, ``numpy.dtype``, ``numpy[._]core.multiarray._reconstruct`` and
  ``.scalar``, ``numpy[._]core.numeric._frombuffer``.
- SciPy sparse matrices/arrays (csc, csr, coo) from any ``scipy.sparse`` module path (old files name
  ``scipy.sparse.csc``, new ones ``scipy.sparse._csc``). They are NOT instantiated as SciPy objects while
  loading: a local stand-in (``PickledSparse``) keeps the pickled state, and ``load_pickle`` rebuilds a
  ``scipy.sparse`` matrix from its ``data``/``indices``/``indptr``/shape arrays afterwards.
- chumpy's ``Ch`` (``chumpy.ch.Ch``), mapped to the stand-in ``PickledChumpy`` that keeps the pickled state
  (``__dict__`` of a plain ``Ch`` holds its value array under ``'x'``); ``load_pickle`` replaces it with that array.
  chumpy itself is never imported.
- Harmless builtins a Python-2/protocol-2 pickle uses for plain data: ``set``, ``frozenset``, ``bytes``,
  ``bytearray``, ``collections.OrderedDict``, ``copyreg._reconstructor`` (restricted to ``base is object``) and
  ``_codecs.encode`` (restricted to latin-1, which is how Python 3 writes ``bytes`` at protocol 2).

Anything else raises ``RefusedGlobalError`` before it is imported or called. Files written by Python 2 are read
with ``encoding='latin1'`` (what NumPy needs for the raw array bytes).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from gasp_ops.errors import GaspInputError

# The NumPy reconstruction callables, taken from live objects so no deprecated module path is imported.
_NP_RECONSTRUCT = np.empty(0).__reduce__()[0]
_NP_SCALAR = np.float64(0).__reduce__()[0]
_NP_FROMBUFFER = np.arange(2.0).__reduce_ex__(5)[0]

_NUMPY_CORE = ("numpy.core", "numpy._core")
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_SPARSE_FORMATS = {"csc": "csc", "csr": "csr", "coo": "coo"}


class RefusedGlobalError(pickle.UnpicklingError):
    """The pickle names a global that is not on the allow-list (``module.name`` in ``self.refused``)."""

    def __init__(self, module: str, name: str):
        self.refused = f"{module}.{name}"
        super().__init__(f"refused global {self.refused!r}")


class PickledChumpy:
    """Stand-in for ``chumpy.ch.Ch``: keeps the pickled ``__dict__`` (``state``); ``array()`` returns ``state['x']``."""

    def __setstate__(self, state):
        self.state = state

    def array(self) -> np.ndarray:
        state = getattr(self, "state", None)
        if not isinstance(state, dict) or "x" not in state:
            raise ValueError("chumpy object without a value array 'x' (only plain chumpy.Ch values are supported)")
        x = state["x"]
        if isinstance(x, PickledChumpy):
            return x.array()
        return np.asarray(x)


class PickledSparse:
    """Stand-in for a SciPy sparse matrix: keeps the pickled ``__dict__``; ``to_scipy()`` rebuilds it."""

    format: str = ""

    def __setstate__(self, state):
        self.state = state

    def to_scipy(self):
        import scipy.sparse as sp

        st = getattr(self, "state", None)
        if not isinstance(st, dict):
            raise ValueError(f"sparse {self.format} matrix without a state dict")
        shape = st.get("_shape", st.get("shape"))
        if shape is None or len(tuple(shape)) != 2:
            raise ValueError(f"sparse {self.format} matrix without a 2-D shape")
        shape = tuple(int(s) for s in shape)
        if self.format in ("csc", "csr"):
            missing = [k for k in ("data", "indices", "indptr") if k not in st]
            if missing:
                raise ValueError(f"sparse {self.format} matrix lacks {', '.join(missing)}")
            cls = sp.csc_matrix if self.format == "csc" else sp.csr_matrix
            return cls((np.asarray(st["data"]), np.asarray(st["indices"]), np.asarray(st["indptr"])), shape=shape)
        if "coords" in st:
            row, col = (np.asarray(c) for c in st["coords"])
        elif "row" in st and "col" in st:
            row, col = np.asarray(st["row"]), np.asarray(st["col"])
        else:
            raise ValueError("sparse coo matrix without coordinates")
        return sp.coo_matrix((np.asarray(st["data"]), (row, col)), shape=shape)


def _sparse_standin(fmt: str) -> type:
    return type(f"PickledSparse_{fmt}", (PickledSparse,), {"format": fmt})


_SPARSE_STANDINS = {fmt: _sparse_standin(fmt) for fmt in _SPARSE_FORMATS.values()}


def _latin1_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as Python 3 uses it to pickle ``bytes`` at protocol <= 2; only latin-1 text -> bytes."""
    norm = str(encoding).lower().replace("-", "").replace("_", "")
    if not isinstance(obj, str) or norm not in ("latin1", "iso88591", "l1"):
        raise pickle.UnpicklingError("refused _codecs.encode call other than str -> latin-1 bytes")
    return obj.encode("latin1", errors)


def _object_reconstructor(cls, base, state):
    """``copyreg._reconstructor`` restricted to ``base is object`` (how protocol 0/1 pickles plain instances)."""
    if base is not object or state is not None:
        raise pickle.UnpicklingError("refused copyreg._reconstructor with a base other than object")
    return object.__new__(cls)


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only allow-listed globals (see the module docstring).

    ``find_class`` raises ``RefusedGlobalError`` for anything else, before importing or calling it.
    """

    def __init__(self, file, *, encoding: str = "latin1"):
        super().__init__(file, encoding=encoding, fix_imports=True)

    def find_class(self, module: str, name: str):  # noqa: C901 - one flat allow-list
        # Python-2 module names (the base class would map these itself; we never call it).
        module = _PY2_MODULES.get(module, module)
        if module == "numpy":
            if name == "ndarray":
                return np.ndarray
            if name == "dtype":
                return np.dtype
        elif module in tuple(f"{c}.multiarray" for c in _NUMPY_CORE):
            if name == "_reconstruct":
                return _NP_RECONSTRUCT
            if name == "scalar":
                return _NP_SCALAR
        elif module in tuple(f"{c}.numeric" for c in _NUMPY_CORE):
            if name == "_frombuffer":
                return _NP_FROMBUFFER
        elif module == "scipy.sparse" or module.startswith("scipy.sparse."):
            fmt, _, kind = name.partition("_")
            if fmt in _SPARSE_STANDINS and kind in ("matrix", "array"):
                return _SPARSE_STANDINS[fmt]
        elif module in ("chumpy", "chumpy.ch"):
            if name == "Ch":
                return PickledChumpy
        elif module == "builtins":
            allowed = {"set": set, "frozenset": frozenset, "bytes": bytes, "bytearray": bytearray}
            if name in allowed:
                return allowed[name]
        elif module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        elif module == "copyreg" and name == "_reconstructor":
            return _object_reconstructor
        elif module == "_codecs" and name == "encode":
            return _latin1_encode
        raise RefusedGlobalError(module, name)


def _convert(obj: Any, depth: int = 0) -> Any:
    """Replace stand-ins by their arrays / SciPy matrices inside dicts, lists and tuples."""
    if depth > 32:
        return obj
    if isinstance(obj, PickledChumpy):
        return obj.array()
    if isinstance(obj, PickledSparse):
        return obj.to_scipy()
    if isinstance(obj, dict):
        items = [(k, _convert(v, depth + 1)) for k, v in obj.items()]
        return collections.OrderedDict(items) if isinstance(obj, collections.OrderedDict) else dict(items)
    if isinstance(obj, list):
        return [_convert(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_convert(v, depth + 1) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        out = np.empty(obj.shape, dtype=object)
        for idx, v in np.ndenumerate(obj):
            out[idx] = _convert(v, depth + 1)
        return out
    return obj


def loads_restricted(data: bytes, *, source: str = "pickle", convert: bool = True) -> Any:
    """Unpickle ``data`` with ``RestrictedUnpickler`` (see ``load_pickle``); ``source`` names it in errors."""
    return _load_stream(io.BytesIO(data), source, convert)


def _load_stream(stream, source: str, convert: bool) -> Any:
    try:
        obj = RestrictedUnpickler(stream).load()
        return _convert(obj) if convert else obj
    except RefusedGlobalError as exc:
        raise GaspInputError(
            source,
            f"refused to unpickle global {exc.refused!r} (only NumPy arrays, SciPy sparse matrices and chumpy "
            "values are loaded; pickles can run code)",
        ) from None
    except GaspInputError:
        raise
    except Exception as exc:  # truncated/corrupt streams raise many types
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise GaspInputError(source, f"not a readable array pickle ({type(exc).__name__}: {msg})") from None


def load_pickle(path: str | os.PathLike, *, convert: bool = True) -> Any:
    """Load a pickle file through ``RestrictedUnpickler`` (``encoding='latin1'`` for Python-2 files).

    With ``convert`` (default) chumpy values become ``np.ndarray`` and sparse stand-ins become ``scipy.sparse``
    matrices. Missing file, refused global or corrupt data -> ``GaspInputError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    with open(path, "rb") as fh:
        return _load_stream(fh, str(path), convert)


def load_npy_object(path: str | os.PathLike) -> Any:
    """Load a ``.npy`` file; object arrays (``np.save`` of a dict) go through ``RestrictedUnpickler``.

    Returns the array, or for a 0-d object array its single item (e.g. the saved dict). Files that are not
    ``.npy`` (no NumPy magic) are read as plain pickles via ``load_pickle``.
    """
    from numpy.lib import format as npformat

    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            fh.seek(0)
            return _load_stream(fh, str(path), True)
        fh.seek(0)
        try:
            version = npformat.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = npformat.read_array_header_1_0(fh)
            else:
                shape, _, dtype = npformat.read_array_header_2_0(fh)
        except Exception as exc:
            raise GaspInputError(str(path), f"not a readable .npy file ({' '.join(str(exc).split())})") from None
        if not dtype.hasobject:
            fh.seek(0)
            try:
                return np.load(fh, allow_pickle=False)
            except Exception as exc:
                raise GaspInputError(str(path), f"not a readable .npy file ({' '.join(str(exc).split())})") from None
        arr = _load_stream(fh, str(path), True)
    if not isinstance(arr, np.ndarray):
        raise GaspInputError(str(path), f"object .npy did not hold an array (got {type(arr).__name__})")
    if arr.shape != tuple(shape):
        raise GaspInputError(str(path), f"object .npy header says shape {list(shape)}, data has {list(arr.shape)}")
    return arr.item() if arr.ndim == 0 else arr
