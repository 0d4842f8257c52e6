"""Training views of the prior in memory, and the deterministic (subject, view) batch schedule.

``PriorViews`` holds every view of the selected subjects: premultiplied colour and alpha as uint8 (compact), plus
expression, pose and camera per view. ``BatchSchedule`` turns a step number into the global batch of view indices
(a fresh seeded permutation per epoch), so a run resumed at step s draws exactly the batches an uninterrupted run
would, and DDP ranks split each global batch into equal contiguous chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.seeding import generator

POSE_FIELDS = ("rotation", "translation", "neck", "jaw", "eyes")


@dataclass
class ViewBatch:
    """A batch of B views on one device.

    rgb: [B, H, W, 3] premultiplied colour (straight colour x alpha, i.e. composited over black), float32 in [0, 1].
    alpha: [B, H, W, 1]. subject: [B] long (prior subject index). expression: [B, n_expr]. pose: HeadPose batch B.
    cameras: Cameras with B entries. identity: [B, n_id] head-model shape coefficients.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    subject: torch.Tensor
    expression: torch.Tensor
    pose: HeadPose
    cameras: Cameras
    identity: torch.Tensor


@dataclass
class PriorViews:
    """M views of J subjects.

    rgb: [M, H, W, 3] uint8 premultiplied colour; alpha: [M, H, W] uint8; subject: [M] long in [0, J);
    view_index: [M] long (index within its subject); expression: [M, n_expr]; pose: {field: [M, 3] or [M, 6]};
    world_to_cam: [M, 4, 4]; K: [M, 3, 3]; identity_coeffs: [J, n_id]; identity_ids: J names;
    train: [M] bool, False for held-out views.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    subject: torch.Tensor
    view_index: torch.Tensor
    expression: torch.Tensor
    pose: dict
    world_to_cam: torch.Tensor
    K: torch.Tensor
    identity_coeffs: torch.Tensor
    identity_ids: list
    train: torch.Tensor

    def __len__(self) -> int:
        return int(self.subject.shape[0])

    @property
    def num_subjects(self) -> int:
        return int(self.identity_coeffs.shape[0])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[2])

    def to(self, device) -> "PriorViews":
        """A copy with every tensor on ``device`` (e.g. keep a GPU benchmark's views in GPU memory)."""
        moved = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in self.__dict__.items() if k != "pose"}
        return PriorViews(**moved, pose={k: v.to(device) for k, v in self.pose.items()})

    def train_indices(self) -> torch.Tensor:
        return torch.nonzero(self.train.cpu()).flatten()

    def heldout_indices(self) -> torch.Tensor:
        return torch.nonzero(~self.train.cpu()).flatten()

    def gather(self, idx: torch.Tensor, device="cpu") -> ViewBatch:
        """The views ``idx`` [B] as float tensors on ``device``."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        H, W = self.image_size
        idx = idx.to(self.rgb.device)
        cams = Cameras(self.world_to_cam[idx].to(device), self.K[idx].to(device), W, H)
        pose = HeadPose(**{k: self.pose[k][idx].to(device) for k in POSE_FIELDS})
        subject = self.subject[idx]
        return ViewBatch(
            rgb=self.rgb[idx].to(device).float() / 255.0,
            alpha=self.alpha[idx].to(device).float()[..., None] / 255.0,
            subject=subject.to(device), expression=self.expression[idx].to(device), pose=pose, cameras=cams,
            identity=self.identity_coeffs[subject].to(device))

    @classmethod
    def from_synthetic(cls, dataset, n_subjects: int = 0, image_size: int = 0, holdout_views: int = 1) -> "PriorViews":
        """Load the views of the first ``n_subjects`` identities (0 = all) of a ``SyntheticDataset``.

        Views are area-resampled to ``image_size`` (0 = keep) with the intrinsics scaled to match; the last
        ``holdout_views`` views of every identity are marked held out.
        """
        from gasp_ops.synthetic.dataset_plan import view_inputs

        ids_all = dataset.identity_ids()
        if n_subjects > len(ids_all):
            raise GaspInputError("n_subjects", f"asks for {n_subjects} identities but the dataset has {len(ids_all)}")
        ids = ids_all if n_subjects == 0 else ids_all[:n_subjects]
        table = dataset.identities.set_index("identity_id")
        coeffs = torch.from_numpy(np.stack([np.asarray(table.loc[i].identity_coeffs, np.float32) for i in ids]))
        rows = dataset.views[dataset.views.identity_id.isin(ids)]
        order = {name: j for j, name in enumerate(ids)}
        rows = rows.assign(_s=rows.identity_id.map(order)).sort_values(["_s", "view_index"])
        expression, head_pose, cams = view_inputs(rows)
        rgb, alpha = _load_premultiplied(dataset.root, rows.image_path.tolist(), rows.mask_path.tolist())
        subject = torch.tensor(rows._s.to_numpy(), dtype=torch.long)
        view_index = torch.tensor(rows.view_index.to_numpy(), dtype=torch.long)
        pose = {k: getattr(head_pose, k).float() for k in POSE_FIELDS}
        return cls.from_tensors(rgb, alpha, subject, view_index, expression.float(), pose,
                                cams.world_to_cam.float(), cams.K.float(), coeffs, ids,
                                image_size=image_size, holdout_views=holdout_views)

    @classmethod
    def from_tensors(cls, rgb, alpha, subject, view_index, expression, pose, world_to_cam, K, identity_coeffs,
                     identity_ids, image_size: int = 0, holdout_views: int = 1) -> "PriorViews":
        """From tensors: rgb [M, H, W, 3] premultiplied, alpha [M, H, W]; float in [0, 1] or uint8 (kept as is when
        no resampling is needed); the rest as the fields."""
        H, W = rgb.shape[1:3]
        K = K.clone().float()
        if image_size and (image_size, image_size) != (H, W):
            if H != W:
                raise GaspInputError("image_size", f"resampling needs square views, got {H}x{W}")
            rgb, alpha = _resample(rgb, alpha, image_size)
            K[:, :2] *= image_size / H
        subject = torch.as_tensor(subject, dtype=torch.long)
        view_index = torch.as_tensor(view_index, dtype=torch.long)
        train = torch.ones(len(subject), dtype=torch.bool)
        if holdout_views:
            for s in subject.unique():
                mine = torch.nonzero(subject == s).flatten()
                if len(mine) <= holdout_views:
                    raise GaspInputError("holdout_views", f"subject {int(s)} has {len(mine)} views; cannot hold out "
                                         f"{holdout_views} and still train on it")
                last = mine[view_index[mine].argsort()][-holdout_views:]
                train[last] = False
        to8 = lambda t: t if t.dtype == torch.uint8 else (t.clamp(0, 1) * 255 + 0.5).to(torch.uint8)  # noqa: E731
        return cls(rgb=to8(rgb), alpha=to8(alpha), subject=subject, view_index=view_index,
                   expression=expression.float(), pose={k: pose[k].float() for k in POSE_FIELDS},
                   world_to_cam=world_to_cam.float(), K=K, identity_coeffs=identity_coeffs.float(),
                   identity_ids=list(identity_ids), train=train)


def _resample(rgb: torch.Tensor, alpha: torch.Tensor, size: int, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Area (down) / bilinear (up) resampling in chunks of views; uint8 in -> uint8 out, float in -> float out."""
    out_rgb, out_alpha = [], []
    mode = "area" if size < rgb.shape[1] else "bilinear"
    for k in range(0, rgb.shape[0], chunk):
        c_rgb, c_alpha = rgb[k:k + chunk], alpha[k:k + chunk]
        scale = 255.0 if c_rgb.dtype == torch.uint8 else 1.0
        x = torch.cat([c_rgb.float() / scale, c_alpha.float()[..., None] / scale], -1).permute(0, 3, 1, 2)
        y = F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        y = y.permute(0, 2, 3, 1)
        if rgb.dtype == torch.uint8:
            y = (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        out_rgb.append(y[..., :3])
        out_alpha.append(y[..., 3])
    return torch.cat(out_rgb), torch.cat(out_alpha)


def _load_premultiplied(root, image_paths: list, mask_paths: list, threads: int | None = None):
    """Decode the views' PNGs in a thread pool: (rgb [M, H, W, 3] uint8 premultiplied, alpha [M, H, W] uint8)."""
    import os
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from gasp_ops.io.images import load_png

    def one(pair):
        rgb = load_png(Path(root) / pair[0])[..., :3].astype(np.float32)
        a = load_png(Path(root) / pair[1])
        a = a[..., 0] if a.ndim == 3 else a
        premult = np.floor(rgb * (a.astype(np.float32)[..., None] / 255.0) + 0.5).clip(0, 255).astype(np.uint8)
        return premult, a.astype(np.uint8)

    with ThreadPoolExecutor(threads or min(16, os.cpu_count() or 1)) as pool:
        loaded = list(pool.map(one, zip(image_paths, mask_paths)))
    return (torch.from_numpy(np.stack([x[0] for x in loaded])), torch.from_numpy(np.stack([x[1] for x in loaded])))


class BatchSchedule:
    """Global batch of view indices for any step: epochs are seeded permutations of ``items``, read in order."""

    def __init__(self, items: torch.Tensor, batch_size: int, seed: int):
        if len(items) == 0:
            raise GaspInputError("views", "no training views")
        self.items = torch.as_tensor(items, dtype=torch.long)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self._cache: dict[int, torch.Tensor] = {}

    def _epoch(self, e: int) -> torch.Tensor:
        if e not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            perm = torch.randperm(len(self.items), generator=generator(self.seed, "prior-batches", e))
            self._cache[e] = self.items[perm]
        return self._cache[e]

    def indices(self, step: int) -> torch.Tensor:
        """[batch_size] view indices of step ``step`` (0-based)."""
        n = len(self.items)
        start = step * self.batch_size
        out = [self._epoch((start + k) // n)[(start + k) % n] for k in range(self.batch_size)]
        return torch.stack(out)

    def rank_chunk(self, step: int, rank: int, world_size: int) -> torch.Tensor:
        """This rank's contiguous share of the global batch (batch_size must divide by world_size)."""
        idx = self.indices(step)
        per = self.batch_size // world_size
        return idx[rank * per:(rank + 1) * per]
