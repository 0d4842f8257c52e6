"""Instant enrolment: a feed-forward identity encoder (face crops -> the prior's identity code z) and enrolment
modes (instant / fast / full) that trade optimisation time for quality. Beyond the paper (issue 17).

Modules: config (EncoderConfig, presets), crop (the one crop definition shared by training and enrolment), model
(IdentityEncoder), train (train_encoder against a prior's learned codes), evaluate (held-out code error, novel-view
PSNR), checkpoint (fp16 safetensors file + SHA-256 checks), modes (mode_config, fit_with_mode), run (train from a
synthetic dataset folder and write the outputs).
"""

from gasp_ops.encoder.config import EncoderConfig, default_encoder_config
from gasp_ops.encoder.model import IdentityEncoder

__all__ = ["EncoderConfig", "IdentityEncoder", "default_encoder_config"]
