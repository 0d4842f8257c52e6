"""The face network's synthetic training pool (``benchmarks/gpu_train_face_models.py``), optionally rendered by a
pool of worker processes.

Every random draw of ``synthetic_faces.render_face_photos`` (identity, cameras, expressions, background crop, look)
is keyed by ``(seed, identity index)``, so an identity's images do not depend on which process renders it or on
what it rendered before. ``render_pool`` therefore renders one task per identity and concatenates the results in
identity order: ``workers=2`` or ``14`` gives arrays byte-identical to ``workers=1`` (the serial path, in this
process with the caller's head model). Workers come from ``parallel_render.worker_pool`` (``spawn``, one thread
each, their own head model on ``device``). Torch's CPU reductions depend on the thread count (measured: one pixel
off by 1/255 and landmarks by 2e-6 px between 1 and 2 threads at 32 px), so the serial path also renders with one
torch thread; that makes the pool independent of the host's core count.
"""

from __future__ import annotations

import os

import numpy as np

from gasp_ops.errors import GaspInputError

#: Identity-index offset of the flat-grey half of the pool (the cluttered half starts at ``first``).
GREY_OFFSET = 10**5


def default_workers() -> int:
    """All host cores but one (the parent), at least 1, at most 16."""
    return max(1, min((os.cpu_count() or 2) - 1, 16))


def pool_tasks(identities: int, first: int) -> list[tuple[str, int]]:
    """(background, identity index) per identity, in pool order: ``ceil(n/2)`` cluttered identities ``first..``,
    then ``floor(n/2)`` grey ones ``first + GREY_OFFSET..``."""
    n_clutter = (identities + 1) // 2
    return ([("clutter", first + i) for i in range(n_clutter)]
            + [("grey", first + GREY_OFFSET + i) for i in range(identities // 2)])


def _render_identity(head, bg: str, index: int, views: int, size: int, seed: int, device) -> tuple:
    """rgb [V, S, S, 3] uint8, alpha [V, S, S] float32, landmarks [V, 68, 2] of one identity's ``views`` images."""
    from gasp_ops.capture.synthetic_faces import render_face_photos

    p = render_face_photos(head, 1, size, seed=seed, first_index=index, background=bg, azimuth_deg=35.0,
                           views=views, device=device)
    return p.rgb, p.alpha, p.landmarks


def _worker_task(bg: str, index: int, views: int, size: int, seed: int) -> tuple:
    from gasp_ops.synthetic.parallel_render import worker_head

    head, device = worker_head()
    return _render_identity(head, bg, index, views, size, seed, device)


def render_pool(head, identities: int, views: int, size: int, seed: int, first: int, device,
                workers: int = 1, log=print) -> dict:
    """``identities`` x ``views`` near-frontal photos (azimuth +-35 deg) of ``real_proxy`` people with exact alpha
    and landmarks: half over busy crops (identities ``first..``), half over flat grey (``first + GREY_OFFSET..``).

    Returns {"rgb": [N, S, S, 3] uint8, "alpha": [N, S, S] float32, "lm": [N, 68, 2] float64 pixels}, N =
    identities x views, identity-major. workers: 1 renders here with ``head``; more renders in that many spawned
    processes (each builds its own procedural head on ``device``); the arrays are identical either way.
    """
    if identities < 1 or views < 1:
        raise GaspInputError("identities", f"need at least one identity and view, got {identities} x {views}")
    if workers < 1:
        raise GaspInputError("workers", f"must be >= 1, got {workers}")
    tasks = pool_tasks(int(identities), int(first))
    workers = min(int(workers), len(tasks))
    if workers == 1:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as in a worker: CPU reductions depend on the thread count
        try:
            parts = [_render_identity(head, bg, i, views, size, seed, device) for bg, i in tasks]
        finally:
            torch.set_num_threads(threads)
    else:
        from gasp_ops.synthetic.parallel_render import worker_pool

        with worker_pool(workers, str(device)) as ex:
            futures = [ex.submit(_worker_task, bg, i, views, size, seed) for bg, i in tasks]
            parts = []
            for k, fut in enumerate(futures):  # identity order, whatever order they finish in
                parts.append(fut.result())
                if log and (k + 1) % max(1, len(tasks) // 10) == 0:
                    log(f"face pool: {k + 1}/{len(tasks)} identities ({workers} workers)")
    return {"rgb": np.concatenate([p[0] for p in parts]), "alpha": np.concatenate([p[1] for p in parts]),
            "lm": np.concatenate([p[2] for p in parts])}
