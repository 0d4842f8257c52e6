"""The paper's Tables 1-3 on one GPU with the shipped prior (issue 15): held-out ``real_proxy`` people, the paper's
protocol, one JSON row per fit (written as each fit finishes, so a run cut by its deadline keeps what finished).

Next session (one H200; ``benchmarks/gpu_tables.sh`` wraps the wheels, gsplat's JIT build beside the people's
renders, the deadline and the tar of the outputs). Before the calls, on this machine, put the 1,000-identity prior at
the same 4,791 steps as the 1 / 10 / 100-identity ones beside them (the shipped file of commit 9304dad)::

    git show 9304dad:gasp_models/gasp_prior_uv128_1k.safetensors > .gpu_carry/p1000_prior.safetensors

The other Tab. 3 priors (1 / 10 / 100 identities, UV 64-512) are in no repository (16 MiB of weights beside the
tree would not fit a call's 64 MiB), and neither this machine nor the device keeps files between sessions: retrain
them in the session that fits them, ``benchmarks/gpu_table3_priors.sh`` (its header: one call, the priors side by
side, fits beside or after them; they come back xz-compressed for the session's next call).

Two device calls, each with carry ``[".whl", ".gpu_carry/p1_prior.safetensors", ".gpu_carry/p10_prior.safetensors",
".gpu_carry/p100_prior.safetensors", ".gpu_carry/p1000_prior.safetensors"]`` (about 17.5 MB) and timeout_s 600::

    bash benchmarks/gpu_tables.sh single_image,monocular,enrolment 570 --commit <HASH>   # call 1: Table 1
    bash benchmarks/gpu_tables.sh ablations,prior_size,multi_camera 480 --commit <HASH>  # call 2: Tables 3, 2

(<HASH>: the commit being measured; the device copy has no .git.) Each returns ``tables_<groups>.tar`` (split into
``.tar.part.*`` of 15 MiB when larger) and ``device.txt``. If a call was cut by its deadline, a third call with the
same groups and ``--skip-done .gpu_carry/rows_call1.jsonl`` (the ``rows.jsonl`` of the cut call's tar, carried)
fits only what is missing. Then on the CPU (ID-SIM with dlib; tables, charts, contact sheets, loss curves)::

    python3 benchmarks/tables_report.py --rows <files_at of call 1>/tables_single_image+monocular.tar \\
        --rows <files_at of call 2>/tables_ablations+prior_size+multi_camera.tar --results results

Expected device time: ~9.5 min per call, ~19-20 min for both (~60-70 s to start: wheel install, gsplat's 55 s JIT
build beside the renders of the 5 people; then fits under a deadline of 560 s minus the start). Estimate from the
measured held-out fits (``gpu_heldout_fits.py``: a 500/500/100 fit at 256² with 9,900 Gaussians takes ~23 s alone,
~70 s each with 12 concurrent processes, ≈ 0.17 fits/s): call 1 = 10 GASP fits + 20 baseline fits at 3,000 steps
(~2.7 GASP-fit units each) ≈ 64 units ≈ 380 s; call 2 = 5 ablation rows (~4 units a person) + 4 prior sizes
(4 units) + Table 2 (1 + 2 x 2.7 units a person, 64 training frames) ≈ 72 units ≈ 420 s. Unmeasured: the
baselines' and multi-camera fits' per-step cost on the GPU (batch 4, densification up to 4x the Gaussians) - the
deadline keeps whatever finished, and fits run person by person, so a cut call loses its last people first.

Protocol (GASP §6, Appendix D/E, ``gasp_ops/capture/protocol.yaml``), on generated people instead of NeRSemble:
- People: ``real_proxy`` identities ``--first-subject`` .. +``--subjects`` (default 10-14: not the embedded
  subjects 0 / 1 of the main job, not the 0-9 of the earlier held-out fits; the prior never saw any real_proxy
  person: other texture statistics, directional light, colour cast, sensor noise).
- Rig: 16 cameras in a NeRSemble-like arc (``RIG``: azimuth -60..60°, three heights); the frontal camera carries the
  protocol's frontal serial; the test cameras are ``protocol.evaluation_cameras``: the 4 at the largest angle to it.
- Training frames: ``--train-frames`` expressions/poses (``sample_expressions``, seed = the person) seen by the
  frontal camera (monocular; single image = its first frame) or every ``--multi-step``-th of them by all 16 cameras
  (multi-camera). Test: ``--test-frames`` other expressions (indices never used in training) seen by the 4 test
  cameras; every setting is scored on the same test frames (unseen expressions; unseen cameras except for
  multi-camera, which trains on every camera like the paper).
- 3DMM parameters: the generator's true ones (as the NeRSemble benchmark ships its tracking; no tracker error).
- Scoring (``evaluation.avatar_eval.evaluate_avatar``): PSNR / SSIM on the head matte of every test frame, LPIPS /
  FID as available (offline weights). ID-SIM is computed on the CPU by ``tables_report.py`` (the device has no dlib)
  from renders of the *frontal* camera at the unseen test expressions (``idsim`` frames, saved per fit): dlib's HOG
  detector finds no face in the ground truth of the 45-60° test cameras (0 of 16 frames of rp010 at 256², measured)
  and only some at 15-30°, so ID-SIM there would be all "unavailable". The saved renders of the test cameras (one
  frame per camera, each another expression: ``sheet`` frames) make the contact sheets.
- Enrolment modes (issue 17, group ``enrolment``): in both Table 1 settings, GASP from the encoder's code (the
  shipped one, or ``--encoder PATH``) with 0 steps (instant), a quarter of the steps (fast: 28/147/100,
  ``gasp_ops.encoder.modes.fast_steps``) and the full 500/500/100 (encoder init); two reference rows: the earlier
  even fast split (125/125/25) and stage 1 alone from the mean code (the best a code reaches through the frozen
  decoder: the instant mode's ceiling); ``tables_report.py`` checks them against GASP (ours), the paper's
  mean-code fit.
- Methods: GASP (``default_fit_config('paper')``: 500/500/100, bf16 decoder), gaussian_avatars-style and
  flash_avatar-style with ``--baseline-steps`` (default 3,000; their loss curves come back in each row so the
  report can show whether they plateaued). Table 3 rows: the monocular GASP fit (Full = prior size 1,000 = UV 128:
  the shipped prior), the ablations of ``gasp_ops.fitting.ABLATIONS`` and one fit per ``--prior NAME=PATH``.

Smoke test on the CPU (every group, 1 person at 32 px, 1-2 steps; 18 fits in ~4 min on 2 shared cores; /tmp only)::

    OUT=/tmp/gt_sh_out PYTHON=/work/venv/bin/python bash benchmarks/gpu_tables.sh \\
        single_image,monocular,multi_camera,ablations,prior_size 400 --device cpu --size 32 --subjects 1 --workers 1 \\
        --train-frames 2 --test-frames 1 --multi-step 2 --steps 1,1,1 --baseline-steps 2 --commit smoke
    python3 benchmarks/tables_report.py --rows /tmp/gt_sh_out/tables_*.tar --results /tmp/gt_results
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Synthetic rig (name -> azimuth, elevation in degrees), a NeRSemble-like arc of 16 cameras in front of the head.
RIG: dict[str, tuple[float, float]] = {
    **{f"az{a:+03d}_el+00": (float(a), 0.0) for a in (-60, -45, -30, -15, 15, 30, 45, 60)},
    **{f"az{a:+03d}_el+20": (float(a), 20.0) for a in (-45, -20, 0, 20, 45)},
    **{f"az{a:+03d}_el-15": (float(a), -15.0) for a in (-25, 25)},
}
FRONTAL_ANGLES = (0.0, 0.0)
GROUPS = ("single_image", "monocular", "multi_camera", "ablations", "prior_size", "enrolment", "projection")
#: Tab. 3 ablation rows fitted by the ``ablations`` group (Full is the monocular GASP fit of Table 1).
ABLATION_ROWS = ("no_prior", "no_regulariser", "no_stage1", "no_stage2", "no_stage3")
#: Enrolment modes (issue 17, ``gasp_ops.encoder.modes``) fitted by the ``enrolment`` group in both Table 1 settings,
#: from the shipped encoder's code: variant -> (mode, Table 1 method label). GASP (ours) is the paper's mean-code fit.
ENROLMENT_ROWS = {"gasp_instant": ("instant", "GASP instant (encoder, 0 steps)"),
                  "gasp_fast": ("fast", "GASP fast (encoder + 1/4 steps)"),
                  "gasp_encoder": ("full", "GASP (encoder init)")}
#: Reference rows of the ``enrolment`` group (issue 17's reasons): the earlier fast split (a quarter of every stage,
#: 125 / 125 / 25, from the encoder's code) beside the current one, and stage 1 alone (the paper's mean-code start,
#: 500 steps, no decoder fine-tune or refinement): the best any code reaches through the frozen decoder, the ceiling of
#: the instant mode. variant -> Table 1 method label.
ENROLMENT_REFERENCE_ROWS = {"gasp_fast_even": "GASP fast, even split (encoder + 125/125/25)",
                            "gasp_code_only": "GASP stage 1 only (code, frozen decoder)"}
#: Photo projection (``gasp_ops.fitting.photo_projection``) in both Table 1 settings: the fits with stage 3 started
#: from the photos' projected colours, and the encoder's decoded avatar without it (instant mode before the
#: projection). variant -> (mode: None = the paper's mean-code fit, "decoded" = the encoder's code, no step and
#: no projection, else an enrolment mode; Table 1 method label).
PROJECTION_ROWS = {"gasp_projected": (None, "GASP + photo projection"),
                   "gasp_encoder_projected": ("full", "GASP (encoder init) + photo projection"),
                   "gasp_fast_projected": ("fast", "GASP fast + photo projection"),
                   "gasp_decoded": ("decoded", "GASP instant without photo projection (encoder, decode)")}
#: The variants that start from an encoder's code (their rows name the encoder's SHA-256).
ENCODER_VARIANTS = (*ENROLMENT_ROWS, "gasp_fast_even", *(v for v, (m, _) in PROJECTION_ROWS.items() if m))
#: Table 2's extra GASP row: the paper's stages 1-2 (500 / 500), then stage 3 for the rest of the baselines' step
#: budget (3,000 - 1,000 = 2,000 steps): with every camera in the input, direct refinement has the data to use more
#: steps, and the baselines get 3,000. variant -> Table 2 method label (the steps are filled in by ``fit_one``).
EQUAL_BUDGET = {"gasp_equal_steps": "GASP, baselines' step budget"}
SHIPPED = "shipped"

_W: dict = {}


def rig_cameras(size: int, head):
    """(serials [16], Cameras [16] at ``size``², frontal serial, test serials [4]) of ``RIG``; the frontal camera
    (azimuth 0, elevation 0) is named by the protocol's frontal serial, the test cameras come from
    ``gasp_ops.capture.protocol.evaluation_cameras``."""
    from gasp_ops.capture.calibration import Calibration
    from gasp_ops.capture.protocol import evaluation_cameras, load_protocol
    from gasp_ops.synthetic.cameras import fixed_cameras

    frontal = str(load_protocol()["frontal_camera"]["default"])
    rig = {frontal: FRONTAL_ANGLES, **RIG}
    serials = list(rig)
    cams = fixed_cameras([rig[s][0] for s in serials], [rig[s][1] for s in serials], size, head=head)
    calib = Calibration(Path("<synthetic rig>"), {s: cams.world_to_cam[i].double().numpy() for i, s in enumerate(serials)},
                        {s: cams.K[i].double().numpy() for i, s in enumerate(serials)}, (size, size))
    return serials, cams, frontal, evaluation_cameras(0, calib)


def frontalness(cams, serials, frontal: str) -> dict[str, float]:
    """Cosine of each camera's viewing direction with the frontal camera's (1 = frontal)."""
    import math

    from gasp_ops.capture.calibration import angle_between_cameras

    i0 = serials.index(frontal)
    w = cams.world_to_cam.double().numpy()
    return {s: math.cos(math.radians(angle_between_cameras(w[i0], w[i]))) for i, s in enumerate(serials)}


def subject_name(index: int) -> str:
    return f"rp{index:03d}"


def prepare_subject(index: int, size: int, train_frames: int, test_frames: int, multi_step: int, work: str,
                    device: str) -> str:
    """Render one person's frames (training: frontal camera x every training expression, every camera x every
    ``multi_step``-th; test: the 4 test cameras x the test expressions) once -> ``work/<subject>_<size>.pt``
    (tensors + labels; loaded with ``weights_only``). Returns the path; an existing file is kept."""
    import torch

    from gasp_ops.fitting.inputs import from_synthetic
    from gasp_ops.headmodel.pose import HeadPose
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.synthetic import sample_expressions
    from gasp_ops.synthetic.assets import build_assets
    from gasp_ops.synthetic.identity import sample_identity

    path = Path(work) / f"{subject_name(index)}_{size}_{train_frames}_{test_frames}_{multi_step}.pt"
    if path.is_file():
        return str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ProceduralHead().to(device)
    serials, cams, frontal, test = rig_cameras(size, head)
    ident = sample_identity(index, 0, head, domain="real_proxy")
    # Expressions: training frames 0..T-1, test frames 100000.. (indices never drawn for training).
    views = [(frontal, "train", f) for f in range(train_frames)]
    views += [(s, "train", f) for f in range(0, train_frames, multi_step) for s in serials if s != frontal]
    views += [(s, "test", f) for s in test for f in range(test_frames)]
    views += [(frontal, "idsim", f) for f in range(test_frames)]
    train_e, train_p = sample_expressions(range(train_frames), 1000 + index, head)
    test_e, test_p = sample_expressions(range(100000, 100000 + test_frames), 1000 + index, head)
    pick = lambda kind, f: (train_e, train_p, f) if kind == "train" else (test_e, test_p, f)
    # (kind "idsim": the frontal camera at the test expressions, for ID-SIM only; see the module docstring)
    expr = torch.stack([pick(k, f)[0][f] for _, k, f in views])
    pose = HeadPose(**{key: torch.stack([pick(k, f)[1].as_dict()[key][f] for _, k, f in views])
                       for key in train_p.as_dict()})
    cam_idx = torch.tensor([serials.index(s) for s, _, _ in views])
    assets = build_assets(head, ident, 512 if size >= 128 else 128, device=device)
    inputs, _ = from_synthetic(head, ident, cams[cam_idx].to(device), expr.to(device), pose.to(device),
                               domain="real_proxy", supersample=3, assets=assets)
    labels = [f"{kind}/{s}/{f:05d}" for s, kind, f in views]
    front = frontalness(cams, serials, frontal)
    data = {"images": inputs.images.contiguous(), "mattes": inputs.mattes.contiguous(),
            "world_to_cam": inputs.cameras.world_to_cam.contiguous(), "K": inputs.cameras.K.contiguous(),
            "expressions": inputs.expressions, "identity": inputs.identity,
            **{f"pose_{k}": v.contiguous() for k, v in inputs.poses.as_dict().items()},
            "labels": labels, "frontal": frontal, "test_cameras": list(test), "serials": serials,
            "frontalness": [float(front[s]) for s, _, _ in views], "size": size, "source": inputs.source}
    tmp = path.with_suffix(".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)
    return str(path)


def load_subject(path: str):
    """{setting: FitInputs of its training frames, "test": FitInputs, "sheet": indices into test (one frame per
    test camera, each another expression), "frontalness": of the test frames, "labels"} from ``prepare_subject``."""
    import torch

    from gasp_ops.cameras import Cameras
    from gasp_ops.fitting.inputs import FitInputs
    from gasp_ops.headmodel.pose import HeadPose

    d = torch.load(path, weights_only=True)
    size = int(d["size"])
    poses = HeadPose(**{k[5:]: v for k, v in d.items() if k.startswith("pose_")})
    allin = FitInputs(d["images"], d["mattes"], Cameras(d["world_to_cam"], d["K"], size, size), d["expressions"], poses,
                      d["identity"], list(d["labels"]), d["source"])
    parts = [str(lbl).split("/") for lbl in d["labels"]]
    frontal = d["frontal"]
    mono = [i for i, (k, c, _) in enumerate(parts) if k == "train" and c == frontal]
    multi_frames = {f for k, c, f in parts if k == "train" and c != frontal}
    multi = [i for i, (k, c, f) in enumerate(parts) if k == "train" and f in multi_frames]
    test = [i for i, (k, _, _) in enumerate(parts) if k == "test"]
    idsim = [i for i, (k, _, _) in enumerate(parts) if k == "idsim"]
    test_labels = [d["labels"][i] for i in test]
    frames = sorted({int(lbl.split("/")[2]) for lbl in test_labels})
    sheet = []
    for j, cam in enumerate(d["test_cameras"]):
        want = f"test/{cam}/{frames[j % len(frames)]:05d}"
        sheet.append(test_labels.index(want))
    return {"single_image": allin.subset(mono[:1]), "monocular": allin.subset(mono), "multi_camera": allin.subset(multi),
            "test": allin.subset(test), "sheet": sheet, "frontalness": [d["frontalness"][i] for i in test],
            "idsim": allin.subset(idsim)}


def plan_fits(groups, subjects, priors: dict, baseline_steps: int) -> list[dict]:
    """One task per fit, person by person, in the order of ``groups`` within each person's turn:
    {fit_id, group, table, setting, variant, prior (name or ""), steps (None = GASP's / the ablation's)}."""
    from gasp_ops.errors import GaspInputError

    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise GaspInputError("--groups", f"unknown {unknown}; known: {', '.join(GROUPS)}")
    tasks = []
    for s in subjects:
        for g in groups:
            if g in ("single_image", "monocular", "multi_camera"):
                items = [("gasp", SHIPPED, None), ("gaussian_avatars", "", baseline_steps),
                         ("flash_avatar", "", baseline_steps)]
                if g == "multi_camera":
                    items += [(v, SHIPPED, baseline_steps) for v in EQUAL_BUDGET]
                table = "2" if g == "multi_camera" else "1"
                setting = g
            elif g == "ablations":
                items = [(a, "" if a == "no_prior" else SHIPPED, None) for a in ABLATION_ROWS]
                table, setting = "3", "monocular"
            elif g in ("enrolment", "projection"):
                variants = (*ENROLMENT_ROWS, *ENROLMENT_REFERENCE_ROWS) if g == "enrolment" else PROJECTION_ROWS
                for setting in ("single_image", "monocular"):
                    for variant in variants:
                        tasks.append({"fit_id": f"{g}/{setting}/{variant}/{subject_name(s)}", "group": g,
                                      "table": "1", "setting": setting, "variant": variant, "subject": s,
                                      "prior": SHIPPED, "steps": None})
                continue
            else:
                items = [(f"prior_{name}", name, None) for name in priors if name != SHIPPED]
                table, setting = "3", "monocular"
            for variant, prior, steps in items:
                tasks.append({"fit_id": f"{g}/{variant}/{subject_name(s)}", "group": g, "table": table,
                              "setting": setting, "variant": variant, "subject": s, "prior": prior, "steps": steps})
    return tasks


def fit_cost(task: dict) -> float:
    """Rough relative cost of a fit (a 500/500/100 GASP fit = 1; measured on the H200 with 12 fits side by side:
    baselines at 3,000 steps ~195 s, GASP ~80 s, fast ~20 s, instant < 1 s), for ordering the pool."""
    if task["steps"]:
        return 2.4 * int(task["steps"]) / 3000
    return {"gasp_instant": 0.01, "gasp_decoded": 0.01, "gasp_fast": 0.25, "gasp_fast_even": 0.25,
            "gasp_fast_projected": 0.25, "gasp_code_only": 0.45}.get(task["variant"], 1.0)


#: Fits cheaper than this (instant mode: ~0.4 s) run first: they cannot delay the rest, and a deadline must never
#: cut them (it did once, when they ran last).
CHEAP_FIT = 0.05


def longest_first(tasks: list[dict]) -> list[dict]:
    """The cheap fits (``CHEAP_FIT``) first, then the rest by decreasing ``fit_cost`` (person order kept among
    equals): with a pool of workers the long ones start early, so the call's makespan is shortest and a deadline
    cuts only short fits."""
    return sorted(tasks, key=lambda t: (fit_cost(t) >= CHEAP_FIT, -fit_cost(t)))


def _init(device: str, priors: dict, gsplat_so: str | None, encoder_path: str | None = None) -> None:
    import torch

    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.render.gsplat_backend import use_prebuilt_extension

    use_prebuilt_extension(gsplat_so)
    torch.set_num_threads(1)
    _W.update(device=device, head=ProceduralHead().to(device), prior_paths=priors, priors={}, subjects={},
              encoder_path=encoder_path)


def _prior(name: str):
    """(GaussianPrior, metadata, path, sha256) of a named prior ("shipped": the SHA-checked shipped file)."""
    from gasp_models import file_sha256
    from gasp_ops.prior.checkpoint import load_prior
    from gasp_ops.prior.shipped import load_shipped_prior, shipped_prior_path

    if name not in _W["priors"]:
        if name == SHIPPED:
            prior, meta = load_shipped_prior(_W["head"], _W["device"])
            path = shipped_prior_path()
        else:
            path = _W["prior_paths"][name]
            prior, meta = load_prior(path, _W["head"], _W["device"])
        _W["priors"][name] = (prior, meta, str(path), file_sha256(path))
    return _W["priors"][name]


def _encoder():
    """(IdentityEncoder, its file's SHA-256): ``--encoder PATH`` (a candidate, e.g. trained in the same device call)
    or the shipped one (SHA-checked against its pin), loaded once per worker."""
    from gasp_models import file_sha256
    from gasp_ops.encoder.checkpoint import SHIPPED_PATH, load_encoder, shipped_sha256

    if "encoder" not in _W:
        path = _W.get("encoder_path") or SHIPPED_PATH
        pin = None if _W.get("encoder_path") else shipped_sha256()
        _W["encoder"] = (load_encoder(path, _W["device"], sha256=pin)[0], file_sha256(path))
    return _W["encoder"]


def _compact_history(history: dict, keep=("total", "psnr", "l1")) -> dict:
    return {stage: {k: [round(float(v), 5) for v in h[k]] for k in ("step", *keep) if k in h}
            for stage, h in history.items() if h.get("step")}


def _save_strip(path: Path, images, mattes=None) -> None:
    """[K, H, W, 3] float in [0, 1] (+ [K, H, W] mattes -> alpha) -> one PNG, images side by side."""
    import numpy as np

    from gasp_ops.io.images import save_png

    x = images.clamp(0, 1).cpu().numpy()
    if mattes is not None:
        x = np.concatenate([x, mattes.clamp(0, 1).cpu().numpy()[..., None]], -1)
    strip = np.concatenate(list((x * 255 + 0.5).astype(np.uint8)), axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(path, strip)


def fit_one(task: dict, subject_path: str, size: int, fit_steps: tuple, out: str, provenance: dict) -> dict:
    """Fit one task (``plan_fits``), score it on the subject's test frames, save its sheet renders; -> row."""
    import torch

    from evaluation.avatar_eval import evaluate_avatar, render_inputs
    from gasp_ops.fitting import default_fit_config
    from gasp_ops.fitting.baselines import METHOD_LABELS, fit_method
    from gasp_ops.encoder.modes import fit_with_mode
    from gasp_ops.fitting.fit import fit_avatar

    head, dev = _W["head"], _W["device"]
    if subject_path not in _W["subjects"]:
        _W["subjects"][subject_path] = load_subject(subject_path)
    subj = _W["subjects"][subject_path]
    train, test = subj[task["setting"]], subj["test"]
    si, sd, sr = fit_steps
    variant = task["variant"]
    ablation = variant if variant in ABLATION_ROWS else "full"
    cfg = default_fit_config("paper", ablation, steps_inversion=si, steps_decoder=sd, steps_refine=sr)
    prior_name = task["prior"] or SHIPPED  # baselines / no prior: the shipped prior sets the Gaussian count / UV
    prior, meta, prior_path, sha = _prior(prior_name)
    uv = int(meta["config"]["uv_resolution"])
    t0 = time.perf_counter()
    encoder_sha = ""
    if variant in ENCODER_VARIANTS:
        encoder, encoder_sha = _encoder()
        if variant == "gasp_fast_even":  # mode None + init "encoder": the encoder's code, these stage lengths
            mode, label = None, ENROLMENT_REFERENCE_ROWS[variant]
            cfg = cfg.replace(init="encoder", steps_inversion=si // 4, steps_decoder=sd // 4, steps_refine=sr // 4)
        elif variant in PROJECTION_ROWS:
            mode, label = PROJECTION_ROWS[variant]
            if mode == "decoded":  # the encoder's code, no step, no projection
                mode, cfg = None, cfg.replace(init="encoder", steps_inversion=0, steps_decoder=0, steps_refine=0)
            else:
                cfg = cfg.replace(photo_projection=True)
        else:
            mode, label = ENROLMENT_ROWS[variant]
        r = fit_with_mode(prior, head, train, cfg, mode=mode, encoder=encoder, device=dev)
        avatar, history, stats = r.avatar, r.history, {"final": int(r.avatar.count)}
        stage_steps = (r.config.steps_inversion, r.config.steps_decoder, r.config.steps_refine)
        steps, total = "/".join(map(str, stage_steps)), sum(stage_steps)
    elif variant in ("gasp", "gaussian_avatars", "flash_avatar", *EQUAL_BUDGET):
        method, label = ("gasp", None) if variant in EQUAL_BUDGET else (variant, METHOD_LABELS[variant])
        if variant in EQUAL_BUDGET:  # stages 1-2 as the paper's, stage 3 gets the rest of the baselines' budget
            sr = max(1, int(task["steps"]) - si - sd)
            cfg = cfg.replace(steps_refine=sr)
            label = f"{EQUAL_BUDGET[variant]} ({si}/{sd}/{sr})"
        elif task["steps"]:
            cfg = cfg.replace(no_prior_steps=int(task["steps"]))
        r = fit_method(method, prior, head, train, cfg, uv_resolution=uv, device=dev)
        avatar, history, stats = r.avatar, r.history, r.stats
        steps = (f"{si}/{sd}/{sr}" if method == "gasp" else str(r.steps))
        total = r.steps
    else:
        if variant == "gasp_code_only":
            cfg = cfg.replace(stage2=False, stage3=False)
        if variant in PROJECTION_ROWS:  # the paper's mean-code fit, stage 3 from the projected colours
            cfg = cfg.replace(photo_projection=True)
        r = fit_avatar(prior if cfg.use_prior else None, head, train, cfg, device=dev, uv_resolution=uv)
        label = {**ENROLMENT_REFERENCE_ROWS, **{v: m for v, (_, m) in PROJECTION_ROWS.items()}}.get(variant, variant)
        avatar, history, stats = r.avatar, r.history, {"final": int(r.avatar.count)}
        on = [(cfg.stage1, si), (cfg.stage2, sd), (cfg.stage3, sr)]
        total = sum(n for o, n in on if o) if cfg.use_prior else (cfg.no_prior_steps or si + sd + sr)
        steps = "/".join(str(n if o else 0) for o, n in on) if cfg.use_prior else f"{total} (stage 3 only)"
    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    fit_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    rows, preds = evaluate_avatar(avatar, train.identity, head, test, subject=subject_name(task["subject"]),
                                  setting=task["setting"], method=label, metrics=("psnr", "ssim", "lpips", "fid"),
                                  device=dev)
    render = f"renders/{task['fit_id'].replace('/', '__')}.png"
    _save_strip(Path(out) / render, torch.stack([preds[i] for i in subj["sheet"]]))
    idsim = render_inputs(avatar, train.identity, head, subj["idsim"], device=dev)
    _save_strip(Path(out) / render.replace(".png", "__idsim.png"), torch.stack(idsim))
    uses_prior = variant in ("gasp", *EQUAL_BUDGET, *PROJECTION_ROWS) or variant in ENROLMENT_ROWS or (variant not in ("gaussian_avatars", "flash_avatar") and cfg.use_prior)
    encoder_info = {"encoder_sha256": encoder_sha} if encoder_sha else {}
    return {**task, "subject": subject_name(task["subject"]), "method": label, "steps": steps, "total_steps": total,
            "resolution": size, "train_frames": len(train), "eval_frames": len(test),
            "prior": prior_name if uses_prior else "none", "prior_path": prior_path if uses_prior else "",
            "prior_sha256": sha if uses_prior else "", "prior_subjects": meta.get("subjects") if uses_prior else 0,
            "prior_steps": meta.get("steps") if uses_prior else 0, "uv_resolution": uv,
            "gaussians": int(stats.get("final", getattr(avatar, "count", 0)) or 0),
            "fit_seconds": round(fit_seconds, 2), "eval_seconds": round(time.perf_counter() - t1, 2),
            "metric_rows": rows.to_dict(orient="records"), "history": _compact_history(history), "render": render,
            **encoder_info, **provenance}


def _subject_truth(subject_path: str, out: Path, name: str) -> None:
    """The person's sheet frames (ground truth with its matte as alpha) and training inputs, once per person."""
    subj = load_subject(subject_path)
    test = subj["test"]
    idx = subj["sheet"]
    _save_strip(out / f"renders/{name}__truth.png", test.images[idx], test.mattes[idx])
    idsim = subj["idsim"]
    _save_strip(out / f"renders/{name}__idsim_truth.png", idsim.images, idsim.mattes)
    meta = {"labels": [test.labels[i] for i in idx], "frontalness": [subj["frontalness"][i] for i in idx],
            "idsim_labels": list(idsim.labels)}
    (out / f"renders/{name}__truth.json").write_text(json.dumps(meta))
    single = subj["single_image"]
    _save_strip(out / f"renders/{name}__input.png", single.images, single.mattes)


def provenance(device: str, commit: str) -> dict:
    import torch

    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], check=False, capture_output=True, text=True,
                                    cwd=Path(__file__).resolve().parents[1], timeout=10).stdout.strip()
        except OSError:
            commit = ""
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    return {"commit": commit or "unknown", "device": name, "torch": torch.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")}


def main(argv=None) -> None:
    from gasp_ops.errors import GaspInputError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default="single_image,monocular", help=f"comma list of {', '.join(GROUPS)}")
    ap.add_argument("--prior", action="append", default=[], help="NAME=PATH: a Tab. 3 prior-size / UV row")
    ap.add_argument("--variants", default="",
                    help="comma list: fit only these variants of the groups (e.g. gasp_instant); default every one")
    ap.add_argument("--encoder", default=None,
                    help="encoder file for the enrolment group (default: the shipped one, SHA-checked)")
    ap.add_argument("--subjects", type=int, default=5)
    ap.add_argument("--first-subject", type=int, default=10)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--train-frames", type=int, default=16)
    ap.add_argument("--test-frames", type=int, default=4)
    ap.add_argument("--multi-step", type=int, default=4, help="multi-camera: every n-th training frame, all cameras")
    ap.add_argument("--steps", default="500,500,100", help="GASP's stage steps")
    ap.add_argument("--baseline-steps", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--gsplat-so", default=None)
    ap.add_argument("--commit", default="", help="the commit the run is of (the device copy has no .git)")
    ap.add_argument("--work", default="/tmp/gpu_tables_people", help="cache of the rendered people")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_tables_out"))
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--skip-done", action="append", default=[], help="rows.jsonl of an earlier call")
    ap.add_argument("--group-subjects", action="append", default=[],
                    help="GROUP=N: only the first N people for GROUP (e.g. ablations=3, the paper's Tab. 3 count)")
    ap.add_argument("--deadline", type=float, default=1e9, help="seconds; unfinished fits are reported missing")
    args = ap.parse_args(argv)
    groups = [g for g in args.groups.split(",") if g]
    priors = {}
    for item in args.prior:
        name, sep, path = item.partition("=")
        if not sep or not name or name == SHIPPED:
            raise GaspInputError("--prior", f"{item!r}: expected NAME=PATH (NAME not {SHIPPED!r})")
        if not Path(path).is_file():
            raise GaspInputError(path, "prior file not found")
        priors[name] = path
    try:
        fit_steps = tuple(int(x) for x in args.steps.split(","))
        assert len(fit_steps) == 3 and min(fit_steps) >= 0
    except (ValueError, AssertionError):
        raise GaspInputError("--steps", f"{args.steps!r}: expected three integers >= 0, e.g. 500,500,100") from None
    if args.encoder and not Path(args.encoder).is_file():
        raise GaspInputError(args.encoder, "encoder file not found")
    if "prior_size" in groups and not priors:
        raise GaspInputError("--prior", "group prior_size needs at least one --prior NAME=PATH")
    subjects = list(range(args.first_subject, args.first_subject + args.subjects))
    tasks = plan_fits(groups, subjects, priors, args.baseline_steps)
    done = set()
    for p in args.skip_done:  # a missing file is an error: silently re-running finished fits costs the call its budget
        if not Path(p).is_file():
            raise GaspInputError("--skip-done", f"{p}: no such rows file")
        done |= {r["fit_id"] for r in map(json.loads, Path(p).read_text().splitlines()) if "error" not in r}
    limits = {}
    for item in args.group_subjects:
        g, sep, n = item.partition("=")
        if not sep or g not in GROUPS or not n.isdigit():
            raise GaspInputError("--group-subjects", f"{item!r}: expected GROUP=N with GROUP one of {', '.join(GROUPS)}")
        limits[g] = int(n)
    wanted = {v for v in args.variants.split(",") if v}
    tasks = longest_first([t for t in tasks if t["fit_id"] not in done and (not wanted or t["variant"] in wanted)
                           and t["subject"] < args.first_subject + limits.get(t["group"], args.subjects)])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    prep = (args.size, args.train_frames, args.test_frames, args.multi_step, args.work, args.device)
    with ProcessPoolExecutor(min(args.workers, len(subjects)), mp_context=ctx) as pool:
        paths = dict(zip(subjects, pool.map(prepare_subject, subjects, *[[p] * len(subjects) for p in prep])))
    for s, p in paths.items():
        _subject_truth(p, out, subject_name(s))
    print(f"prepared {len(subjects)} people in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.prepare_only:
        return
    prov = provenance(args.device, args.commit)
    pool = ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init,
                               initargs=(args.device, priors, args.gsplat_so, args.encoder))
    futures = {pool.submit(fit_one, t, paths[t["subject"]], args.size, fit_steps, str(out), prov): t for t in tasks}
    from benchmarks.fit_pool import collect_rows
    from evaluation.rerun_noise import fit_psnr

    def brief(row: dict) -> dict:
        out = {k: row.get(k) for k in ("fit_id", "steps", "fit_seconds", "error") if k in row}
        psnr = fit_psnr(row)
        if not math.isnan(psnr):  # the fit was scored
            out["psnr"] = round(psnr, 2)
        return out

    collect_rows(pool, futures, args.deadline - (time.perf_counter() - t0), out / "rows.jsonl",
                 lambda t, exc: {**t, "subject": subject_name(t["subject"]), "error": repr(exc)[:400]}, brief, t0)

if __name__ == "__main__":
    main()
