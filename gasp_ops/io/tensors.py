"""Tensors on disk: safetensors files with a JSON metadata header (no pickle anywhere)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> Path:
    """Write ``tensors`` (contiguous CPU copies) and JSON-serialisable ``metadata`` atomically."""
    meta = {"json": json.dumps(metadata or {}, sort_keys=True)}
    payload = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(payload, str(tmp), metadata=meta)
    return Path(path)


def load_tensors(path: str | os.PathLike, device: str = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Read a file written by ``save_tensors``: (tensors, metadata). Clear one-line errors on bad files."""
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    try:
        tensors = load_file(str(path), device=device)
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("json", "{}")
    except (SafetensorError, OSError, ValueError) as exc:
        raise GaspInputError(str(path), f"not a readable safetensors file ({str(exc).splitlines()[0]})") from None
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as exc:
        raise GaspInputError(str(path), f"metadata 'json' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise GaspInputError(str(path), f"metadata 'json' must be a JSON object, got {type(meta).__name__}")
    return tensors, meta
