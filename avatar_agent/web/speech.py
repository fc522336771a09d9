"""Split a tagged answer into spoken sentences, each with the expression that starts in it.

Tags are parsed by :mod:`avatar_agent.tags` (``[smile]``, ``[concerned:0.6]``, ...); the clean
text is cut into sentences and every cue is attached to the sentence its position falls in, so
the expression can be set when that sentence's audio starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from avatar_agent.tags import strip_tags

__all__ = ["SpeechPart", "speech_parts"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SpeechPart:
    """One sentence to synthesise.

    Attributes:
        text: The words, tags removed.
        expression: Expression to set when it starts (``neutral`` resets), or None.
        intensity: 0..1 intensity of ``expression``.
    """

    text: str
    expression: str | None = None
    intensity: float = 1.0


def speech_parts(text: str) -> list[SpeechPart]:
    """Sentences of ``text`` with their expressions (the last cue of a sentence wins).

    Args:
        text: The bot's answer, e.g. ``"[smile] Hi! [neutral] Your order shipped."``.

    Returns:
        Parts in order, tags removed.
    """
    tagged = strip_tags(text)
    clean = tagged.text
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(clean):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(clean)))
    parts: list[SpeechPart] = []
    for i, (lo, hi) in enumerate(bounds):
        # a sentence owns the cues after the previous sentence's end and before its own end
        prev_hi = bounds[i - 1][1] if i else -1
        last = i == len(bounds) - 1
        mine = [c for c in tagged.cues if prev_hi < c.position and (c.position < hi or last)]
        words = " ".join(clean[lo:hi].split())
        if not words:
            continue
        cue = mine[-1] if mine else None
        expression, intensity = (cue.expression, cue.intensity) if cue else (None, 1.0)
        parts.append(SpeechPart(words, expression, intensity))
    return parts
