"""The face network's training pool is the same whether rendered in this process or by worker processes, and the
same as rendering each background's identities in one ``render_face_photos`` call (the script's former path)."""

import numpy as np
import pytest
import torch

from gasp_ops.capture.face_pool import GREY_OFFSET, pool_tasks, render_pool
from gasp_ops.capture.synthetic_faces import render_face_photos
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead


def test_pool_tasks_split_clutter_then_grey():
    assert pool_tasks(3, 100) == [("clutter", 100), ("clutter", 101), ("grey", 100 + GREY_OFFSET)]


def test_workers_give_byte_identical_pool():
    head = ProceduralHead()
    kw = {"identities": 3, "views": 2, "size": 32, "seed": 2, "first": 20000, "device": "cpu"}
    serial = render_pool(head, workers=1, **kw)
    pooled = render_pool(head, workers=2, log=None, **kw)
    assert serial["rgb"].shape == (6, 32, 32, 3) and serial["lm"].shape == (6, 68, 2)
    for k in ("rgb", "alpha", "lm"):
        assert serial[k].dtype == pooled[k].dtype and np.array_equal(serial[k], pooled[k]), k
    # identities differ (a pool of copies would also be "equal")
    assert not np.array_equal(serial["rgb"][0], serial["rgb"][2])
    # the former one-call-per-background path: two cluttered identities in one call, then the grey one (with one
    # torch thread, as render_pool renders: CPU reductions depend on the thread count)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        kw1 = {"seed": 2, "azimuth_deg": 35.0, "views": 2}
        whole = [render_face_photos(head, 2, 32, first_index=20000, background="clutter", **kw1),
                 render_face_photos(head, 1, 32, first_index=20000 + GREY_OFFSET, background="grey", **kw1)]
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(serial["rgb"], np.concatenate([p.rgb for p in whole]))
    assert np.array_equal(serial["lm"], np.concatenate([p.landmarks for p in whole]))


def test_bad_workers_named():
    with pytest.raises(GaspInputError, match="workers"):
        render_pool(None, 2, 1, 32, 0, 0, "cpu", workers=0)
