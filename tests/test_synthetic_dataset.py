"""Synthetic dataset tables, files, determinism, annotation exactness, resume, importer and bad inputs."""

import hashlib
import shutil

import numpy as np
import pytest
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.io.tables import write_parquet
from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views, view_inputs
from gasp_ops.synthetic.dataset_reader import SyntheticDataset, import_dataset
from gasp_ops.synthetic.dataset_render import identity_complete, render_identity

SIZE = 64


@pytest.fixture(scope="module")
def head():
    return ProceduralHead()


def _write_dataset(root, head, n_ids=2, n_views=3, seed=7):
    ids = identity_table(plan_identities(n_ids, seed, head), head)
    views = plan_views(ids, n_views, seed, head, SIZE)
    write_parquet(root / "identities.parquet", ids)
    write_parquet(root / "views.parquet", views)
    results = [render_identity(root, row, views[views.identity_id == row.identity_id], head, 128, 3)
               for row in ids.itertuples(index=False)]
    return ids, views, results


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, head):
    root = tmp_path_factory.mktemp("synthetic")
    _write_dataset(root, head)
    return root


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))}


def test_tables_follow_the_schema_and_planning_is_deterministic(head):
    a = identity_table(plan_identities(3, 1, head), head)
    b = identity_table(plan_identities(3, 1, head), head)
    assert a.drop(columns=["identity_coeffs"]).equals(b.drop(columns=["identity_coeffs"]))
    assert all(np.array_equal(x, y) for x, y in zip(a.identity_coeffs, b.identity_coeffs))
    for col in ("age_group", "facial_hair", "long_hair", "hair_colour", "eye_colour", "skin_tone"):
        assert col in a.columns
    v = plan_views(a, 4, 1, head, SIZE)
    assert len(v) == 12 and set(v.identity_id) == set(a.identity_id)
    # Views of an identity do not depend on which other identities exist.
    v_one = plan_views(a.iloc[[1]], 4, 1, head, SIZE)
    assert np.array_equal(np.stack(v_one.world_to_cam), np.stack(v[v.identity_id == a.identity_id[1]].world_to_cam))
    c = identity_table(plan_identities(3, 2, head), head)
    assert not np.array_equal(np.stack(a.identity_coeffs), np.stack(c.identity_coeffs))


def test_dataset_opens_and_views_load(dataset):
    ds = SyntheticDataset.open(dataset)
    assert len(ds) == 6 and ds.identity_ids(first=1) == ["syn_00000"]
    view = ds.load_view(0)
    assert view.rgb.shape == (SIZE, SIZE, 3) and view.alpha.shape == (SIZE, SIZE)
    assert float(view.alpha.mean()) > 0.05
    assert int(view.face_id.max()) >= 0 and int(view.face_id.min()) == -1
    assert bool(((view.face_id >= 0) == (view.alpha > 0)).float().mean() > 0.97)


def test_same_seed_gives_byte_identical_files(tmp_path, head, dataset):
    _write_dataset(tmp_path, head)
    assert _digest(tmp_path) == _digest(dataset)


def test_stored_cameras_and_pose_reproduce_the_face_id_maps(dataset, head):
    """For every pixel showing a head face f, the pixel-centre ray of the *stored* camera hits triangle f of the
    head re-posed from the *stored* coefficients, and the hit point projects back into that pixel."""
    ds = SyntheticDataset.open(dataset)
    faces = head.topology.faces
    checked = hit = 0
    for i in range(len(ds)):
        view = ds.load_view(i)
        ident = ds.identities.set_index("identity_id").loc[ds.views.identity_id[i]]
        coeffs = torch.tensor(np.asarray(ident.identity_coeffs, np.float32))[None]
        verts = head(coeffs, view.expression[None], view.pose)[0].double()
        w2c, K = view.camera.world_to_cam[0].double(), view.camera.K[0].double()
        rows, cols = torch.nonzero((view.face_id >= 0) & (view.face_id < faces.shape[0]), as_tuple=True)
        f = view.face_id[rows, cols]
        pix = torch.stack([cols + 0.5, rows + 0.5, torch.ones_like(rows, dtype=torch.float64)], -1).double()
        R, t = w2c[:3, :3], w2c[:3, 3]
        origin = -(R.T @ t)
        direction = (pix @ torch.linalg.inv(K).T) @ R  # world-space ray directions (R^T d)
        a, b, c = verts[faces[f]].unbind(1)
        e1, e2 = b - a, c - a
        p = torch.linalg.cross(direction, e2, dim=-1)
        det = (e1 * p).sum(-1)
        s = origin - a
        u = (s * p).sum(-1) / det
        q = torch.linalg.cross(s, e1, dim=-1)
        v = (direction * q).sum(-1) / det
        dist = (e2 * q).sum(-1) / det
        inside = (u >= -1e-3) & (v >= -1e-3) & (u + v <= 1 + 1e-3) & (dist > 0)
        point = origin + dist[:, None] * direction
        cam = point @ R.T + t
        proj = cam @ K.T
        back = proj[:, :2] / proj[:, 2:]
        lands = (back - pix[:, :2]).abs().max(-1).values < 1e-3
        checked += int(f.numel())
        hit += int((inside & lands).sum())
    assert checked > 1000
    assert hit >= 0.995 * checked, (hit, checked)


def test_resume_rerenders_only_incomplete_identities(tmp_path, head):
    ids, views, first = _write_dataset(tmp_path, head)
    assert not any(r.skipped for r in first)
    victim = views[views.identity_id == ids.identity_id[1]].image_path.iloc[0]
    (tmp_path / victim).unlink()
    assert identity_complete(tmp_path, ids.identity_id[0], 3) and not identity_complete(tmp_path, ids.identity_id[1], 3)
    again = [render_identity(tmp_path, row, views[views.identity_id == row.identity_id], head, 128, 3)
             for row in ids.itertuples(index=False)]
    assert [r.skipped for r in again] == [True, False]
    assert (tmp_path / victim).is_file()


def test_importer_validates_and_copies(tmp_path, dataset):
    ds = import_dataset(dataset, tmp_path / "imported")
    assert len(ds) == 6 and _digest(tmp_path / "imported") == _digest(dataset)


def test_bad_inputs_name_the_field_or_file(tmp_path, head, dataset):
    with pytest.raises(GaspInputError, match="synthetic_identities"):
        plan_identities(0, 0, head)
    ids = identity_table(plan_identities(1, 0, head), head)
    with pytest.raises(GaspInputError, match="synthetic_views"):
        plan_views(ids, 0, 0, head, SIZE)
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    missing = SyntheticDataset.open(broken).views.mask_path.iloc[2]
    (broken / missing).unlink()
    with pytest.raises(GaspInputError, match=missing.replace(".", r"\.")):
        SyntheticDataset.open(broken)
    views = SyntheticDataset.open(dataset).views.drop(columns=["K"])
    write_parquet(broken / "views.parquet", views)
    with pytest.raises(GaspInputError, match="missing column"):
        SyntheticDataset.open(broken)
    with pytest.raises(GaspInputError, match="views"):
        view_inputs(views.iloc[0:0])
