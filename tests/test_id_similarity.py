"""ID-SIM discriminates identities (evaluation.identity, offline dlib backend) on synthetic people.

Measured on this machine (8 `real_proxy` identities, render = frontal view, ground truth = 25° view with another
expression, 256 px, supersample 1; via ``frame_metrics`` on the head-mask crop): dlib finds a face in 6 of 8
ground truths; same-identity 0.65-0.81 (mean ≈ 0.73), different-identity mean ≈ 0.51 (max ≈ 0.68); AUC 0.968
(0.984 at supersample 3). Grey and blank renders score 0 (no face in render). The raw cosine of the same
descriptors gave a grey blob ≈ 0.91, the level of a good fit (the reason for the mapping).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.identity import (DLIB_SAME_PERSON_DISTANCE, NO_FACE_IN_RENDER, dlib_similarity, face_embedder,
                                 id_similarity)
from evaluation.metrics import frame_metrics

SIZE = 256
N_IDENTITIES = 8
AZIMUTHS = (0.0, 25.0)  # render view, ground-truth view


@pytest.fixture(scope="module")
def embedder():
    emb, _, reason = face_embedder("dlib")
    assert emb is not None, reason
    return emb


@pytest.fixture(scope="module")
def people():
    """{identity: [(rgb [H, W, 3], alpha [H, W]) per view in AZIMUTHS]} of real_proxy synthetic people."""
    from gasp_ops.headmodel import ProceduralHead
    from gasp_ops.synthetic import build_assets, fixed_cameras, render_views, sample_expressions, sample_identity

    torch.set_num_threads(1)
    head = ProceduralHead()
    cams = fixed_cameras(list(AZIMUTHS), [8.0], SIZE, head=head)
    out = {}
    for i in range(N_IDENTITIES):
        ident = sample_identity(i, 0, head, "real_proxy")
        expr, poses = sample_expressions([100 + 2 * i + k for k in range(len(AZIMUTHS))], 0, head)
        v = render_views(head, ident, expr, poses, cams, "real_proxy", supersample=1,
                         assets=build_assets(head, ident, 128), seed=0)
        out[i] = [(v.rgb[k], v.alpha[k]) for k in range(len(AZIMUTHS))]
    return out


def _score(embedder, pred, gt):
    r = frame_metrics(pred, gt[0], gt[1], embedder=embedder, metrics=("id_sim",))["id_sim"]
    return r.value, r.backend


def test_dlib_distance_mapping():
    assert dlib_similarity(0.0) == 1.0
    assert dlib_similarity(DLIB_SAME_PERSON_DISTANCE) == pytest.approx(0.5)
    assert dlib_similarity(2 * DLIB_SAME_PERSON_DISTANCE) == 0.0 and dlib_similarity(5.0) == 0.0
    assert dlib_similarity(0.3) > dlib_similarity(0.4)


def test_same_identity_separates_from_different_identity(embedder, people):
    from sklearn.metrics import roc_auc_score

    same, diff = [], []
    for i in people:
        for j in people:
            value, backend = _score(embedder, people[i][0][0], people[j][1])
            if math.isnan(value):
                assert "no face detected in the ground truth" in backend
                continue
            assert 0.0 <= value <= 1.0 and "dlib" in backend
            (same if i == j else diff).append(value)
    assert len(same) >= 4, f"dlib found a face in only {len(same)} of {N_IDENTITIES} ground truths"
    auc = roc_auc_score([1] * len(same) + [0] * len(diff), same + diff)
    assert auc >= 0.9, (auc, same, diff)
    assert np.mean(same) > np.mean(diff) + 0.1


def test_grey_and_blank_renders_score_at_or_below_different_identities(embedder, people):
    diff = [v for i in people for j in people if i != j
            if not math.isnan(v := _score(embedder, people[i][0][0], people[j][1])[0])]
    scored = 0
    for j in people:
        for fill in (0.0, 0.5):
            value, backend = _score(embedder, torch.full((SIZE, SIZE, 3), fill), people[j][1])
            if math.isnan(value):  # the ground truth itself has no detectable face
                assert backend.startswith("unavailable: no face detected in the ground truth")
                continue
            scored += 1
            assert value == 0.0 and NO_FACE_IN_RENDER in backend
            assert value <= min(diff)
    assert scored >= 8


def test_arcface_is_optional(monkeypatch):
    import importlib.util

    from evaluation import identity, weights

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "insightface" else real(name, *a))
    pack = weights.insightface_pack()
    assert not pack.available and "insightface" in pack.reason
    emb, name, reason = identity.face_embedder.__wrapped__("arcface")
    assert emb is None and "insightface" in reason
    emb, name, _ = identity.face_embedder.__wrapped__("auto")
    assert name == identity.DlibEmbedder.name


def test_identical_images_score_one(embedder, people):
    rgb, alpha = people[0][1]
    value, backend = id_similarity(rgb * alpha[..., None], rgb * alpha[..., None], embedder=embedder)
    assert value == pytest.approx(1.0) and "euclidean" in backend


def test_tables_count_scored_and_faceless_frames():
    import pandas as pd

    from evaluation.tables import aggregate, to_markdown

    name = "dlib_face_recognition_resnet_model_v1"
    rows = pd.DataFrame([
        dict(subject="s", setting="monocular", method="m", camera="c", frame=0, metric="id_sim", value=0.7,
             backend=f"{name} (euclidean 0.6 map)"),
        dict(subject="s", setting="monocular", method="m", camera="c", frame=1, metric="id_sim", value=0.0,
             backend=f"{name} ({NO_FACE_IN_RENDER})"),
        dict(subject="s", setting="monocular", method="m", camera="c", frame=2, metric="id_sim", value=float("nan"),
             backend=f"unavailable: no face detected in the ground truth ({name})"),
    ])
    df = aggregate(rows)
    assert df.id_sim.iloc[0] == pytest.approx(0.35)
    assert df.id_sim_scored.iloc[0] == 2 and df.id_sim_no_face.iloc[0] == 1
    md = to_markdown(df, ["setting", "method"])
    assert "over 2 frames with a detectable ground-truth face; 1 renders without a detectable face scored 0" in md
