"""Pure-NumPy prosody: F0 (YIN-style) and energy of 16 kHz speech at a 10 ms hop.

:func:`prosody` returns a :class:`Prosody` with per-hop F0 (Hz, 0 where unvoiced), a voicing
flag and smoothed energy (dBFS); :meth:`Prosody.at_frames` resamples to video frames and
adds F0 in semitones relative to the clip's median voiced F0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SAMPLE_RATE", "HOP_S", "Prosody", "FrameProsody", "prosody"]

SAMPLE_RATE = 16000
"""Input sample rate (Hz)."""

HOP_S = 0.01
"""Analysis hop (s)."""


@dataclass
class FrameProsody:
    """Prosody at video frames.

    Attributes:
        f0_st: F0 in semitones relative to the clip's median voiced F0 (0 where unvoiced).
        voiced: Voicing (0..1, fraction of voiced hops in the frame).
        energy_db: Energy (dBFS) per frame.
        energy: Energy mapped to 0..1 (-55 dBFS → 0, -15 dBFS → 1).
    """

    f0_st: np.ndarray
    voiced: np.ndarray
    energy_db: np.ndarray
    energy: np.ndarray


@dataclass
class Prosody:
    """Prosody at a 10 ms hop; hop ``k`` is centred at ``(k + 0.5) * HOP_S``.

    Attributes:
        f0_hz: F0 in Hz, 0 where unvoiced (median-smoothed).
        voiced: Boolean voicing per hop.
        energy_db: RMS energy in dBFS (smoothed over ~30 ms).
    """

    f0_hz: np.ndarray
    voiced: np.ndarray
    energy_db: np.ndarray

    def at_frames(self, n_frames: int, fps: float) -> FrameProsody:
        """Average the hops inside each video frame window ``[i / fps, (i + 1) / fps)``.

        Args:
            n_frames: Number of frames.
            fps: Frame rate.

        Returns:
            A :class:`FrameProsody`.
        """
        n = len(self.f0_hz)
        st = np.zeros(n)
        if self.voiced.any():
            ref = float(np.median(self.f0_hz[self.voiced]))
            st[self.voiced] = 12.0 * np.log2(self.f0_hz[self.voiced] / ref)
        idx = np.minimum(((np.arange(n) + 0.5) * HOP_S * fps).astype(int), max(n_frames - 1, 0))
        cnt = np.bincount(idx, minlength=n_frames)[:n_frames].astype(float)
        v = np.bincount(idx, self.voiced.astype(float), n_frames)[:n_frames]
        s = np.bincount(idx, st, n_frames)[:n_frames]
        e = np.bincount(idx, self.energy_db, n_frames)[:n_frames]
        safe = np.maximum(cnt, 1.0)
        f0_st = np.where(v > 0, s / np.maximum(v, 1.0), 0.0)
        energy_db = np.where(cnt > 0, e / safe, -100.0)
        return FrameProsody(
            f0_st=f0_st.astype(np.float32),
            voiced=(v / safe).astype(np.float32),
            energy_db=energy_db.astype(np.float32),
            energy=np.clip((energy_db + 55.0) / 40.0, 0.0, 1.0).astype(np.float32),
        )


def _frames(x: np.ndarray, length: int, hop: int, n: int) -> np.ndarray:
    pad = np.concatenate([x, np.zeros(max(0, (n - 1) * hop + length - len(x)))])
    idx = np.arange(n)[:, None] * hop + np.arange(length)[None, :]
    return pad[idx]


def _median3(x: np.ndarray, k: int) -> np.ndarray:
    if len(x) < k:
        return x
    pad = np.pad(x, k // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, k), axis=1)


def prosody(
    audio16k: np.ndarray,
    *,
    fmin: float = 70.0,
    fmax: float = 400.0,
    threshold: float = 0.15,
    gate_db: float = -50.0,
) -> Prosody:
    """F0 and energy of 16 kHz mono audio (YIN cumulative-mean-normalised difference).

    Args:
        audio16k: 1-D samples at 16 kHz (nominally -1..1; non-finite values read as 0).
        fmin: Lowest F0 searched (Hz).
        fmax: Highest F0 searched (Hz).
        threshold: YIN absolute threshold on the normalised difference.
        gate_db: Hops quieter than this are unvoiced.

    Returns:
        A :class:`Prosody` with ``ceil(len / 160)`` hops.

    Raises:
        ValueError: If the audio is not 1-D.
    """
    x = np.asarray(audio16k, np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D mono audio, got shape {x.shape}")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    hop = int(SAMPLE_RATE * HOP_S)
    n = max(1, -(-len(x) // hop))
    win = int(0.025 * SAMPLE_RATE)
    max_lag = int(SAMPLE_RATE / fmin) + 1
    min_lag = max(2, int(SAMPLE_RATE / fmax))
    # centre the analysis window on the hop centre
    start = hop // 2 - (win + max_lag) // 2
    xp = np.concatenate([np.zeros(max(0, -start)), x])
    seg = _frames(xp, win + max_lag, hop, n)  # (n, win + max_lag)

    # energy over the integration window
    core = seg[:, max_lag // 2 : max_lag // 2 + win]
    rms = np.sqrt(np.mean(core * core, axis=1) + 1e-12)
    energy_db = 20.0 * np.log10(rms + 1e-10)

    # YIN difference d(tau) = E0 + E_tau - 2 r(tau), via FFT correlation
    nfft = 1 << int(np.ceil(np.log2(2 * (win + max_lag))))
    a = np.fft.rfft(seg[:, :win], nfft)
    b = np.fft.rfft(seg, nfft)
    r = np.fft.irfft(np.conj(a) * b, nfft)[:, : max_lag + 1]
    sq = np.concatenate([np.zeros((n, 1)), np.cumsum(seg * seg, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    e_tau = sq[:, lags + win] - sq[:, lags]
    d = np.maximum(sq[:, win : win + 1] + e_tau - 2.0 * r, 0.0)
    cm = np.cumsum(d[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] / np.maximum(cm, 1e-12)

    search = cmnd[:, min_lag:max_lag]
    below = search < threshold
    first = np.where(below.any(1), below.argmax(1), search.argmin(1))
    # walk down to the local minimum after the first crossing
    tau = first + min_lag
    for _ in range(8):
        nxt = np.minimum(tau + 1, max_lag - 1)
        step = cmnd[np.arange(n), nxt] < cmnd[np.arange(n), tau]
        tau = np.where(step, nxt, tau)
    val = cmnd[np.arange(n), tau]
    lo = cmnd[np.arange(n), np.maximum(tau - 1, 1)]
    hi = cmnd[np.arange(n), np.minimum(tau + 1, max_lag)]
    denom = lo - 2 * val + hi
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (lo - hi) / np.where(denom == 0, 1, denom), 0.0)
    tau_f = tau + np.clip(shift, -1.0, 1.0)
    voiced = (val < 0.3) & (energy_db > gate_db)
    f0 = np.where(voiced, SAMPLE_RATE / np.maximum(tau_f, 1.0), 0.0)

    # smoothing: median over 5 hops on voiced runs, drop isolated voiced hops
    f0s = _median3(f0, 5)
    voiced = voiced & (_median3(voiced.astype(float), 3) > 0.5)
    f0 = np.where(voiced & (f0s > 0), f0s, np.where(voiced, f0, 0.0))
    k = np.array([0.25, 0.5, 0.25])
    energy_s = np.convolve(np.pad(energy_db, 1, mode="edge"), k, mode="valid")
    return Prosody(
        f0_hz=f0.astype(np.float32), voiced=voiced, energy_db=energy_s.astype(np.float32)
    )
