"""Phone/webcam path on a real face photo (skimage's astronaut) and a photo without a face."""

import numpy as np
import pytest
import torch

from gasp_ops.capture.landmarks import detect_landmarks
from gasp_ops.capture.phone import preprocess_capture
from gasp_ops.errors import GaspInputError
from gasp_ops.io.images import save_png
from gasp_ops.io.tables import read_parquet


@pytest.fixture(scope="module")
def head():
    from gasp_ops.headmodel.procedural import ProceduralHead

    torch.set_num_threads(1)
    return ProceduralHead()


def test_astronaut_through_phone_path(tmp_path, head, pictures_dir):
    from skimage.data import astronaut

    img = astronaut()
    photo = save_png(tmp_path / "astronaut.png", img)
    lm = detect_landmarks(img)
    assert lm is not None and 150 < lm.points[:, 0].mean() < 280 and 60 < lm.points[:, 1].mean() < 200
    rep = preprocess_capture(photo, tmp_path / "out", head)
    table = read_parquet(rep.table_path)
    row = table.iloc[0]
    assert len(table) == 1 and row.source == "capture" and len(row.landmarks_detected) == 136
    assert row.tracking_seed == "landmarks" and row.landmark_error_px < 5.0
    # the tracked mesh covers the face: landmark hull pixels are inside the matte and the head mask
    matte = rep.mattes["astronaut"][0, 0]
    crop = rep.capture["crop_box"]  # the photo is framed on the head first (hair and neck kept)
    assert rep.capture["faces_found"] == 1 and crop[2] - crop[0] == rep.capture["crop_size"][0]
    assert rep.capture["landmarks"] == "face_net"  # the defaults: face_net landmarks, face_net-cued GrabCut matte
    assert rep.capture["matting"] in ("face_net_grabcut", "mediapipe")
    pts = (lm.points - np.array(crop[:2])).astype(int)
    assert matte[pts[:, 1], pts[:, 0]].mean() > 0.9
    assert 0.03 < row.mask_coverage < row.matte_coverage
    save_png(pictures_dir / "astronaut_tracking_overlay.png", rep.overlays["astronaut"][0])  # docs/ on request


def test_no_face_found_names_the_file(tmp_path, head):
    blank = save_png(tmp_path / "wall.png", np.full((200, 240, 3), 120, np.uint8))
    with pytest.raises(GaspInputError, match="wall.png: no face found"):
        preprocess_capture(blank, tmp_path / "out", head)
    assert not (tmp_path / "out" / "wall").exists()
