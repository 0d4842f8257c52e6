"""The encoder file: fp16 safetensors + JSON metadata + SHA-256 checks, written atomically.

Tensors: ``model.<name>`` of the encoder's state dict; floating parameters in float16 (half the size), the code
normalisation buffers ``model.code_mean`` / ``model.code_std`` [Z] in float32. JSON ("json" key of the safetensors
metadata): kind "gasp_encoder", format_version, config (``EncoderConfig``), code_dim, n_identity, parameters,
content_sha256 (over the tensors, as ``gasp_ops.avatar_file``), prior_fingerprint (``prior_fingerprint`` of the prior
whose codes it predicts: an encoder is only valid with that prior), plus the caller's metadata (training summary).
``load_encoder`` checks the content hash (and, when given, the SHA-256 of the whole file as published in the model
card) before building the network. Training checkpoints (exact resume) reuse ``gasp_ops.prior.checkpoint``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gasp_models import file_sha256  # noqa: F401 - one file digest for shipped models and encoders
from gasp_ops.avatar_file import _sha as tensors_sha256
from gasp_ops.encoder.config import EncoderConfig
from gasp_ops.encoder.model import IdentityEncoder
from gasp_ops.errors import GaspInputError
from gasp_ops.io.tensors import load_tensors, save_tensors

KIND = "gasp_encoder"
FORMAT_VERSION = 1
ENCODER_NAME = "encoder.safetensors"
#: Where a shipped encoder lives (package data, with its model card ``gasp_models/encoder.md``).
SHIPPED_PATH = Path(__file__).resolve().parents[2] / "gasp_models" / ENCODER_NAME
#: Buffers kept in float32 (codes are small numbers; halving them saves nothing worth the error).
FLOAT32_KEYS = ("code_mean", "code_std")


def shipped_sha256() -> str | None:
    """The pinned SHA-256 of the shipped encoder (``gasp_models.SHA256``), None when none is pinned."""
    try:
        from gasp_models import SHA256
    except ImportError:
        return None
    return SHA256.get(ENCODER_NAME)


def resolve_encoder_path(explicit=None, trained=None, prior_source: str | None = None) -> tuple[Path, str | None]:
    """(encoder file, expected SHA-256 or None) for an enrolment: ``explicit`` when given; else the shipped encoder
    when the fit uses the shipped prior (``prior_source == "shipped"``) or no ``trained`` file exists but the
    shipped one does; else ``trained`` (e.g. ``<data root>/<preset>/encoder/encoder.safetensors``)."""
    if explicit:
        return Path(explicit), None
    shipped = SHIPPED_PATH.is_file()
    if shipped and (prior_source == "shipped" or trained is None or not Path(trained).is_file()):
        return SHIPPED_PATH, shipped_sha256()
    return Path(trained if trained is not None else SHIPPED_PATH), None


def prior_fingerprint(prior) -> str:
    """SHA-256 over a prior's state dict (sorted names, floating tensors rounded to float16 on the CPU, so a prior
    and its fp16 copy share it): identifies the codes an encoder targets."""
    state = prior.state_dict()
    return tensors_sha256(*(state[k].detach().cpu().half() if state[k].is_floating_point() else state[k].cpu()
                            for k in sorted(state)))


def _payload(model: IdentityEncoder) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if v.is_floating_point():
            v = v.float() if k in FLOAT32_KEYS else v.half()
        out[f"model.{k}"] = v.contiguous()
    return out


def save_encoder(path, model: IdentityEncoder, metadata: dict | None = None) -> Path:
    """Write the encoder (fp16 weights) with its config, code statistics' owner prior and ``metadata``."""
    tensors = _payload(model)
    meta = {**(metadata or {}), "kind": KIND, "format_version": FORMAT_VERSION, "config": model.config.as_dict(),
            "code_dim": model.code_dim, "n_identity": model.n_identity, "parameters": model.parameter_count(),
            "prior_fingerprint": getattr(model, "prior_fingerprint", ""),
            "content_sha256": tensors_sha256(*(tensors[k] for k in sorted(tensors)))}
    return save_tensors(path, tensors, meta)


def load_encoder(path, device="cpu", sha256: str | None = None) -> tuple[IdentityEncoder, dict]:
    """(IdentityEncoder in eval mode, float32, on ``device``; metadata). ``sha256``: the file's expected SHA-256
    (e.g. from the model card); a mismatch of it or of the stored content hash raises ``GaspInputError``."""
    path = Path(path)
    if sha256 is not None and path.is_file() and file_sha256(path) != sha256.lower():
        raise GaspInputError(str(path), "SHA-256 of the file does not match the expected one (wrong or corrupt file)")
    tensors, meta = load_tensors(path)
    if meta.get("kind") != KIND:
        raise GaspInputError(str(path), "not a GASP encoder file")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise GaspInputError(str(path), f"format version {meta.get('format_version')} is newer than this software "
                             f"reads ({FORMAT_VERSION})")
    if tensors_sha256(*(tensors[k] for k in sorted(tensors))) != meta.get("content_sha256"):
        raise GaspInputError(str(path), "content SHA-256 mismatch (the file was modified or is corrupt)")
    config = EncoderConfig.from_dict(meta["config"])
    model = IdentityEncoder(config, int(meta["code_dim"]), int(meta["n_identity"]))
    state = {k[len("model."):]: v.float() if v.is_floating_point() else v for k, v in tensors.items()
             if k.startswith("model.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise GaspInputError(str(path), f"weights do not match the stored config "
                             f"({str(exc).splitlines()[0]})") from None
    model.prior_fingerprint = str(meta.get("prior_fingerprint", ""))
    return model.to(device).eval(), meta


def check_encoder_prior(encoder: IdentityEncoder, prior, name: str = "encoder") -> None:
    """Raise ``GaspInputError`` unless ``encoder`` was trained on ``prior``'s codes (same code size and fingerprint)."""
    if int(prior.codes.shape[1]) != encoder.code_dim:
        raise GaspInputError(name, f"predicts {encoder.code_dim}-d codes but the prior's codes are "
                             f"{int(prior.codes.shape[1])}-d")
    mine = getattr(encoder, "prior_fingerprint", "")
    if mine and mine != prior_fingerprint(prior):
        raise GaspInputError(name, "was trained for a different prior (prior fingerprint mismatch); train an "
                             "encoder for this prior")
