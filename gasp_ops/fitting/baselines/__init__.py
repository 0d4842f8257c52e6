"""No-prior baselines of GASP Tabs. 1-2, re-implemented here ("-style (ours)"): same inputs, losses, renderer and
optimiser-step budget as GASP's fit (``gasp_ops.fitting``), no prior.

- ``gaussian_avatars_style``: Gaussians bound to mesh triangles, attributes optimised directly, with adaptive
  densification (clone / split / prune), after GaussianAvatars (Qian et al. 2024).
- ``flash_avatar_style``: UV-initialised Gaussians + an expression-conditioned offset MLP, after FlashAvatar
  (Xiang et al. 2024).

``fit_method(method, ...)`` runs any of them (or GASP itself) by its key; ``METHOD_LABELS`` are the table names.
"""

from gasp_ops.fitting.baselines.common import BASELINES, METHOD_LABELS, METHODS, BaselineResult, step_budget
from gasp_ops.fitting.baselines.flash_avatar_style import FlashAvatarStyle, FlashConfig, fit_flash_avatar_style
from gasp_ops.fitting.baselines.gaussian_avatars_style import (DensifyConfig, densify_and_prune,
                                                               fit_gaussian_avatars_style)
from gasp_ops.fitting.baselines.methods import fit_method

__all__ = ["BASELINES", "METHODS", "METHOD_LABELS", "BaselineResult", "DensifyConfig", "FlashAvatarStyle",
           "FlashConfig", "densify_and_prune", "fit_flash_avatar_style", "fit_gaussian_avatars_style", "fit_method",
           "step_budget"]
