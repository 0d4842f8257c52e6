"""Image metrics of GASP §6 (Tabs. 1-3): PSNR, SSIM, LPIPS, FID, ID-SIM on the head region, per frame.

Images are [H, W, 3] (or [K, H, W, 3]) float tensors in [0, 1]; ``mask`` is the head matte [H, W] in [0, 1].
The head region: both images are multiplied by the mask (background -> black) and cropped to the mask's bounding
box. LPIPS / FID load pretrained backbones only from local caches (``evaluation.weights``); when they are missing
the metric is reported as unavailable with the reason, never computed from random weights.
Rows: (subject, setting, method, camera, frame, metric, value, backend); set-level metrics (FID) use frame -1.
ID-SIM is a similarity in [0, 1] (``evaluation.identity``). Each metric's backend and cache: docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from evaluation.weights import alexnet_weights, inception_weights

METRICS = ("psnr", "ssim", "lpips", "fid", "id_sim")
#: PSNR of identical images (MSE 0) is reported as this cap instead of +inf.
PSNR_CAP_DB = 100.0
ROW_COLUMNS = ["subject", "setting", "method", "camera", "frame", "metric", "value", "backend"]


@dataclass(frozen=True)
class MetricResult:
    value: float
    backend: str  # e.g. "pytorch_msssim"; "unavailable: <reason>" with value NaN


def unavailable(reason: str) -> MetricResult:
    return MetricResult(float("nan"), f"unavailable: {reason}")


def _batch(x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x).float()
    return x[None] if x.ndim == 3 else x


def head_box(mask: torch.Tensor, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive-exclusive box of mask > threshold, or None for an empty mask."""
    m = torch.as_tensor(mask) > threshold
    if not bool(m.any()):
        return None
    ys = torch.nonzero(m.any(1)).flatten()
    xs = torch.nonzero(m.any(0)).flatten()
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def head_region(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None):
    """Both images masked (background black) and cropped to the mask box; unchanged without a mask."""
    pred, target = torch.as_tensor(pred).float(), torch.as_tensor(target).float()
    if mask is None:
        return pred, target
    mask = torch.as_tensor(mask).float()
    box = head_box(mask)
    if box is None:
        raise ValueError("empty head mask")
    x0, y0, x1, y1 = box
    m = mask[..., None]
    return (pred * m)[y0:y1, x0:x1], (target * m)[y0:y1, x0:x1]


def psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
         cap_db: float = PSNR_CAP_DB) -> float:
    """PSNR (dB, data range 1) over the head-mask pixels (weighted by the mask); identical images -> ``cap_db``."""
    pred, target = torch.as_tensor(pred).float(), torch.as_tensor(target).float()
    err = (pred - target) ** 2
    if mask is not None:
        w = torch.as_tensor(mask).float()[..., None].expand_as(err)
        if float(w.sum()) <= 0:
            raise ValueError("empty head mask")
        mse = float((err * w).sum() / w.sum())
    else:
        mse = float(err.mean())
    if mse <= 0:
        return float(cap_db)
    return min(float(cap_db), -10.0 * math.log10(mse))


def ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, win_size: int = 11) -> float:
    """SSIM (pytorch-msssim, Gaussian window 11 / sigma 1.5, data range 1) of the head region; the window shrinks
    (odd) when the crop is smaller than it."""
    from pytorch_msssim import ssim as _ssim

    p, t = head_region(pred, target, mask)
    side = min(p.shape[0], p.shape[1])
    win = min(win_size, side if side % 2 else side - 1)
    if win < 3:
        raise ValueError(f"head region {tuple(p.shape[:2])} too small for SSIM")
    p, t = p.permute(2, 0, 1)[None], t.permute(2, 0, 1)[None]
    return float(_ssim(p, t, data_range=1.0, size_average=True, win_size=win))


@lru_cache(maxsize=2)
def _lpips_model(backbone_path: str):
    """(LPIPS-alex module, "") or (None, reason); loaded once per backbone file (``load_lpips``, the prior's loader)."""
    from gasp_ops.prior.perceptual import load_lpips

    try:
        model, status = load_lpips("alex")
    except Exception as exc:  # a corrupt or mismatched cache file
        return None, f"lpips failed to load: {exc}"
    return (model, "") if model is not None else (None, status.reason)


def _lpips() -> tuple[torch.nn.Module | None, str]:
    avail = alexnet_weights()
    return _lpips_model(avail.path) if avail.available else (None, avail.reason)


def lpips_status() -> str:
    model, reason = _lpips()
    return "lpips_alex" if model is not None else f"unavailable: {reason}"


def lpips_distance(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> MetricResult:
    """LPIPS (AlexNet, v0.1) of the head region, or unavailable with the reason."""
    model, reason = _lpips()
    if model is None:
        return unavailable(reason)
    p, t = head_region(pred, target, mask)
    with torch.no_grad():
        d = model(p.permute(2, 0, 1)[None], t.permute(2, 0, 1)[None])
    return MetricResult(float(d), "lpips_alex")


def fid_score(preds: list[torch.Tensor], targets: list[torch.Tensor]) -> MetricResult:
    """Clean-FID between the sets of renders and ground truths (uint8, clean resize inside the extractor), or
    unavailable with the reason. Needs >= 2 images per set."""
    avail = inception_weights()
    if not avail.available:
        return unavailable(avail.reason)
    if len(preds) < 2 or len(targets) < 2:
        return unavailable("FID needs at least 2 images per set")
    try:
        from cleanfid.inception_torchscript import InceptionV3W

        net = InceptionV3W(avail.path, download=False, resize_inside=True).eval()

        def feats(imgs):
            x = torch.stack([torch.as_tensor(i).float().clamp(0, 1) * 255 for i in imgs]).permute(0, 3, 1, 2)
            with torch.no_grad():
                return net(x).numpy().astype(np.float64)

        value = frechet_distance(feats(preds), feats(targets))
    except Exception as exc:  # pragma: no cover - depends on the cache contents
        return unavailable(f"clean-fid failed: {exc}")
    return MetricResult(float(value), "clean_fid_inception")


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance of the Gaussians fitted to features a [n1, D] and b [n2, D] (sample covariances, ddof 1):
    |mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr sqrt(S_a S_b).

    With A, B the centred features, S_a S_b = A^T A B^T B / c, c = (n1 - 1)(n2 - 1), whose eigenvalues are the
    squared singular values of the n1 x n2 matrix A B^T over c; so tr sqrt(S_a S_b) = ||A B^T||_* / sqrt(c), exact
    and cheap when the sets are smaller than D (an evaluation's frames vs Inception's 2048 features, where a
    2048 x 2048 ``sqrtm`` takes minutes on a CPU). Larger sets use clean-fid's ``frechet_distance``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n1, n2, dim = a.shape[0], b.shape[0], a.shape[1]
    if min(n1, n2) >= dim:
        from cleanfid.fid import frechet_distance as clean_fid_frechet

        return float(clean_fid_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))
    ac, bc = a - a.mean(0), b - b.mean(0)
    c = (n1 - 1) * (n2 - 1)
    cross = np.linalg.svd(ac @ bc.T, compute_uv=False).sum() / math.sqrt(c)
    tr_a, tr_b = float((ac * ac).sum()) / (n1 - 1), float((bc * bc).sum()) / (n2 - 1)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + tr_a + tr_b - 2.0 * cross)


def frame_metrics(pred, target, mask=None, *, embedder=None, metrics=METRICS) -> dict[str, MetricResult]:
    """Per-frame metrics (not FID) of one render vs its ground truth."""
    out: dict[str, MetricResult] = {}
    if "psnr" in metrics:
        out["psnr"] = MetricResult(psnr(pred, target, mask), "masked_mse")
    if "ssim" in metrics:
        out["ssim"] = MetricResult(ssim(pred, target, mask), "pytorch_msssim")
    if "lpips" in metrics:
        out["lpips"] = lpips_distance(pred, target, mask)
    if "id_sim" in metrics:
        from evaluation.identity import NoFaceInGroundTruth, face_embedder, id_similarity

        if embedder is None:
            embedder, _, reason = face_embedder()
        if embedder is None:
            out["id_sim"] = unavailable(reason)
        else:
            p, t = head_region(pred, target, mask)
            try:
                value, note = id_similarity(p, t, embedder=embedder)
                out["id_sim"] = MetricResult(value, note)
            except NoFaceInGroundTruth as exc:
                out["id_sim"] = unavailable(str(exc))
            except Exception as exc:
                out["id_sim"] = unavailable(f"{embedder.name}: {exc}")
    return out


def evaluate_frames(preds, targets, masks, keys: list[dict], *, metrics=METRICS, embedder=None) -> pd.DataFrame:
    """Rows (subject, setting, method, camera, frame, metric, value, backend) for renders ``preds[i]`` against
    ``targets[i]`` with head masks ``masks[i]``; ``keys[i]`` holds subject, setting, method, camera, frame.
    FID is computed once per (subject, setting, method) over its frames (camera 'all', frame -1)."""
    rows = []
    for p, t, m, k in zip(preds, targets, masks, keys):
        for name, r in frame_metrics(p, t, m, embedder=embedder, metrics=metrics).items():
            rows.append({**_key(k), "metric": name, "value": r.value, "backend": r.backend})
    if "fid" in metrics and keys:
        groups: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault((k["subject"], k["setting"], k["method"]), []).append(i)
        for (s, st, me), idx in groups.items():
            crops = [head_region(preds[i], targets[i], masks[i]) for i in idx]
            r = fid_score([c[0] for c in crops], [c[1] for c in crops]) if _same_shapes(crops) else fid_score(
                [preds[i] for i in idx], [targets[i] for i in idx])
            rows.append({"subject": s, "setting": st, "method": me, "camera": "all", "frame": -1, "metric": "fid",
                         "value": r.value, "backend": r.backend})
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _same_shapes(crops) -> bool:
    return len({tuple(c[0].shape) for c in crops}) == 1


def _key(k: dict) -> dict:
    return {"subject": str(k["subject"]), "setting": str(k["setting"]), "method": str(k["method"]),
            "camera": str(k["camera"]), "frame": int(k["frame"])}


def write_metric_rows(path, rows: pd.DataFrame):
    from gasp_ops.io.tables import write_parquet

    return write_parquet(path, rows[ROW_COLUMNS])
