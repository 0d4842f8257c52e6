"""Semantic directions in the identity-code space (GASP Appendix B).

For a binary attribute, a linear SVM (scikit-learn ``LinearSVC``) separates the codes z_j of the training subjects
that have it from those that do not; the unit normal w of its hyperplane is the attribute's direction, and
z + k w (k > 0) moves a code towards the attribute, z - k w away from it. Attributes from the synthetic metadata:
``age_old`` (age_group == "old" vs the rest), ``facial_hair``, ``long_hair``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from gasp_ops.errors import GaspInputError

#: attribute -> function of the identities table giving a boolean label per row.
ATTRIBUTES: dict[str, callable] = {
    "age_old": lambda t: t["age_group"].astype(str) == "old",
    "facial_hair": lambda t: t["facial_hair"].astype(bool),
    "long_hair": lambda t: t["long_hair"].astype(bool),
}


@dataclass
class LatentDirection:
    """attribute name; direction [Z] unit vector; accuracy: training accuracy of the SVM; positives/negatives:
    label counts; code_scale: median code norm (to express edit strengths k in code units)."""

    attribute: str
    direction: torch.Tensor
    accuracy: float
    positives: int
    negatives: int
    code_scale: float


def fit_direction(codes: torch.Tensor, labels, attribute: str = "attribute", C: float = 1.0,
                  seed: int = 0) -> LatentDirection:
    """Unit SVM direction for codes [J, Z] and boolean labels [J] (both classes must be present)."""
    from sklearn.svm import LinearSVC

    X = codes.detach().double().cpu().numpy()
    y = np.asarray(labels, dtype=bool)
    if X.ndim != 2 or len(y) != X.shape[0]:
        raise GaspInputError("labels", f"need one label per code: {len(y)} labels for codes of shape {list(X.shape)}")
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        raise GaspInputError(attribute, f"needs subjects with and without it; got {pos} with and {neg} without")
    svm = LinearSVC(C=C, class_weight="balanced", random_state=seed, max_iter=20000, dual="auto")
    svm.fit(X, y)
    w = torch.from_numpy(svm.coef_[0].copy()).float()
    w = w / w.norm().clamp_min(1e-12)
    acc = float((svm.predict(X) == y).mean())
    return LatentDirection(attribute, w, acc, pos, neg, float(codes.detach().norm(dim=-1).median()))


def fit_directions(codes: torch.Tensor, identities: pd.DataFrame, identity_ids: list,
                   attributes=tuple(ATTRIBUTES)) -> dict[str, LatentDirection]:
    """Directions for each attribute; ``identity_ids`` [J] names the identities table row of each code.

    Attributes with only one class among the subjects are skipped (absent from the result)."""
    table = identities.set_index("identity_id").loc[list(identity_ids)].reset_index()
    out = {}
    for name in attributes:
        if name not in ATTRIBUTES:
            raise GaspInputError("attributes", f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}")
        labels = ATTRIBUTES[name](table).to_numpy()
        if labels.all() or not labels.any():
            continue
        out[name] = fit_direction(codes, labels, name)
    return out


def edit_codes(code: torch.Tensor, direction: torch.Tensor, strengths) -> torch.Tensor:
    """code [Z] + k * direction for each k in ``strengths`` -> [K, Z]."""
    k = torch.as_tensor(list(strengths), dtype=code.dtype, device=code.device)
    return code[None] + k[:, None] * direction.to(code)[None]
