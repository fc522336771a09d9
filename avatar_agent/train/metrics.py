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

Lip shape (:func:`lip_shape_metrics`), each an AUC: the chance that a phone of the first
kind scores higher than one of the second (0.5: the mouth does not tell them apart; 1: it
always does):

- ``rounding_auc``: rounded /uw uh ow oy ao w/ against spread /iy ih eh ae ey/, scored by
  the mean rounding (``mouthFunnel + mouthPucker - mouthStretch``) on the frames whose
  centre falls inside the phone;
- ``labiodental_auc``: /f v/ against the other consonants (not /p b m w/), scored by the
  largest ``mouthRollLower`` (lower lip tucked to the teeth) on the frames overlapping the
  phone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.phones import BILABIAL, LABIODENTAL, ROUNDED, SILENCE, VOWELS, Phone
from avatar_agent.train.targets.visemes import lip_openness

__all__ = [
    "CLOSED",
    "FPS",
    "OPEN",
    "SPREAD",
    "lip_shape_metrics",
    "lip_shape_signals",
    "lipsync_metrics",
    "track_metrics",
]

CLOSED = 0.05
"""Lip opening at or below which the lips count as closed."""

FPS = 25.0
_MAX_LAG = 5  # frames (200 ms)
OPEN = 0.3
"""Reference openness at or above which a frame counts as open (for ``open_shut``)."""


SPREAD = frozenset({"IY", "IH", "EH", "AE", "EY"})
"""Vowels with spread lips, the counterpart of rounded ones in ``rounding_auc``."""


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


def _auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Mann-Whitney AUC: P(a positive scores above a negative), ties counting half."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos, float)[:, None], np.asarray(neg, float)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def lip_shape_metrics(
    rounding: Sequence[np.ndarray],
    tuck: Sequence[np.ndarray],
    phones: Sequence[Sequence[Phone]],
) -> dict[str, float]:
    """Whether the lip shape tells rounded from spread vowels and /f v/ from other consonants.

    Args:
        rounding: Per utterance, the predicted ``mouthFunnel + mouthPucker - mouthStretch``
            at 25 fps.
        tuck: Per utterance, the predicted ``mouthRollLower``.
        phones: Per utterance, the phones.

    Returns:
        ``rounding_auc``, ``labiodental_auc`` and counts ``n_rounded``, ``n_spread``,
        ``n_labiodental``.
    """
    rounded: list[float] = []
    spread: list[float] = []
    labio: list[float] = []
    other: list[float] = []
    for rnd, tk, ph in zip(rounding, tuck, phones, strict=True):
        n = len(rnd)
        if n == 0:
            continue
        centre = (np.arange(n) + 0.5) / FPS
        lo_t, hi_t = np.arange(n) / FPS, (np.arange(n) + 1) / FPS
        for p in ph:
            s = p.symbol
            if s in ROUNDED or s in SPREAD:
                m = (centre >= p.start) & (centre < p.end)
                if not m.any():  # shorter than a frame: the frame at its middle
                    i = int((p.start + p.end) / 2 * FPS)
                    m = np.arange(n) == min(i, n - 1)
                (rounded if s in ROUNDED else spread).append(float(rnd[m].mean()))
            elif s != SILENCE and s not in VOWELS and s not in BILABIAL:
                m = (hi_t > p.start) & (lo_t < p.end)
                if m.any():
                    (labio if s in LABIODENTAL else other).append(float(tk[m].max()))
    return {
        "rounding_auc": _auc(rounded, spread),
        "labiodental_auc": _auc(labio, other),
        "n_rounded": float(len(rounded)),
        "n_spread": float(len(spread)),
        "n_labiodental": float(len(labio)),
    }


_JAW, _CLOSE = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
_ROUND = [PARAM_INDEX["mouthFunnel"], PARAM_INDEX["mouthPucker"]]
_STRETCH = [PARAM_INDEX["mouthStretchLeft"], PARAM_INDEX["mouthStretchRight"]]
_TUCK = PARAM_INDEX["mouthRollLower"]


def lip_shape_signals(track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-frame rounding and lip tuck that :func:`lip_shape_metrics` scores.

    Args:
        track: Motion ``(T, P)`` in the order of :data:`~avatar_agent.motion.PARAMS`.

    Returns:
        ``mouthFunnel + mouthPucker - mouthStretch`` (both sides' mean) and
        ``mouthRollLower``, each ``(T,)``.
    """
    return track[:, _ROUND].sum(1) - track[:, _STRETCH].mean(1), track[:, _TUCK]


def track_metrics(
    tracks: Sequence[np.ndarray], phones: Sequence[Sequence[Phone]]
) -> dict[str, float]:
    """Lip-sync and lip-shape metrics of whole motion tracks against their phones.

    Args:
        tracks: Per utterance, motion ``(T, P)`` at 25 fps in the order of
            :data:`~avatar_agent.motion.PARAMS`.
        phones: Per utterance, the phones.

    Returns:
        :func:`lipsync_metrics` and :func:`lip_shape_metrics` in one dict.
    """
    sync = lipsync_metrics(
        [t[:, _JAW] - t[:, _CLOSE] for t in tracks], [t[:, _JAW] for t in tracks], phones
    )
    shape = [lip_shape_signals(t) for t in tracks]
    return sync | lip_shape_metrics([r for r, _ in shape], [k for _, k in shape], phones)
