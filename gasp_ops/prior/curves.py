"""Loss curves of a training run as a PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gasp_ops.io.atomic import atomic_path

#: Curves drawn, each in its own panel.
PANELS: tuple[tuple[str, ...], ...] = (("total",), ("l1", "ssim", "lpips", "alpha"), ("scale", "displacement"),
                                       ("code",), ("psnr",))


def plot_curves(history: dict, path) -> tuple[Path, np.ndarray]:
    """history: {"step": [S], name: [S] floats}. Writes the plot; returns (path, uint8 [H, W, 3] image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history.get("step", []))
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3.2), dpi=80)
    for ax, names in zip(axes, PANELS):
        for name in names:
            vals = np.asarray(history.get(name, []), dtype=float)
            if vals.size and vals.size == steps.size and np.any(vals != 0):
                ax.plot(steps, vals, label=name, lw=1)
        ax.set_xlabel("step")
        drawn = [np.asarray(history.get(n, []), float) for n in names]
        if names != ("psnr",) and any(d.size for d in drawn) and all(np.all(d > 0) for d in drawn if np.any(d != 0)):
            ax.set_yscale("log")
        ax.set_title(" / ".join(names) + (" (dB)" if names == ("psnr",) else ""), fontsize=9)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path, image
