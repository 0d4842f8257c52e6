"""What a prior holds: its first training people, ground truth above decoded, at four azimuths (CPU, ~1 min).

    python3 benchmarks/prior_decoded_sheet.py                       # the shipped prior -> docs/shipped_prior_decoded.png
    python3 benchmarks/prior_decoded_sheet.py --prior PATH --people 4 --out sheet.png

Ground truth: the procedural generator's identities 0 .. people-1 of seed 0 in the domain of the prior's training
people (from its ``identity_ids``: ``lit_00000`` ... = prior_lit, the shipped prior's; ``syn_00000`` ... = prior;
checked name by name), neutral expression, rendered as its training data was (texture 256, 3x supersampling).
Decoded: the prior's code of that person through its decoder (``GaussianPrior.avatar``), posed on the same head and
rendered from the same cameras (OpenCV convention, azimuth 0 = frontal, elevation 0) over black. Nothing is fitted:
this is the prior alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gasp_ops.errors import GaspInputError

AZIMUTHS = (0.0, 45.0, 90.0, 180.0)


def decoded_rows(prior_path, people: int, size: int, texture: int = 256) -> tuple[list, list[str]]:
    """(rows of [H, W, 3] float images in [0, 1]: per person its ground truth then its decoded views at
    ``AZIMUTHS``; the row labels)."""
    import torch

    from gasp_ops.fitting.inputs import from_synthetic
    from gasp_ops.fitting.scene import posed_vertices
    from gasp_ops.headmodel.pose import HeadPose
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.checkpoint import load_prior
    from gasp_ops.render.render import render
    from gasp_ops.runtime.posing import FastPoser
    from gasp_ops.synthetic.assets import build_assets
    from gasp_ops.synthetic.cameras import fixed_cameras
    from gasp_ops.synthetic.dataset_plan import ID_PREFIX, identity_id
    from gasp_ops.synthetic.identity import sample_identity

    head = ProceduralHead()
    prior, meta = load_prior(prior_path, head, "cpu")
    known = list(meta.get("identity_ids") or [])
    domain = next((d for d, p in ID_PREFIX.items() if known and known[0].startswith(f"{p}_")), "prior")
    if people > prior.num_subjects:
        raise GaspInputError("--people", f"{people} > the prior's {prior.num_subjects} training people")
    n = len(AZIMUTHS)
    cams = fixed_cameras(AZIMUTHS, [0.0] * n, size, head=head)
    pose = HeadPose.zeros(n)
    rows, labels = [], []
    for s in range(people):
        ident = sample_identity(s, 0, head, domain=domain)
        name = identity_id(ident.index, ident.domain)
        if known and known[s] != name:
            raise GaspInputError(str(prior_path), f"training person {s} is {known[s]!r}, not the generator's {name!r} "
                                 "(a prior of another data plan)")
        inputs, views = from_synthetic(head, ident, cams, torch.zeros(n, head.n_expression), pose, domain=domain,
                                       supersample=3, assets=build_assets(head, ident, texture))
        with torch.no_grad():
            out = render(FastPoser(prior.avatar(subject=s))(posed_vertices(head, inputs)), inputs.cameras)
        rows.append([v.numpy() for v in views.rgb.clamp(0, 1)])
        rows.append([v.numpy() for v in out.rgb.clamp(0, 1)])
        labels += [f"truth {name}", f"decoded {name}"]
    return rows, labels


def main(argv=None) -> None:
    from gasp_ops.io.images import save_png
    from gasp_ops.io.output_paths import check_output
    from gasp_ops.viz.contact_sheet import contact_sheet

    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", default=None, help="a prior file (default: the shipped one, SHA-256 checked)")
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--size", type=int, default=192, help="px per view")
    ap.add_argument("--out", default=str(repo / "docs" / "shipped_prior_decoded.png"))
    args = ap.parse_args(argv)
    try:
        if args.people < 1 or args.size < 32:
            raise GaspInputError("--people / --size", f"need >= 1 person and >= 32 px, got {args.people} / {args.size}")
        if args.prior is None:
            from gasp_ops.prior.shipped import shipped_prior_path

            args.prior = shipped_prior_path()
        if not Path(args.prior).is_file():
            raise GaspInputError(args.prior, "prior file not found")
        out = check_output(args.out, kind="file", suffixes=(".png",), inputs=[args.prior])
        rows, labels = decoded_rows(args.prior, args.people, args.size)
    except GaspInputError as exc:
        sys.exit(f"error: {exc}")
    sheet = contact_sheet(rows, row_labels=labels, col_labels=[f"azimuth {a:.0f}°" for a in AZIMUTHS])
    print(save_png(out, sheet))


if __name__ == "__main__":
    main()
