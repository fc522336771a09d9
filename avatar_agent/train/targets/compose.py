"""Compose training targets: speech mouth + state non-verbal motion + expression overlay.

:func:`make_targets` builds one clip with one state and one expression;
:func:`make_targets_segments` takes a per-frame state and expression and cross-fades the
state layers and the expression over ~300 ms so a label change never snaps. Both share one
path, so a constant label gives the same frames either way.

Composition, per frame:

1. speech visemes (:func:`~avatar_agent.train.targets.visemes.mouth_targets`) weighted by the
   ``speaking`` weight (0 in other states: the mouth is at rest, listening smiles slightly);
2. plus the weighted sum of the states' non-verbal layers
   (:func:`~avatar_agent.train.targets.nonverbal.state_motion`); at a label change head pose
   cross-fades over :data:`HEAD_CROSSFADE_S`, everything else over ``crossfade_s``;
3. plus one continuous blink stream whose rate/duration follow the state;
4. plus ``conditions.overlay(expression)``;
5. then closures win: on frames that sample a /p b m/ while speaking, ``mouthClose`` is set to
   the final ``jawOpen`` plus ``closure_overshoot`` (an overlay's jaw cannot open closed
   lips; a positive overshoot makes the lips aim past contact); elsewhere
   ``mouthClose`` never exceeds ``jawOpen``; ``eyeWide`` gives way to blinks; blendshapes
   are clipped to 0..1 and head angles to ±10°.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from avatar_agent.generator.conditions import (
    N_EXPRESSIONS,
    STATE_INDEX,
    STATES,
    expression_vector,
    overlay,
)
from avatar_agent.motion import PARAM_INDEX, PARAMS
from avatar_agent.train.phones import Phone
from avatar_agent.train.targets.nonverbal import (
    BLINK_STYLES,
    HEAD_LIMIT_DEG,
    blink_track,
    state_motion,
)
from avatar_agent.train.targets.prosody import prosody as compute_prosody
from avatar_agent.train.targets.visemes import mouth_targets

__all__ = [
    "CROSSFADE_S",
    "HEAD_CROSSFADE_S",
    "make_targets",
    "make_targets_segments",
    "crossfade_weights",
]

CROSSFADE_S = 0.3
"""Cross-fade time of state layers and expressions at a label change."""

HEAD_CROSSFADE_S = 0.8
"""Cross-fade time of head pose at a label change (states can hold the head several degrees
apart; turning it over 0.8 s keeps it under ~0.4° per frame)."""

_I = PARAM_INDEX
_H = _I["headYaw"]

ExpressionLike = str | Mapping[str, float] | Sequence[float] | np.ndarray | None


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _hann_smooth(x: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Smooth along axis 0 with a normalised Hann kernel (edge-padded): an S-shaped fade."""
    w = max(1, round(seconds * fps))
    if w < 2 or len(x) == 0:
        return x.astype(np.float64)
    k = np.hanning(w + 2)[1:-1]
    k /= k.sum()
    pad = np.pad(x.astype(np.float64), [(w // 2, w - 1 - w // 2)] + [(0, 0)] * (x.ndim - 1), "edge")
    out = np.zeros_like(x, dtype=np.float64)
    for j, kj in enumerate(k):
        out += kj * pad[j : j + len(x)]
    return out


def crossfade_weights(
    states: Sequence[str], fps: float, seconds: float = CROSSFADE_S
) -> np.ndarray:
    """Per-frame state weights (rows sum to 1), cross-faded over ``seconds`` at changes.

    Args:
        states: One label per frame.
        fps: Frame rate.
        seconds: Cross-fade time.

    Returns:
        ``(n_frames, len(STATES))`` float64.

    Raises:
        ValueError: On an unknown label.
    """
    onehot = np.zeros((len(states), len(STATES)))
    for i, s in enumerate(states):
        if s not in STATE_INDEX:
            raise ValueError(f"unknown state {s!r}; expected one of {', '.join(STATES)}")
        onehot[i, STATE_INDEX[s]] = 1.0
    return _hann_smooth(onehot, fps, seconds)


def make_targets(
    phones: Sequence[Phone],
    n_frames: int,
    *,
    fps: float = 25.0,
    state: str,
    expression: ExpressionLike = None,
    audio16k: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    closure_overshoot: float = 0.0,
) -> np.ndarray:
    """Motion targets of one clip with one state and one expression.

    Args:
        phones: Timed phones of the clip's audio (the avatar's own speech when ``speaking``,
            the partner's when ``listening``).
        n_frames: Number of frames; frame ``i`` covers ``[i / fps, (i + 1) / fps)``.
        fps: Frame rate.
        state: One of :data:`avatar_agent.generator.conditions.STATES`.
        expression: Anything :func:`~avatar_agent.generator.conditions.expression_vector`
            takes (a name, a mapping, a vector, ``None`` for neutral).
        audio16k: The clip's 16 kHz mono audio, for prosody (optional).
        rng: Random generator or seed; the same seed gives the same targets.
        closure_overshoot: How far past contact the lips aim on /p b m/ frames.

    Returns:
        ``(n_frames, len(PARAMS))`` float32.

    Raises:
        ValueError: On an unknown state/expression/phone or a negative ``n_frames``.
    """
    return make_targets_segments(
        phones,
        n_frames,
        fps=fps,
        states=[state] * n_frames,
        expressions=expression_vector(expression),
        audio16k=audio16k,
        rng=rng,
        closure_overshoot=closure_overshoot,
    )


def make_targets_segments(
    phones: Sequence[Phone],
    n_frames: int,
    *,
    fps: float = 25.0,
    states: Sequence[str],
    expressions: np.ndarray | ExpressionLike = None,
    audio16k: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    crossfade_s: float = CROSSFADE_S,
    closure_overshoot: float = 0.0,
) -> np.ndarray:
    """Motion targets of a clip whose state and expression change from frame to frame.

    Args:
        phones: Timed phones of the clip's audio.
        n_frames: Number of frames.
        fps: Frame rate.
        states: One state label per frame.
        expressions: ``(n_frames, N_EXPRESSIONS)`` per-frame expression vectors, or one
            expression (anything ``expression_vector`` takes) for the whole clip.
        audio16k: The clip's 16 kHz mono audio, for prosody (optional).
        rng: Random generator or seed.
        crossfade_s: Cross-fade time of state layers and expressions.
        closure_overshoot: How far past contact ``mouthClose`` aims on /p b m/ frames
            (:data:`~avatar_agent.train.targets.visemes.CLOSURE_OVERSHOOT`; 0: at contact).

    Returns:
        ``(n_frames, len(PARAMS))`` float32.

    Raises:
        ValueError: On bad lengths, unknown labels, or a negative ``n_frames``.
    """
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    if len(states) != n_frames:
        raise ValueError(f"need one state per frame: {len(states)} states, {n_frames} frames")
    gen = _as_rng(rng)
    seeds = gen.integers(0, 2**63 - 1, size=len(STATES) + 1)
    weights = crossfade_weights(states, fps, crossfade_s)
    head_w = crossfade_weights(states, fps, max(crossfade_s, HEAD_CROSSFADE_S))
    if isinstance(expressions, np.ndarray) and expressions.ndim == 2:
        if expressions.shape != (n_frames, N_EXPRESSIONS):
            raise ValueError(
                f"expressions must have shape ({n_frames}, {N_EXPRESSIONS}), "
                f"got {expressions.shape}"
            )
        expr = np.clip(np.nan_to_num(expressions.astype(np.float64)), 0.0, 1.0)
    else:
        expr = np.broadcast_to(expression_vector(expressions), (n_frames, N_EXPRESSIONS))
    expr = _hann_smooth(np.asarray(expr), fps, crossfade_s)

    out = np.zeros((n_frames, len(PARAMS)))
    pros = None
    if audio16k is not None and weights[:, STATE_INDEX["speaking"]].any():
        pros = compute_prosody(np.asarray(audio16k, np.float32)).at_frames(n_frames, fps)
    rate = np.zeros(n_frames)
    dur = np.zeros((n_frames, 2))
    boosts: list[tuple[float, float]] = []
    for k, state in enumerate(STATES):
        w = weights[:, k]
        if not w.any() and not head_w[:, k].any():
            continue
        sm = state_motion(state, phones, n_frames, fps, np.random.default_rng(seeds[k]), pros)
        out[:, :_H] += w[:, None] * sm.values[:, :_H]
        out[:, _H:] += head_w[:, k, None] * sm.values[:, _H:]
        style = BLINK_STYLES[state]
        rate += w * style.rate_per_min
        dur += w[:, None] * np.asarray(style.dur_s)
        for t in sm.boosts:
            i = min(max(int(t * fps), 0), n_frames - 1)
            if weights[i, k] > 0.5:
                boosts.append((t, style.boost_prob))

    closed = np.zeros(n_frames, bool)
    w_speak = weights[:, STATE_INDEX["speaking"]]
    if w_speak.any():
        mouth = mouth_targets(phones, n_frames, fps, overshoot=closure_overshoot)
        out += w_speak[:, None] * mouth.values
        closed = mouth.closed & (w_speak > 0.5)

    blink = blink_track(
        n_frames,
        fps,
        np.random.default_rng(seeds[-1]),
        rate_per_min=rate,
        dur_s=dur,
        boosts=sorted(boosts),
    )
    for side in ("Left", "Right"):
        out[:, _I["eyeBlink" + side]] = np.maximum(out[:, _I["eyeBlink" + side]], blink)

    if n_frames:
        out += overlay(expr.astype(np.float32))
    for side in ("Left", "Right"):
        out[:, _I["eyeWide" + side]] *= 1.0 - out[:, _I["eyeBlink" + side]].clip(0, 1)
    np.clip(out[:, :_H], 0.0, 1.0, out=out[:, :_H])
    jaw, close = _I["jawOpen"], _I["mouthClose"]
    out[:, close] = np.minimum(out[:, close], out[:, jaw])
    out[closed, close] = np.minimum(out[closed, jaw] + closure_overshoot, 1.0)
    np.clip(out[:, _H:], -HEAD_LIMIT_DEG, HEAD_LIMIT_DEG, out=out[:, _H:])
    return out.astype(np.float32)
