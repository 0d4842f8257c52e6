"""Which identities an encoder trains on and which views belong to each identity."""

from __future__ import annotations

import torch

from gasp_ops.prior.dataset_batches import PriorViews
from gasp_ops.seeding import generator


def split_subjects(num_subjects: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, val) identity indices: a seeded permutation; val gets round(J x val_fraction) (>= 1 when the
    fraction is > 0 and J >= 2), train keeps at least one."""
    perm = torch.randperm(num_subjects, generator=generator(seed, "encoder-split")).tolist()
    n_val = round(num_subjects * val_fraction)
    if val_fraction > 0 and num_subjects >= 2:
        n_val = max(n_val, 1)
    n_val = min(n_val, num_subjects - 1)
    return sorted(perm[n_val:]), sorted(perm[:n_val])


def views_by_subject(views: PriorViews) -> list[torch.Tensor]:
    """For every subject j, its view indices [M_j] (in view order)."""
    subject = views.subject.cpu()
    order = torch.argsort(subject * (int(views.view_index.max()) + 1) + views.view_index.cpu())
    counts = torch.bincount(subject, minlength=views.num_subjects).tolist()
    return list(torch.split(order, counts))
