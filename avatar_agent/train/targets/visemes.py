"""Phones → mouth blendshape targets with Cohen–Massaro coarticulation.

Every phone has a *viseme*: a target value per mouth channel (``jawOpen``, ``mouthClose``,
``mouthFunnel`` …, left/right pairs tied) and a *dominance* per channel. The dominance of a
phone is ``alpha`` inside the phone and decays exponentially outside it,
``alpha * exp(-theta * distance)``, with separate rates before the phone (anticipatory) and
after it (carry-over). A channel's value at time ``t`` is the dominance-weighted mean of all
phones' targets (Cohen & Massaro 1993). So:

- /p b m/ have a very high, fast-decaying dominance on the jaw and the lip-opening channels
  and ``mouthClose == jawOpen`` (lip opening ``jawOpen - mouthClose`` is 0): neighbours cannot
  open them, and every frame that samples a closure is forced fully closed (optionally past
  closed: ``overshoot`` above ``jawOpen``, the lips aiming beyond contact);
- /f v/ tuck the lower lip (``mouthRollLower``) under the raised upper lip, small jaw;
- rounded phones have a strong rounding dominance with a slow anticipatory decay, so rounding
  reaches into preceding consonants (whose rounding dominance is low);
- vowels open the jaw by height (aa > ae > ah > eh > ih > iy);
- silences of 150 ms or more go to rest: a 100 ms release after speech, all-zero mouth, and an
  80 ms anticipatory onset before the next speech.

The curves are computed on a 5 ms grid and averaged over each video frame's window
``[i / fps, (i + 1) / fps)``; closure and labiodental phones are sampled at their most
constricted instant inside the window, so a 60 ms /b/ always yields a fully closed frame at
25 fps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from avatar_agent.motion import PARAM_INDEX, PARAMS
from avatar_agent.train.phones import BILABIAL, LABIODENTAL, SILENCE, VOWELS, Phone

__all__ = [
    "CHANNELS",
    "CLOSURE_OVERSHOOT",
    "MOUTH_PARAMS",
    "Viseme",
    "VISEMES",
    "DIPHTHONGS",
    "MouthTargets",
    "mouth_targets",
    "closure_frames",
    "rest_frames",
    "lip_openness",
    "phone_openness",
]

CHANNELS: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthStretch", "mouthRollLower",
    "mouthRollUpper", "mouthUpperUp", "mouthLowerDown", "mouthPress", "mouthSmile", "tongueOut",
)  # fmt: skip
"""Internal mouth channels; ``mouthStretch`` etc. drive both the Left and Right blendshape."""

_PAIRED = {"mouthStretch", "mouthUpperUp", "mouthLowerDown", "mouthPress", "mouthSmile"}
_C = {name: i for i, name in enumerate(CHANNELS)}
_NC = len(CHANNELS)


def _columns(channel: str) -> tuple[int, ...]:
    if channel in _PAIRED:
        return (PARAM_INDEX[channel + "Left"], PARAM_INDEX[channel + "Right"])
    return (PARAM_INDEX[channel],)


_CH_COLS: tuple[tuple[int, ...], ...] = tuple(_columns(c) for c in CHANNELS)

MOUTH_PARAMS: tuple[str, ...] = tuple(PARAMS[j] for cols in _CH_COLS for j in cols)
"""The motion parameters written by the speech mouth (all others stay 0)."""

DT = 0.005
"""Time step (s) of the internal fine grid."""

RELEASE_S = 0.10
"""Ease from speech to rest at the start of a long silence."""

ONSET_S = 0.08
"""Anticipatory ease from rest to speech at the end of a long silence."""

LONG_SILENCE_S = 0.15
"""Silences at least this long go to rest between the release and the onset."""


@dataclass(frozen=True)
class Viseme:
    """Target and dominance of one phone.

    Attributes:
        targets: Channel → target value (missing channels are 0).
        alpha: Default dominance magnitude inside the phone.
        theta_ant: Default anticipatory decay rate (1/s), before the phone starts.
        theta_car: Default carry-over decay rate (1/s), after the phone ends.
        alpha_ch: Per-channel dominance overrides.
        theta_ant_ch: Per-channel anticipatory rate overrides.
        theta_car_ch: Per-channel carry-over rate overrides.
    """

    targets: Mapping[str, float]
    alpha: float = 1.0
    theta_ant: float = 18.0
    theta_car: float = 18.0
    alpha_ch: Mapping[str, float] = field(default_factory=dict)
    theta_ant_ch: Mapping[str, float] = field(default_factory=dict)
    theta_car_ch: Mapping[str, float] = field(default_factory=dict)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(target, alpha, theta_ant, theta_car)`` as vectors over :data:`CHANNELS`."""
        tgt = np.zeros(_NC)
        for k, v in self.targets.items():
            tgt[_C[k]] = v
        alpha = np.full(_NC, self.alpha)
        ta = np.full(_NC, self.theta_ant)
        tc = np.full(_NC, self.theta_car)
        for arr, over in ((alpha, self.alpha_ch), (ta, self.theta_ant_ch), (tc, self.theta_car_ch)):
            for k, v in over.items():
                arr[_C[k]] = v
        return tgt, alpha, ta, tc


_LIPS = ("mouthFunnel", "mouthPucker", "mouthStretch", "mouthSmile", "mouthRollLower",
         "mouthRollUpper", "mouthUpperUp", "mouthLowerDown", "mouthPress")  # fmt: skip
_ROUND = ("mouthFunnel", "mouthPucker")


def _vowel(jaw: float, **lips: float) -> Viseme:
    targets = {"jawOpen": jaw, **lips}
    # unrounded vowels resist rounding; rounded ones are anticipated far back through the
    # preceding consonants (whose rounding dominance is low)
    alpha_ch: dict[str, float] = {c: 2.0 for c in _ROUND}
    ta_ch: dict[str, float] = {}
    if lips.get("mouthPucker", 0) + lips.get("mouthFunnel", 0) > 0.3:
        alpha_ch = {c: 2.5 for c in _ROUND}
        ta_ch = {c: 7.0 for c in _ROUND}
    return Viseme(targets, 1.0, 16.0, 16.0, alpha_ch, ta_ch)


def _lingual(jaw: float, jaw_alpha: float = 0.6, **lips: float) -> Viseme:
    """Tongue consonant: its own jaw, lips mostly inherited from neighbours."""
    alpha_ch = {c: 0.12 for c in _LIPS}
    for c in lips:
        alpha_ch[c] = 0.7
    alpha_ch["jawOpen"] = alpha_ch["mouthClose"] = jaw_alpha
    return Viseme({"jawOpen": jaw, **lips}, 0.6, 22.0, 22.0, alpha_ch)


_BILABIAL_CH = ("jawOpen", "mouthClose", "mouthFunnel", "mouthUpperUp", "mouthLowerDown",
                "mouthRollLower", "mouthRollUpper", "mouthPress", "tongueOut")  # fmt: skip


def _bilabial(press: float) -> Viseme:
    jaw = 0.07
    return Viseme(
        {"jawOpen": jaw, "mouthClose": jaw, "mouthPress": press},
        alpha=0.15,  # pucker/stretch/smile coarticulate freely
        theta_ant=120.0,
        theta_car=120.0,
        alpha_ch={c: 40.0 for c in _BILABIAL_CH},
    )


def _labiodental() -> Viseme:
    ch = ("jawOpen", "mouthClose", "mouthFunnel", "mouthRollLower", "mouthUpperUp",
          "mouthLowerDown", "mouthRollUpper")  # fmt: skip
    return Viseme(
        {"jawOpen": 0.05, "mouthClose": 0.03, "mouthRollLower": 0.6, "mouthUpperUp": 0.35},
        alpha=0.2,
        theta_ant=70.0,
        theta_car=70.0,
        alpha_ch={c: 12.0 for c in ch},
    )


VISEMES: dict[str, Viseme] = {
    SILENCE: Viseme({}, 0.6, 30.0, 30.0),
    # vowels: jaw by height; lips spread / neutral / rounded
    "AA": _vowel(0.55, mouthLowerDown=0.25, mouthUpperUp=0.08),
    "AE": _vowel(0.46, mouthStretch=0.22, mouthLowerDown=0.25, mouthUpperUp=0.15),
    "AH": _vowel(0.38, mouthLowerDown=0.15),
    "AO": _vowel(0.42, mouthFunnel=0.55, mouthPucker=0.30, mouthLowerDown=0.1),
    "EH": _vowel(0.30, mouthStretch=0.22, mouthLowerDown=0.15, mouthUpperUp=0.08),
    "ER": _vowel(0.20, mouthFunnel=0.30, mouthPucker=0.22),
    "IH": _vowel(0.20, mouthStretch=0.28, mouthSmile=0.08, mouthLowerDown=0.1),
    "IY": _vowel(0.12, mouthStretch=0.38, mouthSmile=0.18, mouthUpperUp=0.06),
    "UH": _vowel(0.16, mouthFunnel=0.45, mouthPucker=0.60),
    "UW": _vowel(0.08, mouthFunnel=0.40, mouthPucker=0.95),
    # diphthongs: only used if not split (see DIPHTHONGS)
    "AW": _vowel(0.42, mouthFunnel=0.3, mouthPucker=0.25, mouthLowerDown=0.15),
    "AY": _vowel(0.42, mouthStretch=0.2, mouthLowerDown=0.2),
    "EY": _vowel(0.24, mouthStretch=0.3, mouthSmile=0.1, mouthLowerDown=0.1),
    "OW": _vowel(0.26, mouthFunnel=0.55, mouthPucker=0.55),
    "OY": _vowel(0.32, mouthFunnel=0.35, mouthPucker=0.2, mouthStretch=0.1),
    # lips
    "P": _bilabial(0.35),
    "B": _bilabial(0.25),
    "M": _bilabial(0.18),
    "F": _labiodental(),
    "V": _labiodental(),
    "W": Viseme(
        {"jawOpen": 0.06, "mouthPucker": 0.95, "mouthFunnel": 0.35},
        0.8,
        20.0,
        20.0,
        {"mouthPucker": 2.0, "mouthFunnel": 2.0},
        {"mouthPucker": 7.0, "mouthFunnel": 7.0},
    ),
    # tongue consonants
    "TH": _lingual(0.12, tongueOut=0.25, mouthLowerDown=0.1),
    "DH": _lingual(0.10, tongueOut=0.2, mouthLowerDown=0.1),
    "S": _lingual(0.05, 1.2, mouthStretch=0.22, mouthLowerDown=0.12, mouthUpperUp=0.08),
    "Z": _lingual(0.05, 1.2, mouthStretch=0.2, mouthLowerDown=0.12, mouthUpperUp=0.08),
    "SH": _lingual(0.08, 1.2, mouthFunnel=0.55, mouthPucker=0.4, mouthUpperUp=0.12),
    "ZH": _lingual(0.08, 1.2, mouthFunnel=0.55, mouthPucker=0.4, mouthUpperUp=0.12),
    "CH": _lingual(0.08, 1.2, mouthFunnel=0.55, mouthPucker=0.4, mouthUpperUp=0.12),
    "JH": _lingual(0.08, 1.2, mouthFunnel=0.55, mouthPucker=0.4, mouthUpperUp=0.12),
    "T": _lingual(0.10, 0.8),
    "D": _lingual(0.11, 0.8),
    "N": _lingual(0.10, 0.7),
    "L": _lingual(0.18, 0.6),
    "K": _lingual(0.16, 0.5),
    "G": _lingual(0.16, 0.5),
    "NG": _lingual(0.14, 0.5),
    "Y": _lingual(0.10, 0.6, mouthStretch=0.25, mouthSmile=0.08),
    "R": _lingual(0.12, 0.6, mouthPucker=0.45, mouthFunnel=0.25),
    "HH": Viseme({"jawOpen": 0.25}, 0.08, 20.0, 20.0),
}
"""Viseme of every phone in :data:`avatar_agent.train.phones.PHONE_SET`."""

DIPHTHONGS: dict[str, tuple[str, str, float]] = {
    "AY": ("AA", "IY", 0.55),
    "AW": ("AA", "UW", 0.55),
    "OY": ("AO", "IY", 0.55),
    "EY": ("EH", "IY", 0.6),
    "OW": ("AO", "UW", 0.5),
}
"""Diphthong → (first part, second part, share of the duration of the first part)."""

_TABLE = {p: v.arrays() for p, v in VISEMES.items()}
_OPEN_SCALE = 0.55  # jaw target of /aa/: openness 1

CLOSURE_OVERSHOOT = 0.15
"""The overshoot past contact that was measured (``TrainConfig.closure_overshoot``; the shipped
model uses 0). Lips move towards a *virtual target* beyond contact and are stopped by each
other (Löfqvist & Gracco 1997), which presses them together; trained on such a target the
model shut 93 % of held-out /p b m/ instead of 84 %, but it also shut the lips on 10 % of open
vowel frames instead of 6 % (16 % on human recordings), a visible flutter, and r fell from
0.69 to 0.66; 0.08 traded less of both (``docs/motion-targets.md``).
:func:`avatar_agent.motion.lip_contact` stops any overshoot at contact for display."""


def phone_openness(symbol: str) -> float:
    """Openness (0..1) of one phone for the reference curve: jaw target over /aa/'s.

    Args:
        symbol: A phone symbol.

    Returns:
        ``0`` for silence and /p b m/, else the viseme's lip opening relative to /aa/.
    """
    if symbol == SILENCE or symbol in BILABIAL:
        return 0.0
    tgt = _TABLE[symbol][0]
    return float(np.clip((tgt[_C["jawOpen"]] - tgt[_C["mouthClose"]]) / _OPEN_SCALE, 0.0, 1.0))


def _fill(phones: Sequence[Phone], end: float) -> list[Phone]:
    """Split diphthongs and fill gaps (and both ends) with silence."""
    out: list[Phone] = []
    t = 0.0
    for p in sorted(phones, key=lambda q: q.start):
        if p.start > t + 1e-6:
            out.append(Phone(SILENCE, t, p.start))
        if p.symbol in DIPHTHONGS:
            a, b, share = DIPHTHONGS[p.symbol]
            mid = p.start + share * (p.end - p.start)
            out += [Phone(a, p.start, mid), Phone(b, mid, p.end)]
        else:
            out.append(p)
        t = max(t, p.end)
    out.append(Phone(SILENCE, t, max(t, end) + 1.0))
    if out[0].start > 0:
        out.insert(0, Phone(SILENCE, out[0].start - 1.0, out[0].start))
    return out


def _silence_envelope(segs: Sequence[Phone], t: np.ndarray, t_end: float) -> np.ndarray:
    env = np.ones_like(t)
    for s in segs:
        if s.symbol != SILENCE or s.end - s.start < LONG_SILENCE_S:
            continue
        at_start, at_end = s.start <= 1e-6 or s is segs[0], s.end >= t_end
        rel = 0.0 if at_start else min(RELEASE_S, 0.55 * (s.end - s.start))
        ons = 0.0 if at_end else min(ONSET_S, 0.45 * (s.end - s.start))
        e = np.ones_like(t)
        inside = (t >= s.start) & (t < s.end)
        e[inside] = 0.0
        if rel > 0:
            m = (t >= s.start) & (t < s.start + rel)
            e[m] = 0.5 + 0.5 * np.cos(math.pi * (t[m] - s.start) / rel)
        if ons > 0:
            m = (t >= s.end - ons) & (t < s.end)
            e[m] = 0.5 - 0.5 * np.cos(math.pi * (t[m] - (s.end - ons)) / ons)
        env = np.minimum(env, e)
    return env


def _blend(segs: Sequence[Phone], t: np.ndarray, block: int = 400) -> np.ndarray:
    """Dominance-weighted channel values at the sorted times ``t`` → ``(len(t), channels)``."""
    out = np.zeros((len(t), _NC))
    starts = np.array([s.start for s in segs])
    ends = np.array([s.end for s in segs])
    tgt = np.stack([_TABLE[s.symbol][0] for s in segs])
    alpha = np.stack([_TABLE[s.symbol][1] for s in segs])
    ta = np.stack([_TABLE[s.symbol][2] for s in segs])
    tc = np.stack([_TABLE[s.symbol][3] for s in segs])
    margin = 0.6
    for b0 in range(0, len(t), block):
        tb = t[b0 : b0 + block]
        sel = np.nonzero((ends > tb.min() - margin) & (starts < tb.max() + margin))[0]
        before = np.maximum(starts[sel, None] - tb[None, :], 0.0)[..., None]  # (p, t, 1)
        after = np.maximum(tb[None, :] - ends[sel, None], 0.0)[..., None]
        dom = alpha[sel, None, :] * np.exp(
            -ta[sel, None, :] * before - tc[sel, None, :] * after
        )  # (p, t, c)
        num = (dom * tgt[sel, None, :]).sum(0)
        den = dom.sum(0) + 1e-12
        out[b0 : b0 + block] = num / den
    return out


def _key_frames(
    phones: Sequence[Phone], n_frames: int, fps: float, symbols: frozenset[str]
) -> list[tuple[int, float]]:
    """Frames a key phone must show, with the instant inside the window to sample.

    A frame shows a key phone when its centre lies inside the phone or the phone covers at
    least half of its own duration inside the frame's window; so every key phone, however
    short, shows in at least one frame.
    """
    out: list[tuple[int, float]] = []
    for p in phones:
        if p.symbol not in symbols:
            continue
        mid = 0.5 * (p.start + p.end)
        dur = p.end - p.start
        for i in range(max(0, int(p.start * fps) - 1), min(n_frames, int(p.end * fps) + 2)):
            w0, w1 = i / fps, (i + 1) / fps
            centre = (i + 0.5) / fps
            overlap = min(w1, p.end) - max(w0, p.start)
            if p.start <= centre < p.end or overlap >= 0.5 * dur - 1e-9:
                lo, hi = max(w0, p.start), min(w1, p.end)
                out.append((i, min(max(mid, lo), hi)))
    return out


def closure_frames(phones: Sequence[Phone], n_frames: int, fps: float = 25.0) -> np.ndarray:
    """Frames at which the lips must be fully closed (they sample a /p b m/).

    Args:
        phones: Timed phones.
        n_frames: Number of video frames.
        fps: Frame rate.

    Returns:
        Boolean array of length ``n_frames``.
    """
    mask = np.zeros(n_frames, bool)
    for i, _ in _key_frames(phones, n_frames, fps, BILABIAL):
        mask[i] = True
    return mask


def rest_frames(phones: Sequence[Phone], n_frames: int, fps: float = 25.0) -> np.ndarray:
    """Frames at which the speech mouth is exactly at rest (inside long silences).

    These are the frames of silences of at least :data:`LONG_SILENCE_S` (and before the first
    / after the last phone), less the :data:`RELEASE_S` release after speech and the
    :data:`ONSET_S` anticipation before it: the frames an evaluation of "rest in silence"
    should use.

    Args:
        phones: Timed phones.
        n_frames: Number of video frames.
        fps: Frame rate.

    Returns:
        Boolean array of length ``n_frames``.
    """
    sub = max(1, round(1.0 / (fps * DT)))
    t = (np.arange(n_frames * sub) + 0.5) * (1.0 / (fps * sub))
    env = _silence_envelope(_fill(phones, n_frames / fps), t, n_frames / fps)
    return env.reshape(n_frames, sub).max(1) <= 0.0


@dataclass
class MouthTargets:
    """Speech mouth motion.

    Attributes:
        values: ``(n_frames, len(PARAMS))`` float32; only :data:`MOUTH_PARAMS` are non-zero.
        closed: Boolean ``(n_frames,)``: frames forced fully closed (/p b m/).
        active: Float ``(n_frames,)`` in 0..1: 1 while speaking, 0 at rest in long silences.
    """

    values: np.ndarray
    closed: np.ndarray
    active: np.ndarray


def mouth_targets(
    phones: Sequence[Phone], n_frames: int, fps: float = 25.0, *, overshoot: float = 0.0
) -> MouthTargets:
    """Speech mouth targets of a phone sequence, one row per video frame.

    Args:
        phones: Timed phones (sorted, non-overlapping; gaps read as silence).
        n_frames: Number of video frames; frame ``i`` covers ``[i / fps, (i + 1) / fps)``.
        fps: Frame rate.
        overshoot: How far past contact ``mouthClose`` aims on /p b m/ frames (see
            :data:`CLOSURE_OVERSHOOT`; 0: exactly at contact).

    Returns:
        A :class:`MouthTargets`.

    Raises:
        ValueError: On an unknown phone symbol or a negative ``n_frames``.
    """
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    for p in phones:
        if p.symbol not in VISEMES:
            raise ValueError(f"unknown phone symbol {p.symbol!r}")
    t_end = n_frames / fps
    segs = _fill(phones, t_end)
    sub = max(1, round(1.0 / (fps * DT)))
    t = (np.arange(n_frames * sub) + 0.5) * (1.0 / (fps * sub))
    fine = _blend(segs, t) if n_frames else np.zeros((0, _NC))
    env = _silence_envelope(segs, t, t_end)
    fine *= env[:, None]
    ch = fine.reshape(n_frames, sub, _NC).mean(1)
    active = env.reshape(n_frames, sub).mean(1)

    # key phones: sample at their most constricted instant inside the frame window
    key = _key_frames(phones, n_frames, fps, LABIODENTAL) + _key_frames(
        phones, n_frames, fps, BILABIAL
    )
    if key:
        key.sort(key=lambda k: k[1])
        tk = np.array([k[1] for k in key])
        vals = _blend(segs, tk, block=16) * _silence_envelope(segs, tk, t_end)[:, None]
        for (i, _), v in zip(key, vals, strict=True):
            ch[i] = v
    closed = closure_frames(phones, n_frames, fps)
    for c in ("mouthFunnel", "mouthUpperUp", "mouthLowerDown"):  # these part the lips too
        ch[closed, _C[c]] *= 0.2
    ch[:, _C["mouthClose"]] = np.minimum(ch[:, _C["mouthClose"]], ch[:, _C["jawOpen"]])
    ch[closed, _C["mouthClose"]] = ch[closed, _C["jawOpen"]] + overshoot

    values = np.zeros((n_frames, len(PARAMS)), np.float32)
    for k, cols in enumerate(_CH_COLS):
        for j in cols:
            values[:, j] = ch[:, k]
    np.clip(values, 0.0, 1.0, out=values)
    return MouthTargets(values, closed, active.astype(np.float32))


def lip_openness(phones: Sequence[Phone], n_frames: int, fps: float = 25.0) -> np.ndarray:
    """Phoneme-derived lip-openness reference (0..1), one value per video frame.

    The phone at each frame centre gives its class openness (:func:`phone_openness`; vowels
    by height, consonants small), smoothed with a ``[1/4, 1/2, 1/4]`` kernel; frames in
    silence (or between phones) and frames that sample a /p b m/ are exactly 0.

    Args:
        phones: Timed phones.
        n_frames: Number of video frames.
        fps: Frame rate.

    Returns:
        Float32 array of length ``n_frames``.
    """
    centres = (np.arange(n_frames) + 0.5) / fps
    raw = np.zeros(n_frames)
    silent = np.ones(n_frames, bool)
    for p in phones:
        m = (centres >= p.start) & (centres < p.end)
        if p.symbol in DIPHTHONGS:
            a, b, share = DIPHTHONGS[p.symbol]
            cut = p.start + share * (p.end - p.start)
            raw[m] = np.where(centres[m] < cut, phone_openness(a), phone_openness(b))
        else:
            raw[m] = phone_openness(p.symbol)
        if p.symbol != SILENCE:
            silent[m] = False
    if n_frames >= 3:
        pad = np.pad(raw, 1, mode="edge")
        raw = 0.25 * pad[:-2] + 0.5 * pad[1:-1] + 0.25 * pad[2:]
    raw[silent | closure_frames(phones, n_frames, fps)] = 0.0
    return raw.astype(np.float32)


def is_vowel(symbol: str) -> bool:
    """Whether a phone symbol is a vowel."""
    return symbol in VOWELS
