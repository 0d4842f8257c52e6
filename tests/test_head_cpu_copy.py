"""``on_cpu``: a CPU head is returned as is; a head elsewhere is left where it is and its CPU copy is made once."""

from types import SimpleNamespace

import torch

from gasp_ops.headmodel.cpu_copy import on_cpu
from gasp_ops.headmodel.factory import build_head_model


class FakeGpuHead(torch.nn.Module):
    """A module that reports its template on a GPU (CI has none) and records ``to`` calls."""

    def __init__(self):
        super().__init__()
        self.register_buffer("weights", torch.arange(4.0))
        self.where, self.moves = "cuda", 0

    @property
    def template(self):
        return SimpleNamespace(device=torch.device(self.where) if self.where == "cpu" else SimpleNamespace(type="cuda"))

    def to(self, device):
        self.where, self.moves = str(device), self.moves + 1
        return self


def test_cpu_head_is_returned_itself():
    head = build_head_model("procedural")
    assert on_cpu(head) is head


def test_gpu_head_stays_put_and_its_cpu_copy_is_made_once():
    head = FakeGpuHead()
    twin = on_cpu(head)
    assert head.where == "cuda" and head.moves == 0
    assert twin is not head and twin.where == "cpu"
    assert on_cpu(head) is twin and twin.moves == 1
    assert torch.equal(twin.weights, head.weights)
