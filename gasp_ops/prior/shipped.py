"""The prior shipped with the project (``gasp_models/gasp_prior_uv128_1k.safetensors``, card beside it).

Trained on the project's own procedural synthetic people only (1,000 identities x 16 views at 256², UV 128 =
9,900 Gaussians on the procedural head); loading checks its SHA-256 first and needs no network.
"""

from __future__ import annotations

SHIPPED_PRIOR = "gasp_prior_uv128_1k.safetensors"


def shipped_prior_path():
    """Path of the shipped prior, verified against its pinned SHA-256 (one-line error when missing/altered)."""
    from gasp_models import model_path

    return model_path(SHIPPED_PRIOR)


def load_shipped_prior(head, device="cpu"):
    """(GaussianPrior, metadata) of the shipped prior on ``device``; ``head`` must be the procedural head model."""
    from gasp_ops.errors import GaspInputError
    from gasp_ops.prior.checkpoint import load_prior

    if getattr(head, "name", "procedural") != "procedural":
        raise GaspInputError("head_model", f"the shipped prior was trained on the procedural head, not {head.name!r}; "
                             "train a prior for this head model (prior_source: job)")
    return load_prior(shipped_prior_path(), head, device)
