"""Planning of bounded-memory work chunks for a bounding-box rasteriser.

Each item (a triangle's screen bounding box, in samples) is tested against every sample in its box. Items are
grouped by box size so that a chunk can be evaluated as one padded [n, max_h, max_w] block with little padding,
and each block holds at most ``max_candidates`` candidate samples. Boxes larger than the budget are split into
row/column tiles first. Planning runs on the host (numpy) once per call; the evaluation loop then needs no
device-to-host synchronisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChunkPlan:
    """Tiles sorted by size class, and the chunks that cover them.

    parent: [M] int64 index of the item each tile belongs to.
    row0, col0: [M] int64 first sample row / column of each tile.
    height, width: [M] int64 tile size in samples (>= 1).
    chunks: (start, stop, pad_h, pad_w) per chunk: tiles ``start:stop`` padded to pad_h x pad_w samples, with
        (stop - start) * pad_h * pad_w <= max_candidates.
    """

    parent: np.ndarray
    row0: np.ndarray
    col0: np.ndarray
    height: np.ndarray
    width: np.ndarray
    chunks: list[tuple[int, int, int, int]]


def _size_class(x: np.ndarray) -> np.ndarray:
    """Exact sizes up to 8, then powers of two: padding wastes at most half of a block along each axis."""
    p2 = np.left_shift(1, np.ceil(np.log2(np.maximum(x, 1))).astype(np.int64))
    return np.where(x <= 8, x, p2)


def plan_chunks(row0: np.ndarray, col0: np.ndarray, height: np.ndarray, width: np.ndarray,
                max_candidates: int) -> ChunkPlan:
    """Tile oversized boxes and group all tiles into chunks of at most ``max_candidates`` padded samples.

    row0, col0, height, width: [N] int64 boxes (height, width >= 1), one per item. The plan is a pure function of
    its inputs (stable sorts), so equal inputs give equal plans.
    """
    budget = max(1, int(max_candidates))
    n = row0.shape[0]
    parent = np.arange(n, dtype=np.int64)
    big = height * width > budget
    if big.any():
        tile_w = np.minimum(width, budget)
        tile_h = np.maximum(1, budget // tile_w)
        ny = np.where(big, -(-height // tile_h), 1)
        nx = np.where(big, -(-width // tile_w), 1)
        tile_h = np.where(big, tile_h, height)
        tile_w = np.where(big, tile_w, width)
        reps = ny * nx
        parent = np.repeat(parent, reps)
        first = np.repeat(np.cumsum(reps) - reps, reps)
        k = np.arange(parent.shape[0], dtype=np.int64) - first
        nxp = nx[parent]
        ty, tx = k // nxp, k % nxp
        r0 = row0[parent] + ty * tile_h[parent]
        c0 = col0[parent] + tx * tile_w[parent]
        h = np.minimum(tile_h[parent], row0[parent] + height[parent] - r0)
        w = np.minimum(tile_w[parent], col0[parent] + width[parent] - c0)
        row0, col0, height, width = r0, c0, h, w
    key = _size_class(height) * (1 << 32) + _size_class(width)
    order = np.argsort(key, kind="stable")
    parent, row0, col0, height, width, key = (a[order] for a in (parent, row0, col0, height, width, key))
    chunks: list[tuple[int, int, int, int]] = []
    if key.shape[0]:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        stops = np.r_[starts[1:], key.shape[0]]
        for a, b in zip(starts.tolist(), stops.tolist()):
            ph, pw = int(height[a:b].max()), int(width[a:b].max())
            per = max(1, budget // (ph * pw))
            for s in range(a, b, per):
                chunks.append((s, min(b, s + per), ph, pw))
    return ChunkPlan(parent, row0, col0, height, width, chunks)
