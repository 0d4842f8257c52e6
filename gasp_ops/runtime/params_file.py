"""3DMM parameter sequences from a file (what ``gasp render --params`` / ``export-ply --params`` read).

Two formats: a frame table (.parquet: ``expression`` [E] and pose columns per row; rows of the first camera, by
``frame``), or a safetensors file with ``expression`` [T, E] and optional ``rotation``/``translation``/``neck``/
``jaw`` [T, 3] and ``eyes`` [T, 6]. Every column or tensor is checked (present, numeric, not ragged, the head
model's widths, at least one frame, finite and plausible: ``gasp_ops.plausible``) with one line naming the file and
the field.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.plausible import check_3dmm_ranges

POSE_WIDTHS = {"rotation": 3, "translation": 3, "neck": 3, "jaw": 3, "eyes": 6}
SUFFIXES = (".parquet", ".safetensors")


def _from_table(path: Path, n_expression: int) -> tuple[torch.Tensor, HeadPose]:
    from gasp_ops.io.table_columns import float_column, require_columns, require_rows
    from gasp_ops.io.tables import read_parquet

    t = read_parquet(path)
    require_rows(t, str(path))
    require_columns(t, str(path), ["expression", *POSE_WIDTHS])
    if "camera" in t:
        require_columns(t, str(path), ["frame"])
        frame = float_column(t, "frame", str(path), 1)[:, 0]
        t = t.assign(_frame=frame)
        t = t[t["camera"].astype(str) == str(t["camera"].iloc[0])].sort_values("_frame")
    col = lambda c, w: torch.as_tensor(float_column(t, c, str(path), w))  # noqa: E731
    return col("expression", n_expression), HeadPose(**{k: col(k, w) for k, w in POSE_WIDTHS.items()})


def _from_tensors(path: Path, n_expression: int) -> tuple[torch.Tensor, HeadPose]:
    from gasp_ops.io.tensors import load_tensors

    tensors, _ = load_tensors(path)
    if "expression" not in tensors:
        raise GaspInputError(str(path), "needs an 'expression' tensor [T, n_expression]")

    def get(name: str, width: int, default: torch.Tensor | None = None) -> torch.Tensor:
        t = tensors.get(name, default)
        if not t.is_floating_point():
            raise GaspInputError(f"{path}: {name}", f"must be a float tensor, got {t.dtype}")
        if t.ndim != 2 or t.shape[1] != width:
            raise GaspInputError(f"{path}: {name}", f"expected shape [T, {width}], got {list(t.shape)}")
        return t.float()

    e = get("expression", n_expression)
    zeros = HeadPose.zeros(e.shape[0])
    pose = {k: get(k, w, getattr(zeros, k)) for k, w in POSE_WIDTHS.items()}
    for k, v in pose.items():
        if v.shape[0] != e.shape[0]:
            raise GaspInputError(f"{path}: {k}", f"has {v.shape[0]} frames, expression has {e.shape[0]}")
    return e, HeadPose(**pose)


def load_params(path, head) -> tuple[torch.Tensor, HeadPose]:
    """(expressions [T, n_expression] float32, ``HeadPose`` batch T) from ``path`` for ``head``; T >= 1."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise GaspInputError(str(path), f"3DMM parameters must be a {' or '.join(SUFFIXES)} file")
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    reader = _from_table if path.suffix.lower() == ".parquet" else _from_tensors
    expr, pose = reader(path, int(head.n_expression))
    if expr.shape[0] == 0:
        raise GaspInputError(str(path), "holds no frames (T = 0)")
    check_3dmm_ranges(str(path), expr, pose)
    return expr, pose
