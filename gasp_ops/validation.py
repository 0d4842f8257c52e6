"""Input checks that fail loudly with one-line messages naming the input."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gasp_ops.errors import GaspInputError


def check_tensor(name: str, value, shape: Sequence[int | str | None], *, finite: bool = True) -> torch.Tensor:
    """Check that ``value`` is a tensor of the given shape and (optionally) free of NaN/Inf.

    ``shape`` entries: an int must match exactly; ``None`` or a string (a symbolic name such as ``"N"``) match any
    size, and the same string must match the same size everywhere it appears. A leading ``"..."`` admits any
    number of batch dimensions.
    """
    if not isinstance(value, torch.Tensor):
        raise GaspInputError(name, f"expected a torch.Tensor, got {type(value).__name__}")
    dims = list(shape)
    actual = list(value.shape)
    if dims and dims[0] == "...":
        dims = dims[1:]
        if len(actual) < len(dims):
            raise GaspInputError(name, f"expected shape [..., {_fmt(dims)}], got {actual}")
        actual = actual[len(actual) - len(dims):]
    elif len(actual) != len(dims):
        raise GaspInputError(name, f"expected shape [{_fmt(dims)}], got {list(value.shape)}")
    bound: dict[str, int] = {}
    for want, got in zip(dims, actual):
        if isinstance(want, int) and want != got:
            raise GaspInputError(name, f"expected shape [{_fmt(shape)}], got {list(value.shape)}")
        if isinstance(want, str):
            if want in bound and bound[want] != got:
                raise GaspInputError(name, f"expected shape [{_fmt(shape)}], got {list(value.shape)}")
            bound[want] = got
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise GaspInputError(name, f"contains {bad} NaN/Inf value(s)")
    return value


def _fmt(dims) -> str:
    return ", ".join("*" if d is None else str(d) for d in dims)
