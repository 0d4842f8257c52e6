"""Partitions, defined once: subjects (dynamic) x setting (static) as a multi-partition."""

from __future__ import annotations

import dagster as dg

#: Fitting settings of the paper (§6, Appendix D/E).
SETTINGS: tuple[str, ...] = ("monocular", "single_image", "multi_camera", "three_frame")

subjects_partitions = dg.DynamicPartitionsDefinition(name="subjects")
settings_partitions = dg.StaticPartitionsDefinition(list(SETTINGS))
subject_setting_partitions = dg.MultiPartitionsDefinition(
    {"subject": subjects_partitions, "setting": settings_partitions}
)
