"""On-the-fly log-mel augmentation of training windows: speaker warp and frequency masks.

The corpus holds a few augmented copies of each utterance; these two effects are drawn anew
for every window, so the network never sees the same spectral envelope twice:

- **vocal-tract-length warp** (VTLP, Jaitly & Hinton 2013): the spectrum is stretched along
  linear frequency by a factor ``alpha`` (``S'(f) = S(f / alpha)``), what a shorter or longer
  vocal tract does to the formants. Done on the mel rows by interpolating between bins.
- **frequency masks** (SpecAugment, Park et al. 2019): a few bands of adjacent mel bins are
  replaced by the frame's mean, so no single band (a TTS vocoder's signature, a telephone
  cut-off) can carry the decision.

Both act on whole windows (all 10 ms rows alike), never on time, so phone timing stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar_agent.audio import LogMel, hz_to_mel, mel_to_hz

__all__ = ["SpecAugment", "mel_centres_hz", "warp_mel"]


def mel_centres_hz(n_mels: int = LogMel.N_MELS) -> np.ndarray:
    """Centre frequencies (Hz) of :class:`~avatar_agent.audio.LogMel`'s triangular filters."""
    lo, hi = hz_to_mel(np.array(LogMel.FMIN)), hz_to_mel(np.array(LogMel.FMAX))
    return mel_to_hz(np.linspace(lo, hi, n_mels + 2)[1:-1])


def warp_mel(mel: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Stretch log-mel spectra along linear frequency by ``alpha`` (formants move up if > 1).

    Args:
        mel: ``(..., R, M)`` log-mel; the leading axes are windows.
        alpha: Warp factor, a scalar or one per window (shape ``mel.shape[:-2]``).

    Returns:
        Same shape and dtype; bins that would read outside the filterbank repeat the edge bin.
    """
    n = mel.shape[-1]
    centres = mel_centres_hz(n)
    lo, hi = hz_to_mel(np.array(LogMel.FMIN)), hz_to_mel(np.array(LogMel.FMAX))
    step = (hi - lo) / (n + 1)
    a = np.asarray(alpha, np.float64)[..., None]  # (..., 1)
    # bin k of the output reads the input at frequency centres[k] / alpha, in bin units
    pos = (hz_to_mel(centres / a) - lo) / step - 1.0
    pos = np.clip(pos, 0.0, n - 1.0)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0).astype(np.float32)[..., None, :]  # (..., 1, M)
    idx0 = np.broadcast_to(i0[..., None, :], mel.shape)
    idx1 = np.broadcast_to(i1[..., None, :], mel.shape)
    out = np.take_along_axis(mel, idx0, -1) * (1.0 - w) + np.take_along_axis(mel, idx1, -1) * w
    return out.astype(mel.dtype)


@dataclass(frozen=True)
class SpecAugment:
    """Random speaker warp and frequency masks for batches of log-mel windows.

    Attributes:
        warp: Largest relative warp: ``alpha`` is log-uniform in ``[1/(1+warp), 1+warp]``
            (0 turns the warp off).
        masks: Frequency masks per window (0 turns masking off).
        mask_width: Widest mask in mel bins (widths are uniform in 1..mask_width).
        p: Share of windows that get augmented at all.
    """

    warp: float = 0.15
    masks: int = 2
    mask_width: int = 8
    p: float = 0.8

    def __call__(self, mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a batch in place and return it.

        Args:
            mel: ``(B, R, M)`` float32 raw log-mel windows.
            rng: The only source of randomness.

        Returns:
            ``mel``, augmented.
        """
        b, _, m = mel.shape
        on = rng.random(b) < self.p
        if not on.any():
            return mel
        if self.warp > 0:
            span = np.log1p(self.warp)
            alpha = np.exp(rng.uniform(-span, span, b))
            mel[on] = warp_mel(mel[on], alpha[on])
        if self.masks > 0 and self.mask_width > 0:
            row_mean = mel.mean(-1, keepdims=True)
            bins = np.arange(m)
            for _ in range(self.masks):
                width = rng.integers(1, self.mask_width + 1, b)
                start = rng.integers(0, m - width + 1)
                hit = (bins[None] >= start[:, None]) & (bins[None] < (start + width)[:, None])
                hit &= on[:, None]
                mel[:] = np.where(hit[:, None, :], row_mean, mel)
        return mel
