"""Capture readers and small pieces: video I/O, calibration, protocol, benchmark npz, RVM loading, landmarks."""

import json
from typing import List, Optional

import numpy as np
import pytest
import torch

from gasp_ops.capture.benchmark import load_tracking_npz, save_tracking_npz
from gasp_ops.capture.calibration import load_calibration, scale_intrinsics
from gasp_ops.capture.landmarks import model_dir
from gasp_ops.capture.matting_rvm import load_rvm, rvm_mattes
from gasp_ops.capture.protocol import evaluation_cameras, frontal_camera, paper_subjects, selection
from gasp_ops.capture.video import read_video, write_video
from gasp_ops.errors import GaspInputError


def test_video_round_trip_and_truncation(tmp_path):
    x = (np.random.default_rng(0).random((4, 33, 41, 3)) * 255).astype(np.uint8)
    p = write_video(tmp_path / "a.mp4", x)
    assert np.array_equal(read_video(p), x)  # lossless RGB
    assert np.array_equal(read_video(p, [2, 0]), x[[2, 0]])
    data = p.read_bytes()
    (tmp_path / "t.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(GaspInputError, match="t.mp4"):
        read_video(tmp_path / "t.mp4")
    with pytest.raises(GaspInputError, match="frame 9"):
        read_video(p, [9])


def _calib(tmp_path, **extra):
    w2c = np.eye(4)
    w2c[2, 3] = 1.0
    data = {"world_2_cam": {"1": w2c.tolist(), "2": w2c.tolist()},
            "intrinsics": [[3000.0, 0, 1100], [0, 3000.0, 1604], [0, 0, 1]], **extra}
    p = tmp_path / "camera_params.json"
    p.write_text(json.dumps(data))
    return p


def test_calibration_scaling_and_errors(tmp_path):
    cal = load_calibration(_calib(tmp_path))
    K = cal.intrinsics("1", 550, 802)  # a 4x downscaled portrait 2200 x 3208 frame
    assert np.allclose(K, scale_intrinsics(cal.K["1"], 0.25, 0.25))
    with pytest.raises(GaspInputError, match="resolution"):
        cal.intrinsics("1", 300, 300)
    with pytest.raises(GaspInputError, match="camera 9"):
        cal.extrinsics("9")
    bad = _calib(tmp_path)
    bad.write_text(bad.read_text().replace("3000.0", "-1.0"))
    with pytest.raises(GaspInputError, match="camera_params.json"):
        load_calibration(bad)


def test_protocol_is_data():
    assert paper_subjects() == [36, 37, 57, 74, 100, 145, 165, 251]
    assert frontal_camera(57) == "222200038" and frontal_camera(36) == "222200037"
    mono = selection("monocular", 36)
    assert mono.cameras == ("222200037",) and mono.frame_step == 2 and len(mono.sequences) == 12
    assert mono.frame_indices(7) == [0, 2, 4, 6]
    single = selection("single_image", 57)
    assert single.sequences == ("EMO-1-shout+laugh",) and single.cameras == ("222200038",)
    assert single.frame_indices(100) == [0]
    with pytest.raises(GaspInputError, match="setting"):
        selection("stereo", 36)


def test_protocol_cameras_from_calibration(tmp_path):
    from gasp_ops.capture.calibration import Calibration
    from gasp_ops.cameras import orbit_cameras

    az = [0, -60, -30, 30, 60, 10]
    cams = orbit_cameras(torch.tensor(az, dtype=torch.float32), torch.zeros(6), 1.0, 20, 100, 100)
    serials = ["222200037", "a", "b", "c", "d", "e"]
    cal = Calibration(path=tmp_path, world_to_cam={s: cams.world_to_cam[i].double().numpy() for i, s in enumerate(serials)},
                      K={s: cams.K[i].double().numpy() for i, s in enumerate(serials)}, size=(100, 100))
    assert set(evaluation_cameras(36, cal)) == {"a", "b", "c", "d"}
    three = selection("three_frame", 36, cal)
    assert three.cameras[0] == "222200037" and set(three.cameras[1:]) == {"a", "d"}
    assert len(selection("multi_camera", 36, cal).cameras) == 6


def test_benchmark_npz_round_trip(tmp_path):
    T = 3
    tr = {"shape": np.zeros((1, 300)), "expression": np.zeros((T, 100)), "rotation": np.zeros((T, 3)),
          "rotation_matrices": np.tile(np.eye(3), (T, 1, 1)), "translation": np.zeros((T, 3)),
          "jaw": np.zeros((T, 3)), "neck": np.zeros((T, 3)), "eyes": np.zeros((T, 6)), "scale": np.ones((1, 1)),
          "frames": np.arange(T)}
    p = save_tracking_npz(tmp_path / "flame2023_tracking.npz", tr)
    back = load_tracking_npz(p)
    assert back["expression"].shape == (T, 100) and back["frames"].dtype == np.int64
    tr["jaw"] = np.zeros((T, 2))
    with pytest.raises(GaspInputError, match="jaw"):
        save_tracking_npz(tmp_path / "bad.npz", tr)


class _TinyRVM(torch.nn.Module):
    """RVM's call signature: (src, r1, r2, r3, r4, downsample_ratio) -> [fgr, pha, r1, r2, r3, r4]."""

    def forward(self, src: torch.Tensor, r1: Optional[torch.Tensor] = None, r2: Optional[torch.Tensor] = None,
                r3: Optional[torch.Tensor] = None, r4: Optional[torch.Tensor] = None,
                downsample_ratio: float = 1.0) -> List[torch.Tensor]:
        state = src.mean(1, keepdim=True) if r1 is None else 0.5 * r1 + 0.5 * src.mean(1, keepdim=True)
        pha = (src[:, 0:1] > 0.5).float()
        return [src, pha, state, state, state, state]


def test_rvm_loads_scripted_model(tmp_path):
    path = tmp_path / "rvm.torchscript"
    torch.jit.script(_TinyRVM()).save(str(path))
    model = load_rvm(path)
    frames = np.zeros((3, 20, 24, 3), np.uint8)
    frames[:, 5:15, 6:18, 0] = 255
    alpha = rvm_mattes(model, frames)
    assert alpha.shape == (3, 20, 24) and alpha[:, 5:15, 6:18].min() == 1.0 and alpha.sum() == 3 * 10 * 12
    with pytest.raises(GaspInputError, match="nothere"):
        load_rvm(tmp_path / "nothere.pt")


def test_dlib_models_found_by_path():
    assert (model_dir() / "shape_predictor_68_face_landmarks.dat").is_file()
