"""Conversational behaviour: turn-taking signals + speech activity → state label, expressions.

- :class:`Signal`: what adapters report (the user started/stopped speaking, the agent is
  thinking, ...).
- :class:`Behavior`: turns signals and the engine's speech activity into one of the labels
  ``idle``, ``speaking``, ``listening``, ``thinking`` with hysteresis: speech switches to
  ``speaking`` at once (lips must not lag), the end of speech holds ``speaking`` briefly, and
  other labels dwell a minimum time so they never flicker. It also schedules the one
  engine-level gesture, a small nod when the user pauses.
- :class:`ExpressionMixer`: eases expression vectors in and out (smoothstep, ~300 ms), holds
  a cue for its duration, then eases back to the base expression.

Everything is a pure function of the times passed in (stream time, not wall time), so a
scripted conversation gives the same labels every run.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from avatar_agent.generator.conditions import N_EXPRESSIONS, STATES

__all__ = [
    "Behavior",
    "BehaviorConfig",
    "ExpressionMixer",
    "Signal",
    "smoothstep",
]


class Signal(str, enum.Enum):
    """Turn-taking signals an adapter passes to :meth:`AvatarEngine.signal`."""

    USER_STARTED_SPEAKING = "user_started_speaking"
    USER_STOPPED_SPEAKING = "user_stopped_speaking"
    AGENT_THINKING = "agent_thinking"
    AGENT_SPEAKING = "agent_speaking"
    AGENT_LISTENING = "agent_listening"
    USER_AWAY = "user_away"
    USER_BACK = "user_back"


def smoothstep(x: float | np.ndarray) -> float | np.ndarray:
    """``3x² − 2x³`` of ``x`` clipped to 0..1 (zero slope at both ends)."""
    u = np.clip(x, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


@dataclass(frozen=True)
class BehaviorConfig:
    """Timing of the label state machine (seconds).

    Attributes:
        speak_release_s: ``speaking`` is held this long after speech audio ends (bridges
            the gap between two segments of one reply).
        min_dwell_s: A non-speaking label is kept at least this long before another
            non-speaking label replaces it.
        listen_hold_s: After the user stops speaking (or the agent stops), ``listening``
            lasts this long before ``idle``, unless a signal says otherwise.
        thinking_timeout_s: ``thinking`` without speech falls back to ``listening`` after this.
        nod_deg: Amplitude of the listening nod (head pitch, degrees; 0 disables it).
        nod_s: Duration of the nod.
        nod_delay_s: Delay from the user's pause to the nod.
    """

    speak_release_s: float = 0.25
    min_dwell_s: float = 0.3
    listen_hold_s: float = 6.0
    thinking_timeout_s: float = 15.0
    nod_deg: float = 2.5
    nod_s: float = 0.7
    nod_delay_s: float = 0.15


class Behavior:
    """Signals + speech activity → state label, with hysteresis (see the module docstring).

    Call :meth:`signal` when a signal arrives and :meth:`update` once per chunk of frames
    with the stream time and whether speech audio is playing.

    Args:
        config: Timing; defaults to :class:`BehaviorConfig()`.
        initial: The label before anything happened.
    """

    def __init__(self, config: BehaviorConfig | None = None, initial: str = "idle") -> None:
        if initial not in STATES:
            raise ValueError(f"unknown state {initial!r}; expected one of {', '.join(STATES)}")
        self.config = config or BehaviorConfig()
        self.label = initial
        self._since = -math.inf  # time the current label started
        self._target = initial  # non-speaking label the signals ask for
        self._target_since = -math.inf
        self._last_speech = -math.inf  # last time speech audio was playing
        self._user_speaking = False
        self._away = False
        self._nod_at: float | None = None

    # ------------------------------------------------------------------ inputs
    def signal(self, sig: Signal | str, t: float) -> None:
        """Apply a turn-taking signal at stream time ``t``.

        Args:
            sig: A :class:`Signal` or its string value.
            t: Stream time in seconds.

        Raises:
            ValueError: For an unknown signal.
        """
        s = Signal(sig)
        if s is Signal.USER_STARTED_SPEAKING:
            self._user_speaking = True
            self._away = False
            self._set_target("listening", t)
        elif s is Signal.USER_STOPPED_SPEAKING:
            self._user_speaking = False
            if self._target == "listening" or self.label == "listening":
                self._nod_at = t + self.config.nod_delay_s
            self._set_target("listening", t)
        elif s is Signal.AGENT_THINKING:
            self._set_target("thinking", t)
        elif s is Signal.AGENT_LISTENING:
            self._set_target("listening", t)
        elif s is Signal.AGENT_SPEAKING:
            pass  # the mouth follows the audio; speaking starts when it plays
        elif s is Signal.USER_AWAY:
            self._away = True
            self._user_speaking = False
            self._set_target("idle", t)
        elif s is Signal.USER_BACK:
            self._away = False
            self._set_target("listening", t)

    def interrupt(self, t: float) -> None:
        """The agent's speech was cut off (barge-in): leave ``speaking`` now, listen."""
        self._last_speech = -math.inf
        if not self._away:
            self._set_target("listening", t)
        if self.label == "speaking":
            self._switch(self._target, t)

    def update(self, t: float, speech_active: bool) -> str:
        """Advance to stream time ``t`` and return the label.

        Args:
            t: Stream time in seconds (non-decreasing between calls).
            speech_active: Whether the agent's speech audio plays at ``t``.

        Returns:
            One of ``idle``, ``speaking``, ``listening``, ``thinking``.
        """
        cfg = self.config
        if speech_active:
            self._last_speech = t
            if self.label != "speaking":
                self._switch("speaking", t)
            # after this reply the user's turn comes
            self._target = "idle" if self._away else "listening"
            self._target_since = t
            return self.label
        if self.label == "speaking":
            if t - self._last_speech < cfg.speak_release_s:
                return self.label
            self._switch(self._target, t)
            return self.label
        # timeouts of the non-speaking targets
        if self._target == "thinking" and t - self._target_since >= cfg.thinking_timeout_s:
            self._set_target("listening", t)
        if (
            self._target == "listening"
            and not self._user_speaking
            and t - self._target_since >= cfg.listen_hold_s
        ):
            self._set_target("idle", t)
        if self._target != self.label and t - self._since >= cfg.min_dwell_s:
            self._switch(self._target, t)
        return self.label

    def nod_pitch(self, t: float) -> float:
        """Head-pitch offset (degrees) of the listening nod at time ``t`` (0 when none)."""
        cfg = self.config
        if self._nod_at is None or cfg.nod_deg <= 0 or self.label not in ("listening", "idle"):
            return 0.0
        u = (t - self._nod_at) / cfg.nod_s
        if u >= 1.0:
            self._nod_at = None
            return 0.0
        if u <= 0.0:
            return 0.0
        return cfg.nod_deg * math.sin(math.pi * u) ** 2

    # ------------------------------------------------------------------ helpers
    def _set_target(self, label: str, t: float) -> None:
        if label != self._target:
            self._target = label
            self._target_since = t
        elif label == "listening":
            self._target_since = t  # a fresh listening cue restarts the hold

    def _switch(self, label: str, t: float) -> None:
        if label != self.label:
            self.label = label
            self._since = t


class ExpressionMixer:
    """Eases between expression vectors over time.

    A cue (:meth:`set`) eases from the current value to the new vector in ``ease_s`` with a
    smoothstep, holds for ``duration`` seconds (None: until the next cue), then eases back to
    the base (neutral) expression.

    Args:
        ease_s: Ease time in seconds (0: switch at once).
    """

    def __init__(self, ease_s: float = 0.3) -> None:
        self.ease_s = max(0.0, float(ease_s))
        self._from = np.zeros(N_EXPRESSIONS, np.float32)
        self._to = np.zeros(N_EXPRESSIONS, np.float32)
        self._t = -math.inf
        self._release_at: float | None = None

    def set(self, vector: np.ndarray, t: float, duration: float | None = None) -> None:
        """Start easing toward ``vector`` at stream time ``t``.

        Args:
            vector: Expression vector (length ``N_EXPRESSIONS``, 0..1).
            t: Stream time in seconds.
            duration: Seconds to hold it after easing in before easing back to neutral;
                None holds it until the next cue.
        """
        v = np.clip(np.asarray(vector, np.float32).ravel(), 0.0, 1.0)
        if v.shape != (N_EXPRESSIONS,):
            raise ValueError(f"expression vector must have {N_EXPRESSIONS} values")
        self._from = self.value(t)
        self._to = v
        self._t = t
        self._release_at = None if duration is None else t + self.ease_s + max(0.0, duration)

    def value(self, t: float) -> np.ndarray:
        """The eased expression vector at stream time ``t`` (a new array)."""
        if self._release_at is not None and t >= self._release_at:
            at = self._release_at
            self._release_at = None
            self.set(np.zeros(N_EXPRESSIONS, np.float32), at)
        if self.ease_s <= 0.0 or t - self._t >= self.ease_s:
            return self._to.copy()
        w = float(smoothstep((t - self._t) / self.ease_s))
        return (self._from + (self._to - self._from) * w).astype(np.float32)

    def easing(self, t: float, horizon: float = 0.0) -> bool:
        """Whether the value changes between ``t`` and ``t + horizon``.

        Args:
            t: Stream time in seconds.
            horizon: Look this far ahead for a release that starts easing back.
        """
        if self.ease_s > 0.0 and t - self._t < self.ease_s:
            return True
        return self._release_at is not None and t + horizon >= self._release_at

    @property
    def target(self) -> np.ndarray:
        """The vector being eased toward (a copy)."""
        return self._to.copy()
