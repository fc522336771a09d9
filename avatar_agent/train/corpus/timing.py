"""How well an engine's phone timings sit on its audio: the loudness lag.

Phones are turned into an openness-like curve (vowels 1, stops 0.2, other consonants 0.5,
silence 0) and matched against the audio's log loudness at 10 ms frames; the lag with the
highest correlation says how far the labels sit from the sound. The measure has a bias of its
own (20–25 ms early on espeak-ng, whose phoneme events are exact), so an engine's timings are
judged against espeak-ng's lag on the same sentences, not against zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avatar_agent.train.phones import SILENCE, Phone

__all__ = ["loudness_lag", "phone_curve"]

_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_STOPS = frozenset("P B T D K G".split())
_FRAME = 0.01


def phone_curve(phones: Sequence[Phone], n_frames: int) -> np.ndarray:
    """The phones as a 100 Hz curve: vowels 1, stops 0.2, other consonants 0.5, silence 0."""
    out = np.zeros(n_frames, np.float64)
    for p in phones:
        value = (
            1.0
            if p.symbol in _VOWELS
            else 0.0
            if p.symbol == SILENCE
            else (0.2 if p.symbol in _STOPS else 0.5)
        )
        out[int(round(p.start / _FRAME)) : int(round(p.end / _FRAME))] = value
    return out


def loudness_lag(
    items: Sequence[tuple[np.ndarray, int, Sequence[Phone]]], *, max_lag_ms: int = 120
) -> tuple[float, dict[int, float]]:
    """The lag at which the phones best match the audio's loudness, pooled over utterances.

    Args:
        items: ``(samples, sample_rate, phones)`` per utterance.
        max_lag_ms: Lags tried: ``-max..max`` in 10 ms steps.

    Returns:
        The best lag in ms, refined by a parabola through its neighbours (negative: the
        sound comes before its labels), and the correlation at every lag tried.
    """
    curves, louds = [], []
    for samples, rate, phones in items:
        hop = int(rate * _FRAME)
        x = np.asarray(samples, np.float64)
        n = len(x) // hop
        frames = x[: n * hop].reshape(n, hop)
        louds.append(np.log(np.sqrt(np.mean(frames**2, axis=1)) + 1e-4))
        curves.append(phone_curve(phones, n))
    c, e = np.concatenate(curves), np.concatenate(louds)
    k = max_lag_ms // 10
    rs: dict[int, float] = {}
    for lag in range(-k, k + 1):
        a, b = (c[-lag:], e[: len(e) + lag]) if lag < 0 else (c[: len(c) - lag], e[lag:])
        rs[lag * 10] = float(np.corrcoef(a, b)[0, 1])
    best = max(rs, key=rs.__getitem__)
    lag = float(best)
    if best - 10 in rs and best + 10 in rs:
        lo, mid, hi = rs[best - 10], rs[best], rs[best + 10]
        den = lo - 2 * mid + hi
        if den < 0:
            lag += 10 * 0.5 * (lo - hi) / den
    return lag, rs
