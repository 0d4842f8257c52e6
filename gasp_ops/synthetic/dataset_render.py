"""Rendering planned views to files, one identity at a time, resumable.

An identity is complete when its manifest ``manifests/<identity_id>.json`` exists (written last, atomically) and
lists a SHA-256 for every file; a rerun skips complete identities and redoes the rest. Each file is written
atomically, so an interrupted run leaves either a complete file or none.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.atomic import write_text_atomic
from gasp_ops.io.images import save_png, save_png16
from gasp_ops.synthetic.dataset_plan import view_inputs
from gasp_ops.synthetic.identity import sample_identity


@dataclass
class IdentityRenderResult:
    identity_id: str
    skipped: bool
    num_views: int
    bytes_written: int
    mask_coverage: list[float]
    #: wall seconds of this identity's "assets" (textures, hair / clothing geometry), "render" (rasterise, shade,
    #: to host) and "write" (PNG files, hashes, manifest); empty when skipped.
    seconds: dict = field(default_factory=dict)


#: zlib level of the dataset's PNGs: lossless at any level; 1 instead of the default 6 / 3 cuts encoding (the writer's
#: largest CPU cost after the identity's assets: ~0.1 s per 512² view) by ~2.5x for ~20 % larger files.
PNG_LEVEL = 1


def manifest_path(root: Path, identity_id: str) -> Path:
    return Path(root) / "manifests" / f"{identity_id}.json"


def identity_complete(root: Path, identity_id: str, n_views: int) -> bool:
    """True when the identity's manifest exists, covers ``n_views`` views and every listed file exists."""
    path = manifest_path(root, identity_id)
    if not path.is_file():
        return False
    manifest = json.loads(path.read_text())
    return manifest.get("num_views") == n_views and all((Path(root) / f).is_file() for f in manifest["files"])


def shard_of(index: int, n_shards: int) -> int:
    """Identity ``index`` belongs to shard ``index % n_shards`` (balanced for any dataset size)."""
    return int(index) % int(n_shards)


def render_identity(root: Path, identity_row, views: pd.DataFrame, head: HeadModel, texture_size: int,
                    supersample: int, device: torch.device | str = "cpu", overwrite: bool = False,
                    max_batch: int | None = None) -> IdentityRenderResult:
    """Render every view of one identity (rows of the views table) into ``root`` and write its manifest.

    identity_row: a row of the identity table (needs identity_id, index, seed, domain). max_batch: views rasterised
    at once (``render_views``; bounds memory, the files do not depend on it).
    """
    from gasp_ops.synthetic.assets import build_assets
    from gasp_ops.synthetic.render import render_views

    root = Path(root)
    iid = identity_row.identity_id
    if not overwrite and identity_complete(root, iid, len(views)):
        previous = json.loads(manifest_path(root, iid).read_text())
        return IdentityRenderResult(iid, True, len(views), 0, list(previous.get("mask_coverage", [])))
    t0 = time.perf_counter()
    ident = sample_identity(int(identity_row.index), int(identity_row.seed), head, domain=identity_row.domain)
    expr, pose, cams = view_inputs(views)
    assets = build_assets(head, ident, texture_size, device=device)
    t1 = time.perf_counter()
    out = render_views(head, ident, expr, pose, cams, domain=identity_row.domain, supersample=supersample,
                       assets=assets, device=device, max_batch=max_batch)
    rgb = out.rgb.detach().cpu().numpy()
    alpha = out.alpha.detach().cpu().numpy().reshape(len(views), cams.height, cams.width)
    face_id = out.face_id.detach().cpu().numpy()
    t2 = time.perf_counter()
    if face_id.max(initial=-1) + 1 > 65535:
        raise GaspInputError("face_id", f"{iid}: combined mesh has more than 65,534 faces; 16-bit maps cannot hold it")
    files, written, coverage = {}, 0, []
    for k, view in enumerate(views.itertuples(index=False)):
        for rel, writer, data in (
            (view.image_path, save_png, rgb[k]),
            (view.mask_path, save_png, alpha[k]),
            (view.face_id_path, save_png16, (face_id[k] + 1).astype(np.int64)),
        ):
            path = writer(root / rel, data, compress_level=PNG_LEVEL)
            blob = path.read_bytes()
            files[rel] = hashlib.sha256(blob).hexdigest()
            written += len(blob)
        coverage.append(float(alpha[k].mean()))
    manifest = {"identity_id": iid, "num_views": len(views), "files": files,
                "mask_coverage": coverage, "num_faces": int(out.faces.shape[0])}
    write_text_atomic(manifest_path(root, iid), json.dumps(manifest, indent=1, sort_keys=True))
    seconds = {"assets": t1 - t0, "render": t2 - t1, "write": time.perf_counter() - t2}
    return IdentityRenderResult(iid, False, len(views), written, coverage, seconds)
