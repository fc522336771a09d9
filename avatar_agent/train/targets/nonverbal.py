"""Non-verbal motion per conversational state: head, gaze, brows, blinks, listener smiles.

Everything is seeded (a :class:`numpy.random.Generator`) and smooth: head motion is
low-pass-filtered noise plus raised-cosine bumps (nods, settles), gaze moves in short
saccades between fixations, blinks close fast and open slower. Values stay in ARKit ranges
(blendshapes 0..1, head within ±10°).

- ``speaking``: slow yaw/roll drift, head and brows follow prosody (a small nod and a brow
  raise on pitch accents, head slightly up with high pitch), a head drop and settle at phrase
  ends, blinks ~16/min with extra blinks at phrase ends, gaze at the camera with small
  saccades and an occasional glance aside when a phrase starts.
- ``listening`` (phones are the partner's speech): attentive gaze at the camera, slight
  forward pitch and head tilt, a slight smile, a nod (sometimes a double nod) and a smile
  rise ~150 ms into each partner pause (``sil`` ≥ 200 ms between speech, or their last phone).
- ``idle``: breathing (~0.25 Hz pitch oscillation), blinks ~15/min, slow drift, occasional
  gaze shifts away and back with the head following a little.
- ``thinking``: gaze held up-and-aside (shifting now and then), the head turned and tilted
  toward it, inner brows up or one brow down, lips slightly pressed, slower blinks ~10/min.

:func:`state_motion` gives a state's motion without blinks; :func:`blink_track` draws blinks
from a per-frame rate so a clip whose label changes keeps one continuous blink stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avatar_agent.generator.conditions import STATES
from avatar_agent.motion import PARAM_INDEX, PARAMS
from avatar_agent.train.phones import SILENCE, VOWELS, Phone
from avatar_agent.train.targets.prosody import FrameProsody

__all__ = [
    "HEAD_LIMIT_DEG",
    "BlinkStyle",
    "BLINK_STYLES",
    "StateMotion",
    "smooth_noise",
    "bump",
    "blink_track",
    "set_gaze",
    "pauses",
    "state_motion",
]

HEAD_LIMIT_DEG = 10.0
"""Head angles of the targets stay within ±this."""

_I = PARAM_INDEX
_P = len(PARAMS)


@dataclass(frozen=True)
class BlinkStyle:
    """Blink behaviour of a state.

    Attributes:
        rate_per_min: Mean spontaneous blink rate.
        dur_s: Range of blink durations (close + open).
        boost_prob: Chance of an extra blink at a boost time (phrase end, pause, gaze shift).
    """

    rate_per_min: float
    dur_s: tuple[float, float]
    boost_prob: float


BLINK_STYLES: dict[str, BlinkStyle] = {
    "idle": BlinkStyle(13.0, (0.15, 0.24), 0.3),
    "speaking": BlinkStyle(11.0, (0.14, 0.22), 0.6),
    "listening": BlinkStyle(12.0, (0.15, 0.24), 0.3),
    "thinking": BlinkStyle(8.0, (0.26, 0.38), 0.2),
}
"""Blink style of each state. With the boosts, the measured rates come to about 15–20/min
speaking (depending on the number of phrase ends), ~15/min listening and idle, ~10/min
thinking."""


@dataclass
class StateMotion:
    """A state's non-verbal motion.

    Attributes:
        values: ``(n_frames, len(PARAMS))`` float32, blink columns 0.
        boosts: Times (s) at which an extra blink is likely (phrase ends, pauses, gaze shifts).
    """

    values: np.ndarray
    boosts: list[float]


def smooth_noise(n: int, fps: float, rng: np.random.Generator, sigma_s: float) -> np.ndarray:
    """Gaussian-low-passed white noise with unit standard deviation.

    Args:
        n: Number of frames.
        fps: Frame rate.
        rng: Random generator.
        sigma_s: Standard deviation (s) of the Gaussian smoothing kernel.

    Returns:
        Float64 array of length ``n``.
    """
    sig = max(sigma_s * fps, 0.5)
    half = int(math.ceil(3.5 * sig))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sig) ** 2)
    k /= math.sqrt(float((k * k).sum()))
    white = rng.standard_normal(n + 2 * half)
    return np.convolve(white, k, mode="valid")[:n]


def bump(n: int, fps: float, t0: float, dur: float) -> np.ndarray:
    """Raised-cosine bump 0 → 1 → 0 starting at ``t0`` lasting ``dur`` seconds, at frame centres.

    Args:
        n: Number of frames.
        fps: Frame rate.
        t0: Start time (s).
        dur: Duration (s).

    Returns:
        Float64 array of length ``n``.
    """
    t = (np.arange(n) + 0.5) / fps
    x = np.clip((t - t0) / dur, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(2.0 * math.pi * x)


def _ramp_to(values: np.ndarray, fps: float, ramp_s: float) -> np.ndarray:
    """Smooth a piecewise-constant signal with a Hann kernel of ``ramp_s`` (keeps the ends)."""
    w = max(1, round(ramp_s * fps))
    if w < 2:
        return values
    k = np.hanning(w + 2)[1:-1]
    k /= k.sum()
    pad = np.pad(values, (w // 2, w - 1 - w // 2), mode="edge")
    return np.convolve(pad, k, mode="valid")


def _fixations(
    n: int,
    fps: float,
    rng: np.random.Generator,
    interval_s: tuple[float, float],
    amp: tuple[float, float],
    saccade_s: float = 0.06,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaze (gx, gy) as fixations around the camera with short saccades between them."""
    gx, gy = np.zeros(n), np.zeros(n)
    t = rng.uniform(0.0, interval_s[1])
    x = y = 0.0
    while True:
        i = int(t * fps)
        if i >= n:
            break
        gx[i:] = x
        gy[i:] = y
        x, y = rng.normal(0.0, amp[0]), rng.normal(0.0, amp[1])
        t += rng.uniform(*interval_s)
    return _ramp_to(gx, fps, saccade_s), _ramp_to(gy, fps, saccade_s)


def set_gaze(values: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> None:
    """Write a gaze direction into the eyeLook* columns (adds to what is there).

    Args:
        values: ``(n, len(PARAMS))`` motion array, modified in place.
        gx: Horizontal gaze, positive toward the subject's left (image right), ~-1..1.
        gy: Vertical gaze, positive up.
    """
    left, right = np.maximum(gx, 0.0), np.maximum(-gx, 0.0)
    values[:, _I["eyeLookOutLeft"]] += left
    values[:, _I["eyeLookInRight"]] += left
    values[:, _I["eyeLookInLeft"]] += right
    values[:, _I["eyeLookOutRight"]] += right
    up, down = np.maximum(gy, 0.0), np.maximum(-gy, 0.0)
    for side in ("Left", "Right"):
        values[:, _I["eyeLookUp" + side]] += up
        values[:, _I["eyeLookDown" + side]] += down


def pauses(
    phones: Sequence[Phone], min_s: float = 0.2, *, include_end: bool = True
) -> list[tuple[float, float]]:
    """Pauses of at least ``min_s`` after speech: ``sil`` phones or gaps between speech phones.

    Args:
        phones: Timed phones.
        min_s: Shortest pause.
        include_end: Also return the pause after the last speech phone (end at infinity).

    Returns:
        ``(start, end)`` pairs in seconds.
    """
    speech = [p for p in sorted(phones, key=lambda q: q.start) if p.symbol != SILENCE]
    out = []
    for a, b in zip(speech, speech[1:], strict=False):
        if b.start - a.end >= min_s:
            out.append((a.end, b.start))
    if include_end and speech:
        out.append((speech[-1].end, math.inf))
    return out


def _activity(phones: Sequence[Phone], n: int, fps: float) -> np.ndarray:
    t = (np.arange(n) + 0.5) / fps
    act = np.zeros(n)
    for p in phones:
        if p.symbol != SILENCE:
            act[(t >= p.start) & (t < p.end)] = 1.0
    return _ramp_to(act, fps, 0.4)


def _accents(
    phones: Sequence[Phone], n: int, fps: float, pros: FrameProsody | None
) -> list[tuple[float, float]]:
    """Pitch accents as (time, strength 0..1)."""
    cands: list[tuple[float, float]] = []
    if pros is not None and pros.voiced.any():
        st = pros.f0_st.astype(float)
        voiced = pros.voiced > 0.5
        w = max(1, min(round(1.5 * fps), len(st)))  # "same" grows the output if w > len
        base = np.convolve(np.where(voiced, st, 0.0), np.ones(w), "same") / np.maximum(
            np.convolve(voiced.astype(float), np.ones(w), "same"), 1.0
        )
        rel = np.where(voiced, st - base, -np.inf)
        r = max(1, round(0.2 * fps))
        for i in range(n):
            lo, hi = max(0, i - r), min(n, i + r + 1)
            if rel[i] > 1.2 and rel[i] >= rel[lo:hi].max() and pros.energy[i] > 0.45:
                cands.append(((i + 0.5) / fps, float(np.clip((rel[i] - 0.5) / 3.0, 0.3, 1.0))))
    else:
        vowels = [p for p in phones if p.symbol in VOWELS]
        if vowels:
            med = float(np.median([p.end - p.start for p in vowels]))
            for p in vowels:
                d = p.end - p.start
                if d >= max(1.3 * med, 0.09):
                    cands.append((p.start + 0.3 * d, float(np.clip(d / (2.0 * med), 0.4, 1.0))))
    out: list[tuple[float, float]] = []
    for t, s in sorted(cands):
        if not out or t - out[-1][0] >= 0.7:
            out.append((t, s))
    return out


def _speaking(
    phones: Sequence[Phone], n: int, fps: float, rng: np.random.Generator, pros: FrameProsody | None
) -> StateMotion:
    v = np.zeros((n, _P))
    act = _activity(phones, n, fps)
    yaw = 2.0 * smooth_noise(n, fps, rng, 1.2) + 0.8 * act * smooth_noise(n, fps, rng, 0.35)
    pitch = 0.7 * smooth_noise(n, fps, rng, 1.0) + 0.4 * act * smooth_noise(n, fps, rng, 0.3)
    roll = 1.0 * smooth_noise(n, fps, rng, 1.5)
    brow = 0.04 * act
    for t, s in _accents(phones, n, fps, pros):
        dur = rng.uniform(0.4, 0.55)
        pitch += (0.9 + 0.9 * s) * bump(n, fps, t - 0.12, dur)
        brow += (0.12 + 0.2 * s) * rng.uniform(0.6, 1.0) * bump(n, fps, t - 0.15, dur + 0.15)
    if pros is not None:
        hi = _ramp_to(np.clip(pros.f0_st.astype(float), -4, 6) * (pros.voiced > 0.5), fps, 0.3)
        pitch -= 0.25 * hi  # higher pitch: head slightly up
        brow += 0.02 * np.clip(hi, 0, None)
    ends = [a for a, b in pauses(phones, 0.2)]
    for a in ends:
        pitch += rng.uniform(0.8, 1.4) * bump(n, fps, a - 0.25, 1.0)
    # gaze at the camera with small saccades; a glance aside at some phrase starts
    gx, gy = _fixations(n, fps, rng, (0.7, 2.2), (0.06, 0.04))
    starts = [b for a, b in pauses(phones, 0.2, include_end=False)]
    first = min((p.start for p in phones if p.symbol != SILENCE), default=None)
    if first is not None:
        starts.append(first)
    look = np.zeros(n)
    lx, ly = np.zeros(n), np.zeros(n)
    for b in starts:
        if rng.random() < 0.3:
            d = rng.uniform(0.5, 1.1)
            i0, i1 = int(b * fps), int((b + d) * fps)
            look[max(0, i0) : max(0, i1)] = 1.0
            lx[max(0, i0) : max(0, i1)] = rng.choice([-1, 1]) * rng.uniform(0.2, 0.4)
            ly[max(0, i0) : max(0, i1)] = rng.uniform(0.0, 0.3)
    lx, ly = _ramp_to(lx, fps, 0.12), _ramp_to(ly, fps, 0.12)
    set_gaze(v, gx + lx, gy + ly)
    yaw += 3.0 * _ramp_to(lx, fps, 0.5)
    v[:, _I["browInnerUp"]] = brow
    v[:, _I["browOuterUpLeft"]] = v[:, _I["browOuterUpRight"]] = 0.75 * brow
    v[:, _I["headYaw"]], v[:, _I["headPitch"]], v[:, _I["headRoll"]] = yaw, pitch, roll
    return StateMotion(v, ends)


def _listening(
    phones: Sequence[Phone], n: int, fps: float, rng: np.random.Generator
) -> StateMotion:
    v = np.zeros((n, _P))
    tilt = rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 2.0)
    yaw = 1.2 * smooth_noise(n, fps, rng, 1.5) + rng.uniform(-1.0, 1.0)
    pitch = 1.2 + 0.4 * smooth_noise(n, fps, rng, 1.5)  # slight forward lean
    roll = tilt + 0.6 * smooth_noise(n, fps, rng, 2.0)
    smile = 0.09 + 0.03 * smooth_noise(n, fps, rng, 2.0)
    brow = 0.03 + 0.02 * smooth_noise(n, fps, rng, 2.0)
    last = -math.inf
    boosts = []
    for a, b in pauses(phones, 0.2):
        t = a + rng.uniform(0.12, 0.25)
        if t - last < 1.0 or t * fps >= n:
            continue
        if b - a < 0.3 and rng.random() > 0.8:
            continue
        amp = rng.uniform(1.8, 2.6)
        dur = rng.uniform(0.55, 0.75)
        pitch += amp * bump(n, fps, t, dur)
        if rng.random() < 0.3:
            pitch += 0.6 * amp * bump(n, fps, t + 0.85 * dur, 0.85 * dur)
        smile += rng.uniform(0.1, 0.2) * bump(n, fps, t - 0.1, rng.uniform(1.0, 1.6))
        if rng.random() < 0.4:
            brow += 0.12 * bump(n, fps, t - 0.1, 0.7)
        last = t
        boosts.append(t)
    gx, gy = _fixations(n, fps, rng, (1.0, 3.0), (0.035, 0.02))
    set_gaze(v, gx, gy)
    smile = np.clip(smile, 0.0, 0.35)
    for side in ("Left", "Right"):
        v[:, _I["mouthSmile" + side]] = smile
        v[:, _I["cheekSquint" + side]] = 0.3 * smile
    v[:, _I["browInnerUp"]] = np.clip(brow, 0.0, 1.0)
    v[:, _I["headYaw"]], v[:, _I["headPitch"]], v[:, _I["headRoll"]] = yaw, pitch, roll
    return StateMotion(v, boosts)


def _idle(n: int, fps: float, rng: np.random.Generator) -> StateMotion:
    v = np.zeros((n, _P))
    t = (np.arange(n) + 0.5) / fps
    f = rng.uniform(0.22, 0.29)
    phase = 2 * math.pi * f * t + rng.uniform(0, 2 * math.pi) + 0.4 * smooth_noise(n, fps, rng, 3)
    breath = np.sin(phase)
    yaw = 1.8 * smooth_noise(n, fps, rng, 2.0)
    pitch = 0.45 * breath + 0.35 * smooth_noise(n, fps, rng, 2.5)
    roll = 0.8 * smooth_noise(n, fps, rng, 2.5)
    # occasional gaze shifts away and back
    gx, gy = np.zeros(n), np.zeros(n)
    boosts = []
    s = rng.uniform(1.0, 4.0)
    while s * fps < n:
        hold = rng.uniform(0.8, 2.5)
        i0, i1 = int(s * fps), int((s + hold) * fps)
        gx[i0:i1] = rng.choice([-1, 1]) * rng.uniform(0.2, 0.5)
        gy[i0:i1] = rng.uniform(-0.25, 0.3)
        boosts.append(s)
        s += hold + rng.uniform(2.5, 7.0)
    head_follow = _ramp_to(gx, fps, 0.6)
    gx, gy = _ramp_to(gx, fps, 0.08), _ramp_to(gy, fps, 0.08)
    mx, my = _fixations(n, fps, rng, (1.0, 3.0), (0.03, 0.02))
    set_gaze(v, gx + mx, gy + my)
    yaw += 3.0 * head_follow
    v[:, _I["headYaw"]], v[:, _I["headPitch"]], v[:, _I["headRoll"]] = yaw, pitch, roll
    return StateMotion(v, boosts)


def _thinking(n: int, fps: float, rng: np.random.Generator) -> StateMotion:
    v = np.zeros((n, _P))
    side = rng.choice([-1.0, 1.0])
    gx, gy = np.zeros(n), np.zeros(n)
    boosts = []
    s = 0.0
    while s * fps < n:
        i0 = int(s * fps)
        if rng.random() < 0.75:  # up and aside
            x, y = side * rng.uniform(0.35, 0.6), rng.uniform(0.45, 0.7)
        else:  # aside, level or slightly down
            x, y = side * rng.uniform(0.5, 0.75), rng.uniform(-0.15, 0.1)
        gx[i0:], gy[i0:] = x, y
        if s > 0:
            boosts.append(s)
        s += rng.uniform(2.5, 5.0)
        if rng.random() < 0.25:
            side = -side
    hx, hy = _ramp_to(gx, fps, 0.7), _ramp_to(gy, fps, 0.7)
    gx, gy = _ramp_to(gx, fps, 0.2), _ramp_to(gy, fps, 0.2)
    set_gaze(
        v, gx + 0.02 * smooth_noise(n, fps, rng, 0.8), gy + 0.02 * smooth_noise(n, fps, rng, 0.8)
    )
    v[:, _I["headYaw"]] = 3.0 * hx + 0.8 * smooth_noise(n, fps, rng, 2.0)
    v[:, _I["headPitch"]] = -2.5 * hy + 0.3 * smooth_noise(n, fps, rng, 2.0)
    v[:, _I["headRoll"]] = side * 1.5 + 0.6 * smooth_noise(n, fps, rng, 2.5)
    slow = smooth_noise(n, fps, rng, 1.5)
    if rng.random() < 0.5:
        v[:, _I["browInnerUp"]] = 0.28 + 0.06 * slow
    else:
        down, up = ("Left", "Right") if rng.random() < 0.5 else ("Right", "Left")
        v[:, _I["browDown" + down]] = 0.3 + 0.06 * slow
        v[:, _I["browOuterUp" + up]] = 0.15 + 0.04 * slow
    press = 0.18 + 0.04 * smooth_noise(n, fps, rng, 1.5)
    v[:, _I["mouthPressLeft"]] = v[:, _I["mouthPressRight"]] = press
    v[:, _I["mouthRollLower"]] = 0.06
    v[:, _I["mouthLeft" if side > 0 else "mouthRight"]] = 0.06
    v[:, _I["eyeSquintLeft"]] = v[:, _I["eyeSquintRight"]] = 0.1
    return StateMotion(v, boosts)


def state_motion(
    state: str,
    phones: Sequence[Phone],
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    prosody: FrameProsody | None = None,
) -> StateMotion:
    """Non-verbal motion of one state over a whole clip, blinks excluded.

    Args:
        state: One of :data:`avatar_agent.generator.conditions.STATES`.
        phones: Timed phones of the clip's audio (the avatar's speech when speaking, the
            partner's when listening; unused when idle or thinking).
        n_frames: Number of frames.
        fps: Frame rate.
        rng: Random generator (consumed).
        prosody: Prosody at the frames (speaking only; without it accents come from long
            vowels).

    Returns:
        A :class:`StateMotion` (blendshapes clipped to 0..1, head to ±:data:`HEAD_LIMIT_DEG`).

    Raises:
        ValueError: On an unknown state.
    """
    if state == "speaking":
        m = _speaking(phones, n_frames, fps, rng, prosody)
    elif state == "listening":
        m = _listening(phones, n_frames, fps, rng)
    elif state == "idle":
        m = _idle(n_frames, fps, rng)
    elif state == "thinking":
        m = _thinking(n_frames, fps, rng)
    else:
        raise ValueError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
    h = _I["headYaw"]
    np.clip(m.values[:, :h], 0.0, 1.0, out=m.values[:, :h])
    np.clip(m.values[:, h:], -HEAD_LIMIT_DEG, HEAD_LIMIT_DEG, out=m.values[:, h:])
    m.values = m.values.astype(np.float32)
    return m


def blink_track(
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    *,
    rate_per_min: float | np.ndarray = 15.0,
    dur_s: tuple[float, float] | np.ndarray = (0.15, 0.24),
    boosts: Sequence[tuple[float, float]] = (),
    double_prob: float = 0.08,
) -> np.ndarray:
    """Blink curve (0 open .. 1 closed) with gamma-distributed intervals.

    A blink closes in ~35% of its duration (sin²) and opens in the rest (cos²); its peak
    lands on a frame at exactly 1.

    Args:
        n_frames: Number of frames.
        fps: Frame rate.
        rng: Random generator (consumed).
        rate_per_min: Mean rate, scalar or per frame.
        dur_s: Duration range ``(lo, hi)``, or a per-frame ``(n_frames, 2)`` array.
        boosts: ``(time_s, probability)`` of extra blinks (skipped within 0.8 s of another).
        double_prob: Chance of a double blink.

    Returns:
        Float32 array of length ``n_frames``.
    """
    if n_frames <= 0:
        return np.zeros(0, np.float32)
    rate = np.broadcast_to(np.asarray(rate_per_min, float), (n_frames,))
    dur = np.broadcast_to(np.asarray(dur_s, float), (n_frames, 2))
    starts: list[float] = []
    t = rng.uniform(0.2, 60.0 / max(rate[0], 1e-3))
    while t * fps < n_frames:
        starts.append(t)
        mean = 60.0 / max(rate[min(int(t * fps), n_frames - 1)], 1e-3)
        t += max(0.9, rng.gamma(3.0, mean / 3.0))
    for tb, p in boosts:
        if rng.random() < p and 0 <= tb and tb * fps < n_frames:
            if all(abs(tb - s) > 0.8 for s in starts):
                starts.append(tb)
    out = np.zeros(n_frames)
    for s in sorted(starts):
        i = int(s * fps)
        lo, hi = dur[min(i, n_frames - 1)]
        reps = 2 if rng.random() < double_prob else 1
        for _ in range(reps):
            length = max(3, round(rng.uniform(lo, hi) * fps))
            close = max(1, round(0.35 * length))
            for k in range(1, length):
                j = i + k
                if j >= n_frames:
                    break
                if k <= close:
                    val = math.sin(0.5 * math.pi * k / close) ** 2
                else:
                    val = math.cos(0.5 * math.pi * (k - close) / (length - close)) ** 2
                out[j] = max(out[j], val)
            i += length + 1
    return out.astype(np.float32)
