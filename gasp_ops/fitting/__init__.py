"""Fitting an avatar to a user's images with the prior (GASP §3.5): stage 1 inversion (z), stage 2 decoder
fine-tuning (D), stage 3 direct Gaussian refinement, with the prior regulariser in stages 2-3.

Modules: config (FitConfig, ABLATIONS), inputs (FitInputs, frame tables, synthetic subjects, settings),
regulariser (L_prior), stages (FitModel: what each stage trains), fit (fit_avatar), report (figures); scene and
loop: the set-up and optimisation loop every fit shares, GASP's and the no-prior baselines' (``baselines/``:
gaussian_avatars-style, flash_avatar-style, ``fit_method``).
"""

from gasp_ops.fitting.config import ABLATIONS, FitConfig, PriorRegWeights, default_fit_config
from gasp_ops.fitting.fit import FitResult, fit_avatar
from gasp_ops.fitting.inputs import FitInputs, from_frame_table, from_synthetic, select_setting

__all__ = ["ABLATIONS", "FitConfig", "FitInputs", "FitResult", "PriorRegWeights", "default_fit_config",
           "fit_avatar", "from_frame_table", "from_synthetic", "select_setting"]
