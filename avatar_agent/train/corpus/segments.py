"""Turn an engine's timed phone labels into a clean :class:`Phone` sequence.

Every engine gives a list of ``(label, start, end)`` in seconds and a table mapping its labels
to zero or more phones of :data:`~avatar_agent.train.phones.PHONE_SET`. Labels mapped to an
empty tuple (stress marks, glide modifiers) are merged into the previous phone; multi-phone
labels (``aI@`` → AY ER) are split into equal parts; zero-length segments are dropped,
neighbouring silences merged, and silence fills the head and tail up to the audio duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from avatar_agent.train.phones import SILENCE, Phone, check_phones

__all__ = ["UnknownPhoneError", "to_phones"]

_MIN_DUR = 1e-4


class UnknownPhoneError(KeyError):
    """An engine label that has no entry in its mapping table."""


def to_phones(
    labels: Iterable[tuple[str, float, float]],
    table: Mapping[str, Sequence[str]],
    duration: float,
) -> list[Phone]:
    """Map timed engine labels to a validated phone list covering ``0..duration``.

    Args:
        labels: ``(label, start, end)`` in seconds, in time order.
        table: Engine label → phones of the project's set (empty: merge into previous).
        duration: Audio duration in seconds; the result ends exactly there.

    Returns:
        Phones that pass :func:`~avatar_agent.train.phones.check_phones`.

    Raises:
        UnknownPhoneError: A label missing from ``table``.
    """
    out: list[list] = []  # [symbol, start, end]

    def push(sym: str, start: float, end: float) -> None:
        start = max(start, out[-1][2] if out else 0.0)
        end = min(end, duration)
        if end - start < _MIN_DUR:
            return
        if out and out[-1][0] == sym == SILENCE:
            out[-1][2] = end
            return
        if out and start > out[-1][2] + _MIN_DUR:
            push(SILENCE, out[-1][2], start)
        elif out:
            start = out[-1][2]
        out.append([sym, start, end])

    for label, start, end in labels:
        if label not in table:
            raise UnknownPhoneError(label)
        syms = tuple(table[label])
        if not syms:
            if out and end > out[-1][2]:
                out[-1][2] = min(end, duration)
            continue
        if not out and start > _MIN_DUR:
            push(SILENCE, 0.0, start)
        step = (end - start) / len(syms)
        for k, sym in enumerate(syms):
            push(sym, start + k * step, start + (k + 1) * step)
    if not out:
        out.append([SILENCE, 0.0, duration])
    elif out[-1][2] < duration - _MIN_DUR:
        push(SILENCE, out[-1][2], duration)
    else:
        out[-1][2] = duration
    return list(check_phones(Phone(s, float(a), float(b)) for s, a, b in out))
