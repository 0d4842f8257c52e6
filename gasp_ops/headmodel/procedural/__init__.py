"""ProceduralHead: the built-in, license-free, code-generated head model (no downloaded asset)."""

from gasp_ops.headmodel.procedural.expression_basis import EXPRESSION_NAMES
from gasp_ops.headmodel.procedural.model import ProceduralHead, build_arrays
from gasp_ops.headmodel.procedural.uv_layout import uv_statistics

__all__ = ["EXPRESSION_NAMES", "ProceduralHead", "build_arrays", "uv_statistics"]
