"""Tables on disk: Parquet via pyarrow, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise GaspInputError(str(path), f"not a readable Parquet file ({str(exc).splitlines()[0]})") from None
