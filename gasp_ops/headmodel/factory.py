"""Build the configured head model by name."""

from __future__ import annotations

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel

HEAD_MODELS = ("procedural", "flame")


def build_head_model(kind: str = "procedural", flame_model_path: str | None = None, flame_uv_path: str | None = None,
                     flame_masks_path: str | None = None, flame_landmarks_path: str | None = None) -> HeadModel:
    """``procedural`` (built in, the default) or ``flame`` (needs the user's FLAME .pkl path)."""
    if kind == "procedural":
        from gasp_ops.headmodel.procedural import ProceduralHead

        return ProceduralHead()
    if kind == "flame":
        if not flame_model_path:
            raise GaspInputError("flame_model_path", "head model 'flame' needs the path of a FLAME .pkl model file")
        from gasp_ops.headmodel.flame import FlameHead

        return FlameHead(flame_model_path, uv_obj_path=flame_uv_path, masks_path=flame_masks_path,
                         landmark_path=flame_landmarks_path)
    raise GaspInputError("head_model", f"unknown head model {kind!r}; known: {', '.join(HEAD_MODELS)}")
