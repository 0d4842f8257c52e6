"""Bad input to the ``gasp`` commands, as a careful and as a hostile user would try it (issue 13, part 2).

Every case must end in one ``gasp: error:`` line naming the flag or file, exit code 2, before any expensive work
(a validation error of ``enroll`` comes in well under 5 s, no fit runs), and must leave the inputs untouched.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bad_input_fixtures import assert_one_line_error, gasp, png_bomb, write_avatar, write_tiny_prior

REPO = Path(__file__).resolve().parents[1]
FAST_S = 5.0


@pytest.fixture(scope="module")
def files(head, tmp_path_factory):
    """An avatar file, a tiny prior, a photo, a frames folder (3 cameras) and a 3DMM parameter file (4 frames)."""
    import numpy as np
    import torch

    from gasp_ops.io.images import save_png
    from gasp_ops.io.tensors import save_tensors
    from tests.test_fitting_stages import _write_frames

    d = tmp_path_factory.mktemp("cli_bad_input")
    avatar = write_avatar(d / "avatar.safetensors", head)
    prior = write_tiny_prior(head, d / "prior.safetensors")
    photo = save_png(d / "photo.png", np.full((24, 24, 3), 0.5, np.float32))
    _write_frames(head, d / "frames")
    params = save_tensors(d / "params.safetensors", {"expression": torch.zeros(4, head.n_expression)})
    return {"dir": d, "avatar": avatar, "prior": prior, "photo": photo, "frames": d / "frames", "params": params}


def _digest(path: Path) -> bytes:
    import hashlib

    return hashlib.sha256(path.read_bytes()).digest()


# --- data loss: an output never replaces an input --------------------------------------------------------------

@pytest.mark.parametrize("argv, needle", [
    (["export-ply", "{avatar}", "--out", "{avatar}"], "gasp export-ply writes a .ply"),
    (["export-ply", "{avatar}", "--out", "{dir}/other.safetensors"], "a .safetensors name would mislabel it"),
    (["export-ply", "{avatar}", "--out", "{dir}/../{dirname}/avatar.safetensors"], "gasp export-ply writes a .ply"),
    (["render", "{avatar}", "--out", "{avatar}"], "a .safetensors name looks like a file"),
    (["render", "{avatar}", "--out", "{dir}/turn.ply", "--frames", "2", "--size", "16"], "looks like a file"),
    (["enroll", "{photo}", "--out", "{avatar}", "--prior", "{prior}"], "looks like a file"),
    (["enroll", "{frames}", "--out", "{frames}", "--prior", "{prior}"], "is the input"),
    (["enroll", "{frames}", "--out", "{dir}", "--prior", "{prior}"], "holds the input"),
    (["preview", "--out", "{avatar}"], "gasp preview writes a .png file"),
])
def test_output_never_replaces_an_input(files, capsys, argv, needle):
    before = _digest(files["avatar"])
    fmt = {k: str(v) for k, v in files.items()} | {"dirname": files["dir"].name}
    code, err, _ = gasp(capsys, *[a.format(**fmt) for a in argv])
    assert_one_line_error(code, err, "--out", needle)
    assert _digest(files["avatar"]) == before and (files["frames"] / "frames.parquet").is_file()


def test_output_through_a_symlink_or_hard_link_to_the_input_is_refused(files, capsys, tmp_path):
    ply_link = tmp_path / "alias.ply"
    ply_link.symlink_to(files["avatar"])
    hard = tmp_path / "hard.ply"
    os.link(files["avatar"], hard)
    for out in (ply_link, hard):
        code, err, _ = gasp(capsys, "export-ply", files["avatar"], "--out", out)
        assert_one_line_error(code, err, "--out", "is the input")


def test_a_good_export_still_works(files, capsys, tmp_path):
    code, err, _ = gasp(capsys, "export-ply", files["avatar"], "--out", tmp_path / "frame.ply")
    assert code == 0, err
    assert (tmp_path / "frame.ply").stat().st_size > 1000


# --- validate before the expensive work ------------------------------------------------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["--consent", "maybe"], "--consent: must be one of"),
    (["--image-size", "-5"], "--image-size: must be an integer in [16, 4096], got -5"),
    (["--image-size", "0"], "--image-size: must be an integer in [16, 4096], got 0"),
    (["--image-size", "100000"], "--image-size"),
    (["--steps", "1", "-1", "1"], "--steps"),
])
def test_enroll_argument_errors_come_first(files, capsys, tmp_path, extra, needle):
    code, err, secs = gasp(capsys, "enroll", files["frames"], "--out", tmp_path / "out", "--prior", files["prior"],
                           *extra)
    assert_one_line_error(code, err, needle)
    assert secs < FAST_S and not (tmp_path / "out").exists()


def test_consent_is_checked_before_anything_else(files, capsys, tmp_path):
    """A bad --consent is reported even when every other argument is wrong too (it used to come after the fit)."""
    code, err, _ = gasp(capsys, "enroll", tmp_path / "missing.png", "--out", files["avatar"], "--consent", "maybe",
                        "--image-size", "0", "--prior", tmp_path / "no_prior.safetensors")
    assert_one_line_error(code, err, "--consent")


@pytest.mark.parametrize("setting, source, needle", [
    ("multi_camera", "photo", "one photo"), ("three_frame", "photo", "one photo"),
])
def test_enroll_setting_impossible_for_the_input(files, capsys, tmp_path, setting, source, needle):
    code, err, secs = gasp(capsys, "enroll", files[source], "--out", tmp_path / "out", "--prior", files["prior"],
                           "--setting", setting)
    assert_one_line_error(code, err, "--setting", setting, needle)
    assert secs < FAST_S


def test_enroll_setting_needs_cameras_in_a_table(head, files, capsys, tmp_path):
    from gasp_ops.io.tables import read_parquet, write_parquet

    one_cam = tmp_path / "one_cam"
    one_cam.mkdir()
    t = read_parquet(files["frames"] / "frames.parquet")
    write_parquet(one_cam / "frames.parquet", t[t["camera"] == "camF"])
    code, err, _ = gasp(capsys, "enroll", one_cam, "--out", tmp_path / "out", "--prior", files["prior"],
                        "--setting", "multi_camera")
    assert_one_line_error(code, err, "--setting", "needs at least 2 cameras", "has 1")


def test_enroll_output_location_problems(files, capsys, tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    code, err, _ = gasp(capsys, "enroll", files["frames"], "--out", a_file, "--prior", files["prior"])
    assert_one_line_error(code, err, "--out", "is an existing file")
    code, err, _ = gasp(capsys, "enroll", files["frames"], "--out", a_file / "sub", "--prior", files["prior"])
    assert_one_line_error(code, err, "--out", "is a file, not a folder")
    # Unwritable: a read-only folder (root ignores permission bits, so use a read-only filesystem there).
    if os.geteuid() == 0:
        ro = Path("/proc/self/gasp_out")
    else:
        ro_dir = tmp_path / "ro"
        ro_dir.mkdir(mode=0o500)
        ro = ro_dir / "out"
    code, err, _ = gasp(capsys, "enroll", files["frames"], "--out", ro, "--prior", files["prior"])
    assert_one_line_error(code, err, "--out", "cannot write in")
    # Full disk: the filesystem reports less free space than the rough estimate.
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1_000_000))
    code, err, secs = gasp(capsys, "enroll", files["frames"], "--out", tmp_path / "out", "--prior", files["prior"])
    assert_one_line_error(code, err, "--out", "needs about", "only 1 MB free")
    assert secs < FAST_S


def test_enroll_image_bomb_is_refused_from_its_header(files, capsys, tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 2_000_000
    code, err, secs = gasp(capsys, "enroll", bomb, "--out", tmp_path / "out", "--prior", files["prior"])
    assert_one_line_error(code, err, str(bomb), "20000x20000", "400 MP", "limit of 40 MP")
    assert secs < FAST_S


@pytest.mark.parametrize("extra, needle", [
    (["--fps", "0"], "--fps: must be an integer in [1, 240], got 0"),
    (["--fps", "-3"], "--fps"),
    (["--frames", "0"], "--frames: must be an integer in [1, 3600], got 0"),
    (["--size", "0"], "--size"),
    (["--size", "4096", "--frames", "3600"], "GB in memory"),
])
def test_render_numbers(files, capsys, tmp_path, extra, needle):
    code, err, secs = gasp(capsys, "render", files["avatar"], "--out", tmp_path / "t.mp4", *extra)
    assert_one_line_error(code, err, needle)
    assert secs < FAST_S and not (tmp_path / "t.mp4").exists()


@pytest.mark.parametrize("frame, needle", [
    ("99", "--frame: 99 is not a frame of"), ("-1", "--frame: -1 is not a frame of"), ("4", "frames 0..3"),
])
def test_export_frame_index_checked_against_the_params(files, capsys, tmp_path, frame, needle):
    code, err, _ = gasp(capsys, "export-ply", files["avatar"], "--out", tmp_path / "f.ply", "--params",
                        files["params"], "--frame", frame)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "f.ply").exists()


def test_export_frame_without_params(files, capsys, tmp_path):
    code, err, _ = gasp(capsys, "export-ply", files["avatar"], "--out", tmp_path / "f.ply", "--frame", "3")
    assert_one_line_error(code, err, "--frame", "without --params")


def test_subprocess_error_is_one_line_without_traceback(files, tmp_path):
    """The real console entry: ``python -m pipelines.cli export-ply A --out A`` -> exit 2, one stderr line."""
    before = _digest(files["avatar"])
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "export-ply", str(files["avatar"]), "--out",
                        str(files["avatar"])], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert_one_line_error(r.returncode, r.stderr, "--out", "writes a .ply")
    assert _digest(files["avatar"]) == before


@pytest.mark.parametrize("change, needle", [
    (lambda t: t.drop(columns=["K"]), "K: column missing"),
    (lambda t: t.assign(expression=[[0.0] * (1 + i % 2) for i in range(len(t))]), "expression: ragged column"),
    (lambda t: t.assign(world_to_cam=["identity"] * len(t)), "world_to_cam: row 0 holds a non-numeric value"),
    (lambda t: t.iloc[:0], "the table has no rows"),
])
def test_enroll_frame_table_problems_fail_fast(files, capsys, tmp_path, change, needle):
    from gasp_ops.io.tables import read_parquet, write_parquet

    bad = tmp_path / "bad_frames"
    bad.mkdir()
    write_parquet(bad / "frames.parquet", change(read_parquet(files["frames"] / "frames.parquet")))
    code, err, secs = gasp(capsys, "enroll", bad, "--out", tmp_path / "out", "--prior", files["prior"])
    assert_one_line_error(code, err, str(bad / "frames.parquet"), needle)
    assert secs < FAST_S


def test_disk_full_during_the_write_is_one_line(files, capsys, tmp_path, monkeypatch):
    """The free-space check is a rough estimate: a disk that fills up during the write still ends in one line."""
    import errno

    import gasp_ops.export.ply as ply

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "f.ply"))

    monkeypatch.setattr(ply, "write_ply", full)
    code, err, _ = gasp(capsys, "export-ply", files["avatar"], "--out", tmp_path / "f.ply")
    assert_one_line_error(code, err, "No space left on device", "f.ply")
    assert not (tmp_path / "f.ply").exists()
