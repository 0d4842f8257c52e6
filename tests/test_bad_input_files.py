"""Crafted and absurd files (issue 13, part 2): avatar metadata, finite-but-absurd attributes and 3DMM parameters,
ragged / missing / string / empty parameter tables, image bombs; and the refusals that were already right and must
stay so (restricted unpickler, truncated / huge-header / pickled safetensors, atomic writes under SIGKILL and ENOSPC).
Each gives one ``GaspInputError`` line naming the file and the field."""

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gasp_ops.avatar_file import load_avatar_file
from gasp_ops.errors import GaspInputError
from gasp_ops.io.tensors import load_tensors, save_tensors
from tests.bad_input_fixtures import assert_one_line_error, gasp, png_bomb, tiny_avatar, write_avatar

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def avatar_path(head, tmp_path_factory):
    return write_avatar(tmp_path_factory.mktemp("files") / "avatar.safetensors", head)


def _rewrite_meta(src: Path, dst: Path, change) -> Path:
    tensors, meta = load_tensors(src)
    change(meta)
    return save_tensors(dst, tensors, meta)


# --- crafted avatar metadata -----------------------------------------------------------------------------------

@pytest.mark.parametrize("change, needle", [
    (lambda m: m.pop("provenance"), "provenance: missing from the metadata header"),
    (lambda m: m.update(provenance="yes"), "provenance: must be a JSON object, got str"),
    (lambda m: m["provenance"].pop("content_sha256"), "provenance.content_sha256: missing or not a string"),
    (lambda m: m.update(format_version="one"), "format_version: must be a positive integer, got 'one'"),
    (lambda m: m.update(format_version=1.5), "format_version: must be a positive integer, got 1.5"),
    (lambda m: m.update(format_version=None), "format_version: must be a positive integer"),
    (lambda m: m.update(format_version=99), "format version 99 is newer"),
    (lambda m: m.update(head_model=[1, 2]), "head_model: must be a JSON object"),
    (lambda m: m.update(kind="something_else"), "not a GASP avatar file"),
])
def test_crafted_metadata_names_file_and_field(avatar_path, tmp_path, change, needle):
    bad = _rewrite_meta(avatar_path, tmp_path / "crafted.safetensors", change)
    with pytest.raises(GaspInputError) as exc:
        load_avatar_file(bad)
    msg = str(exc.value)
    assert msg.startswith(str(bad)) and needle in msg and "\n" not in msg


def test_invalid_json_header(avatar_path, tmp_path):
    from safetensors.torch import save_file

    tensors, _ = load_tensors(avatar_path)
    for raw, needle in (("{not json", "is not valid JSON"), ("[1, 2]", "must be a JSON object")):
        bad = tmp_path / "badjson.safetensors"
        save_file(tensors, str(bad), metadata={"json": raw})
        with pytest.raises(GaspInputError, match=f"^{bad}: metadata 'json' .*{needle}"):
            load_avatar_file(bad)


def test_render_cli_on_crafted_metadata_is_one_line(avatar_path, tmp_path, capsys):
    bad = _rewrite_meta(avatar_path, tmp_path / "crafted.safetensors", lambda m: m.pop("provenance"))
    code, err, _ = gasp(capsys, "render", bad, "--out", tmp_path / "t.mp4", "--frames", "2", "--size", "16")
    assert_one_line_error(code, err, str(bad), "provenance")


# --- finite but absurd values ----------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, needle", [
    ("log_scales", 80.0, "log_scales: "), ("offsets", 1e6, "offsets: "), ("opacity_logits", 1e30, "opacity_logits"),
    ("colors", -1e9, "colors: "), ("quats", 0.0, "quats (norm)"),
])
def test_absurd_avatar_attributes_are_refused_on_load_and_render(head, tmp_path, capsys, field, value, needle):
    base = tiny_avatar(head)
    path = write_avatar(tmp_path / "absurd.safetensors", head, **{field: torch.full_like(getattr(base, field), value)})
    with pytest.raises(GaspInputError, match="outside the plausible range") as exc:
        load_avatar_file(path)
    assert str(exc.value).startswith(f"{path}: {needle.split(':')[0]}")
    code, err, _ = gasp(capsys, "render", path, "--out", tmp_path / "t.mp4", "--frames", "2", "--size", "16")
    assert_one_line_error(code, err, str(path), needle.split(":")[0], "plausible range")
    assert not (tmp_path / "t.mp4").exists()
    from gasp_ops.export.video import render_turntable

    with pytest.raises(GaspInputError, match=needle.split(":")[0].replace("(", r"\(").replace(")", r"\)")):
        render_turntable(tiny_avatar(head, **{field: torch.full_like(getattr(base, field), value)}), head,
                         torch.zeros(head.n_identity), n_frames=1, image_size=16)


@pytest.mark.parametrize("field, scale, needle", [
    ("expression", 1e30, "expression: "), ("rotation", 1e4, "rotation: "), ("translation", 1e5, "translation: "),
    ("jaw", float("nan"), "jaw: contains 1"),
])
def test_absurd_3dmm_parameters_are_refused(head, avatar_path, tmp_path, capsys, field, scale, needle):
    T = 3
    params = {"expression": 0.1 * torch.ones(T, head.n_expression)}
    width = 6 if field == "eyes" else 3
    if field == "expression":
        params["expression"] = params["expression"] * scale
    else:
        params[field] = torch.zeros(T, width)
        params[field][1, 0] = scale
    p = save_tensors(tmp_path / "params.safetensors", params)
    code, err, _ = gasp(capsys, "render", avatar_path, "--out", tmp_path / "re.mp4", "--params", p, "--size", "16")
    assert_one_line_error(code, err, f"{p}: {needle}")
    assert not (tmp_path / "re.mp4").exists()
    code, err, _ = gasp(capsys, "export-ply", avatar_path, "--out", tmp_path / "f.ply", "--params", p)
    assert_one_line_error(code, err, f"{p}: {needle}")


def test_plausible_values_still_render(head, avatar_path, tmp_path, capsys):
    p = save_tensors(tmp_path / "params.safetensors", {"expression": 0.5 * torch.ones(2, head.n_expression),
                                                        "jaw": torch.tensor([[0.2, 0.0, 0.0]] * 2)})
    code, err, _ = gasp(capsys, "render", avatar_path, "--out", tmp_path / "re.mp4", "--params", p, "--size", "16")
    assert code == 0, err


# --- parameter tables ------------------------------------------------------------------------------------------

def _table(head, n=3, **columns):
    rows = {"camera": ["c0"] * n, "frame": list(range(n)), "expression": [[0.0] * head.n_expression] * n,
            "rotation": [[0.0] * 3] * n, "translation": [[0.0] * 3] * n, "neck": [[0.0] * 3] * n,
            "jaw": [[0.0] * 3] * n, "eyes": [[0.0] * 6] * n}
    rows.update(columns)
    return pd.DataFrame({k: v for k, v in rows.items() if v is not None})


@pytest.mark.parametrize("columns, needle", [
    ({"expression": None}, "expression: column missing"),
    ({"jaw": [[0.0] * 3, [0.0] * 2, [0.0] * 3]}, "jaw: ragged column: row 0 has 3 values, row 1 has 2"),
    ({"neck": ["a", "b", "c"]}, "neck: row 0 holds a non-numeric value"),
    ({"eyes": [[0.0] * 3] * 3}, "eyes: expected 6 values per row, got 3"),
    ({"expression": [[0.0] * 4] * 3}, "expression: expected"),
    ({"frame": ["x", "y", "z"]}, "frame: row 0 holds a non-numeric value"),
])
def test_parameter_table_problems_name_file_and_column(head, avatar_path, tmp_path, capsys, columns, needle):
    from gasp_ops.io.tables import write_parquet
    from gasp_ops.runtime.params_file import load_params

    p = write_parquet(tmp_path / "params.parquet", _table(head, **columns))
    with pytest.raises(GaspInputError) as exc:
        load_params(p, head)
    assert str(exc.value).startswith(f"{p}: ") and needle in str(exc.value)
    code, err, _ = gasp(capsys, "render", avatar_path, "--out", tmp_path / "re.mp4", "--params", p, "--size", "16")
    assert_one_line_error(code, err, str(p), needle)


def test_empty_parameter_files(head, avatar_path, tmp_path, capsys):
    from gasp_ops.io.tables import write_parquet

    empty_table = write_parquet(tmp_path / "empty.parquet", _table(head).iloc[:0])
    empty_tensor = save_tensors(tmp_path / "empty.safetensors", {"expression": torch.zeros(0, head.n_expression)})
    for p, needle in ((empty_table, "the table has no rows"), (empty_tensor, "holds no frames")):
        code, err, _ = gasp(capsys, "render", avatar_path, "--out", tmp_path / "re.mp4", "--params", p)
        assert_one_line_error(code, err, str(p), needle)


@pytest.mark.parametrize("tensors, needle", [
    ({"pose": torch.zeros(2, 3)}, "needs an 'expression' tensor"),
    ({"expression": torch.zeros(2, 7)}, "expression: expected shape [T, 25], got [2, 7]"),
    ({"expression": torch.zeros(2, 25, 1)}, "expression: expected shape [T, 25]"),
    ({"expression": torch.zeros(2, 25, dtype=torch.int64)}, "expression: must be a float tensor"),
    ({"expression": torch.zeros(2, 25), "jaw": torch.zeros(3, 3)}, "jaw: has 3 frames, expression has 2"),
    ({"expression": torch.zeros(2, 25), "eyes": torch.zeros(2, 3)}, "eyes: expected shape [T, 6]"),
])
def test_parameter_safetensors_problems(head, tmp_path, tensors, needle):
    from gasp_ops.runtime.params_file import load_params

    assert head.n_expression == 25
    p = save_tensors(tmp_path / "p.safetensors", tensors)
    with pytest.raises(GaspInputError) as exc:
        load_params(p, head)
    assert str(exc.value).startswith(str(p)) and needle in str(exc.value), str(exc.value)


def test_parameter_file_of_another_type(head, tmp_path):
    from gasp_ops.runtime.params_file import load_params

    with pytest.raises(GaspInputError, match=r"\.parquet or \.safetensors file"):
        load_params(tmp_path / "params.json", head)


# --- image bombs -----------------------------------------------------------------------------------------------

def test_image_bomb_is_refused_from_the_header_without_decoding(tmp_path):
    """A 20000 x 20000 PNG (a few hundred KB) is refused by every image reader before decoding: the peak memory of
    the reading process grows by less than 50 MB (decoding it costs 400 MB to 1.2 GB)."""
    bomb = png_bomb(tmp_path / "bomb.png")
    script = textwrap.dedent(f"""
        import resource
        from gasp_ops.errors import GaspInputError
        from gasp_ops.io.images import load_png
        from gasp_ops.capture.phone import load_capture
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for reader in (load_png, load_capture):
            try:
                reader({str(bomb)!r})
                print("decoded")
            except GaspInputError as exc:
                print(exc)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and len(lines) == 3, r.stdout + r.stderr
    for line in lines[:2]:
        assert line == f"{bomb}: 20000x20000 px (400 MP) is above the limit of 40 MP; downscale it first (or raise " \
                       "$GASP_MAX_IMAGE_PIXELS)"
    assert int(lines[2]) < 50, f"peak memory grew by {lines[2]} MB"


def test_pixel_limit_applies_to_video_frames_and_can_be_configured(tmp_path, monkeypatch):
    from gasp_ops.capture.phone import load_capture
    from gasp_ops.io.images import load_png, save_png
    from gasp_ops.io.video import write_mp4

    video = write_mp4(tmp_path / "v.mp4", np.zeros((2, 64, 64, 3), np.uint8))
    png = save_png(tmp_path / "i.png", np.zeros((64, 64, 3), np.float32))
    assert load_png(png).shape == (64, 64, 3) and load_capture(video).shape[0] == 2
    monkeypatch.setenv("GASP_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(GaspInputError, match=r"v\.mp4: 64x64 px .* above the limit"):
        load_capture(video)
    with pytest.raises(GaspInputError, match=r"i\.png: 64x64 px"):
        load_png(png)
    monkeypatch.setenv("GASP_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(GaspInputError, match="GASP_MAX_IMAGE_PIXELS: must be a positive integer"):
        load_png(png)


def test_not_an_image(tmp_path):
    from gasp_ops.io.images import load_png

    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(GaspInputError, match=r"fake\.png: not a readable image"):
        load_png(tmp_path / "fake.png")


# --- kept: refusals that were already right --------------------------------------------------------------------

class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_safetensors_refusals_truncated_huge_header_pickled(avatar_path, tmp_path):
    marker = tmp_path / "pwned"
    data = avatar_path.read_bytes()
    cases = {
        "truncated.safetensors": data[: len(data) // 2],
        "huge_header.safetensors": (2 ** 62).to_bytes(8, "little") + b"{}",
        "pickled.safetensors": pickle.dumps({"x": _Evil(marker)}),
        "torch_save.safetensors": None,
        "empty.safetensors": b"",
    }
    for name, payload in cases.items():
        p = tmp_path / name
        if payload is None:
            torch.save({"gaussians.offsets": torch.zeros(2, 3)}, p)
        else:
            p.write_bytes(payload)
        with pytest.raises(GaspInputError, match=f"^{p}: not a readable safetensors file") as exc:
            load_avatar_file(p)
        assert "\n" not in str(exc.value)
    assert not marker.exists()


def test_restricted_unpickler_refuses_code(tmp_path):
    from gasp_ops.io.restricted_pickle import loads_restricted

    marker = tmp_path / "pwned"
    for data in (pickle.dumps(_Evil(marker), protocol=2), pickle.dumps(eval, protocol=2),
                 pickle.dumps({"nested": [_Evil(marker)]}, protocol=4), b"cbuiltins\ngetattr\n."):
        with pytest.raises(GaspInputError, match="refused"):
            loads_restricted(data, source="x.pkl")
    assert not marker.exists()


def test_atomic_write_survives_enospc(tmp_path, monkeypatch):
    from PIL import Image

    from gasp_ops.io.atomic import write_text_atomic
    from gasp_ops.io.images import save_png

    target = write_text_atomic(tmp_path / "fit.json", json.dumps({"old": True}))
    png = save_png(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    old_png = png.read_bytes()

    def full_disk(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_png(png, np.ones((4, 4, 3), np.float32))
    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_text_atomic(target, "new")
    assert json.loads(target.read_text()) == {"old": True} and png.read_bytes() == old_png
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "fit.json"]  # no temp file left


def test_atomic_write_survives_sigkill(tmp_path):
    target = tmp_path / "table.bin"
    target.write_bytes(b"old")
    script = textwrap.dedent(f"""
        import time
        from gasp_ops.io.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"half of the new")
                fh.flush()
                print("writing", flush=True)
                time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "writing"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert target.read_bytes() == b"old"
