"""Config dataclasses from plain dicts (JSON, Dagster config) and their shared checks, with one-line errors."""

from __future__ import annotations

import math
from dataclasses import fields

from gasp_ops.errors import GaspInputError


def dataclass_from_dict(cls, data: dict, what: str, nested: dict[str, type]):
    """``cls(**data)`` where ``nested`` names fields holding sub-dataclasses (given as dicts or instances).

    Unknown keys, at the top level or inside a nested dict, raise ``GaspInputError`` naming the key.
    """
    data = dict(data)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise GaspInputError(unknown[0], f"unknown {what} option; known options: {', '.join(sorted(known))}")
    for name, sub in nested.items():
        if isinstance(data.get(name), dict):
            sub_known = {f.name for f in fields(sub)}
            bad = sorted(set(data[name]) - sub_known)
            if bad:
                raise GaspInputError(f"{name}.{bad[0]}", f"unknown option; known: {', '.join(sorted(sub_known))}")
            data[name] = sub(**data[name])
    return cls(**data)


def check_nonnegative(name: str, value) -> None:
    """A finite number >= 0 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise GaspInputError(name, f"must be a finite number >= 0, got {value!r}")


def check_nonnegative_groups(config, groups: tuple[str, ...]) -> None:
    """Every field of the sub-dataclasses ``config.<group>`` is a finite number >= 0."""
    for group in groups:
        for f in fields(getattr(config, group)):
            check_nonnegative(f"{group}.{f.name}", getattr(getattr(config, group), f.name))
