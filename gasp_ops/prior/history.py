"""Loss histories of the training and fitting loops: {"step": [...], term: [...]} plus the progress bar."""

from __future__ import annotations


def record_terms(history: dict, step: int, names: tuple[str, ...], values: list[float], bar=None) -> None:
    """Append ``step`` and each named term's value to ``history``; show the first (total loss) and the last (PSNR)
    on the tqdm ``bar`` when one is given."""
    history["step"].append(step)
    for k, v in zip(names, values):
        history[k].append(float(v))
    if bar is not None:
        bar.set_postfix(loss=f"{values[0]:.4f}", psnr=f"{values[-1]:.2f}")
