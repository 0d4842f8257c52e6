"""The Gaussian prior (GASP §3.3): canonical template + per-Gaussian features + identity auto-decoder, trained
on synthetic multi-view data; latent directions (Appendix B).

Modules: config (PriorConfig), decoder (PriorDecoder), prior_model (GaussianPrior), 
losses, perceptual (LPIPS availability), dataset_batches (PriorViews, BatchSchedule), checkpoint, trainer
(train_prior), distributed (DDP), curves, evaluate, latent_directions, toy_dataset (teacher data for tests).
"""

from gasp_ops.prior.config import LearningRates, LossWeights, PriorConfig, default_config
from gasp_ops.prior.decoder import PriorDecoder
from gasp_ops.prior.prior_model import GaussianPrior

__all__ = ["LearningRates", "LossWeights", "PriorConfig", "default_config", "PriorDecoder", "GaussianPrior"]
