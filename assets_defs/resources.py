"""Resources shared by every asset: where data lives, which device, which preset, which head model."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from gasp_ops.device import resolve_device
from gasp_ops.headmodel.factory import build_head_model
from gasp_ops.presets import get_preset

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT_ENV = "GASP_DATA_ROOT"


def default_data_root() -> str:
    """``$GASP_DATA_ROOT`` when set, else ``<project>/data``."""
    return os.environ.get(DATA_ROOT_ENV) or str(PROJECT_ROOT / "data")


class DataRoot(dg.ConfigurableResource):
    """Root folder of every file the pipeline writes: ``<root>/<preset>/<asset>/...``.

    Tables are Parquet, tensors safetensors, images PNG, videos mp4; every write is atomic.
    """

    root: str = default_data_root()

    def path(self, *parts: str) -> Path:
        """``root / parts...`` (its parent folder created); refuses a path that resolves outside the root."""
        from gasp_ops.io.safe_paths import path_under

        p = path_under(self.root, *parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


class ComputeDevice(dg.ConfigurableResource):
    """Torch device: ``auto`` (cuda when present, else cpu), ``cpu``, ``cuda`` or ``cuda:N``.

    cpu_threads: torch intra-op threads per step process on the CPU (0 = torch's default). The multiprocess
    executor runs independent steps side by side; one thread each keeps a small machine from oversubscribing
    (several multi-threaded torch processes on 2 cores stall at their thread barriers).
    """

    device: str = "auto"
    cpu_threads: int = 1

    def torch_device(self):
        import torch

        device = resolve_device(self.device)
        if device.type == "cpu" and self.cpu_threads > 0:
            torch.set_num_threads(self.cpu_threads)
        return device


class PipelinePreset(dg.ConfigurableResource):
    """Scale preset: ``tiny`` (CPU, CI, demo) or ``paper`` (the paper's scale on a GPU); ``$GASP_PRESET`` overrides
    the default."""

    name: str = os.environ.get("GASP_PRESET", "tiny")

    def get(self):
        return get_preset(self.name)


class HeadModelResource(dg.ConfigurableResource):
    """The 3DMM: ``procedural`` (built in, default) or ``flame`` with the user's FLAME file paths."""

    kind: str = "procedural"
    flame_model_path: str | None = None
    flame_uv_path: str | None = None
    flame_masks_path: str | None = None
    flame_landmarks_path: str | None = None

    def build(self):
        return build_head_model(self.kind, self.flame_model_path, self.flame_uv_path, self.flame_masks_path,
                                self.flame_landmarks_path)


class PriorSource(dg.ConfigurableResource):
    """Which prior the avatar fits use (embedded avatar, Table 1/2 comparisons, avatar_fit, ablations):
    ``shipped`` (default: the prior in ``gasp_models/``, trained on 1,000 synthetic people on a GPU, SHA-256
    checked) or ``job`` (the ``gaussian_prior`` asset's, trained by this job on its own synthetic data).
    ``$GASP_PRIOR_SOURCE`` overrides the default."""

    source: str = os.environ.get("GASP_PRIOR_SOURCE", "shipped")


def default_resources() -> dict:
    return {
        "data_root": DataRoot(),
        "compute": ComputeDevice(),
        "preset": PipelinePreset(),
        "head_model": HeadModelResource(),
        "prior_source": PriorSource(),
    }
