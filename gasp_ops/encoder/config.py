"""Configuration of the identity encoder (photo -> prior identity code) and of its training.

``EncoderConfig.from_dict`` rejects unknown keys and ``validate`` bad values, both with one-line ``GaspInputError``s
naming the field. Choices (none come from the paper, which has no encoder) are documented on the fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from gasp_ops.config_dicts import check_nonnegative, dataclass_from_dict
from gasp_ops.errors import GaspInputError


@dataclass(frozen=True)
class EncoderConfig:
    """One encoder: its crop, its network and its training run.

    Crop (``gasp_ops.encoder.crop``): crop_size: side of the square crop in pixels (128). crop_scale: crop side =
        crop_scale x the larger side of the box of the projected head mesh (neck excluded) (1.25: a margin for hair
        volume). crop_lift: the crop centre sits crop_lift x the crop side above that box's centre (0.03: hair
        grows up and back more than down).
    Network (``gasp_ops.encoder.model``): width: channels of the first ResNet stage (doubling over 4 stages);
        blocks: BasicBlocks per stage; head_hidden: width of the MLP head; use_shape: feed the head model's identity
        (shape) coefficients, known at training (ground truth) and at enrolment (tracked), to the head.
    Training (``gasp_ops.encoder.train``): steps; batch_size: subjects per step; max_frames: frames pooled per
        subject (each step draws 1 frame with probability single_frame_prob, else 2..max_frames, all subjects of
        the step the same count); lr (AdamW, cosine decay to lr_final_fraction x lr over ``steps``), weight_decay;
        val_fraction: share of the prior's identities held out of encoder training (every view of them) to measure
        generalisation to new people; render_weight: weight of a render loss (L1 + alpha L1 of one frame per
        subject rendered with the predicted code through the frozen prior decoder; 0 = code loss only);
        proxy_weight: weight of the same render loss on a second set of people that have no code (``proxy_views``
        of ``train_encoder``: e.g. ``real_proxy`` renders, other texture statistics, directional light, colour
        cast and noise), each encoded from its input frames and rendered at another of its views (a novel view;
        0 = no second set); proxy_batch: such people per step;
        jitter_shift / jitter_scale: crop-box augmentation (shift uniform in +-jitter_shift x side, scale x
        exp(uniform +-jitter_scale)); colour_jitter: per-channel gain uniform in 1 +- colour_jitter;
        checkpoint_every, log_every: in steps; mixed_precision: bf16 autocast of the CNN on CUDA.
        val_every: every that many steps, the held-out code error (single frames, up to 4 views per held-out
        identity, no augmentation) goes into the history (0 = never); keep_best: end with the weights of the
        lowest held-out error seen (early stopping against over-fitting ~1,000 identities), else the last ones.
    """

    crop_size: int = 128
    crop_scale: float = 1.25
    crop_lift: float = 0.03
    width: int = 32
    blocks: int = 2
    head_hidden: int = 512
    use_shape: bool = True
    steps: int = 4000
    batch_size: int = 32
    max_frames: int = 4
    single_frame_prob: float = 0.5
    lr: float = 1e-3
    lr_final_fraction: float = 0.02
    weight_decay: float = 1e-4
    val_fraction: float = 0.05
    render_weight: float = 0.0
    proxy_weight: float = 0.0
    proxy_batch: int = 16
    jitter_shift: float = 0.04
    jitter_scale: float = 0.06
    colour_jitter: float = 0.1
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    mixed_precision: bool = True
    val_every: int = 0
    keep_best: bool = True

    def validate(self) -> "EncoderConfig":
        for name, lo in (("crop_size", 16), ("width", 1), ("blocks", 1), ("head_hidden", 1), ("steps", 1),
                         ("batch_size", 1), ("max_frames", 1), ("checkpoint_every", 1), ("log_every", 1),
                         ("proxy_batch", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise GaspInputError(name, f"must be an integer >= {lo}, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise GaspInputError("seed", f"must be an integer, got {self.seed!r}")
        if isinstance(self.val_every, bool) or not isinstance(self.val_every, int) or self.val_every < 0:
            raise GaspInputError("val_every", f"must be an integer >= 0, got {self.val_every!r}")
        for name in ("use_shape", "mixed_precision", "keep_best"):
            if not isinstance(getattr(self, name), bool):
                raise GaspInputError(name, f"must be true or false, got {getattr(self, name)!r}")
        for name in ("crop_scale", "crop_lift", "lr", "lr_final_fraction", "weight_decay", "render_weight",
                     "proxy_weight", "jitter_shift", "jitter_scale", "colour_jitter"):
            check_nonnegative(name, getattr(self, name))
        if self.crop_scale <= 0:
            raise GaspInputError("crop_scale", f"must be > 0, got {self.crop_scale!r}")
        check_nonnegative("val_fraction", self.val_fraction)
        if self.val_fraction >= 1:
            raise GaspInputError("val_fraction", f"must be in [0, 1), got {self.val_fraction!r}")
        check_nonnegative("single_frame_prob", self.single_frame_prob)
        if self.single_frame_prob > 1:
            raise GaspInputError("single_frame_prob", f"must be in [0, 1], got {self.single_frame_prob!r}")
        return self

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EncoderConfig":
        """From a plain dict (JSON, Dagster config, a file's metadata); unknown keys raise ``GaspInputError``."""
        return dataclass_from_dict(cls, data, "encoder", {}).validate()

    def replace(self, **changes) -> "EncoderConfig":
        return EncoderConfig.from_dict({**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})


#: Per-preset defaults. tiny: a CPU test/demo (32 px crops, width 8, ~0.1M parameters, seconds to train);
#: paper: 128 px crops, width 32 (~3.5M parameters, ~7 MB in fp16), the GPU run of benchmarks/gpu_train_encoder.py.
PRESET_DEFAULTS: dict[str, dict] = {
    "tiny": dict(crop_size=32, width=8, blocks=1, head_hidden=64, steps=150, batch_size=4, max_frames=3, lr=3e-3,
                 checkpoint_every=1000, log_every=5),
    "paper": dict(batch_size=64, weight_decay=0.05, val_every=250),
}


def default_encoder_config(preset_name: str, **overrides) -> EncoderConfig:
    """The preset's defaults with ``overrides`` applied (unknown keys/presets raise ``GaspInputError``)."""
    if preset_name not in PRESET_DEFAULTS:
        raise GaspInputError("preset", f"no encoder defaults for preset {preset_name!r}; known: "
                             f"{', '.join(PRESET_DEFAULTS)}")
    return EncoderConfig.from_dict({**PRESET_DEFAULTS[preset_name], **overrides})
