"""Head models behind one interface (``HeadModel``): the built-in ``ProceduralHead`` and ``FlameHead``."""

from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.headmodel.topology import REGIONS, HeadTopology
from gasp_ops.headmodel.procedural import ProceduralHead  # noqa: E402  (after base: it subclasses HeadModel)

__all__ = ["HeadModel", "HeadPose", "HeadTopology", "ProceduralHead", "REGIONS"]
