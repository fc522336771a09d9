"""Loss plots written as PNG (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_losses"]


def plot_losses(checkpoint: Path, out: Path, title: str) -> Path:
    """Plot the loss history stored in a checkpoint (raw and a 100-step running mean).

    A teacher trained with auxiliary heads (mouth probe, Whisper distillation) stores their
    losses too: their weighted terms and the denoising loss left over are drawn as running
    means beside the total.

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

    state = torch.load(checkpoint, weights_only=False)
    losses = np.asarray(state["losses"], np.float64)
    cfg = state.get("config", {})
    terms = {
        f"{name} term (x{cfg.get(weight, 0.0):g})": cfg.get(weight, 0.0)
        * np.asarray(state[key], np.float64)
        for name, key, weight in (
            ("mouth probe", "probe_losses", "aux_weight"),
            ("Whisper", "whisper_losses", "whisper_weight"),
        )
        if len(state.get(key, ())) == len(losses)
    }
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    ax.plot(losses, lw=0.5, alpha=0.35, label="step")
    k = min(100, max(1, len(losses) // 10))
    if len(losses) >= k:
        steps = np.arange(k - 1, len(losses))
        kernel = np.ones(k) / k
        ax.plot(steps, np.convolve(losses, kernel, mode="valid"), lw=1.5, label=f"mean of {k}")
        if terms:
            rest = losses - sum(terms.values())
            for label, y in {"denoising": rest, **terms}.items():
                ax.plot(steps, np.convolve(y, kernel, mode="valid"), lw=1.0, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
