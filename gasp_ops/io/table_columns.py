"""Numeric columns of a table (frame tables, 3DMM parameter tables) with one-line errors naming file and column.

A Parquet column of arrays may be missing, ragged (rows of different lengths), hold strings or nulls; each is a
``GaspInputError("<source>: <column>", ...)`` instead of a NumPy traceback.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gasp_ops.errors import GaspInputError


def require_rows(table: pd.DataFrame, source: str) -> None:
    if len(table) == 0:
        raise GaspInputError(str(source), "the table has no rows")


def require_columns(table: pd.DataFrame, source: str, columns) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise GaspInputError(f"{source}: {missing[0]}", f"column missing (the table has {list(table.columns)[:12]})")


def float_column(table: pd.DataFrame, column: str, source: str, width: int | None = None) -> np.ndarray:
    """float32 [R, width] from a column whose cells are numbers or equal-length numeric arrays.

    ``width``: the values per row the caller needs (checked); None accepts any common width."""
    name = f"{source}: {column}"
    if column not in table.columns:
        require_columns(table, source, [column])
    rows = []
    for i, cell in enumerate(table[column]):
        try:
            arr = np.asarray(cell, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise GaspInputError(name, f"row {i} holds a non-numeric value ({str(cell)[:40]!r})") from None
        if rows and arr.shape != rows[0].shape:
            raise GaspInputError(name, f"ragged column: row 0 has {rows[0].size} values, row {i} has {arr.size}")
        rows.append(arr)
    if not rows:
        require_rows(table, source)
    out = np.stack(rows)
    if width is not None and out.shape[1] != width:
        raise GaspInputError(name, f"expected {width} values per row, got {out.shape[1]}")
    return out
