"""Configuration of prior training (GASP §3.3, §5): sizes, ablation switches, learning rates, loss weights.

Defaults follow the paper where it states a value; every choice it leaves open is documented on its field.
``PriorConfig.from_dict`` rejects unknown keys, ``validate`` rejects bad values, both with one-line
``GaspInputError``s naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from gasp_ops.config_dicts import check_nonnegative, check_nonnegative_groups, dataclass_from_dict
from gasp_ops.errors import GaspInputError


@dataclass(frozen=True)
class LossWeights:
    """Weights of the training loss (GASP Eq. 5-6).

    l1 (0.8) and ssim (0.2): the 3DGS photometric split (lambda_dssim = 0.2), applied to the image composited over
        the step's background.
    lpips (0.1): VGG-LPIPS, only when its backbone weights are in torchvision's cache (see ``perceptual``).
    alpha (0.2): mean |alpha - alpha_gt|.
    scale (1.0): mean over Gaussians and axes of relu(s - 2 s0), s the local (triangle-unit) standard deviation and
        s0 the initial in-plane deviation of that Gaussian: Gaussians may grow to twice their texel footprint freely.
    displacement (0.01): mean over Gaussians of w_i relu(|mu_i| - 1)^2, mu_i the local offset in triangle units
        (so a Gaussian can move anywhere within about one triangle freely); w_i = 0.01 on scalp faces (the paper's
        100x reduction: hair is not in the mesh and must be grown by the Gaussians), 1 elsewhere.
    """

    l1: float = 0.8
    ssim: float = 0.2
    lpips: float = 0.1
    alpha: float = 0.2
    scale: float = 1.0
    displacement: float = 0.01
    scalp_factor: float = 0.01


@dataclass(frozen=True)
class LearningRates:
    """Adam learning rates (GASP §5).

    decoder, codes: 2e-4 (paper).
    features: 1e-3 (not in the paper): features start N(0, 1) and act as a learned positional encoding; 5x the
        network's rate lets them organise within the first epochs without dominating the decoder.
    Canonical template (3DGS defaults, graphdeco-inria/gaussian-splatting OptimizationParams):
      position 1.6e-4 decaying exponentially to 1.6e-6 over the run, times the scene scale. 3DGS scales by the
        camera extent in world units; our offsets are in triangle units, so the factor is
        camera_extent / median triangle scale (computed from the data, recorded in the run metadata).
      scale 5e-3 (log scales), rotation 1e-3 (quaternions), colour 2.5e-3 (RGB; 3DGS's DC feature rate),
      opacity 5e-2 (logits; the original 3DGS value).
    """

    decoder: float = 2e-4
    codes: float = 2e-4
    features: float = 1e-3
    position: float = 1.6e-4
    position_final: float = 1.6e-6
    scale: float = 5e-3
    rotation: float = 1e-3
    colour: float = 2.5e-3
    opacity: float = 5e-2


@dataclass(frozen=True)
class PriorConfig:
    """One prior training run.

    n_subjects: train on the first N identities of the dataset (0 = all); the paper's ablation uses 1/10/100/all.
    uv_resolution: UV map side for the Gaussian initialisation (§3.4); 512 on FLAME = 187,776 Gaussians.
    image_size: training image side; views are area-downsampled to it (0 = the dataset's size).
    steps: optimiser steps. batch_size: global (subject, view) pairs per step (paper: 8), split over DDP ranks.
    use_template: True = canonical template G0 + decoded offsets (paper); False = the decoder outputs absolute
        attributes added to a fixed G0 (the init), the "w/o canonical Gaussians" ablation.
    holdout_views: the last K views of every training identity are kept out of training (for held-out PSNR).
    feature_dim (8), code_dim (512), hidden (256), trunk_layers (6): Appendix C.
    code_init_std: identity codes start N(0, std^2) (DeepSDF's auto-decoder init).
    checkpoint_every, log_every: in steps. mixed_precision: bf16 autocast of the decoder on CUDA (ignored on CPU).
    random_background: composite targets and renders over a random colour per image (forces alpha to be right);
        False = black.
    code_regulariser: weight of the identity codes' size, mean over a step's distinct identities of |z_j|^2 (sum over
        the code's dimensions), added to the loss (DeepSDF's zero-mean Gaussian prior on auto-decoder codes; not in
        the GASP paper, so 0 = off by default). It keeps the codes of many training people in a compact ball, meant to
        keep a new person's code, found by a fit from the mean code, where the decoder was trained. Measured
        (1,000 identities, 10 held-out people, docs/benchmarks.md#held-out-prior-variants): weights 0.001 / 0.01 cost
        0.12 / 0.71 dB novel view against an unweighted control, so it stays off.
    """

    n_subjects: int = 0
    uv_resolution: int = 128
    image_size: int = 0
    steps: int = 2000
    batch_size: int = 8
    use_template: bool = True
    seed: int = 0
    holdout_views: int = 1
    feature_dim: int = 8
    code_dim: int = 512
    hidden: int = 256
    trunk_layers: int = 6
    code_init_std: float = 0.01
    checkpoint_every: int = 500
    log_every: int = 10
    mixed_precision: bool = True
    random_background: bool = True
    code_regulariser: float = 0.0
    lr: LearningRates = field(default_factory=LearningRates)
    loss: LossWeights = field(default_factory=LossWeights)

    def validate(self) -> "PriorConfig":
        def positive_int(name, lo=1):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise GaspInputError(name, f"must be an integer >= {lo}, got {v!r}")

        if isinstance(self.n_subjects, bool) or not isinstance(self.n_subjects, int) or self.n_subjects < 0:
            raise GaspInputError("n_subjects", f"must be 0 (all) or a positive integer, got {self.n_subjects!r}")
        if isinstance(self.uv_resolution, bool) or not isinstance(self.uv_resolution, int) or not 2 <= self.uv_resolution <= 8192:
            raise GaspInputError("uv_resolution", f"must be an integer in [2, 8192], got {self.uv_resolution!r}")
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, int) or (self.image_size != 0 and self.image_size < 16):
            raise GaspInputError("image_size", f"must be 0 (dataset size) or >= 16, got {self.image_size!r}")
        for name in ("steps", "batch_size", "feature_dim", "code_dim", "hidden", "trunk_layers", "checkpoint_every",
                     "log_every"):
            positive_int(name)
        positive_int("holdout_views", 0)
        if not isinstance(self.use_template, bool):
            raise GaspInputError("use_template", f"must be true or false, got {self.use_template!r}")
        check_nonnegative("code_regulariser", self.code_regulariser)
        check_nonnegative_groups(self, ("lr", "loss"))
        return self

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PriorConfig":
        """Build from a plain dict (e.g. JSON or a Dagster config); unknown keys raise ``GaspInputError``."""
        return dataclass_from_dict(cls, data, "prior", {"lr": LearningRates, "loss": LossWeights}).validate()

    def replace(self, **changes) -> "PriorConfig":
        return PriorConfig.from_dict({**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})


#: Per-preset defaults (the lead may move these into ``gasp_ops.presets.Preset``).
PRESET_DEFAULTS: dict[str, dict] = {
    # CPU budget ~1-2 min on 2 cores: UV 32 (~620 Gaussians), 64 px, 4 views a step, 160 steps; faster rates than
    # the paper's because the run is ~1e4x shorter.
    "tiny": dict(uv_resolution=32, image_size=64, steps=160, batch_size=4, checkpoint_every=80, log_every=5,
                 lr=LearningRates(decoder=1e-3, codes=1e-2, features=3e-3)),
    # The paper's scale: all 1,000 subjects, 187k Gaussians (UV 558 on the procedural head), 512 px, batch 8,
    # 250 epochs of 50k views = 1.56M steps; set steps lower for a shorter run.
    "paper": dict(uv_resolution=558, image_size=0, steps=1_562_500, batch_size=8, checkpoint_every=5000,
                  log_every=50),
}


def default_config(preset_name: str, **overrides) -> PriorConfig:
    """The preset's defaults with ``overrides`` applied (unknown keys/presets raise ``GaspInputError``)."""
    if preset_name not in PRESET_DEFAULTS:
        raise GaspInputError("preset", f"no prior defaults for preset {preset_name!r}; known: {', '.join(PRESET_DEFAULTS)}")
    return PriorConfig.from_dict({**PRESET_DEFAULTS[preset_name], **overrides})
