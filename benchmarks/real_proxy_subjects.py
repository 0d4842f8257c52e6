"""The two held-out ``real_proxy`` people of the main job (900 = generator identity 0, 901 = identity 1) as frame
tables, without Dagster and without dlib: for a bare GPU machine (issue 17's time-vs-quality curve).

    python3 benchmarks/real_proxy_subjects.py --root /tmp/gtq --size 256     # prints the two frames.parquet paths

Each person is written by ``gasp_ops.capture.writer.write_nersemble_v2_subject`` (the call the capture assets make:
``real_proxy`` look, short hair, the default rig's first ``--cameras`` cameras, ``--frames`` frames of
``--size`` px) and read back by ``gasp_ops.capture.benchmark_subject.read_benchmark_subject`` (the provided alpha
maps and tracking), as the main job reads 901 (``embedded_benchmark_frames``). Difference from the main job: there
900 is tracked by the tracker from dlib's 68 landmarks (``embedded_capture_frames``), a model the GPU machine does
not have; here both use the generator's tracking. Same identities, cameras and expressions otherwise.
Writes ``<root>/nersemble/<id>`` (the source) and ``<root>/capture/<id>/frames.parquet``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: subject folder -> identity index of the real_proxy generator (as the capture assets number them).
SUBJECTS = {900: 0, 901: 1}


def prepare(root, head, size: int, cameras: int = 4, frames: int = 4, log=print) -> list[Path]:
    """Write and read both people under ``root``; returns their frames.parquet paths (900, 901)."""
    from gasp_ops.capture.benchmark_subject import read_benchmark_subject
    from gasp_ops.capture.writer import DEFAULT_RIG, write_nersemble_v2_subject
    from gasp_ops.errors import GaspInputError

    root = Path(root)
    rig = dict(list(DEFAULT_RIG.items())[: max(1, min(cameras, len(DEFAULT_RIG)))])
    tables = []
    for subject, identity in SUBJECTS.items():
        write_nersemble_v2_subject(root / "nersemble", subject, head=head, rig=rig, image_size=size,
                                   num_frames=frames, supersample=1, identity_index=identity)
        report = read_benchmark_subject(root / "nersemble", subject, root / "capture", head)
        for e in report.errors:
            log(f"{subject}: {e}")
        if report.table_path is None:
            raise GaspInputError(str(root / "nersemble"), f"subject {subject}: nothing could be read")
        tables.append(report.table_path)
    return tables


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="work folder (nersemble/ and capture/ are written under it)")
    ap.add_argument("--size", type=int, default=256, help="frame size in px")
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--frames", type=int, default=4)
    args = ap.parse_args(argv)

    from gasp_ops.headmodel.procedural import ProceduralHead

    for path in prepare(args.root, ProceduralHead(), args.size, args.cameras, args.frames,
                        log=lambda m: print(m, file=sys.stderr)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
