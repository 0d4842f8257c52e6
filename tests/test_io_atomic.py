"""Storage convention: atomic writes, safetensors with metadata, Parquet, PNG; bad files -> one-line errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path, write_text_atomic
from gasp_ops.io.images import save_png
from gasp_ops.io.tables import read_parquet, write_parquet
from gasp_ops.io.tensors import load_tensors, save_tensors


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_safetensors_roundtrip_with_metadata(tmp_path):
    t = {"x": torch.arange(6.0).reshape(2, 3), "ids": torch.tensor([3, 1])}
    save_tensors(tmp_path / "t.safetensors", t, {"preset": "tiny", "n": 2})
    back, meta = load_tensors(tmp_path / "t.safetensors")
    assert torch.equal(back["x"], t["x"]) and torch.equal(back["ids"], t["ids"])
    assert meta == {"preset": "tiny", "n": 2}


def test_bad_tensor_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a tensor file at all")
    with pytest.raises(GaspInputError, match="bad.safetensors"):
        load_tensors(bad)
    with pytest.raises(GaspInputError, match="missing.safetensors: file not found"):
        load_tensors(tmp_path / "missing.safetensors")


def test_parquet_and_png(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_parquet(tmp_path / "t.parquet", df)
    assert read_parquet(tmp_path / "t.parquet").equals(df)
    img = np.zeros((4, 5, 3), np.float32)
    img[1, 2] = [1.0, 0.5, 0.0]
    save_png(tmp_path / "i.png", img)
    back = np.asarray(Image.open(tmp_path / "i.png"))
    assert back.shape == (4, 5, 3) and tuple(back[1, 2]) == (255, 128, 0)
    (tmp_path / "junk.parquet").write_text("nope")
    with pytest.raises(GaspInputError, match="junk.parquet"):
        read_parquet(tmp_path / "junk.parquet")
