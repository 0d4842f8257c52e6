"""Small shared data for the bad-input tests: a tiny avatar file, a tiny prior, a frames folder, a PNG bomb, and a
helper that runs ``gasp`` in-process and returns (exit code, stderr, seconds)."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.binding.uv_init import uv_binding


def tiny_avatar(head, uv: int = 12, **changes) -> GaussianAvatar:
    """A few hundred Gaussians bound by UV; ``changes`` replace attributes (e.g. log_scales=...)."""
    base = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, uv), head.template)
    attrs = {k: getattr(base, k) for k in ("faces", "face_ids", "barycentrics", "offsets", "log_scales", "quats",
                                           "colors", "opacity_logits")}
    attrs.update(changes)
    return GaussianAvatar(**attrs)


def write_avatar(path, head, **changes) -> Path:
    from gasp_ops.avatar_file import save_avatar_file

    return save_avatar_file(path, tiny_avatar(head, **changes), torch.zeros(head.n_identity), head,
                            consent="synthetic")


def write_tiny_prior(head, path) -> Path:
    from gasp_ops.prior.checkpoint import save_prior
    from gasp_ops.prior.prior_model import GaussianPrior
    from tests.prior_fixture import tiny_config

    cfg = tiny_config(uv_resolution=16, code_dim=16)
    return save_prior(path, GaussianPrior.build(head, cfg, 3), {"config": cfg.as_dict()})


def png_bomb(path, width: int = 20000, height: int = 20000) -> Path:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` black pixels (a few hundred KB on disk)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return Path(path)


def gasp(capsys, *argv) -> tuple[int, str, float]:
    """Run ``gasp argv`` in-process: (exit code, stderr, wall seconds)."""
    from pipelines.cli import main

    capsys.readouterr()
    t0 = time.monotonic()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err, time.monotonic() - t0


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2 and exactly one ``gasp: error:`` line (no traceback) containing every needle."""
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("gasp: error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
