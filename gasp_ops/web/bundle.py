"""The web animation bundle (docs/web_bundle.md): one safetensors file the browser viewer reads and poses itself.

Canonical (triangle-local) Gaussians + their triangle binding + the posed mesh vertices of every frame; the viewer
applies ``gasp_ops.avatar.pose``'s maths per frame (web_viewer/src/posing.js on the CPU, the same maths in the
vertex shader). Tensors (little-endian; N Gaussians, F faces, V vertices, T frames):

  gaussians.offsets [N, 3] f16, gaussians.log_scales [N, 3] f16, gaussians.quats [N, 4] f16 (unit, w x y z),
  gaussians.colors [N, 3] f16 (RGB in [0, 1]), gaussians.opacity_logits [N] f16        triangle-local attributes
  binding.face_ids [N] i32, binding.barycentrics [N, 3] f16, mesh.faces [F, 3] i32       binding
and the animation in one of two forms (metres, head frame: +x subject's left, +y up, +z out of the face):
  "model" (default): the head model evaluated in the browser from 3DMM parameters, as ``HeadModel.forward``:
    model.shaped [V, 3] f32 (template + identity blendshapes of this avatar), model.expression_basis [V, 3, E] f32,
    model.joint_regressor [5, V] f32, model.skin_weights [V, 5] f32, model.pose_basis [36, V*3] f32 (optional),
    frames.expression [T, E] f32, frames.pose [T, 18] f32 (rotation 3, translation 3, neck 3, jaw 3, eyes 6)
  "vertices" (``--bake-vertices``): frames.vertices [T, V, 3] i16: vertex = frames.vertex_min + (q + 32768) *
    frames.vertex_step (both [3] f32)
JSON metadata ("json" key): kind, format_version, count, faces, vertices, frames, fps, animation (source),
camera (target [3], distance, fov_deg, elevation_deg: the frontal framing of ``gasp_ops.export.video.head_orbit``),
avatar (name, content_sha256, label, likeness).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gasp_ops.avatar import ATTRIBUTES, GaussianAvatar
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.io.tensors import load_tensors, save_tensors

KIND = "gasp_web_bundle"
FORMAT_VERSION = 1
BUNDLE_NAME = "bundle.safetensors"
FOV_DEG = 18.0  # the turntable's field of view (gasp_ops.export.video.head_orbit)
HEAD_FRACTION = 0.68
ELEVATION_DEG = 5.0
_Q = 65535.0  # int16 levels


@dataclass
class WebBundle:
    """A read bundle: avatar (float32 ``GaussianAvatar``), vertices [T, V, 3] float32 (decoded), metadata."""

    avatar: GaussianAvatar
    vertices: torch.Tensor
    meta: dict

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])


def quantise_vertices(vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """vertices [T, V, 3] -> (int16 [T, V, 3], vmin [3], step [3]); decoding error <= step / 2 per axis."""
    v = vertices.detach().double()
    lo = v.reshape(-1, 3).min(0).values
    hi = v.reshape(-1, 3).max(0).values
    step = ((hi - lo) / _Q).clamp_min(1e-12)
    q = torch.round((v - lo) / step).clamp(0, _Q) - 32768.0
    return q.to(torch.int16), lo.float(), step.float()


def dequantise_vertices(q: torch.Tensor, vmin: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    return (vmin.double() + (q.double() + 32768.0) * step.double()).float()


def frame_vertices(head, identity: torch.Tensor, expressions: torch.Tensor, poses: HeadPose | None,
                   chunk: int = 32) -> torch.Tensor:
    """Posed mesh vertices [T, V, 3] (float32, CPU) for expressions [T, E] and poses (batch T or None)."""
    T = expressions.shape[0]
    if T < 1:
        raise GaspInputError("expressions", "need at least one frame")
    ident = identity.reshape(1, -1).float()
    out = []
    with torch.no_grad():
        for s in range(0, T, chunk):
            e = expressions[s:s + chunk].float()
            p = None if poses is None else poses[s:s + e.shape[0]].to(dtype=torch.float32)
            out.append(head(ident.expand(e.shape[0], -1), e, p).cpu())
    return torch.cat(out)


POSE_FIELDS = (("rotation", 3), ("translation", 3), ("neck", 3), ("jaw", 3), ("eyes", 6))


def model_tensors(head, identity: torch.Tensor, expressions: torch.Tensor, poses: HeadPose | None) -> dict:
    """The "model" animation: this avatar's head model (identity folded into ``model.shaped``) and the 3DMM
    parameters of every frame (expressions [T, E], poses batch T or None = rest)."""
    from gasp_ops.headmodel.lbs import blend_shapes

    T = expressions.shape[0]
    if T < 1:
        raise GaspInputError("expressions", "need at least one frame")
    if expressions.shape[-1] != head.n_expression:
        raise GaspInputError("expressions", f"expected [T, {head.n_expression}], got {list(expressions.shape)}")
    poses = poses if poses is not None else HeadPose.zeros(T)
    with torch.no_grad():
        ident = identity.reshape(1, -1).float().cpu()
        f32 = lambda x: x.detach().float().cpu().contiguous()  # noqa: E731
        shaped = f32(head.template) + blend_shapes(ident, f32(head.identity_basis))[0]
        t = {"model.shaped": shaped, "model.expression_basis": f32(head.expression_basis),
             "model.joint_regressor": f32(head.joint_regressor), "model.skin_weights": f32(head.skin_weights),
             "frames.expression": f32(expressions),
             "frames.pose": torch.cat([f32(getattr(poses, k)).reshape(T, w) for k, w in POSE_FIELDS], dim=1)}
        if getattr(head, "pose_basis", None) is not None:
            t["model.pose_basis"] = f32(head.pose_basis)
    return t


def model_vertices(t: dict) -> torch.Tensor:
    """Posed vertices [T, V, 3] of a "model" animation (``model_tensors``): what the browser computes
    (web_viewer/src/posing.js modelVertices), in torch with ``HeadModel.forward``'s maths."""
    from gasp_ops.headmodel.lbs import blend_shapes, linear_blend_skinning, pose_rotations

    pose_t = t["frames.pose"].float()
    widths = [w for _, w in POSE_FIELDS]
    pose = HeadPose(**dict(zip([k for k, _ in POSE_FIELDS], torch.split(pose_t, widths, dim=1))))
    with torch.no_grad():
        v_shaped = t["model.shaped"][None] + blend_shapes(t["frames.expression"].float(), t["model.expression_basis"])
        joints = torch.einsum("jv,bvc->bjc", t["model.joint_regressor"], v_shaped)
        posed = linear_blend_skinning(v_shaped, joints, pose_rotations(pose), t["model.skin_weights"],
                                      t.get("model.pose_basis"))
    return posed + pose.translation[:, None, :]


def default_camera(head) -> dict:
    """The frontal framing of the turntable (``head_orbit``): target [3], distance (m), fov_deg, elevation_deg."""
    from gasp_ops.synthetic.cameras import head_framing

    target, height = head_framing(head)
    distance = 0.5 * height / HEAD_FRACTION / math.tan(math.radians(FOV_DEG) / 2)
    return {"target": [float(t) for t in target], "distance": float(distance), "fov_deg": FOV_DEG,
            "elevation_deg": ELEVATION_DEG}


def bundle_tensors(avatar: GaussianAvatar, vertices: torch.Tensor | None = None,
                   model: dict | None = None) -> dict[str, torch.Tensor]:
    """The bundle's tensors for an avatar and its animation: baked per-frame vertices [T, V, 3], or ``model``
    (``model_tensors``)."""
    if (vertices is None) == (model is None):
        raise GaspInputError("animation", "give either per-frame vertices or a head model animation")
    V = vertices.shape[1] if vertices is not None else model["model.shaped"].shape[0]
    if vertices is not None and (vertices.ndim != 3 or vertices.shape[-1] != 3):
        raise GaspInputError("vertices", f"expected [T, V, 3], got {list(vertices.shape)}")
    if int(avatar.faces.max()) >= V:
        raise GaspInputError("vertices", f"mesh has {V} vertices but the avatar's faces index up to "
                             f"{int(avatar.faces.max())}")
    h = torch.float16
    t = {f"gaussians.{k}": getattr(avatar, k).detach().cpu().float() for k in ATTRIBUTES}
    t["gaussians.quats"] = torch.nn.functional.normalize(t["gaussians.quats"], dim=-1)
    t = {k: v.to(h) for k, v in t.items()}
    t["binding.face_ids"] = avatar.face_ids.detach().cpu().to(torch.int32)
    t["binding.barycentrics"] = avatar.barycentrics.detach().cpu().to(h)
    t["mesh.faces"] = avatar.faces.detach().cpu().to(torch.int32)
    if vertices is not None:
        q, lo, step = quantise_vertices(vertices)
        t["frames.vertices"], t["frames.vertex_min"], t["frames.vertex_step"] = q, lo, step
    else:
        t.update(model)
    return t


def write_web_bundle(path, avatar: GaussianAvatar, vertices: torch.Tensor | None = None, *, fps: float,
                     camera: dict, animation: dict, avatar_info: dict | None = None, model: dict | None = None) -> Path:
    """Write the bundle file atomically. Animation: vertices [T, V, 3] (metres, head frame; baked) or model
    (``model_tensors``: the browser evaluates the head model); camera: ``default_camera``; animation: where the
    frames come from (e.g. {"source": "builtin"}); avatar_info: name, hash, label..."""
    if not fps > 0:
        raise GaspInputError("fps", f"must be > 0, got {fps!r}")
    tensors = bundle_tensors(avatar, vertices, model)
    if vertices is not None:
        T, V, form = int(vertices.shape[0]), int(vertices.shape[1]), "vertices"
    else:
        T, V, form = int(model["frames.expression"].shape[0]), int(model["model.shaped"].shape[0]), "model"
    meta = {"kind": KIND, "format_version": FORMAT_VERSION, "count": avatar.count, "faces": int(avatar.faces.shape[0]),
            "vertices": V, "frames": T, "fps": float(fps),
            "coordinates": "metres; head frame: +x subject's left, +y up, +z out of the face",
            "camera": camera, "animation": {**animation, "form": form}, "avatar": avatar_info or {}}
    return save_tensors(path, tensors, meta)


def read_web_bundle(path) -> WebBundle:
    """Read a bundle written by ``write_web_bundle`` (float32 avatar on the CPU, decoded vertices)."""
    tensors, meta = load_tensors(path)
    if meta.get("kind") != KIND:
        raise GaspInputError(str(path), "not a GASP web bundle")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise GaspInputError(str(path), f"bundle format {meta.get('format_version')} is newer than this software")
    baked = "frames.vertices" in tensors
    need = [f"gaussians.{k}" for k in ATTRIBUTES] + ["binding.face_ids", "binding.barycentrics", "mesh.faces"] + (
        ["frames.vertices", "frames.vertex_min", "frames.vertex_step"] if baked else
        ["model.shaped", "model.expression_basis", "model.joint_regressor", "model.skin_weights",
         "frames.expression", "frames.pose"])
    missing = [n for n in need if n not in tensors]
    if missing:
        raise GaspInputError(str(path), f"bundle lacks {missing[0]}")
    avatar = GaussianAvatar(faces=tensors["mesh.faces"].long(), face_ids=tensors["binding.face_ids"].long(),
                            barycentrics=tensors["binding.barycentrics"].float(),
                            **{k: tensors[f"gaussians.{k}"].float() for k in ATTRIBUTES})
    if baked:
        verts = dequantise_vertices(tensors["frames.vertices"], tensors["frames.vertex_min"],
                                    tensors["frames.vertex_step"])
    else:
        verts = model_vertices(tensors)
    return WebBundle(avatar=avatar, vertices=verts, meta=meta)


def export_web(out_dir, avatar_file, head, expressions: torch.Tensor | None = None, poses: HeadPose | None = None,
               *, fps: float = 30.0, animation: dict | None = None, with_viewer: bool = True,
               bake_vertices: bool = False) -> Path:
    """Write folder ``out_dir`` as one unit: ``bundle.safetensors`` (+ the viewer page and script when
    ``with_viewer``, so the folder is a static site). avatar_file: a loaded ``AvatarFile``; expressions [T, E] and
    poses (batch T) drive it, or the built-in expressions when None. The browser evaluates the head model from
    these parameters, or, with ``bake_vertices``, reads baked per-frame vertices. Returns the bundle path."""
    from gasp_ops.io.staged_dir import staged_directory
    from gasp_ops.web.expressions import builtin_expressions

    out_dir = Path(out_dir)
    for src in (avatar_file.path,):
        if src is not None and Path(src).resolve().is_relative_to(out_dir.resolve()):
            raise GaspInputError(str(out_dir), f"is replaced as a whole and contains the input {src}; choose another")
    if expressions is None:
        expressions, poses = builtin_expressions(head)
        animation = {"source": "builtin", "beats": "smile, jaw, blink, brows, mouth left/right, pucker, frown"}
    if bake_vertices:
        vertices, model = frame_vertices(head, avatar_file.identity, expressions, poses), None
    else:
        vertices, model = None, model_tensors(head, avatar_file.identity, expressions, poses)
    prov = avatar_file.provenance or {}
    info = {"name": Path(avatar_file.path).name if avatar_file.path else "", "content_sha256": prov.get("content_sha256", ""),
            "label": prov.get("label", ""), "likeness": prov.get("likeness", {}), "head_model": avatar_file.head_model}
    with staged_directory(out_dir) as stage:
        write_web_bundle(stage / BUNDLE_NAME, avatar_file.avatar, vertices, fps=fps, camera=default_camera(head),
                         animation=animation or {"source": "params"}, avatar_info=info, model=model)
        if with_viewer:
            from gasp_viewer import copy_viewer

            copy_viewer(stage)
    return out_dir / BUNDLE_NAME
