"""Photos as people take them: group photos (face choice, crop, provenance), a face too small, EXIF rotation,
grayscale, 16-bit and RGBA files, and the crop's camera."""

import json

import numpy as np
import pytest
import torch

from gasp_ops.capture.face_choice import MIN_FACE_PX, choose_face, detect_faces
from gasp_ops.capture.head_framing import frame_capture, read_capture_record
from gasp_ops.capture.image_decode import decode_image
from gasp_ops.capture.photo_crop import cropped_camera, head_crop_box
from gasp_ops.errors import GaspInputError
from gasp_ops.io.images import save_png

# the astronaut's face box (dlib) in skimage's 512 px picture is about x 175..266, y 76..167
ASTRO_HEAD = (110, 20, 340, 250)  # x0, y0, x1, y1: head and shoulders around it


def _astronaut_head(scale: float) -> np.ndarray:
    import cv2
    from skimage.data import astronaut

    x0, y0, x1, y1 = ASTRO_HEAD
    crop = astronaut()[y0:y1, x0:x1]
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def group_photo(scales=(0.95, 1.6, 0.8), width=1200, height=520) -> tuple[np.ndarray, list]:
    """The astronaut's head at several scales side by side on a busy background (coffee); returns the image and
    the pasted rectangles (x0, y0, x1, y1) in paste order."""
    import cv2
    from skimage.data import coffee

    canvas = cv2.resize(coffee(), (width, height), interpolation=cv2.INTER_LINEAR)
    rects, x = [], 20
    for s in scales:
        head = _astronaut_head(s)
        h, w = head.shape[:2]
        y = height - h
        canvas[y:y + h, x:x + w] = head
        rects.append((x, y, x + w, y + h))
        x += w + 40
    return canvas, rects


def _inside(box, rect, tol=0) -> bool:
    return box[0] >= rect[0] - tol and box[1] >= rect[1] - tol and box[2] <= rect[2] + tol and box[3] <= rect[3] + tol


def test_group_photo_picks_the_largest_face_and_records_it(tmp_path, capsys):
    img, rects = group_photo()
    path = save_png(tmp_path / "group.png", img)
    faces = detect_faces(img)
    assert len(faces) == 3
    sides = [f.side for f in faces]
    assert sides == sorted(sides, reverse=True)
    # largest first = the 1.6x paste, then 0.95x, then 0.8x; box sides scale with the paste (astronaut: ~91 px)
    for f, k in zip(faces, (1, 0, 2)):
        assert _inside(f.box, rects[k], tol=4)
    assert 1.3 < faces[0].side / faces[1].side < 2.2 and faces[2].side < faces[1].side
    logs = []
    framed = frame_capture(path, log=logs.append)
    rec = framed.record
    assert rec["faces_found"] == 3 and rec["face_index"] == 0 and rec["face_requested"] is None
    assert "largest" in rec["rule"] and rec["face_box"] == faces[0].as_list()
    assert "found 3 face(s); using face 0" in logs[0]
    # the crop: square, 2.4x the face box, holding the face with room above (hair) and below (neck)
    x0, y0, x1, y1 = rec["crop_box"]
    l, t, r, b = faces[0].box
    assert abs((x1 - x0) - 2.4 * faces[0].side) <= 2 and (x1 - x0) == (y1 - y0)
    assert x0 < l and r < x1 and t - y0 > 0.6 * faces[0].side and y1 - b > 0.3 * faces[0].side
    assert tuple(framed.frames.shape[1:3]) == (min(512, y1 - y0), min(512, x1 - x0))
    # the crop is the chosen person: it lies within the 1.6x paste, not the others
    assert _inside((x0, y0, x1, y1), (rects[1][0] - 60, 0, rects[1][2] + 60, img.shape[0]))
    # --face 2: the smallest
    other = frame_capture(path, face=2)
    assert other.record["face_index"] == 2 and other.record["rule"] == "--face"
    assert _inside(other.record["face_box"], rects[2], tol=4)


def test_face_choice_is_recorded_in_the_avatar_provenance(tmp_path):
    from gasp_ops.avatar import GaussianAvatar
    from gasp_ops.avatar_file import load_avatar_file, save_avatar_file
    from gasp_ops.binding.uv_init import uv_binding
    from gasp_ops.headmodel.procedural import ProceduralHead

    img, _ = group_photo()
    framed = frame_capture(save_png(tmp_path / "group.png", img), face=1)
    head = ProceduralHead()
    avatar = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, 16), head.template)
    path = save_avatar_file(tmp_path / "a.safetensors", avatar, torch.zeros(head.n_identity), head,
                            capture=json.loads(json.dumps(framed.record)))
    prov = load_avatar_file(path, head).provenance
    assert prov["capture"]["faces_found"] == 3 and prov["capture"]["face_index"] == 1
    assert prov["capture"]["crop_box"] == framed.record["crop_box"]


def test_face_too_small_is_one_clear_line(tmp_path):
    import cv2

    small = _astronaut_head(0.5)  # face box ~45 px
    canvas = np.full((360, 420, 3), 90, np.uint8)
    canvas[100:100 + small.shape[0], 150:150 + small.shape[1]] = small
    path = save_png(tmp_path / "far.png", canvas)
    faces = detect_faces(canvas)
    assert len(faces) == 1 and faces[0].side < MIN_FACE_PX
    with pytest.raises(GaspInputError, match=rf"far.png: face 0 is {faces[0].side:.0f} px, need at least "
                                             rf"{MIN_FACE_PX} px") as exc:
        frame_capture(path)
    assert "\n" not in str(exc.value)
    with pytest.raises(GaspInputError, match=r"--face: .* has 1 face\(s\) \(0..0\), got 3"):
        choose_face(faces, 3, "far.png")
    blank = save_png(tmp_path / "wall.png", cv2.GaussianBlur(canvas * 0 + 120, (3, 3), 0))
    with pytest.raises(GaspInputError, match="wall.png: no face found"):
        frame_capture(blank)


def test_crop_camera_is_the_photo_camera_seen_through_the_crop():
    from gasp_ops.cameras import intrinsics_from_fov

    W, H, box = 1200, 800, (300, 100, 700, 500)
    full = intrinsics_from_fov(60.0, W, H).double()
    cam = cropped_camera(W, H, box, 256, 256, 60.0)
    X = torch.tensor([[0.1, -0.05, 1.2], [-0.2, 0.1, 0.9]], dtype=torch.float64)
    p_full = (X @ full.T)[:, :2] / X[:, 2:]
    p_crop = (X @ cam.K[0].double().T)[:, :2] / X[:, 2:]
    expect = (p_full - torch.tensor([300.0, 100.0], dtype=torch.float64)) * (256 / 400)
    assert torch.allclose(p_crop, expect, atol=1e-3)
    # a square that would leave the image slides back in; a too-small image keeps its extent
    assert head_crop_box((0, 0, 100, 100), 1000, 1000) == (0, 0, 240, 240)
    assert head_crop_box((10, 10, 110, 110), 150, 1000)[0::2] == (0, 150)


def _exif_jpeg(path, img: np.ndarray, orientation: int):
    from PIL import Image

    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, quality=95, exif=exif)
    return path


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((60, 100, 3), np.uint8)
    img[:20, :30] = (255, 0, 0)  # red block top-left as stored
    d = decode_image(_exif_jpeg(tmp_path / "rot.jpg", img, 6))  # 6: rotate 90 deg clockwise to display
    assert d.rgb.shape == (100, 60, 3) and d.notes["exif_orientation"] == 6
    assert d.rgb[5:15, 45:55, 0].mean() > 200 and d.rgb[5:15, 45:55, 2].mean() < 60  # now top-right
    assert d.rgb[85:95, 5:15].mean() < 30
    plain = decode_image(_exif_jpeg(tmp_path / "up.jpg", img, 1))
    assert plain.rgb.shape == (60, 100, 3)


def test_grayscale_and_16_bit_are_scaled_not_clipped(tmp_path):
    import cv2
    from PIL import Image

    g8 = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (10, 1))
    Image.fromarray(g8).save(tmp_path / "g8.png")
    d = decode_image(tmp_path / "g8.png")
    assert d.rgb.shape == (10, 25, 3) and np.array_equal(d.rgb[..., 0], g8) and np.array_equal(d.rgb[..., 2], g8)
    assert d.notes["grayscale"] == "replicated to RGB"
    g16 = np.tile(np.linspace(0, 65535, 30).astype(np.uint16), (8, 1))
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    d = decode_image(tmp_path / "g16.png")
    assert d.notes["mode"].startswith("I") and d.rgb.dtype == np.uint8
    assert np.array_equal(d.rgb[..., 1], np.round(g16 / 257.0).astype(np.uint8))
    assert d.rgb.max() == 255 and d.rgb.min() == 0  # a bright 16-bit value is not clipped to 255 half way
    c16 = (np.random.default_rng(0).random((12, 14, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), c16[..., ::-1])
    d = decode_image(tmp_path / "c16.png")
    assert np.abs(d.rgb.astype(int) - np.round(c16 / 257.0)).max() <= 1


def test_rgba_alpha_is_the_matte_only_when_it_cuts_something_out(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(1).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    a = np.zeros((40, 50), np.uint8)
    a[5:35, 10:40] = 255
    Image.fromarray(np.dstack([rgb, a])).save(tmp_path / "cut.png")
    d = decode_image(tmp_path / "cut.png")
    assert d.alpha is not None and np.array_equal(d.alpha > 0.5, a > 0) and np.array_equal(d.rgb, rgb)
    assert d.notes["alpha"].startswith("used as the matte")
    Image.fromarray(np.dstack([rgb, np.full((40, 50), 255, np.uint8)])).save(tmp_path / "opaque.png")
    d = decode_image(tmp_path / "opaque.png")
    assert d.alpha is None and d.notes["alpha"].startswith("dropped") and np.array_equal(d.rgb, rgb)
    Image.fromarray(np.dstack([rgb[..., 0], a])).save(tmp_path / "la.png")  # grayscale + alpha
    d = decode_image(tmp_path / "la.png")
    assert d.alpha is not None and np.array_equal(d.rgb[..., 2], rgb[..., 0])


def test_unreadable_file_names_itself(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(GaspInputError, match="broken.png: not a readable image"):
        decode_image(bad)
    assert read_capture_record(tmp_path) == {}


def test_video_follows_the_chosen_face_and_crops_the_union():
    from gasp_ops.capture.face_choice import FaceBox
    from gasp_ops.capture.head_framing import follow_face
    from gasp_ops.capture.photo_crop import union_box

    big = [FaceBox((100 + 6 * t, 80, 200 + 6 * t, 180), 1.0) for t in range(4)]  # moves right 6 px a frame
    small = FaceBox((400, 90, 470, 160), 1.0)
    frames = [[big[0], small], [small, big[1]], [], [big[3], small]]  # frame 2: nobody detected
    track = follow_face(frames, 0, big[0])
    assert track == [big[0], big[1], None, big[3]]
    assert follow_face(frames, 0, small) == [small, small, None, small]
    assert union_box([b.box for b in track if b is not None]) == (100, 80, 218, 180)
