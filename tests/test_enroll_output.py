"""Outputs written as one unit (issue 13, part 2): ``gasp enroll`` stages its whole result beside --out and swaps it
in; --out is locked (a second enrol into it fails at once with one line); an error or a SIGKILL part-way leaves the
previous output intact; re-rendering into a PNG folder leaves no stale frames."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gasp_ops.errors import GaspInputError
from gasp_ops.io import staged_dir
from gasp_ops.io.staged_dir import output_lock, staged_directory
from tests.bad_input_fixtures import assert_one_line_error, gasp, write_avatar, write_tiny_prior

REPO = Path(__file__).resolve().parents[1]


def _old_output(out: Path) -> dict:
    out.mkdir(parents=True)
    files = {"avatar.safetensors": b"old avatar", "fit.json": b'{"old": true}', "curves.png": b"old curves"}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _contents(out: Path) -> dict:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name and not p.name.endswith(".lock"))


def test_staged_directory_swaps_the_whole_folder(tmp_path):
    out = tmp_path / "out"
    _old_output(out)
    with staged_directory(out) as stage:
        assert stage.parent == out.parent and stage.name.startswith(".out.staging-")
        (stage / "avatar.safetensors").write_bytes(b"new")
        assert _contents(out)["avatar.safetensors"] == b"old avatar"  # readers see the old folder until the swap
    assert _contents(out) == {"avatar.safetensors": b"new"}  # no stale fit.json / curves.png beside it
    assert _siblings(out) == []


def test_output_that_is_a_link_to_a_folder(tmp_path):
    """The link is replaced by the new folder; the folder it pointed to is left as it was; nothing is left over."""
    real = tmp_path / "elsewhere"
    old = _old_output(real)
    out = tmp_path / "out"
    out.symlink_to(real, target_is_directory=True)
    with staged_directory(out) as stage:
        (stage / "a").write_bytes(b"new")
    assert not out.is_symlink() and _contents(out) == {"a": b"new"} and _contents(real) == old
    assert _siblings(out) == ["elsewhere"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_error_part_way_keeps_the_old_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(staged_dir, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    old = _old_output(out)
    with pytest.raises(RuntimeError, match="killed"):
        with staged_directory(out) as stage:
            (stage / "avatar.safetensors").write_bytes(b"new avatar")
            raise RuntimeError("killed after the avatar was written")
    assert _contents(out) == old and _siblings(out) == []
    with staged_directory(out) as stage:  # and the next write works
        (stage / "fit.json").write_bytes(b"{}")
    assert _contents(out) == {"fit.json": b"{}"}


def test_a_crash_between_the_two_renames_is_repaired(tmp_path):
    """Where renameat2 is missing the swap is two renames; a kill between them leaves the old folder aside, and the
    next writer puts it back before it starts."""
    out = tmp_path / "out"
    old = _old_output(out)
    os.rename(out, tmp_path / ".out.old-abc123")  # the state right after the first rename
    (tmp_path / ".out.staging-dead").mkdir()  # and the killed writer's staging folder
    with pytest.raises(RuntimeError):
        with staged_directory(out):
            assert _contents(out) == old  # restored before the new write begins
            raise RuntimeError("this writer fails too")
    assert _contents(out) == old and _siblings(out) == []


def test_second_writer_gets_a_clear_error_at_once(tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        t0 = time.monotonic()
        with pytest.raises(GaspInputError, match="another gasp process is writing this output"):
            with staged_directory(out):
                pass
        assert time.monotonic() - t0 < 1.0
    with staged_directory(out) as stage:  # released
        (stage / "a").write_bytes(b"1")
    assert _contents(out) == {"a": b"1"}


def test_sigkill_part_way_leaves_the_old_output_and_the_next_writer_cleans_up(tmp_path):
    out = tmp_path / "out"
    old = _old_output(out)
    script = textwrap.dedent(f"""
        import sys, time
        from gasp_ops.io.staged_dir import staged_directory
        with staged_directory({str(out)!r}) as stage:
            (stage / "avatar.safetensors").write_bytes(b"new avatar")
            print("written", flush=True)
            time.sleep(60)
            (stage / "fit.json").write_bytes(b"new fit")
    """)
    p = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "written"
        with pytest.raises(GaspInputError, match="another gasp process"):  # it holds the lock
            with staged_directory(out):
                pass
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert _contents(out) == old
    assert any(n.startswith(".out.staging-") for n in _siblings(out))  # the killed writer's leftovers
    with staged_directory(out) as stage:  # the lock died with the process; stale staging is removed
        (stage / "avatar.safetensors").write_bytes(b"newer")
    assert _contents(out) == {"avatar.safetensors": b"newer"} and _siblings(out) == []


@pytest.fixture(scope="module")
def frames_and_prior(head, tmp_path_factory):
    from tests.test_fitting_stages import _write_frames

    d = tmp_path_factory.mktemp("enroll_unit")
    _write_frames(head, d / "frames")
    return d / "frames", write_tiny_prior(head, d / "prior.safetensors")


def test_enroll_failure_after_the_avatar_keeps_the_previous_fit(head, frames_and_prior, tmp_path, monkeypatch):
    """enroll() writes the avatar, then dies while writing the figures: the old folder is untouched."""
    from gasp_ops.fitting import report

    frames, prior_path = frames_and_prior
    out = tmp_path / "out"
    old = _old_output(out)

    def fake_fit(*args, **kw):  # the fit itself is not under test here
        return "result"

    def half_write(stage, result, head, inputs, **kw):
        (stage / "avatar.safetensors").write_bytes(b"new avatar")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "fit_avatar", fake_fit, raising=False)
    try:  # enrolment modes (encoder) route the fit through fit_with_mode where that module exists
        import gasp_ops.encoder.modes as modes

        monkeypatch.setattr(modes, "fit_with_mode", fake_fit)
    except ImportError:
        pass
    monkeypatch.setattr(report, "write_fit_outputs", half_write)
    with pytest.raises(OSError, match="No space"):
        report.enroll(frames, out, head, None, None, setting="monocular", image_size=16)
    assert _contents(out) == old and _siblings(out) == []


def test_two_enrols_into_one_out_second_fails_fast(head, frames_and_prior, tmp_path, capsys):
    frames, prior_path = frames_and_prior
    out = tmp_path / "out"
    old = _old_output(out)
    with output_lock(out):  # the first enrol, still running
        code, err, secs = gasp(capsys, "enroll", frames, "--out", out, "--prior", prior_path, "--steps", "1", "1",
                               "1", "--image-size", "16")
    assert_one_line_error(code, err, str(out), "another gasp process is writing this output")
    assert secs < 10 and _contents(out) == old and _siblings(out) == []


def test_enroll_replaces_the_folder_as_a_unit(head, frames_and_prior, tmp_path, capsys):
    """A real (2-step) enrol over an old output: every old file is gone, every new one is there, nothing beside."""
    frames, prior_path = frames_and_prior
    out = tmp_path / "out"
    _old_output(out)
    (out / "stale_extra.png").write_bytes(b"x")
    code, err, _ = gasp(capsys, "enroll", frames, "--out", out, "--prior", prior_path, "--steps", "1", "1", "1",
                        "--image-size", "16", "--setting", "single_image")
    assert code == 0, err
    names = set(_contents(out))
    assert {"avatar.safetensors", "fit.json", "curves.png", "input_vs_render.png", "turntable_strip.png"} <= names
    assert "stale_extra.png" not in names and (out / "avatar.safetensors").read_bytes() != b"old avatar"
    assert _siblings(out) == []


def test_rerender_into_a_png_folder_leaves_no_stale_frames(head, tmp_path, capsys):
    avatar = write_avatar(tmp_path / "avatar.safetensors", head)
    out = tmp_path / "frames"
    code, err, _ = gasp(capsys, "render", avatar, "--out", out, "--frames", "5", "--size", "16")
    assert code == 0, err
    assert len(list(out.glob("frame_*.png"))) == 5
    code, err, _ = gasp(capsys, "render", avatar, "--out", out, "--frames", "2", "--size", "16")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["frame_00000.png", "frame_00001.png"]
    assert _siblings(out) == ["avatar.safetensors"]
