"""Inline expression tags in an agent's text: ``[smile]``, ``[concerned]``, ``[happy:0.5]``.

Prompt writers let the LLM mark expressions inline; before the text goes to TTS the tags are
stripped and returned as cues with their character positions in the cleaned text (see
``docs/expression-tags.md``).

Syntax: ``[name]`` or ``[name:intensity]`` where ``name`` is an expression or an alias
(case-insensitive, ``-``/``_``/spaces ignored) and ``intensity`` is ``0..1`` (``0.5``) or a
percentage (``50%``); default 1. Text in brackets that is not a known name (``[1]``,
``[citation needed]``) is left alone, unless ``strip_unknown=True`` drops single-word unknown
tags too. ``[neutral]`` (or ``[reset]``) eases back to no expression.

For token streams use :class:`TagStripper`, which holds back a possible tag split across
chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from avatar_agent.generator.conditions import EXPRESSIONS

__all__ = [
    "ALIASES",
    "ExpressionCue",
    "TagStripper",
    "TaggedText",
    "resolve_expression",
    "strip_tags",
]

ALIASES: dict[str, str] = {
    "smile": "happy", "smiling": "happy", "joy": "happy", "glad": "happy", "pleased": "happy",
    "cheerful": "happy", "excited": "happy", "laugh": "happy", "grin": "happy",
    "concern": "concerned", "worried": "concerned", "worry": "concerned",
    "empathy": "concerned", "empathetic": "concerned", "sympathetic": "concerned",
    "apologetic": "concerned", "sorry": "concerned",
    "surprise": "surprised", "wow": "surprised", "amazed": "surprised", "shocked": "surprised",
    "think": "thinking", "thoughtful": "thinking", "hmm": "thinking", "pondering": "thinking",
    "unsure": "thinking", "curious": "thinking",
    "sadness": "sad", "unhappy": "sad", "disappointed": "sad",
    "anger": "angry", "annoyed": "angry", "frustrated": "angry", "mad": "angry",
    "calm": "neutral", "reset": "neutral", "none": "neutral", "normal": "neutral",
    "serious": "neutral",
}  # fmt: skip
"""Alias → expression name. Every name in ``EXPRESSIONS`` is accepted as itself too."""

_TAG = re.compile(r"\[\s*([A-Za-z][A-Za-z _-]{0,30}?)\s*(?::\s*([0-9]*\.?[0-9]+)\s*(%)?)?\s*\]")
_MAX_TAG = 48  # longest text a tag can span; the stream stripper holds back at most this


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.strip().lower())


_LOOKUP: dict[str, str] = {_key(n): n for n in EXPRESSIONS}
_LOOKUP.update({_key(a): n for a, n in ALIASES.items()})


def resolve_expression(name: str) -> str:
    """The expression name for a name or alias.

    Args:
        name: ``happy``, ``smile``, ``Worried``, ...

    Returns:
        One of :data:`~avatar_agent.generator.conditions.EXPRESSIONS`.

    Raises:
        ValueError: For an unknown name.
    """
    try:
        return _LOOKUP[_key(name)]
    except KeyError:
        known = ", ".join(EXPRESSIONS)
        raise ValueError(f"unknown expression {name!r}; use one of {known} or an alias") from None


@dataclass(frozen=True)
class ExpressionCue:
    """One expression tag found in text.

    Attributes:
        position: Character offset in the cleaned text where the tag stood.
        expression: Resolved expression name (``neutral`` for a reset).
        intensity: 0..1.
        tag: The tag as written.
    """

    position: int
    expression: str
    intensity: float
    tag: str


@dataclass(frozen=True)
class TaggedText:
    """Result of :func:`strip_tags`.

    Attributes:
        text: The text with tags removed (for TTS).
        cues: Expression cues in order of position.
        unknown: Bracketed words that were not expressions (left in ``text`` unless
            ``strip_unknown``).
    """

    text: str
    cues: tuple[ExpressionCue, ...]
    unknown: tuple[str, ...]


def _parse(match: re.Match[str]) -> tuple[str, float] | None:
    name = _LOOKUP.get(_key(match.group(1)))
    if name is None:
        return None
    value = 1.0 if match.group(2) is None else float(match.group(2))
    if match.group(3):
        value /= 100.0
    elif value > 1.0 and match.group(2) is not None and value <= 100.0:
        value /= 100.0  # "[happy:60]" reads as 60 %
    return name, min(max(value, 0.0), 1.0)


def _strip(
    text: str, strip_unknown: bool, after_space: bool
) -> tuple[str, list[ExpressionCue], list[str], bool]:
    """Core of :func:`strip_tags`; ``after_space``: the text follows whitespace or the start.

    The last value says whether spaces that follow the text should be dropped (it ended
    with a removed tag that followed whitespace).
    """
    clean = ""
    cues: list[ExpressionCue] = []
    unknown: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        parsed = _parse(m)
        if parsed is None:
            unknown.append(m.group(0))
            if not (strip_unknown and " " not in m.group(1).strip()):
                continue
        clean += text[pos : m.start()]
        if parsed is not None:
            cues.append(ExpressionCue(len(clean), parsed[0], parsed[1], m.group(0)))
        pos = m.end()
        # "a [tag] b" -> "a b", "[tag] b" -> "b": no doubled or leading spaces
        if (clean[-1:].isspace() if clean else after_space) and text[pos : pos + 1] == " ":
            pos = len(text) - len(text[pos:].lstrip(" "))
    skip_next = pos == len(text) and pos > 0 and (clean[-1:].isspace() if clean else after_space)
    return clean + text[pos:], cues, unknown, skip_next


def strip_tags(text: str, *, strip_unknown: bool = False) -> TaggedText:
    """Remove expression tags from text and return them as positioned cues.

    Args:
        text: Agent text, e.g. ``"[happy] Great news! [concerned:0.6] But one thing..."``.
        strip_unknown: Also remove single-word bracketed tags that are not expressions.

    Returns:
        A :class:`TaggedText` (``"Great news! But one thing..."`` with cues at 0 and 12).
    """
    clean, cues, unknown, _ = _strip(text, strip_unknown, True)
    return TaggedText(clean, tuple(cues), tuple(unknown))


class TagStripper:
    """Strip tags from a stream of text chunks (LLM tokens) without splitting a tag.

    Args:
        strip_unknown: As in :func:`strip_tags`.

    Example::

        stripper = TagStripper()
        for token in llm_tokens:
            text, cues = stripper.feed(token)
            tts.push_text(text)
            for cue in cues:
                engine.set_expression(cue.expression, cue.intensity)
        text, cues = stripper.flush()
    """

    def __init__(self, *, strip_unknown: bool = False) -> None:
        self.strip_unknown = strip_unknown
        self._held = ""
        self._emitted = 0  # characters of clean text emitted so far
        self._last = ""  # last emitted character (for spacing)
        self._skip_space = False  # drop leading spaces: the previous chunk ended with a tag

    def feed(self, chunk: str) -> tuple[str, list[ExpressionCue]]:
        """Add a chunk; return the clean text that is safe to emit now and its cues.

        Cue positions count characters of the whole cleaned stream.
        """
        buf = self._held + chunk
        cut = len(buf)
        open_at = buf.rfind("[")
        if open_at != -1 and "]" not in buf[open_at:] and len(buf) - open_at <= _MAX_TAG:
            cut = open_at  # a tag may be starting: hold it back
        self._held = buf[cut:]
        return self._emit(buf[:cut])

    def flush(self) -> tuple[str, list[ExpressionCue]]:
        """Emit whatever is held back (an unfinished bracket is plain text)."""
        buf, self._held = self._held, ""
        return self._emit(buf)

    def _emit(self, text: str) -> tuple[str, list[ExpressionCue]]:
        if self._skip_space:
            text = text.lstrip(" ")
            self._skip_space = not text
        if not text:
            return "", []
        after_space = self._last == "" or self._last.isspace()
        clean, cues, _, skip = _strip(text, self.strip_unknown, after_space)
        self._skip_space = skip
        cues = [
            ExpressionCue(self._emitted + c.position, c.expression, c.intensity, c.tag)
            for c in cues
        ]
        self._emitted += len(clean)
        if clean:
            self._last = clean[-1]
        return clean, cues
