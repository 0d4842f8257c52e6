"""Head-model assets: Gaussian counts of the UV binding, and a rendered contact sheet of the head model."""


import time

import dagster as dg
import pandas as pd

from assets_defs.metadata import image_metadata
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.head_preview import render_head_preview
from gasp_ops.io.images import save_png
from gasp_ops.io.tables import write_parquet

GROUP = "head_model"


@dg.asset(group_name=GROUP, kinds={"pytorch", "parquet"})
def uv_binding_counts(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset,
                      head_model: HeadModelResource) -> dg.MaterializeResult:
    """Gaussians per UV-map resolution for the configured head model (paper's FLAME: 2,926 / 11,758 / 46,928 /
    187,776 at 64 / 128 / 256 / 512)."""
    p = preset.get()
    head = head_model.build()
    rows = []
    for res in p.binding_report_resolutions:
        t0 = time.perf_counter()
        count = uv_binding(head.topology, res).count
        rows.append({"head_model": head.name, "uv_resolution": res, "num_gaussians": count,
                     "texel_coverage": count / res**2, "seconds": time.perf_counter() - t0})
        context.log.info(f"UV {res}x{res}: {count} Gaussians")
    frame = pd.DataFrame(rows)
    path = write_parquet(data_root.path(p.name, "head_model", "uv_binding_counts.parquet"), frame)
    return dg.MaterializeResult(metadata={
        "table": dg.MetadataValue.md(frame.to_markdown(index=False)),
        "path": dg.MetadataValue.path(str(path)),
        **{f"gaussians_at_{r}": int(c) for r, c in zip(frame.uv_resolution, frame.num_gaussians)},
    })


@dg.asset(group_name=GROUP, kinds={"pytorch", "png"}, check_specs=[
    dg.AssetCheckSpec("head_visible_in_every_view", asset="head_model_preview",
                      description="every view of every identity shows the head (alpha coverage >= 5% of the frame)"),
])
def head_model_preview(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset,
                       compute: ComputeDevice, head_model: HeadModelResource):
    """Contact sheet: the mean head and random identities/expressions as UV-bound Gaussians, front to back."""
    p = preset.get()
    head = head_model.build()
    t0 = time.perf_counter()
    preview = render_head_preview(head, p.uv_resolution, p.image_size, p.preview_identities, p.preview_views,
                                  seed=0, device=compute.torch_device())
    seconds = time.perf_counter() - t0
    path = save_png(data_root.path(p.name, "head_model", "preview.png"), preview.sheet)
    context.log.info(f"wrote {path} ({preview.stats['num_gaussians']} Gaussians, {seconds:.1f} s)")
    yield dg.MaterializeResult(metadata={
        **image_metadata(preview.sheet, path, "contact_sheet"),
        **{k: v for k, v in preview.stats.items()},
        "seconds": seconds,
    })
    ok = preview.stats["min_view_coverage"] >= 0.05
    yield dg.AssetCheckResult(check_name="head_visible_in_every_view", passed=ok,
                              metadata={"min_view_coverage": preview.stats["min_view_coverage"]})
