"""Argument checks of the ``gasp`` commands, run before any expensive work (one ``GaspInputError`` line each).

Order for ``enroll``: ``--consent`` first, then the numbers (``--image-size``, ``--steps``), the input (exists;
a photo's pixel count from its header; ``--setting`` possible for it: one photo or one video is one camera), and
the output (``gasp_ops.io.output_paths.check_output``: not an input, a folder, writable, room on its filesystem).
``render`` / ``export-ply`` / ``preview`` check their numbers, inputs and outputs the same way; frame indices and
counts are checked against the loaded parameters (``check_frame_index``, ``check_render_memory``).
"""

from __future__ import annotations

from pathlib import Path

from gasp_ops.errors import GaspInputError

IMAGE_SIZE_RANGE = (16, 4096)
FPS_RANGE = (1, 240)
TURNTABLE_FRAMES_RANGE = (1, 3600)
STEPS_RANGE = (0, 1_000_000)
#: Rendered frames are held in memory before they are written: refuse more than this many bytes of them.
RENDER_MEMORY_BYTES = 4_000_000_000
#: Cameras a setting needs (a photo or a video is one camera).
SETTING_MIN_CAMERAS = {"single_image": 1, "monocular": 1, "multi_camera": 2, "three_frame": 3}
_MB = 1_000_000


def int_in_range(flag: str, value, lo: int, hi: int) -> int:
    """``value`` as an int within [lo, hi]; else one line naming ``flag``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise GaspInputError(flag, f"must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def head_inputs(args) -> list:
    """The FLAME files a command reads (None entries for the procedural head)."""
    return [getattr(args, k, None) for k in ("flame_model", "flame_uv", "flame_masks", "flame_landmarks")]


#: Numeric columns of a frame table (``gasp_ops.capture.frame_table``) and their widths (None: the head model's).
FRAME_TABLE_NUMBERS = {"K": 9, "world_to_cam": 16, "rotation": 3, "translation": 3, "neck": 3, "jaw": 3, "eyes": 6,
                       "expression": None, "identity": None, "width": 1, "height": 1, "frame": 1}


def _table_cameras(source: Path) -> int:
    """Check a frames folder's table (present, rows, numeric columns of the right widths); its camera count."""
    from gasp_ops.io.table_columns import float_column, require_columns, require_rows
    from gasp_ops.io.tables import read_parquet

    table = source / "frames.parquet" if source.is_dir() else source
    if not table.is_file():
        raise GaspInputError(str(source), "no frames.parquet in this folder (preprocess the capture first)")
    t = read_parquet(table)
    require_rows(t, str(table))
    require_columns(t, str(table), ["camera", "image_path", "matte_path", *FRAME_TABLE_NUMBERS])
    for column, width in FRAME_TABLE_NUMBERS.items():
        float_column(t, column, str(table), width)
    return int(t["camera"].astype(str).nunique())


def check_enroll_source(source, setting: str | None) -> int:
    """Check the enrolment input and that ``setting`` is possible with it; returns a rough size estimate (bytes)
    of the preprocessed frames the enrolment will write."""
    from gasp_ops.capture.phone import IMAGE_SUFFIXES
    from gasp_ops.io.image_limits import check_frame_pixels, check_image_pixels

    source = Path(source)
    if not source.exists():
        raise GaspInputError(str(source), "not found")
    if source.is_dir() or source.suffix.lower() == ".parquet":
        cameras, what, estimate = _table_cameras(source), "this frame table", 0
    elif source.suffix.lower() in IMAGE_SUFFIXES:
        check_image_pixels(source)
        cameras, what, estimate = 1, "one photo", 4 * _MB
    else:
        from gasp_ops.capture.video import video_info

        _, width, height = video_info(source)
        check_frame_pixels(str(source), width, height)
        cameras, what, estimate = 1, "one video", 150 * _MB
    need = SETTING_MIN_CAMERAS.get(setting or "single_image", 1)
    if cameras < need:
        raise GaspInputError("--setting", f"{setting} needs at least {need} cameras; {what} ({source}) has "
                             f"{cameras}: use single_image or monocular")
    return estimate


def check_consent(value: str) -> None:
    """``--consent`` is one of the avatar file's consent values."""
    from gasp_ops.avatar_file import CONSENT_VALUES

    if value not in CONSENT_VALUES:
        raise GaspInputError("--consent", f"must be one of {', '.join(CONSENT_VALUES)}, got {value!r}")


def check_enroll(args, prior_path) -> None:
    """Everything ``gasp enroll`` can check before loading the prior and preprocessing (see module doc).
    prior_path: the prior file the command may read (an input the output must not replace)."""
    from gasp_ops.io.output_paths import check_output

    check_consent(args.consent)
    if args.image_size is not None:
        int_in_range("--image-size", args.image_size, *IMAGE_SIZE_RANGE)
    for s in args.steps or ():
        int_in_range("--steps", s, *STEPS_RANGE)
    estimate = check_enroll_source(args.input, args.setting)
    check_output(args.out, kind="folder", inputs=[args.input, prior_path, *head_inputs(args)],
                 estimate_bytes=estimate + 20 * _MB, writer="gasp enroll")


def check_render(args) -> None:
    from gasp_ops.io.output_paths import check_output

    int_in_range("--size", args.size, *IMAGE_SIZE_RANGE)
    int_in_range("--fps", args.fps, *FPS_RANGE)
    int_in_range("--frames", args.frames, *TURNTABLE_FRAMES_RANGE)
    frames = 1 if args.params else args.frames  # with --params the count is checked once they are loaded
    check_render_memory(frames, args.size)
    raw = frames * args.size * args.size * 3
    inputs = [args.avatar, args.params, *head_inputs(args)]
    if Path(args.out).suffix.lower() == ".mp4":
        check_output(args.out, kind="file", suffixes=(".mp4",), inputs=inputs, estimate_bytes=raw // 10,
                     writer="gasp render")
    else:
        check_output(args.out, kind="folder", inputs=inputs, estimate_bytes=raw, writer="gasp render (.mp4 or a "
                     "folder of PNGs)")


def check_render_memory(frames: int, size: int) -> None:
    need = frames * size * size * 3
    if need > RENDER_MEMORY_BYTES:
        raise GaspInputError("--frames/--size", f"{frames} frames of {size}x{size} px would hold "
                             f"{need / 1e9:.1f} GB in memory (limit {RENDER_MEMORY_BYTES / 1e9:.0f} GB)")


def check_export_ply(args) -> None:
    from gasp_ops.io.output_paths import check_output

    if not args.params and args.frame != 0:
        raise GaspInputError("--frame", "selects a frame of --params; without --params there is one (neutral) frame")
    check_output(args.out, kind="file", suffixes=(".ply", ".splat"),
                 inputs=[args.avatar, args.params, *head_inputs(args)], estimate_bytes=10 * _MB,
                 writer="gasp export-ply")


def check_frame_index(flag: str, index: int, count: int, source) -> int:
    """``index`` within [0, count); negative indices are refused (no counting from the end)."""
    if not 0 <= index < count:
        raise GaspInputError(flag, f"{index} is not a frame of {source} (it has frames 0..{count - 1})")
    return index


def check_preview(args) -> None:
    from gasp_ops.io.output_paths import check_output

    for flag, value in (("--size", args.size), ("--uv-resolution", args.uv_resolution)):
        if value is not None:
            int_in_range(flag, value, *IMAGE_SIZE_RANGE)
    if args.identities is not None:
        int_in_range("--identities", args.identities, 1, 64)
    check_output(args.out, kind="file", suffixes=(".png",), inputs=head_inputs(args), estimate_bytes=10 * _MB,
                 writer="gasp preview")
