"""The synthetic dataset's on-disk schema (documented in docs/synthetic_dataset.md).

A dataset folder holds:
  identities.parquet   one row per identity (IDENTITY_COLUMNS; extra columns allowed)
  views.parquet        one row per rendered view (VIEW_COLUMNS; extra columns allowed)
  images/<identity_id>/<view:03d>.png     RGB, uint8, straight (not premultiplied) colour over black
  masks/<identity_id>/<view:03d>.png      alpha coverage, uint8 (0 background, 255 fully covered)
  faceids/<identity_id>/<view:03d>.png    16-bit PNG: combined-mesh face id + 1 at the pixel centre, 0 background
Paths in views.parquet are relative to the dataset folder. Cameras are OpenCV (world->camera 4x4 row-major,
K 3x3 row-major, pixels centred at +0.5), head-model space in metres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from gasp_ops.errors import GaspInputError

#: Metadata every identity carries (the latent-direction SVMs read these).
METADATA_COLUMNS: dict[str, pa.DataType] = {
    "age_group": pa.string(),
    "facial_hair": pa.bool_(),
    "long_hair": pa.bool_(),
    "hair_colour": pa.string(),
    "eye_colour": pa.string(),
    "skin_tone": pa.float64(),
}

IDENTITY_COLUMNS: dict[str, pa.DataType] = {
    "identity_id": pa.string(),
    "index": pa.int64(),
    "seed": pa.int64(),
    "domain": pa.string(),
    "head_model": pa.string(),
    "identity_coeffs": pa.list_(pa.float32()),
    **METADATA_COLUMNS,
    "appearance_json": pa.string(),
}

VIEW_COLUMNS: dict[str, pa.DataType] = {
    "identity_id": pa.string(),
    "view_index": pa.int64(),
    "width": pa.int64(),
    "height": pa.int64(),
    "K": pa.list_(pa.float32()),  # 9 values, row-major
    "world_to_cam": pa.list_(pa.float32()),  # 16 values, row-major
    "azimuth_deg": pa.float64(),
    "elevation_deg": pa.float64(),
    "expression": pa.list_(pa.float32()),
    "rotation": pa.list_(pa.float32()),
    "translation": pa.list_(pa.float32()),
    "neck": pa.list_(pa.float32()),
    "jaw": pa.list_(pa.float32()),
    "eyes": pa.list_(pa.float32()),
    "image_path": pa.string(),
    "mask_path": pa.string(),
    "face_id_path": pa.string(),
}

_FIXED_LENGTHS = {"K": 9, "world_to_cam": 16, "rotation": 3, "translation": 3, "neck": 3, "jaw": 3, "eyes": 6}


def view_paths(identity_id: str, view_index: int) -> dict[str, str]:
    """Relative file paths of one view."""
    stem = f"{identity_id}/{view_index:03d}.png"
    return {"image_path": f"images/{stem}", "mask_path": f"masks/{stem}", "face_id_path": f"faceids/{stem}"}


def validate_columns(frame: pd.DataFrame, columns: dict[str, pa.DataType], table: str) -> None:
    """Required columns present, no nulls in them, fixed-length list fields of the right length, finite numbers."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GaspInputError(table, f"missing column(s): {', '.join(missing)}")
    for name, dtype in columns.items():
        col = frame[name]
        if col.isna().any():
            raise GaspInputError(f"{table}.{name}", f"{int(col.isna().sum())} empty value(s)")
        if pa.types.is_list(dtype):
            lengths = col.map(len)
            want = _FIXED_LENGTHS.get(name)
            if want is not None and bool((lengths != want).any()):
                row = int(np.flatnonzero((lengths != want).to_numpy())[0])
                raise GaspInputError(f"{table}.{name}", f"row {row} has {int(lengths.iloc[row])} values, expected {want}")
            flat = np.concatenate([np.asarray(v, dtype=np.float64) for v in col]) if len(col) else np.zeros(0)
            if not np.isfinite(flat).all():
                raise GaspInputError(f"{table}.{name}", "contains NaN/Inf")
        elif pa.types.is_floating(dtype) and not np.isfinite(col.to_numpy(dtype=np.float64)).all():
            raise GaspInputError(f"{table}.{name}", "contains NaN/Inf")
