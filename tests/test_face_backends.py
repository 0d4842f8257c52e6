"""Backend selection for landmarks / matting, the MediaPipe side environment's failure message, the 478 -> 68 map,
and an RGBA photo's alpha carried through the crop as the matte."""

import sys

import numpy as np
import pytest

from gasp_ops.capture.face_backends import mattes_before_tracking, resolve_backends
from gasp_ops.capture.mediapipe_backend import ENV_PYTHON, mesh_landmarks_68, mesh_to_68, run_mediapipe
from gasp_ops.errors import GaspInputError, GaspUnavailableError


@pytest.fixture
def no_mediapipe(monkeypatch):
    import gasp_ops.capture.mediapipe_backend as mb

    monkeypatch.delenv(ENV_PYTHON, raising=False)
    monkeypatch.setattr(mb, "mediapipe_mode", lambda: None)


@pytest.fixture
def no_face_net(monkeypatch):
    import gasp_models

    monkeypatch.setattr(gasp_models, "SHA256", {k: v for k, v in gasp_models.SHA256.items()
                                                if k != "face_net.safetensors"})


def test_auto_is_face_net_landmarks_and_face_net_grabcut_without_mediapipe(no_mediapipe):
    b = resolve_backends()
    assert (b.landmarks, b.matting) == ("face_net", "face_net_grabcut")  # no non-commercial weights by default
    assert resolve_backends(has_alpha=True).matting == "alpha"


def test_auto_falls_back_to_dlib_and_grabcut_without_face_net_or_mediapipe(no_mediapipe, no_face_net):
    b = resolve_backends()
    assert (b.landmarks, b.matting) == ("dlib", "grabcut")
    assert resolve_backends(has_alpha=True).matting == "alpha"
    assert resolve_backends("grabcut", "dlib", has_alpha=True).matting == "grabcut"  # explicit wins
    with pytest.raises(GaspInputError, match="matting: 'alpha' needs a photo with a non-trivial alpha"):
        resolve_backends("alpha")
    with pytest.raises(GaspInputError, match="landmarks: unknown backend 'hrnet'"):
        resolve_backends(landmarks="hrnet")
    with pytest.raises(GaspInputError, match="matting: phone/webcam captures: one of"):
        resolve_backends("plate")


def test_auto_prefers_mediapipe_matte_when_it_can_run(monkeypatch):
    import gasp_ops.capture.mediapipe_backend as mb

    monkeypatch.setattr(mb, "mediapipe_mode", lambda: "side-env")
    b = resolve_backends()
    assert (b.landmarks, b.matting) == ("face_net", "mediapipe")
    import gasp_models

    monkeypatch.setattr(gasp_models, "SHA256", {})
    b = resolve_backends()
    assert (b.landmarks, b.matting) == ("mediapipe", "mediapipe")


def test_side_environment_without_mediapipe_says_why(monkeypatch, tmp_path):
    import importlib.util

    if importlib.util.find_spec("mediapipe") is not None:
        pytest.skip("mediapipe is importable here: the in-process path is used")
    monkeypatch.setenv(ENV_PYTHON, sys.executable)  # a Python without mediapipe
    with pytest.raises(GaspUnavailableError, match=r"side environment .* failed: .*No module named 'mediapipe'"):
        run_mediapipe(np.zeros((1, 8, 8, 3), np.uint8), ("segment",))
    monkeypatch.delenv(ENV_PYTHON)
    with pytest.raises(GaspUnavailableError, match="mediapipe is not installed here"):
        run_mediapipe(np.zeros((1, 8, 8, 3), np.uint8), ("segment",))


def test_mesh_to_68_map_is_an_affine_combination():
    idx, w = mesh_to_68()
    assert idx.shape == w.shape == (68, 4) and idx.min() >= 0 and idx.max() < 478
    assert np.allclose(w.sum(1), 1.0, atol=1e-3)
    mesh = np.random.default_rng(0).random((2, 478, 2)) * 100
    shifted = mesh_landmarks_68(mesh + [5.0, -3.0])
    assert shifted.shape == (2, 68, 2) and np.allclose(shifted, mesh_landmarks_68(mesh) + [5.0, -3.0], atol=1e-2)


def test_rgba_cutout_alpha_is_cropped_with_the_photo_and_used_as_the_matte(tmp_path, no_mediapipe):
    import cv2
    from PIL import Image
    from skimage.data import astronaut

    from gasp_ops.capture.head_framing import frame_capture

    img = astronaut()
    a = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(a, (220, 150), (95, 140), 0, 0, 360, 255, -1)  # a cut-out around her head
    Image.fromarray(np.dstack([img, a])).save(tmp_path / "cutout.png")
    framed = frame_capture(tmp_path / "cutout.png")
    assert framed.alpha is not None and framed.alpha.shape == framed.frames.shape[:3]
    x0, y0, x1, y1 = framed.record["crop_box"]
    assert np.array_equal(framed.alpha[0] > 0.5, a[y0:y1, x0:x1] > 127)
    assert framed.record["input"]["alpha"].startswith("used as the matte")
    backends = resolve_backends(has_alpha=True)
    m = mattes_before_tracking(framed.frames, backends.matting, alpha=framed.alpha)
    assert m is framed.alpha or np.array_equal(m, framed.alpha)


def test_grabcut_matte_does_not_depend_on_opencv_global_rng():
    import cv2
    from skimage.data import astronaut

    from gasp_ops.capture.matting_grabcut import grabcut_matte

    img = np.ascontiguousarray(astronaut()[:160, 100:260])  # a crop where the k-means start changes the result
    sure = np.zeros((160, 160), bool)
    sure[70:120, 50:110] = True
    prob = np.zeros((160, 160), bool)
    prob[20:, 20:140] = True
    cv2.setRNGSeed(1)  # other users of OpenCV's global RNG leave it in different states
    a = grabcut_matte(img, sure, prob)
    cv2.setRNGSeed(2)
    assert np.array_equal(a, grabcut_matte(img, sure, prob))
