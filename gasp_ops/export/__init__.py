"""Exports of a fitted avatar: a posed frame as a standard 3DGS PLY (``ply``), turntable and re-enactment mp4s
(``video``)."""

from gasp_ops.export.ply import read_ply, write_ply, export_avatar_ply
from gasp_ops.export.video import (render_reenactment, render_turntable, turntable_strip, write_mp4,
                                   write_reenactment_mp4, write_turntable_mp4)

__all__ = ["export_avatar_ply", "read_ply", "render_reenactment", "render_turntable", "turntable_strip", "write_mp4",
           "write_ply", "write_reenactment_mp4", "write_turntable_mp4"]
