"""Reading (and importing) a synthetic dataset in the documented schema (``dataset_schema``).

``SyntheticDataset.open`` validates both tables and, by default, that every file the views table names exists,
so a user's own renders in this schema can be trained on exactly like generated ones (``import_dataset`` copies
a validated dataset into the pipeline's data root).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path
from gasp_ops.io.images import load_png
from gasp_ops.io.tables import read_parquet, write_parquet
from gasp_ops.synthetic.dataset_plan import view_inputs
from gasp_ops.synthetic.dataset_schema import IDENTITY_COLUMNS, VIEW_COLUMNS, validate_columns

FILE_COLUMNS = ("image_path", "mask_path", "face_id_path")


@dataclass
class SyntheticView:
    """One loaded view: rgb [H, W, 3] float32 in [0, 1]; alpha [H, W] float32; face_id [H, W] int64 (-1 = none);
    expression [n_expr]; pose fields and camera as 1-batch tensors."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    face_id: torch.Tensor
    expression: torch.Tensor
    pose: object
    camera: object


@dataclass
class SyntheticDataset:
    root: Path
    identities: pd.DataFrame
    views: pd.DataFrame

    @classmethod
    def open(cls, root, check_files: bool = True) -> "SyntheticDataset":
        root = Path(root)
        identities = read_parquet(root / "identities.parquet")
        views = read_parquet(root / "views.parquet")
        validate_columns(identities, IDENTITY_COLUMNS, str(root / "identities.parquet"))
        validate_columns(views, VIEW_COLUMNS, str(root / "views.parquet"))
        if identities.identity_id.duplicated().any():
            dup = identities.identity_id[identities.identity_id.duplicated()].iloc[0]
            raise GaspInputError(str(root / "identities.parquet"), f"identity_id {dup!r} appears twice")
        unknown = sorted(set(views.identity_id) - set(identities.identity_id))
        if unknown:
            raise GaspInputError(str(root / "views.parquet"), f"views of unknown identity {unknown[0]!r}")
        if check_files:
            for col in FILE_COLUMNS:
                for rel in views[col]:
                    if not (root / rel).is_file():
                        raise GaspInputError(str(root / rel), f"file named in views.parquet ({col}) is missing")
        return cls(root, identities.reset_index(drop=True), views.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.views)

    def identity_ids(self, first: int | None = None) -> list[str]:
        """Identity ids in index order; ``first`` keeps the first N (the prior-size ablation)."""
        ids = list(self.identities.sort_values("index").identity_id)
        return ids if first is None else ids[:first]

    def load_view(self, i: int) -> SyntheticView:
        row = self.views.iloc[i]
        rgb = load_png(self.root / row.image_path)[..., :3].astype(np.float32) / 255.0
        alpha = load_png(self.root / row.mask_path).astype(np.float32) / 255.0
        face = load_png(self.root / row.face_id_path).astype(np.int64) - 1
        if alpha.ndim == 3:
            alpha = alpha[..., 0]
        expr, pose, cams = view_inputs(self.views.iloc[[i]])
        return SyntheticView(torch.from_numpy(rgb), torch.from_numpy(alpha), torch.from_numpy(face), expr[0], pose, cams)


def import_dataset(src, dst) -> SyntheticDataset:
    """Validate a dataset folder ``src`` (tables + every named file) and copy it into ``dst`` atomically per file."""
    dataset = SyntheticDataset.open(src, check_files=True)
    dst = Path(dst)
    for col in FILE_COLUMNS:
        for rel in dataset.views[col]:
            with atomic_path(dst / rel) as tmp:
                shutil.copyfile(dataset.root / rel, tmp)
    write_parquet(dst / "identities.parquet", dataset.identities)
    write_parquet(dst / "views.parquet", dataset.views)
    return SyntheticDataset.open(dst)
