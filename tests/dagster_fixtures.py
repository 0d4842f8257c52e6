"""Dagster-side test fixtures: a tiny embedded capture subject materialised into a temporary data root."""

import dagster as dg


def materialise_tiny_capture(tmp_path):
    """The embedded real_proxy subject at toy scale (3 cameras x 2 frames at 64 px, tracker at 0.1 x its iterations)
    under ``tmp_path`` -> (resources with that data root, the ephemeral instance that holds the materialisations)."""
    from assets_defs.capture_assets import embedded_capture_frames, embedded_capture_subject
    from assets_defs.resources import DataRoot, default_resources

    res = {**default_resources(), "data_root": DataRoot(root=str(tmp_path))}
    instance = dg.DagsterInstance.ephemeral()
    cap = dg.materialize([embedded_capture_subject, embedded_capture_frames], resources=res, instance=instance,
                         run_config={"ops": {"embedded_capture_subject": {"config": {"cameras": 3, "num_frames": 2,
                                                                                     "image_size": 64}},
                                             "embedded_capture_frames": {"config": {"iteration_scale": 0.1}}}})
    assert cap.success
    return res, instance
