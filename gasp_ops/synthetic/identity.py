"""``sample_identity``: a random synthetic person (shape coefficients + appearance parameters + metadata)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.seeding import generator
from gasp_ops.synthetic.attributes import (
    AGE_GREY, AGE_GROUPS, AGE_WRINKLES, CATEGORIES, CLOTHING_PATTERNS, EYE_COLOURS, FACIAL_HAIR_PROBS,
    FACIAL_HAIR_STYLES, HAIR_COLOURS, HAIR_RGB, HAIRSTYLE_PROBS, HAIRSTYLES, IRIS_RGB, check_category, skin_rgb,
)

#: Rendering / texture domains. ``prior``: flat albedo, uniform white light (prior training data, paper §4).
#: ``real_proxy``: other texture statistics, soft directional light, sensor noise (evaluation subjects only).
#: ``prior_lit``: the prior's people and textures (index for index the same person, pixel for pixel the same atlas)
#: under the ``real_proxy`` key + fill + ambient Lambert light, without its colour cast, blur or noise: data for a
#: prior that has seen shading (issue 14: a key-lit photo's unseen side is in shade).
DOMAINS: tuple[str, ...] = ("prior", "real_proxy", "prior_lit")
#: The domain whose people (identity draws and textures) a domain uses.
_PEOPLE_OF = {"prior_lit": "prior"}

RGB = tuple[float, float, float]


def check_domain(domain) -> str:
    if not isinstance(domain, str) or domain not in DOMAINS:
        raise GaspInputError("domain", f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    return domain


def people_domain(domain: str) -> str:
    """The domain whose people and textures ``domain`` draws (``prior_lit`` -> ``prior``; others themselves)."""
    return _PEOPLE_OF.get(check_domain(domain), domain)


@dataclass
class SyntheticIdentity:
    """One synthetic person. Deterministic from (seed, index, domain) (and the overrides).

    identity: [n_identity] float32 shape coefficients ~ N(0, 1) (on CPU).
    skin_tone: continuous Fitzpatrick-like scale in [1, 6] (1 lightest); skin: base albedo RGB.
    albedo_variation, blemishes, freckles: strengths in [0, 1] of low-frequency tone variation, red blotches, freckles.
    lip: lip RGB. brow_thickness (metres), brow_arch (metres, lift of the brow middle), brow_density [0, 1], brow RGB.
    eye_colour (``EYE_COLOURS``) and iris RGB. age_group (``AGE_GROUPS``), wrinkles [0, 1], grey_fraction [0, 1]
    (share of grey strands in the hair and beard). facial_hair (``FACIAL_HAIR_STYLES``), beard_thickness (metres).
    hairstyle (``HAIRSTYLES``), hair_colour (``HAIR_COLOURS``), hair RGB, hair_volume (thickness scale ~1),
    hair_length (scale ~1 of the hanging length), hairline_raise (metres: receding hairline).
    clothing RGB, clothing_pattern (``CLOTHING_PATTERNS``), clothing_accent RGB.
    texture_seed: seeds the procedural texture and hair noise.
    """

    index: int
    seed: int
    domain: str
    identity: torch.Tensor
    skin_tone: float
    skin: RGB
    albedo_variation: float
    blemishes: float
    freckles: float
    lip: RGB
    brow_thickness: float
    brow_arch: float
    brow_density: float
    brow: RGB
    eye_colour: str
    iris: RGB
    age_group: str
    wrinkles: float
    grey_fraction: float
    facial_hair: str
    beard_thickness: float
    hairstyle: str
    hair_colour: str
    hair: RGB
    hair_volume: float
    hair_length: float
    hairline_raise: float
    clothing: RGB
    clothing_pattern: str
    clothing_accent: RGB
    texture_seed: int
    overrides: dict = field(default_factory=dict)

    @property
    def long_hair(self) -> bool:
        """Hair hanging below the ears (``medium`` reaches the chin, ``long`` the shoulders)."""
        return self.hairstyle == "long"

    @property
    def metadata(self) -> dict:
        """Plain-Python labels for tables and latent-direction SVMs; every one is visible in the renders."""
        return {
            "index": int(self.index),
            "seed": int(self.seed),
            "domain": self.domain,
            "age_group": self.age_group,
            "old": self.age_group == "old",
            "facial_hair": self.facial_hair != "none",
            "facial_hair_style": self.facial_hair,
            "beard": self.facial_hair == "beard",
            "hairstyle": self.hairstyle,
            "bald": self.hairstyle == "bald",
            "long_hair": self.long_hair,
            "fringe": self.hairstyle == "fringe",
            "hair_colour": self.hair_colour,
            "eye_colour": self.eye_colour,
            "skin_tone": round(float(self.skin_tone), 4),
            "skin_tone_group": int(min(6, max(1, round(self.skin_tone)))),
            "dark_skin": bool(self.skin_tone >= 4.0),
            "freckles": bool(self.freckles > 0.5),
            "wrinkles": round(float(self.wrinkles), 4),
            "grey_fraction": round(float(self.grey_fraction), 4),
            "clothing_pattern": self.clothing_pattern,
            "clothing_rgb": [round(float(c), 4) for c in self.clothing],
            "hair_rgb": [round(float(c), 4) for c in self.hair],
            "skin_rgb": [round(float(c), 4) for c in self.skin],
        }


def _index(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise GaspInputError(name, f"expected an integer, got {type(value).__name__}")
    if int(value) < 0:
        raise GaspInputError(name, f"must be >= 0, got {int(value)}")
    return int(value)


def _choice(u: float, probs) -> int:
    acc = 0.0
    total = float(sum(probs))
    for i, p in enumerate(probs):
        acc += p / total
        if u < acc:
            return i
    return len(probs) - 1


def _mix(a, b, w: float) -> RGB:
    return tuple(float((1 - w) * x + w * y) for x, y in zip(a, b))


def _hsv(h: float, s: float, v: float) -> RGB:
    import colorsys

    return tuple(float(c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


#: Fields ``overrides`` may set directly (categorical ones are checked against their vocabulary).
OVERRIDABLE: tuple[str, ...] = (
    "hairstyle", "hair_colour", "eye_colour", "age_group", "facial_hair", "clothing_pattern", "skin_tone",
    "freckles", "wrinkles", "grey_fraction", "hair_volume", "hair_length", "brow_thickness",
)


def sample_identity(index: int, seed: int, head: HeadModel, domain: str = "prior",
                    overrides: dict | None = None) -> SyntheticIdentity:
    """Random synthetic person number ``index`` of dataset ``seed`` for ``head``.

    Every random number is drawn, in a fixed order, from ``generator(seed, "synthetic_identity", index, domain)``
    (``people_domain(domain)``: ``prior_lit`` draws the prior's people),
    so forcing one attribute with ``overrides`` (e.g. ``{"hairstyle": "long"}``; keys in ``OVERRIDABLE``) leaves the
    others unchanged (except the ones derived from it, e.g. grey hair for ``age_group="old"``). Unknown override
    keys or categories raise ``GaspInputError`` naming the field.
    """
    index = _index("index", index)
    seed = _index("seed", seed)
    domain = check_domain(domain)
    if not isinstance(head, HeadModel):
        raise GaspInputError("head", f"expected a HeadModel, got {type(head).__name__}")
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if key not in OVERRIDABLE:
            raise GaspInputError("overrides", f"unknown field {key!r}; known: {', '.join(OVERRIDABLE)}")
        if key in CATEGORIES:
            check_category(key, value)
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise GaspInputError(key, f"expected a number, got {value!r}")

    g = generator(seed, "synthetic_identity", index, people_domain(domain))
    coeffs = torch.randn(head.n_identity, generator=g)
    u = torch.rand(40, generator=g).tolist()  # fixed-size draw: the order of uses below never changes

    tone = overrides.get("skin_tone", 1.0 + 5.0 * u[0])
    tone = float(min(6.0, max(1.0, tone)))
    dark = (tone - 1.0) / 5.0
    skin = skin_rgb(tone)
    skin = _mix(skin, (skin[0] * 1.02, skin[1] * 0.95, skin[2] * 0.9), u[1])  # warm vs cool undertone
    age = overrides.get("age_group", AGE_GROUPS[_choice(u[2], (0.4, 0.35, 0.25))])
    wrinkles = overrides.get("wrinkles", AGE_WRINKLES[age] * (0.7 + 0.3 * u[3]))
    grey = overrides.get("grey_fraction", AGE_GREY[age] * (0.5 + u[4]))

    # Hair colour: darker skin -> darker hair more likely; old -> grey/white more likely.
    hair_probs = [0.25 + 0.5 * dark, 0.35, 0.2 * (1 - dark) ** 2, 0.08 * (1 - dark) ** 2, 0.02, 0.01]
    if age == "old":
        hair_probs[4] += 0.5
        hair_probs[5] += 0.25
    elif age == "middle":
        hair_probs[4] += 0.05
    hair_colour = overrides.get("hair_colour", HAIR_COLOURS[_choice(u[5], hair_probs)])
    if hair_colour in ("grey", "white"):
        grey = max(grey, 0.0) if "grey_fraction" in overrides else 0.0  # already grey: no extra mixing
    hair = HAIR_RGB[hair_colour]
    hair = tuple(float(min(1.0, c * (0.85 + 0.3 * u[6]))) for c in hair)
    hairstyle = overrides.get("hairstyle", HAIRSTYLES[_choice(u[7], HAIRSTYLE_PROBS)])
    if "hairstyle" not in overrides and hairstyle == "bald" and age == "young":
        hairstyle = "short"  # young people are rarely bald
    facial_hair = overrides.get("facial_hair", FACIAL_HAIR_STYLES[_choice(u[8], FACIAL_HAIR_PROBS)])

    eye_probs = [0.3 * (1 - dark) ** 2, 0.15 * (1 - dark) ** 2, 0.35 + 0.6 * dark, 0.1 * (1 - dark), 0.15]
    eye_colour = overrides.get("eye_colour", EYE_COLOURS[_choice(u[9], eye_probs)])
    iris = tuple(float(min(1.0, c * (0.85 + 0.3 * u[10]))) for c in IRIS_RGB[eye_colour])

    lip = _mix(_mix(skin, (0.72, 0.36, 0.38), 0.55), (0.40, 0.22, 0.2), dark * 0.5)
    lip = _mix(lip, (lip[0] * 0.95, lip[1] * 0.8, lip[2] * 0.85), u[11])
    brow_base = hair if hair_colour not in ("grey", "white") else _mix(hair, (0.3, 0.28, 0.26), 0.5)
    brow = _mix(brow_base, (0.05, 0.04, 0.035), 0.35 * u[12])
    brow_thickness = overrides.get("brow_thickness", 0.0035 + 0.0045 * u[13])
    clothing_pattern = overrides.get("clothing_pattern", CLOTHING_PATTERNS[_choice(u[14], (0.55, 0.25, 0.2))])
    clothing = _hsv(u[15], 0.25 + 0.6 * u[16], 0.2 + 0.7 * u[17])
    accent = _hsv(u[15] + 0.3 + 0.4 * u[18], 0.1 + 0.5 * u[19], 0.85 - 0.6 * u[17])
    freckles = overrides.get("freckles", float(u[20] ** 2.5) * (1.0 - dark) if u[21] < 0.35 else 0.0)
    hair_volume = overrides.get("hair_volume", 0.8 + 0.5 * u[22])
    hair_length = overrides.get("hair_length", 0.85 + 0.3 * u[23])
    hairline_raise = 0.03 * u[24] * (1.0 if age == "old" else 0.4 if age == "middle" else 0.0)
    texture_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))

    return SyntheticIdentity(
        index=index, seed=seed, domain=domain, identity=coeffs, skin_tone=tone, skin=skin,
        albedo_variation=0.4 + 0.6 * u[25], blemishes=u[26] ** 2, freckles=float(freckles), lip=lip,
        brow_thickness=float(brow_thickness), brow_arch=0.004 * u[27], brow_density=0.6 + 0.4 * u[28], brow=brow,
        eye_colour=eye_colour, iris=iris, age_group=age, wrinkles=float(wrinkles), grey_fraction=float(grey),
        facial_hair=facial_hair, beard_thickness=0.004 + 0.008 * u[29], hairstyle=hairstyle,
        hair_colour=hair_colour, hair=hair, hair_volume=float(hair_volume), hair_length=float(hair_length),
        hairline_raise=hairline_raise, clothing=clothing, clothing_pattern=clothing_pattern,
        clothing_accent=accent, texture_seed=texture_seed, overrides=overrides,
    )


def with_overrides(identity: SyntheticIdentity, head: HeadModel, **overrides) -> SyntheticIdentity:
    """Re-sample ``identity`` with extra overrides (same seed, index and domain)."""
    merged = {**identity.overrides, **overrides}
    return sample_identity(identity.index, identity.seed, head, identity.domain, merged)


__all__ = ["DOMAINS", "OVERRIDABLE", "SyntheticIdentity", "check_domain", "people_domain", "sample_identity",
           "with_overrides"]
