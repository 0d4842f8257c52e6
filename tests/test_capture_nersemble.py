"""End to end on a tiny synthetic subject written in the NeRSemble v2 layout: matte, tracking, bad input.

The tracking path used on the fixture is recorded in the table (``tracking_seed``): dlib finds the face only in the
frontal camera's renders, so the seed is ``landmarks`` (frontal view) and the multi-view photometric and silhouette
refinement does the rest.
"""

import json
import shutil

import numpy as np
import pytest
import torch

from gasp_ops.capture.benchmark import alpha_map_path, load_alpha_maps, load_tracking_npz, tracking_path
from gasp_ops.capture.matting_plate import plate_matte
from gasp_ops.capture.nersemble import NersembleSubject
from gasp_ops.capture.preprocess import load_sequence, preprocess_nersemble
from gasp_ops.capture.projection import project
from gasp_ops.capture.writer import write_nersemble_v2_subject
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.io.tables import read_parquet
from gasp_ops.rotations import axis_angle_to_matrix

SEQ = "EMO-1-shout+laugh"


@pytest.fixture(scope="module")
def head():
    from gasp_ops.headmodel.procedural import ProceduralHead

    torch.set_num_threads(1)
    return ProceduralHead()


@pytest.fixture(scope="module")
def subject(tmp_path_factory, head):
    root = tmp_path_factory.mktemp("nersemble")
    written = write_nersemble_v2_subject(root, 900, head=head, image_size=224, num_frames=6, supersample=1)
    return root, written


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / (a | b).sum()


def test_layout_and_plate_matte(subject):
    root, w = subject
    s = NersembleSubject.open(root, 900)
    assert s.sequences() == [SEQ] and s.calibration.serials == sorted(w.serials)
    for serial in w.serials:
        frames, K = s.load_frames(SEQ, serial, colour_correct=True)
        assert frames.shape == (6, 224, 224, 3)
        half, K2 = s.load_frames(SEQ, serial, frames=[0], scale=0.5)
        assert half.shape == (1, 112, 112, 3) and np.allclose(K2[:2], K[:2] * 0.5)
        plate = s.load_background(serial, 224, 224, colour_correct=True)
        truth = load_alpha_maps(alpha_map_path(s.root, SEQ, serial))
        ious = [_iou(plate_matte(f, plate), a) for f, a in zip(frames, truth)]
        assert min(ious) >= 0.95, (serial, ious)


def test_preprocess_recovers_tracking(subject, head, tmp_path):
    root, w = subject
    rep = preprocess_nersemble(root, 900, tmp_path / "out", head, matting="plate")
    assert not rep.errors, rep.errors
    table = read_parquet(rep.table_path)
    assert len(table) == 4 * 6 and set(table.camera) == set(w.serials)
    assert (table.tracking_seed == "landmarks").all()  # dlib found the face in the frontal camera
    for p in table.mask_path[:3]:
        assert (rep.table_path.parent / p).is_file()
    truth = load_tracking_npz(tracking_path(root / "900", SEQ))
    res = rep.tracking[SEQ]
    names = rep.cameras[SEQ]
    cams = NersembleSubject.open(root, 900).cameras(names, 224, 224)
    T = truth["expression"].shape[0]
    pose = HeadPose(**{k: torch.tensor(truth[k]) for k in ("rotation", "translation", "neck", "jaw", "eyes")})
    with torch.no_grad():
        v_true = head(torch.tensor(truth["shape"]).expand(T, -1), torch.tensor(truth["expression"]), pose)
        lm_true, _ = project(head.landmarks(v_true), cams)
    err = (res.landmarks_2d - lm_true).norm(dim=-1)
    per_cam = err.mean((0, 2))
    print(f"landmark reprojection vs truth: mean {err.mean():.2f} px, per camera {per_cam.tolist()}")
    assert float(err.mean()) <= 2.0 and float(per_cam.max()) <= 2.5
    # head orientation (root then neck) and expression against the truth
    R_fit = axis_angle_to_matrix(res.pose.rotation) @ axis_angle_to_matrix(res.pose.neck)
    R_true = axis_angle_to_matrix(pose.rotation) @ axis_angle_to_matrix(pose.neck)
    cos = ((R_fit.transpose(1, 2) @ R_true).diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2
    angle = torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))
    print(f"head orientation error {angle.tolist()} deg")
    # Spread of this fixture (subject seed 0) across machines and versions: mean 1.73 deg, per frame 1.65-1.93
    # (torch 2.14.1, numpy 2.4.6, opencv 5.0, 2-core dev machine); mean 2.54, per frame 2.50-2.63 on a fresh machine
    # with the same versions (the former bound 2.3 / 2.6 failed there); mean 0.94, per frame 0.84-1.11 with torch
    # 2.13.0 CPU, numpy 1.26.4, opencv 4.11. Other subject seeds 1-3: means 1.25-2.16, frames up to 2.25. The
    # head turns 9-17 deg here; earlier tracker variants measured 1.9-2.4 (before the shading term) and 4.4-4.9
    # (identity seeded from dlib landmarks, which this bound rejects). Bound: mean <= 3.5, every frame <= 4.0,
    # about 1 deg above the worst measured. (The fixture's mp4s now use a fixed x264 thread count,
    # gasp_ops/io/video.py: x264 output used to depend on the machine's cores.)
    assert float(angle.mean()) <= 3.5 and float(angle.max()) <= 4.0
    jaw_deg = torch.rad2deg(res.pose.jaw[:, 0] - pose.jaw[:, 0]).abs()
    print(f"jaw opening error {jaw_deg.tolist()} deg (truth up to {np.degrees(truth['jaw'][:, 0]).max():.1f})")
    assert float(jaw_deg.max()) < 3.0
    # geometry (identity + expression + jaw): mean vertex error (measured 4.9 mm, was 5.1 without shading)
    vert_mm = float((res.vertices - v_true).norm(dim=-1).mean() * 1000)
    assert vert_mm < 6.5
    # expressions, all 25 components x 6 frames, against predicting zero (the honest baseline: the truth is sparse).
    # Measured with the shading-aware photometric term: mean abs error 0.044 vs predict-zero 0.064 (ratio 0.68),
    # correlation with the truth 0.83; with plain colour consistency it was 0.069 (ratio 1.08, corr 0.48). With
    # torch 2.13 CPU / numpy 1.26 / opencv 4.11: ratio 0.70, corr 0.81. Other subject seeds (1-3, other
    # expressions) give ratio 0.64-1.02 and correlation 0.25-0.85: how much of the expression is recoverable depends
    # on the subject, so the bounds hold this fixture only, with margin for rounding (ratio <= 0.85, corr >= 0.6;
    # both still fail predict-zero and the plain colour term).
    # Still missed: lip_press (<= 2 mm at full activation, ~0.6 px at 0.5 here) stays at 0, and the other
    # active shapes come out at roughly 0.4-1.0 of their true size. No subset is left out of the numbers below.
    expr_true = torch.tensor(truth["expression"])
    expr_err = float((res.expression - expr_true).abs().mean())
    zero_err = float(expr_true.abs().mean())
    corr = float(np.corrcoef(res.expression.flatten().numpy(), expr_true.flatten().numpy())[0, 1])
    expr_names = head.expression_names
    for j in np.nonzero((expr_true.abs().amax(0) > 0).numpy())[0]:
        print(f"  {expr_names[j]:18s} true {np.round(expr_true[:, j].numpy(), 2)} "
              f"fit {np.round(res.expression[:, j].numpy(), 2)}")
    print(f"vertex error {vert_mm:.1f} mm; expression mean abs error {expr_err:.3f} (predict-zero {zero_err:.3f}, "
          f"ratio {expr_err / zero_err:.2f}), correlation {corr:.2f}")
    assert expr_err <= 0.85 * zero_err and corr >= 0.6
    # matte of the pipeline vs the true alpha
    for c, serial in enumerate(names):
        truth_alpha = load_alpha_maps(alpha_map_path(root / "900", SEQ, serial))
        assert min(_iou(m, a) for m, a in zip(rep.mattes[SEQ][:, c], truth_alpha)) >= 0.95
    # head masks drop the torso: smaller than the matte, still most of it
    assert (table.mask_coverage < table.matte_coverage).all() and (table.mask_coverage > 0.3 * table.matte_coverage).all()


def test_bad_input_is_one_line_and_others_carry_on(subject, tmp_path):
    root, w = subject
    bad = tmp_path / "bad"
    shutil.copytree(root / "900", bad / "900")
    seq_dir = bad / "900" / "sequences" / SEQ / "images"
    a, b, c, d = sorted(w.serials)
    calib = bad / "900" / "calibration" / "camera_params.json"
    data = json.loads(calib.read_text())
    del data["world_2_cam"][a]  # a camera missing from the json
    calib.write_text(json.dumps(data))
    (seq_dir / f"cam_{b}.mp4").unlink()  # a calibrated camera with no video
    raw = (seq_dir / f"cam_{c}.mp4").read_bytes()
    (seq_dir / f"cam_{c}.mp4").write_bytes(raw[: len(raw) // 3])  # truncated
    s = NersembleSubject.open(bad, 900)
    errors = []
    images, names, idx, K = load_sequence(s, SEQ, None, 1, 1.0, True, errors)
    assert names == [d] and images.shape[:2] == (6, 1)
    joined = "\n".join(errors)
    assert len(errors) == 3 and all("\n" not in e for e in errors)
    assert "camera_params.json" in joined and f"cam_{b}.mp4" in joined and f"cam_{c}.mp4" in joined


def test_mismatched_frame_count_names_the_file(subject, tmp_path):
    from gasp_ops.capture.video import read_video, write_video

    root, w = subject
    bad = tmp_path / "bad2"
    shutil.copytree(root / "900", bad / "900")
    serial = sorted(w.serials)[0]
    p = bad / "900" / "sequences" / SEQ / "images" / f"cam_{serial}.mp4"
    write_video(p, read_video(p)[:4])
    errors = []
    _, names, _, _ = load_sequence(NersembleSubject.open(bad, 900), SEQ, None, 1, 1.0, False, errors)
    assert serial not in names and len(names) == 3
    assert len(errors) == 1 and f"cam_{serial}.mp4" in errors[0] and "4 frames" in errors[0]
