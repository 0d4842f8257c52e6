"""Built-in expressions for the web viewer when no 3DMM sequence is given: a short, looping performance made of the
head model's own expression blendshapes, jaw and neck (GASP §3.2's animation space).

A sequence of ``beats``; each beat raises a few expression coefficients (and/or opens the jaw, turns the neck) along
a smooth bump ``sin(pi t)^2`` over ``beat_frames`` frames and returns to neutral, so the sequence loops seamlessly.
Heads with named action blendshapes (``expression_names``, e.g. the procedural head; coefficient 1 = full action)
get a scripted set (smile, blink, brow raise, mouth left/right, pucker); PCA heads (FLAME) get +/-1.5 on their first
components.
"""

from __future__ import annotations

import math

import torch

from gasp_ops.headmodel.pose import HeadPose

#: (named actions and their peak coefficient, jaw opening in radians, neck yaw in degrees) per beat.
NAMED_BEATS: tuple[tuple[dict[str, float], float, float], ...] = (
    ({"smile_left": 0.9, "smile_right": 0.9}, 0.0, 0.0),
    ({}, 0.3, 0.0),
    ({"blink_left": 1.0, "blink_right": 1.0}, 0.0, 0.0),
    ({"brow_inner_raise": 0.9, "brow_outer_raise": 0.9, "eye_wide": 0.6}, 0.12, 0.0),
    ({"mouth_left": 0.8}, 0.0, 12.0),
    ({"mouth_right": 0.8}, 0.0, -12.0),
    ({"lip_pucker": 0.9}, 0.0, 0.0),
    ({"frown": 0.8, "brow_lower": 0.8}, 0.05, 0.0),
)


def builtin_expressions(head, beat_frames: int = 30) -> tuple[torch.Tensor, HeadPose]:
    """Expressions [T, n_expression] and ``HeadPose`` batch T (T = beats x ``beat_frames``) on the CPU, float32."""
    names = list(getattr(head, "expression_names", None) or [])
    n = head.n_expression
    if len(names) == n:
        beats = [({names.index(k): v for k, v in acts.items() if k in names}, jaw, yaw) for acts, jaw, yaw in NAMED_BEATS]
    else:  # PCA basis: one component at a time, both signs, plus jaw and a turn
        beats = [({c: s * 1.5}, 0.0, 0.0) for c in range(min(4, n)) for s in (1.0, -1.0)]
        beats.insert(2, ({}, 0.3, 0.0))
        beats.append(({}, 0.0, 12.0))
    t = (torch.arange(beat_frames, dtype=torch.float64) + 0.5) / beat_frames
    bump = torch.sin(math.pi * t) ** 2  # 0 -> 1 -> 0 within a beat
    T = len(beats) * beat_frames
    expr = torch.zeros(T, n, dtype=torch.float64)
    pose = HeadPose.zeros(T, dtype=torch.float64)
    for b, (acts, jaw, yaw) in enumerate(beats):
        s = slice(b * beat_frames, (b + 1) * beat_frames)
        for c, v in acts.items():
            expr[s, c] = v * bump
        pose.jaw[s, 0] = jaw * bump
        pose.neck[s, 1] = math.radians(yaw) * bump
    return expr.float(), pose.to(dtype=torch.float32)
