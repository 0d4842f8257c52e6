"""The avatar file (GASP §6.6, Appendix H): a fitted avatar decoded once into a self-contained file.

safetensors (no pickle) with a JSON header. Tensors:
  gaussians.offsets [N, 3], gaussians.log_scales [N, 3], gaussians.quats [N, 4], gaussians.colors [N, 3],
  gaussians.opacity_logits [N]      local attributes (float32, or float16 with ``fp16=True``)
  binding.face_ids [N] int32, binding.barycentrics [N, 3] (float32 / float16), binding.faces [F, 3] int32
  headmodel.identity [n_identity] float32 (the subject's shape coefficients)
JSON ("json" key of the safetensors metadata):
  kind "gasp_avatar", format_version, count, dtype,
  head_model: {name, vertices, faces, n_identity, n_expression, topology_sha256, template_sha256}
  provenance: {created_utc, software, software_version, source_sha256, source, content_sha256,
               likeness: {subject, consent, owner, note}, label,
               capture: {faces_found, face_index, rule, face_box, crop_box, landmarks, matting, input, ...}
               (phone/webcam enrolments: ``gasp_ops.capture.head_framing``; {} otherwise)}
  fit: free-form fitting record (config, per-stage seconds and final losses).
Loading it and rendering needs no neural network: ``load_avatar_file`` returns a plain ``GaussianAvatar`` to pose
with the head model (``gasp_ops.runtime``). ``content_sha256`` (over the tensors) is checked on load; the head
model's topology/template hashes are checked when a head model is passed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gasp_ops.avatar import ATTRIBUTES, GaussianAvatar
from gasp_ops.errors import GaspInputError
from gasp_ops.io.tensors import load_tensors, save_tensors

KIND = "gasp_avatar"
FORMAT_VERSION = 1
CONSENT_VALUES = ("unknown", "granted", "synthetic", "withdrawn")
#: The metadata label every avatar carries (Appendix H: metadata labelling of synthetic media).
LABEL = "Synthetic media: animatable 3D Gaussian head avatar generated with GASP (AI-generated likeness)."


def _sha(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(str(t.dtype).encode())
        h.update(str(list(t.shape)).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def head_reference(head) -> dict:
    """Name, sizes and hashes identifying a head model: topology (faces, UVs) and rest template."""
    topo = head.topology
    return {"name": str(getattr(head, "name", "head")), "vertices": int(head.num_vertices),
            "faces": int(topo.num_faces), "n_identity": int(head.n_identity), "n_expression": int(head.n_expression),
            "topology_sha256": _sha(topo.faces.long(), topo.uv_faces.long(), topo.uvs.float()),
            "template_sha256": _sha(head.template.detach().float().cpu())}


@dataclass
class AvatarFile:
    """A loaded avatar file: avatar (float32 ``GaussianAvatar`` on the CPU), identity [n_identity], head_model
    reference, provenance and fit records (dicts), path and format metadata."""

    avatar: GaussianAvatar
    identity: torch.Tensor
    head_model: dict
    provenance: dict
    fit: dict = field(default_factory=dict)
    path: Path | None = None
    dtype: str = "float32"

    def check_head(self, head) -> None:
        """Raise ``GaspInputError`` unless ``head`` is the head model this avatar was fitted with."""
        ref = head_reference(head)
        for key in ("name", "vertices", "faces", "n_identity", "topology_sha256", "template_sha256"):
            if ref[key] != self.head_model.get(key):
                raise GaspInputError(str(self.path or "avatar"), f"made for head model {self.head_model.get('name')!r} "
                                     f"with a different {key} than the given {ref['name']!r}")


def save_avatar_file(path, avatar: GaussianAvatar, identity: torch.Tensor, head, *, source_sha256: str = "",
                     source: str = "", subject: str = "", consent: str = "unknown", owner: str = "",
                     note: str = "", fit: dict | None = None, fp16: bool = False,
                     created_utc: str | None = None, capture: dict | None = None) -> Path:
    """Write ``avatar`` (+ the subject's identity coefficients [n_identity] and the head model's reference)
    atomically. consent: one of ``CONSENT_VALUES`` (the likeness owner's consent as recorded by the caller);
    owner: the account allowed to operate the avatar (Appendix H's likeness management); fp16 halves the size."""
    import gasp_ops

    if consent not in CONSENT_VALUES:
        raise GaspInputError("consent", f"must be one of {', '.join(CONSENT_VALUES)}, got {consent!r}")
    avatar.validate()
    if identity.reshape(-1).shape[0] != head.n_identity:
        raise GaspInputError("identity", f"expected {head.n_identity} coefficients, got {identity.numel()}")
    fdt = torch.float16 if fp16 else torch.float32
    tensors = {f"gaussians.{k}": getattr(avatar, k).detach().cpu().to(fdt) for k in ATTRIBUTES}
    tensors["binding.face_ids"] = avatar.face_ids.detach().cpu().to(torch.int32)
    tensors["binding.barycentrics"] = avatar.barycentrics.detach().cpu().to(fdt)
    tensors["binding.faces"] = avatar.faces.detach().cpu().to(torch.int32)
    tensors["headmodel.identity"] = identity.detach().cpu().reshape(-1).float()
    content = _sha(*(tensors[k] for k in sorted(tensors)))
    meta = {
        "kind": KIND, "format_version": FORMAT_VERSION, "count": avatar.count, "dtype": str(fdt).replace("torch.", ""),
        "head_model": head_reference(head),
        "provenance": {
            "created_utc": created_utc or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "software": "gasp_ops", "software_version": gasp_ops.__version__, "source_sha256": source_sha256,
            "source": source, "content_sha256": content, "label": LABEL,
            "likeness": {"subject": subject, "consent": consent, "owner": owner, "note": note},
            "capture": dict(capture or {}),
        },
        "fit": fit or {},
    }
    return save_tensors(path, tensors, meta)


def _check_meta(path, meta: dict) -> None:
    """The JSON header's fields and types (a crafted header gets one line naming the file and the field)."""
    if meta.get("kind") != KIND:
        raise GaspInputError(str(path), "not a GASP avatar file")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise GaspInputError(f"{path}: format_version", f"must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise GaspInputError(str(path), f"format version {version} is newer than this software reads "
                             f"({FORMAT_VERSION})")
    for key, kind in (("provenance", dict), ("head_model", dict), ("fit", dict), ("dtype", str)):
        if key not in meta:
            if key in ("fit", "dtype"):
                continue
            raise GaspInputError(f"{path}: {key}", "missing from the metadata header")
        if not isinstance(meta[key], kind):
            raise GaspInputError(f"{path}: {key}", f"must be a JSON {'object' if kind is dict else 'string'}, "
                                 f"got {type(meta[key]).__name__}")
    if not isinstance(meta["provenance"].get("content_sha256"), str):
        raise GaspInputError(f"{path}: provenance.content_sha256", "missing or not a string")


def load_avatar_file(path, head=None) -> AvatarFile:
    """Read an avatar file (float32 on the CPU). With ``head``, also check it is the avatar's head model.

    Every attribute is range-checked (``gasp_ops.plausible``): finite but absurd values are refused, naming the
    field."""
    from gasp_ops.plausible import check_3dmm_ranges, check_avatar_ranges

    tensors, meta = load_tensors(path)
    _check_meta(path, meta)
    names = [f"gaussians.{k}" for k in ATTRIBUTES] + ["binding.face_ids", "binding.barycentrics", "binding.faces",
                                                      "headmodel.identity"]
    missing = [n for n in names if n not in tensors]
    if missing:
        raise GaspInputError(str(path), f"avatar file lacks {missing[0]}")
    if _sha(*(tensors[k] for k in sorted(tensors))) != meta["provenance"]["content_sha256"]:
        raise GaspInputError(str(path), "content hash mismatch (the file was modified or is corrupt)")
    try:
        avatar = GaussianAvatar(faces=tensors["binding.faces"].long(), face_ids=tensors["binding.face_ids"].long(),
                                barycentrics=tensors["binding.barycentrics"].float(),
                                **{k: tensors[f"gaussians.{k}"].float() for k in ATTRIBUTES})
    except GaspInputError as exc:
        raise GaspInputError(f"{path}: {exc.name}", exc.problem) from None
    check_avatar_ranges(avatar, str(path))
    check_3dmm_ranges(str(path), identity=tensors["headmodel.identity"].float())
    out = AvatarFile(avatar=avatar, identity=tensors["headmodel.identity"].float(), head_model=meta["head_model"],
                     provenance=meta["provenance"], fit=meta.get("fit", {}), path=Path(path),
                     dtype=meta.get("dtype", "float32"))
    if head is not None:
        out.check_head(head)
    return out
