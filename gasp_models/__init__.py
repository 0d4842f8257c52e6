"""Weights the project trained itself, shipped as package data, each with its model card (``<name>.md``) beside it.

``SHA256`` pins every shipped file; ``model_path(name)`` returns the file only after its SHA-256 matches, so a
missing, truncated or altered file is one clear line (``GaspInputError``) before anything loads it. Nothing here
touches the network. To ship a new file: put it here, add its digest below (``sha256sum``), write its card.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from gasp_ops.errors import GaspInputError

FOLDER = Path(__file__).resolve().parent

#: file name -> SHA-256 of the shipped bytes.
SHA256: dict[str, str] = {
    "gasp_prior_uv128_1k.safetensors": "da996b43d8bfff6608756e34f0b685e400a53912f6469d499279be561c0a578c",
    "encoder.safetensors": "696567bcef2ccc326d375812b8f376e15d7c8c1f33a1a23fd715561fdc6d6f2a",
    "face_net.safetensors": "b55f491c3c1fb7563b901b13385a23fec79a26113c1067bd7073b049cca89bb6",
}


@lru_cache(maxsize=None)
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path) -> str:
    """SHA-256 of a file (cached per path, size and modification time)."""
    path = Path(path)
    st = path.stat()
    return _digest(path, st.st_size, st.st_mtime_ns)


def model_path(name: str, folder: Path | None = None) -> Path:
    """The shipped file ``name``, checked against its pinned SHA-256 (``folder``: for tests)."""
    if name not in SHA256:
        raise GaspInputError(name, f"not a shipped model; shipped: {', '.join(sorted(SHA256))}")
    path = Path(folder or FOLDER) / name
    if not path.is_file():
        raise GaspInputError(str(path), "shipped model file is missing (reinstall gasp-pipeline or restore the file)")
    actual = file_sha256(path)
    if actual != SHA256[name]:
        raise GaspInputError(str(path), f"SHA-256 {actual[:12]}... does not match the shipped "
                                        f"{SHA256[name][:12]}... (file altered or truncated)")
    return path


def model_card(name: str, folder: Path | None = None) -> str:
    """The Markdown model card of ``name`` (``<stem>.md`` beside the weights)."""
    card = Path(folder or FOLDER) / (Path(name).stem + ".md")
    if not card.is_file():
        raise GaspInputError(str(card), "model card is missing")
    return card.read_text()
