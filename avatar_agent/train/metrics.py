"""Lip-sync metrics against exact phone timings (torch-free; used by eval and tests).

Metrics:

- ``r``: Pearson correlation of the predicted lip opening (``jawOpen - mouthClose``) with the
  phoneme-derived openness (:func:`~avatar_agent.train.targets.visemes.lip_openness`) at the
  best lag within ±200 ms, pooled over utterances; ``lag_ms`` is that lag (positive: the
  prediction is late).
- ``closure``: share of /p b m/ phones (≥ 40 ms) with the lips closed (opening ≤ 0.05) on
  at least one frame overlapping the phone (±20 ms).
- ``rest``: share of silence frames more than 150 ms from any speech phone where the mouth is
  at rest (opening ≤ 0.05 and ``jawOpen`` ≤ 0.1).
- ``jitter``: mean absolute second difference of the opening per frame on speech frames.
- ``open_shut``: share of open frames (reference openness ≥ 0.3: a vowel at least as open as
  /ih/ … /aa/ at the frame centre) where the lips are closed (opening ≤ 0.05): the price of
  closing too eagerly, the counterweight of ``closure``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avatar_agent.train.phones import BILABIAL, SILENCE, Phone
from avatar_agent.train.targets.visemes import lip_openness

__all__ = ["CLOSED", "FPS", "OPEN", "lipsync_metrics"]

CLOSED = 0.05
"""Lip opening at or below which the lips count as closed."""

FPS = 25.0
_MAX_LAG = 5  # frames (200 ms)
OPEN = 0.3
"""Reference openness at or above which a frame counts as open (for ``open_shut``)."""


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def lipsync_metrics(
    openings: Sequence[np.ndarray],
    jaws: Sequence[np.ndarray],
    phones: Sequence[Sequence[Phone]],
) -> dict[str, float]:
    """Lip-sync metrics of predicted openings against exact phone timings.

    Args:
        openings: Per utterance, the predicted ``jawOpen - mouthClose`` at 25 fps.
        jaws: Per utterance, the predicted ``jawOpen``.
        phones: Per utterance, the phones.

    Returns:
        ``r``, ``lag_ms``, ``closure``, ``rest``, ``jitter``, ``open_shut`` and counts
        ``n_closures``, ``n_rest_frames``, ``n_open_frames``, ``n_frames``.
    """
    refs = [lip_openness(p, len(o), FPS) for o, p in zip(openings, phones, strict=True)]
    best, best_lag = -2.0, 0
    for lag in range(-_MAX_LAG, _MAX_LAG + 1):
        xs, ys = [], []
        for o, r in zip(openings, refs, strict=True):
            if lag >= 0:
                xs.append(o[lag:])
                ys.append(r[: len(r) - lag])
            else:
                xs.append(o[: len(o) + lag])
                ys.append(r[-lag:])
        c = _corr(np.concatenate(xs), np.concatenate(ys))
        if c > best:
            best, best_lag = c, lag
    n_cl = n_closed = 0
    n_rest = n_at_rest = 0
    jit, n_speech = 0.0, 0
    n_open = n_open_shut = 0
    for o, j, ph, ref in zip(openings, jaws, phones, refs, strict=True):
        is_open = ref >= OPEN
        n_open += int(is_open.sum())
        n_open_shut += int((o[is_open] <= CLOSED).sum())
        t = (np.arange(len(o)) + 0.5) / FPS
        lo_t, hi_t = np.arange(len(o)) / FPS, (np.arange(len(o)) + 1) / FPS
        speech = [p for p in ph if p.symbol != SILENCE]
        for p in speech:
            if p.symbol in BILABIAL and p.end - p.start >= 0.04:
                m = (hi_t > p.start - 0.02) & (lo_t < p.end + 0.02)
                if m.any():
                    n_cl += 1
                    n_closed += int(o[m].min() <= CLOSED)
        far = np.ones(len(o), bool)
        for p in speech:
            far &= ~((t > p.start - 0.15) & (t < p.end + 0.15))
        n_rest += int(far.sum())
        n_at_rest += int(((o <= CLOSED) & (j <= 0.1) & far).sum())
        inside = ~far
        if len(o) >= 3:
            d2 = np.abs(o[2:] - 2 * o[1:-1] + o[:-2])
            jit += float(d2[inside[1:-1]].sum())
            n_speech += int(inside[1:-1].sum())
    return {
        "r": best,
        "lag_ms": best_lag * 1000.0 / FPS,
        "closure": n_closed / n_cl if n_cl else float("nan"),
        "rest": n_at_rest / n_rest if n_rest else float("nan"),
        "jitter": jit / n_speech if n_speech else float("nan"),
        "open_shut": n_open_shut / n_open if n_open else float("nan"),
        "n_open_frames": float(n_open),
        "n_closures": float(n_cl),
        "n_rest_frames": float(n_rest),
        "n_frames": float(sum(len(o) for o in openings)),
    }
