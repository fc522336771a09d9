"""Turn-taking and expression cues: LiveKit session events → engine signals.

Both modes use :class:`TurnSignals`: in-process it listens to the ``AgentSession`` itself; in
the dispatched worker it listens to the session event stream (``lk.agent.session``, decoded by
``RemoteSession``), whose protobuf states are mapped back to LiveKit's names first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from avatar_agent.engine import AvatarEngine, Signal
from avatar_agent.tags import strip_tags

from .log import logger

__all__ = [
    "ExpressionCue",
    "TurnSignals",
    "expression_cues",
    "mood_cue",
    "pb_agent_state",
    "pb_user_state",
]


@dataclass(frozen=True)
class ExpressionCue:
    """One expression to show.

    Attributes:
        name: Expression name (``happy``, ``concerned``, ... or ``neutral``).
        intensity: 0..1.
        duration: Seconds to hold it, or None until the next cue.
    """

    name: str
    intensity: float = 1.0
    duration: float | None = None


def expression_cues(text: str) -> list[ExpressionCue]:
    """Expression cues of the inline tags (``[happy]``, ``[concerned:0.6]``) in a text.

    Args:
        text: Message text, possibly with expression tags (see ``avatar_agent.tags``).

    Returns:
        The cues in order; empty when the text has none.
    """
    if not text or "[" not in text:
        return []
    return [ExpressionCue(c.expression, c.intensity) for c in strip_tags(text).cues]


# LiveKit's TTS moods (livekit.agents.tts AgentMood, surfaced as the ``lk.expression``
# transcription attribute) → expression and intensity
_MOODS: dict[str, tuple[str, float]] = {
    "excited": ("happy", 0.9),
    "happy": ("happy", 0.7),
    "playful": ("happy", 0.6),
    "hopeful": ("happy", 0.4),
    "curious": ("thinking", 0.5),
    "surprised": ("surprised", 0.7),
    "empathetic": ("concerned", 0.5),
    "anxious": ("concerned", 0.7),
    "sad": ("sad", 0.6),
    "angry": ("angry", 0.6),
    "calm": ("neutral", 1.0),
}


def mood_cue(attribute: str | None, *, duration: float | None = 3.0) -> ExpressionCue | None:
    """The expression for a transcription segment's ``lk.expression`` attribute, if any.

    Expressive TTS (Cartesia, ElevenLabs v3, Inworld) tag their delivery; LiveKit strips the
    markup from the transcript and reports ``{"expression": ..., "mood": ...}``.

    Args:
        attribute: The attribute's JSON value, or None.
        duration: Seconds to hold the expression.

    Returns:
        The cue, or None when there is no usable mood.
    """
    if not attribute:
        return None
    try:
        data = json.loads(attribute)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    mood = data.get("mood")
    if not isinstance(mood, str):
        return None
    mapped = _MOODS.get(mood.lower())
    if mapped is None:
        return None
    return ExpressionCue(mapped[0], mapped[1], duration)


_PB_AGENT = {
    "AS_INITIALIZING": "initializing",
    "AS_IDLE": "idle",
    "AS_LISTENING": "listening",
    "AS_THINKING": "thinking",
    "AS_SPEAKING": "speaking",
}
_PB_USER = {"US_SPEAKING": "speaking", "US_LISTENING": "listening", "US_AWAY": "away"}


def pb_agent_state(value: int) -> str:
    """LiveKit's agent-state name of a protobuf ``AgentState`` value (``listening``, ...)."""
    from livekit.protocol.agent_pb import agent_session as agent_pb

    return _PB_AGENT.get(agent_pb.AgentState.Name(value), "idle")


def pb_user_state(value: int) -> str:
    """LiveKit's user-state name of a protobuf ``UserState`` value (``speaking``, ...)."""
    from livekit.protocol.agent_pb import agent_session as agent_pb

    return _PB_USER.get(agent_pb.UserState.Name(value), "listening")


class TurnSignals:
    """Feeds an engine the signals implied by LiveKit's user and agent states.

    States are LiveKit's names: user ``speaking | listening | away``; agent
    ``initializing | idle | listening | thinking | speaking``. Repeated states are ignored.

    Args:
        engine: The engine to signal.
    """

    def __init__(self, engine: AvatarEngine) -> None:
        self._engine = engine
        self.user_state = "listening"
        self.agent_state = "initializing"

    def _send(self, signal: Signal) -> None:
        try:
            self._engine.signal(signal)
        except Exception:  # a closed engine must not break the agent session
            logger.debug("engine.signal(%s) failed", signal, exc_info=True)

    def on_user_state(self, new: str) -> None:
        """Apply a user-state change."""
        old, self.user_state = self.user_state, new
        if new == old:
            return
        if old == "away":
            self._send(Signal.USER_BACK)
        if new == "speaking":
            self._send(Signal.USER_STARTED_SPEAKING)
        elif new == "away":
            self._send(Signal.USER_AWAY)
        elif old == "speaking":
            self._send(Signal.USER_STOPPED_SPEAKING)

    def on_agent_state(self, new: str) -> None:
        """Apply an agent-state change."""
        old, self.agent_state = self.agent_state, new
        if new == old:
            return
        if new == "thinking":
            self._send(Signal.AGENT_THINKING)
        elif new == "speaking":
            self._send(Signal.AGENT_SPEAKING)
        elif new == "listening":
            self._send(Signal.AGENT_LISTENING)

    def on_speech_created(self) -> None:
        """A reply was scheduled: show thinking until its audio starts."""
        if self.agent_state not in ("speaking", "thinking"):
            self._send(Signal.AGENT_THINKING)

    def apply_expression(self, cue: ExpressionCue) -> None:
        """Show an expression cue."""
        try:
            self._engine.set_expression(cue.name, intensity=cue.intensity, duration=cue.duration)
        except Exception:
            logger.warning("cannot set expression %r", cue.name, exc_info=True)
