"""Vocabularies and colour palettes of the synthetic people (categorical attributes and their RGB looks).

All colours are display (sRGB-like) RGB in [0, 1]. Categories are tuples so that their order (used for sampling and
for integer codes in tables) is fixed.
"""

from __future__ import annotations

from gasp_ops.errors import GaspInputError

#: Hairstyles, shortest first. ``bald`` has no hair geometry; ``fringe`` is short-to-medium hair covering the forehead.
HAIRSTYLES: tuple[str, ...] = ("bald", "short", "medium", "long", "fringe")
HAIRSTYLE_PROBS: tuple[float, ...] = (0.1, 0.3, 0.2, 0.25, 0.15)

HAIR_COLOURS: tuple[str, ...] = ("black", "brown", "blond", "red", "grey", "white")
HAIR_RGB: dict[str, tuple[float, float, float]] = {
    "black": (0.07, 0.06, 0.055),
    "brown": (0.30, 0.19, 0.11),
    "blond": (0.78, 0.63, 0.38),
    "red": (0.58, 0.24, 0.10),
    "grey": (0.55, 0.54, 0.52),
    "white": (0.86, 0.85, 0.82),
}

EYE_COLOURS: tuple[str, ...] = ("blue", "green", "brown", "grey", "hazel")
IRIS_RGB: dict[str, tuple[float, float, float]] = {
    "blue": (0.25, 0.45, 0.72),
    "green": (0.30, 0.52, 0.30),
    "brown": (0.33, 0.19, 0.09),
    "grey": (0.52, 0.56, 0.60),
    "hazel": (0.55, 0.42, 0.18),
}

AGE_GROUPS: tuple[str, ...] = ("young", "middle", "old")
#: Wrinkle strength and fraction of grey strands per age group (jittered per identity).
AGE_WRINKLES: dict[str, float] = {"young": 0.0, "middle": 0.45, "old": 1.0}
AGE_GREY: dict[str, float] = {"young": 0.0, "middle": 0.08, "old": 0.5}

#: Facial hair: ``stubble`` is texture only; ``moustache`` and ``beard`` are geometry shells plus texture.
FACIAL_HAIR_STYLES: tuple[str, ...] = ("none", "stubble", "moustache", "beard")
FACIAL_HAIR_PROBS: tuple[float, ...] = (0.55, 0.15, 0.1, 0.2)

#: Clothing (upper body) patterns.
CLOTHING_PATTERNS: tuple[str, ...] = ("plain", "stripes", "heather")

#: Skin tone is a continuous Fitzpatrick-like scale in [1, 6]; colour is interpolated between these anchors.
SKIN_TONE_RANGE: tuple[float, float] = (1.0, 6.0)
SKIN_ANCHORS: tuple[tuple[float, tuple[float, float, float]], ...] = (
    (1.0, (0.95, 0.80, 0.71)),
    (2.0, (0.89, 0.70, 0.58)),
    (3.0, (0.80, 0.59, 0.45)),
    (4.0, (0.64, 0.44, 0.30)),
    (5.0, (0.45, 0.29, 0.19)),
    (6.0, (0.27, 0.17, 0.11)),
)

#: Categorical fields that ``sample_identity(overrides=...)`` validates against a vocabulary.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "hairstyle": HAIRSTYLES,
    "hair_colour": HAIR_COLOURS,
    "eye_colour": EYE_COLOURS,
    "age_group": AGE_GROUPS,
    "facial_hair": FACIAL_HAIR_STYLES,
    "clothing_pattern": CLOTHING_PATTERNS,
}


def check_category(field: str, value) -> str:
    """``value`` if it is one of the known values of categorical ``field``; else a ``GaspInputError`` naming it."""
    known = CATEGORIES[field]
    if not isinstance(value, str) or value not in known:
        raise GaspInputError(field, f"unknown value {value!r}; known: {', '.join(known)}")
    return value


def skin_rgb(tone: float) -> tuple[float, float, float]:
    """Base skin albedo for a continuous tone in ``SKIN_TONE_RANGE`` (piecewise-linear between anchors)."""
    t = min(max(float(tone), SKIN_TONE_RANGE[0]), SKIN_TONE_RANGE[1])
    for (t0, c0), (t1, c1) in zip(SKIN_ANCHORS[:-1], SKIN_ANCHORS[1:]):
        if t <= t1:
            w = (t - t0) / (t1 - t0)
            return tuple((1 - w) * a + w * b for a, b in zip(c0, c1))
    return SKIN_ANCHORS[-1][1]
