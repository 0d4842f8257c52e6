"""Rendering a planned synthetic dataset with a pool of worker processes (GPU or CPU), resumable.

Per identity, building its appearance assets (skin texture, hair/clothing geometry: NumPy on one core) costs far
more than rasterising its views, so a single process leaves the GPU idle most of the time. ``render_dataset``
hands identities to ``workers`` processes; each builds the head model once, then renders whole identities with
``dataset_render.render_identity`` (the same function the ``synthetic_renders`` asset calls), so files, manifests,
determinism and resume are exactly the serial writer's: an identity's files depend only on (seed, index, views),
never on which worker rendered it or in which order.

Workers are started with the ``spawn`` method (CUDA cannot be forked) and run one torch thread each; with
``device='cuda'`` they share the GPU, whose rasteriser work overlaps with the other workers' CPU work.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pandas as pd

from gasp_ops.errors import GaspInputError
from gasp_ops.synthetic.dataset_render import IdentityRenderResult, render_identity

_WORKER: dict = {}


#: Thread pools of the libraries a worker uses; each worker gets one thread so N workers use N cores, not N x N.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _init_worker(head_kind: str, device: str, threads: int) -> None:
    import cv2
    import torch

    from gasp_ops.headmodel.factory import build_head_model

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    _WORKER["device"] = device
    _WORKER["head"] = build_head_model(head_kind).to(device)


def worker_head():
    """(head model, device) of this worker process, as built by ``worker_pool``'s initializer."""
    return _WORKER["head"], _WORKER["device"]


@contextmanager
def worker_pool(workers: int, device: str, head_kind: str = "procedural"):
    """A ``spawn`` ``ProcessPoolExecutor`` of ``workers`` processes, each with one thread (torch, OpenCV, BLAS) and
    its own head model on ``device`` (``worker_head()`` inside a task). The thread variables are restored after."""
    import multiprocessing as mp

    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: "1" for k in THREAD_VARIABLES})  # spawned workers read these at start
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                 initargs=(head_kind, str(device), 1)) as pool:
            yield pool
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _render_one(root: str, row: dict, views: pd.DataFrame, texture_size: int, supersample: int,
                overwrite: bool, max_batch: int | None = None) -> IdentityRenderResult:
    return render_identity(Path(root), SimpleNamespace(**row), views, _WORKER["head"], texture_size, supersample,
                           device=_WORKER["device"], overwrite=overwrite, max_batch=max_batch)


def render_dataset(root, identities: pd.DataFrame, views: pd.DataFrame, *, texture_size: int, supersample: int,
                   device: str = "cpu", workers: int | None = None, head_kind: str = "procedural",
                   overwrite: bool = False, log: Callable[[str], None] | None = None,
                   max_seconds: float | None = None, max_batch: int | None = None) -> list[IdentityRenderResult]:
    """Render every identity of ``identities`` (rows of the identity table) with its rows of ``views`` into ``root``.

    workers: processes (default: CPU count, at most the number of identities); 0 = render in this process (the
    head model is built here). Complete identities are skipped (``render_identity``'s manifest rule), so an
    interrupted call resumes. max_seconds: start no identity after that long (those running finish), as if
    interrupted. max_batch: views a worker rasterises at once (``render_views``): bounds each worker's GPU memory
    (512², supersample 3: ~0.23 GB per view), the files do not depend on it. Returns one ``IdentityRenderResult``
    per rendered identity, in the order of ``identities``.
    """
    log = log or (lambda msg: None)
    if len(identities) == 0:
        raise GaspInputError("identities", "no identities to render")
    missing = set(identities.identity_id) - set(views.identity_id)
    if missing:
        raise GaspInputError("views", f"no planned views for {len(missing)} identities, e.g. {sorted(missing)[0]}")
    n = len(identities)
    workers = min(os.cpu_count() or 1, n) if workers is None else int(workers)
    if workers < 0:
        raise GaspInputError("workers", f"must be >= 0, got {workers}")
    groups = {k: g for k, g in views.groupby("identity_id", sort=False)}
    rows = [r._asdict() for r in identities.itertuples(index=False)]
    results: dict[str, IdentityRenderResult] = {}
    t0, done_images = time.perf_counter(), 0

    def note(res: IdentityRenderResult) -> None:
        nonlocal done_images
        results[res.identity_id] = res
        done_images += 0 if res.skipped else res.num_views
        if len(results) % max(1, n // 20) == 0 or len(results) == n:
            dt = time.perf_counter() - t0
            log(f"synthetic renders: {len(results)}/{n} identities, {done_images / max(dt, 1e-9):.1f} images/s")

    if workers == 0:
        _init_worker(head_kind, device, max(1, os.cpu_count() or 1))
        for row in rows:
            note(_render_one(str(root), row, groups[row["identity_id"]], texture_size, supersample, overwrite,
                             max_batch))
    else:
        with worker_pool(workers, device, head_kind) as pool:
            futures = [pool.submit(_render_one, str(root), row, groups[row["identity_id"]], texture_size,
                                   supersample, overwrite, max_batch) for row in rows]
            for fut in as_completed(futures):
                note(fut.result())
                if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                    cancelled = sum(f.cancel() for f in futures)
                    log(f"synthetic renders: time budget reached, {cancelled} identities left for a later call")
                    for rest in futures:
                        if not rest.cancelled():
                            note(rest.result())
                    break
    return [results[r["identity_id"]] for r in rows if r["identity_id"] in results]
