"""One training code path for 1 process or many: torch DDP, launched by torchrun (or spawned in tests).

Under torchrun (``WORLD_SIZE`` set) the process group is initialised with NCCL on CUDA and gloo on CPU, even for
world size 1; run as a plain process it is world size 1 without a process group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from gasp_ops.device import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """rank, world_size, local_rank and the torch device of this process; ``active``: a process group exists."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    active: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group when launched by torchrun (or an existing one), else single process."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        return DistInfo(rank, world, local, _device_for(device, local), True)
    if "WORLD_SIZE" not in os.environ:
        return DistInfo(device=resolve_device(device))
    local = int(os.environ.get("LOCAL_RANK", 0))
    dev = _device_for(device, local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local, dev, True)


def _device_for(device: str, local_rank: int) -> torch.device:
    dev = resolve_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank)
    return dev


def all_mean(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of ``values`` over ranks (identity for a single process)."""
    if not info.active or info.world_size == 1:
        return values
    out = values.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / info.world_size


def barrier(info: DistInfo) -> None:
    if info.active and info.world_size > 1:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.active and dist.is_initialized():
        dist.destroy_process_group()
