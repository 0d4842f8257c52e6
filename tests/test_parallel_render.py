"""The process-pool renderer writes exactly what the serial writer writes (files, manifests), and resumes."""

import json

from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views
from gasp_ops.synthetic.dataset_render import manifest_path
from gasp_ops.synthetic.parallel_render import render_dataset


def test_pool_matches_serial_and_skips_complete_identities(tmp_path):
    head = ProceduralHead()
    ids = identity_table(plan_identities(3, 7, head), head)
    views = plan_views(ids, 2, 7, head, 32)
    kw = dict(texture_size=32, supersample=1, device="cpu")
    serial = render_dataset(tmp_path / "serial", ids, views, workers=0, **kw)
    pooled = render_dataset(tmp_path / "pool", ids, views, workers=2, **kw)
    assert [r.identity_id for r in pooled] == list(ids.identity_id) and not any(r.skipped for r in pooled)
    for iid in ids.identity_id:
        a = json.loads(manifest_path(tmp_path / "serial", iid).read_text())
        b = json.loads(manifest_path(tmp_path / "pool", iid).read_text())
        assert a["files"] == b["files"]  # SHA-256 of every PNG: byte-identical renders
    again = render_dataset(tmp_path / "pool", ids, views, workers=0, **kw)
    assert all(r.skipped for r in again)
    assert serial[0].mask_coverage == pooled[0].mask_coverage
