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


def register_subjects(instance, subjects) -> list[str]:
    """Add ``subjects`` to the instance's dynamic ``subjects`` partitions, each checked first (a key, never a path:
    ``gasp_ops.io.safe_paths.KEY_PATTERN``); returns the ones that were new. Every place that creates subject
    partitions goes through here."""
    from gasp_ops.io.safe_paths import check_key

    keys = [check_key("subject", s) for s in subjects]
    new = [s for s in keys if not instance.has_dynamic_partition(subjects_partitions.name, s)]
    if new:
        instance.add_dynamic_partitions(subjects_partitions.name, new)
    return new
