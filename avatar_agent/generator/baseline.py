"""Baseline motion driver: deterministic motion from audio loudness, no learned model.

Per video frame (one ``1/fps`` window of 16 kHz mono audio) it computes the RMS level in dB
and the zero-crossing rate, then produces:

- mouth: a noise gate below ``gate_db`` (mouth exactly at rest), a smoothstep map up to
  ``max_jaw`` at ``full_db``, asymmetric attack/release smoothing that reaches its target in
  finite time; ``mouthFunnel`` (low zero-crossing rate, voiced/rounded) and ``mouthStretch``
  (high rate, fricatives) scaled by the opening; ``mouthClose`` stays 0;
- blinks: both eyes, every ``blink_min_s``..``blink_max_s`` seconds from the seed, fast close,
  slower open, peak 1.0 on a frame, sometimes a double blink;
- head: slow sway (sums of incommensurate sines with seeded phases), larger while speaking,
  plus a small nod (pitch down) and a brow raise on loud onsets.

:meth:`BaselineDriver.track` is exactly :meth:`BaselineDriver.step` run over the frames given
by :func:`frame_bounds`, so offline and streaming output are identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatar_agent.motion import PARAM_INDEX, PARAMS, MotionTrack

__all__ = ["SAMPLE_RATE", "BaselineConfig", "BaselineDriver", "frame_bounds"]

SAMPLE_RATE = 16000
"""Input sample rate in Hz (mono float32)."""

_SWAY_FREQS = np.array([0.0617, 0.1093, 0.1731])  # Hz, incommensurate
_SWAY_WEIGHTS = np.array([0.55, 0.30, 0.15])  # sums to 1
_AXIS_FREQ_SCALE = np.array([[1.0], [1.213], [0.871]])  # yaw, pitch, roll
_I = PARAM_INDEX


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of :class:`BaselineDriver`; times in seconds, angles in degrees.

    Attributes:
        fps: Output frame rate.
        seed: Seed (>= 0) for blink timing and sway phases.
        gate_db: RMS level (dBFS) below which the mouth is closed.
        full_db: RMS level (dBFS) at which ``jawOpen`` reaches ``max_jaw``.
        max_jaw: Largest ``jawOpen``.
        attack_s: Opening time constant.
        release_s: Closing time constant.
        slew_per_s: Constant rate added to the smoothing so targets are reached exactly.
        funnel_max: ``mouthFunnel`` at full opening on low zero-crossing-rate (voiced) audio.
        stretch_max: ``mouthStretch*`` at full opening on high zero-crossing-rate audio.
        blink_min_s: Shortest time between blink starts.
        blink_max_s: Longest time between blink starts.
        blink_dur_s: Range of blink durations (close + open).
        double_blink_prob: Chance that a blink is followed at once by a second one.
        sway_deg: Idle sway amplitude of yaw, pitch, roll.
        speech_sway_gain: Extra sway fraction while speaking (0.6 gives 1.6 times the amplitude).
        nod_deg: Pitch (down) of the nod on a strong loud onset.
        brow_raise: ``browInnerUp`` on a strong loud onset (outer brows get 0.7 of it).
    """

    fps: float = 25.0
    seed: int = 0
    gate_db: float = -50.0
    full_db: float = -18.0
    max_jaw: float = 0.7
    attack_s: float = 0.03
    release_s: float = 0.08
    slew_per_s: float = 1.0
    funnel_max: float = 0.25
    stretch_max: float = 0.2
    blink_min_s: float = 2.0
    blink_max_s: float = 6.0
    blink_dur_s: tuple[float, float] = (0.15, 0.25)
    double_blink_prob: float = 0.15
    sway_deg: tuple[float, float, float] = (2.0, 1.2, 1.0)
    speech_sway_gain: float = 0.6
    nod_deg: float = 1.5
    brow_raise: float = 0.3

    def __post_init__(self) -> None:
        """Validate the settings.

        Raises:
            ValueError: On a negative seed, a non-positive fps, time constant or blink timing, or
                ``gate_db >= full_db``.
        """
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not self.gate_db < self.full_db:
            raise ValueError("gate_db must be below full_db")
        if not 0 < self.blink_min_s <= self.blink_max_s:
            raise ValueError("need 0 < blink_min_s <= blink_max_s")
        if not 0 < self.blink_dur_s[0] <= self.blink_dur_s[1]:
            raise ValueError("need 0 < blink_dur_s[0] <= blink_dur_s[1]")
        if min(self.attack_s, self.release_s) <= 0:
            raise ValueError("attack_s and release_s must be positive")


def frame_bounds(n_frames: int, fps: float) -> np.ndarray:
    """Sample offsets of frame boundaries: frame ``i`` is ``[b[i], b[i + 1])`` at 16 kHz.

    Args:
        n_frames: Number of frames.
        fps: Frame rate.

    Returns:
        Int64 array of ``n_frames + 1`` offsets (rounded ``i * 16000 / fps``).
    """
    return np.floor(np.arange(n_frames + 1) * (SAMPLE_RATE / fps) + 0.5).astype(np.int64)


def _approach(y: float, target: float, decay: float, slew: float) -> float:
    """Move ``y`` toward ``target``: exponential decay plus a constant step, no overshoot."""
    d = (y - target) * decay
    return target + (max(d - slew, 0.0) if d > 0 else min(d + slew, 0.0))


class BaselineDriver:
    """Deterministic audio → motion driver (offline :meth:`track`, streaming :meth:`step`)."""

    def __init__(self, config: BaselineConfig | None = None) -> None:
        """Create a driver.

        Args:
            config: Settings; defaults to :class:`BaselineConfig()`.
        """
        self.config = config or BaselineConfig()
        cfg, dt = self.config, 1.0 / self.config.fps
        self._dt = dt
        self._k_att = math.exp(-dt / cfg.attack_s)
        self._k_rel = math.exp(-dt / cfg.release_s)
        self._k_zcr = math.exp(-dt / 0.05)
        self._k_act = math.exp(-dt / 0.6)
        self._k_slow = math.exp(-dt / 0.35)
        self._k_emph = math.exp(-dt / 0.35)
        self._k_emph_s = math.exp(-dt / 0.06)
        self._sway_w = 2 * math.pi * _AXIS_FREQ_SCALE * _SWAY_FREQS  # (axis, component)
        self._sway_phase = np.random.default_rng([cfg.seed, 1]).uniform(0.0, 2 * math.pi, (3, 3))
        self.reset()

    def reset(self) -> None:
        """Forget all streaming state; the next :meth:`step` is frame 0 again."""
        cfg = self.config
        self._frame = 0
        self._jaw = self._zcr = self._act = self._slow = 0.0
        self._emph = self._emph_a = self._emph_s = 0.0
        self._since_onset = 10**9
        self._rng = np.random.default_rng([cfg.seed, 2])
        self._next_group = self._frames(self._rng.uniform(1.0, cfg.blink_min_s))
        self._blinks: list[tuple[int, int, int]] = []  # (start frame, length, close frames)

    def _frames(self, seconds: float) -> int:
        return round(seconds * self.config.fps)

    def track(self, samples16k: np.ndarray, n_frames: int | None = None) -> MotionTrack:
        """Drive a whole clip offline (does not disturb the streaming state).

        Args:
            samples16k: 1-D 16 kHz mono samples (float, nominally -1..1; NaN/inf read as 0).
            n_frames: Output length; default ``ceil(len(samples) * fps / 16000)``. Frames past
                the audio are driven by silence.

        Returns:
            A :class:`MotionTrack` at ``config.fps``.

        Raises:
            ValueError: If the samples are not 1-D or ``n_frames`` is negative.
        """
        x = np.asarray(samples16k)
        if x.ndim != 1:
            raise ValueError(f"expected 1-D mono samples, got shape {x.shape}")
        fps = self.config.fps
        if n_frames is None:
            n_frames = math.ceil(len(x) * fps / SAMPLE_RATE - 1e-9)
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        bounds = frame_bounds(n_frames, fps)
        driver = BaselineDriver(self.config)
        out = np.zeros((n_frames, len(PARAMS)), np.float32)
        for i in range(n_frames):
            out[i] = driver.step(x[bounds[i] : bounds[i + 1]])
        return MotionTrack(out, fps)

    def step(self, frame_audio16k: np.ndarray) -> np.ndarray:
        """Advance one frame (streaming); slice audio with :func:`frame_bounds` to match track().

        Args:
            frame_audio16k: This frame's 16 kHz samples; may be empty (silence).

        Returns:
            One float32 motion frame of length ``len(PARAMS)``.
        """
        cfg, dt = self.config, self._dt
        x = np.asarray(frame_audio16k, np.float64).ravel()
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(x, -1.0, 1.0, out=x)
        rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
        db = 20.0 * math.log10(rms) if rms > 0 else -math.inf
        zcr = float(np.mean(np.signbit(x[1:]) != np.signbit(x[:-1]))) if x.size > 1 else 0.0

        # Mouth: gate, smoothstep map, asymmetric smoothing that lands exactly on the target.
        level = min(max((db - cfg.gate_db) / (cfg.full_db - cfg.gate_db), 0.0), 1.0)
        target = cfg.max_jaw * level * level * (3.0 - 2.0 * level)
        k = self._k_att if target > self._jaw else self._k_rel
        self._jaw = _approach(self._jaw, target, k, cfg.slew_per_s * dt)
        if level > 0:
            self._zcr = zcr + (self._zcr - zcr) * self._k_zcr
        bright = min(max((self._zcr - 0.04) / 0.2, 0.0), 1.0)
        open_frac = self._jaw / cfg.max_jaw

        # Emphasis: loud onsets relative to a slow level average -> nod and brow raise.
        rise = level - self._slow
        self._slow = level + (self._slow - level) * self._k_slow
        self._emph *= self._k_emph
        self._since_onset += 1
        if level > 0.5 and rise > 0.25 and self._since_onset * dt >= 0.4:
            self._emph = max(self._emph, min((rise - 0.25) / 0.35 + 0.3, 1.0))
            self._since_onset = 0
        # Two cascaded smoothers make the nod/brow a smooth bump rather than a jump.
        self._emph_a = self._emph + (self._emph_a - self._emph) * self._k_emph_s
        self._emph_s = self._emph_a + (self._emph_s - self._emph_a) * self._k_emph_s
        speaking = 1.0 if level > 0 else 0.0
        self._act = speaking + (self._act - speaking) * self._k_act

        # Head sway: sums of incommensurate sines, larger while speaking, plus the nod.
        t = self._frame * dt
        sway = (_SWAY_WEIGHTS * np.sin(self._sway_w * t + self._sway_phase)).sum(axis=1)
        head = sway * np.asarray(cfg.sway_deg) * (1.0 + cfg.speech_sway_gain * self._act)
        head[1] += cfg.nod_deg * self._emph_s

        frame = np.zeros(len(PARAMS), np.float32)
        frame[_I["jawOpen"]] = self._jaw
        frame[_I["mouthFunnel"]] = cfg.funnel_max * open_frac * (1.0 - bright)
        frame[_I["mouthStretchLeft"]] = frame[_I["mouthStretchRight"]] = (
            cfg.stretch_max * open_frac * bright
        )
        frame[_I["browInnerUp"]] = cfg.brow_raise * self._emph_s
        frame[_I["browOuterUpLeft"]] = frame[_I["browOuterUpRight"]] = (
            0.7 * cfg.brow_raise * self._emph_s
        )
        frame[_I["eyeBlinkLeft"]] = frame[_I["eyeBlinkRight"]] = self._blink()
        frame[_I["headYaw"] :] = head
        self._frame += 1
        np.clip(frame[: _I["headYaw"]], 0.0, 1.0, out=frame[: _I["headYaw"]])
        return frame

    def _blink(self) -> float:
        """Blink value of the current frame; schedules blink groups from the seeded RNG."""
        cfg, i, rng = self.config, self._frame, self._rng
        if i >= self._next_group:
            start = i
            for _ in range(2 if rng.random() < cfg.double_blink_prob else 1):
                n = max(2, self._frames(rng.uniform(*cfg.blink_dur_s)))
                self._blinks.append((start, n, max(1, round(0.35 * n))))
                start += n + max(1, self._frames(rng.uniform(0.05, 0.15)))
            lo = math.ceil(cfg.blink_min_s * cfg.fps - 1e-9)
            hi = max(lo, math.floor(cfg.blink_max_s * cfg.fps + 1e-9))
            gap = self._frames(rng.uniform(cfg.blink_min_s, cfg.blink_max_s))
            self._next_group = i + min(max(gap, lo), hi)
        value = 0.0
        for start, n, close in self._blinks:
            k = i - start
            if 0 < k <= close:
                value = max(value, math.sin(0.5 * math.pi * k / close) ** 2)
            elif close < k < n:
                value = max(value, math.cos(0.5 * math.pi * (k - close) / (n - close)) ** 2)
        self._blinks = [b for b in self._blinks if i - b[0] < b[1]]
        return value
