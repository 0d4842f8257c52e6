"""Contact sheet of a rendered synthetic dataset: identities (rows) x views nearest to chosen azimuths (columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gasp_ops.io.images import load_png
from gasp_ops.viz.contact_sheet import contact_sheet

DEFAULT_AZIMUTHS = (0.0, -45.0, 90.0, 180.0)


def _wrapped_distance(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def dataset_contact_sheet(root: Path, views: pd.DataFrame, identity_ids: list[str],
                          azimuths: tuple[float, ...] = DEFAULT_AZIMUTHS) -> np.ndarray:
    """uint8 sheet: for each identity, the rendered views whose azimuths are nearest to ``azimuths``."""
    rows = []
    for iid in identity_ids:
        own = views[views.identity_id == iid]
        az = own.azimuth_deg.to_numpy()
        picks = [own.iloc[int(np.argmin(_wrapped_distance(az, a)))] for a in azimuths]
        rows.append([load_png(Path(root) / p.image_path)[..., :3] for p in picks])
    return contact_sheet(rows, row_labels=identity_ids, col_labels=[f"az~{a:g}" for a in azimuths])
