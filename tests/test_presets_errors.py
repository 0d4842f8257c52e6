"""Presets and one-line input errors."""

import pytest
import torch

from gasp_ops.device import resolve_device
from gasp_ops.errors import GaspInputError
from gasp_ops.presets import get_preset
from gasp_ops.validation import check_tensor


def test_known_presets():
    assert get_preset("tiny").uv_resolution < get_preset("paper").uv_resolution


def test_unknown_preset_is_one_line_and_lists_choices():
    with pytest.raises(GaspInputError) as err:
        get_preset("huge")
    msg = str(err.value)
    assert "\n" not in msg and "huge" in msg and "paper" in msg and "tiny" in msg


def test_check_tensor_shapes_and_nan():
    check_tensor("x", torch.zeros(2, 3), ["N", 3])
    with pytest.raises(GaspInputError, match=r"x: expected shape \[N, 3\], got \[2, 4\]"):
        check_tensor("x", torch.zeros(2, 4), ["N", 3])
    with pytest.raises(GaspInputError, match="x: contains 1 NaN"):
        check_tensor("x", torch.tensor([[0.0, float("nan"), 1.0]]), ["N", 3])
    with pytest.raises(GaspInputError, match="expected a torch.Tensor"):
        check_tensor("x", [1, 2, 3], [3])
    with pytest.raises(GaspInputError, match="y"):
        check_tensor("y", torch.zeros(2, 3, 2), ["N", "N", 2])  # symbolic sizes must agree


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(GaspInputError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(GaspInputError, match="device"):
        resolve_device("tpu-9000")
