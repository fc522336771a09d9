"""Loss plots written as PNG (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_losses"]


def plot_losses(checkpoint: Path, out: Path, title: str) -> Path:
    """Plot the loss history stored in a checkpoint (raw and a 100-step running mean).

    Args:
        checkpoint: A ``teacher.pt``/``student.pt`` with a ``losses`` list.
        out: PNG path.
        title: Plot title.

    Returns:
        The PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    losses = np.asarray(torch.load(checkpoint, weights_only=False)["losses"], np.float64)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    ax.plot(losses, lw=0.5, alpha=0.35, label="step")
    k = min(100, max(1, len(losses) // 10))
    if len(losses) >= k:
        run = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(np.arange(k - 1, len(losses)), run, lw=1.5, label=f"mean of {k}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
