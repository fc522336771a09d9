"""The phone set shared by the corpus (engine phones → ARPAbet) and the motion targets.

Every engine's phone names are mapped to the 39 CMU/ARPAbet phones (no stress digits) plus
``sil`` for silence and pauses. A :class:`Phone` is one timed segment in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ARPABET",
    "SILENCE",
    "PHONE_SET",
    "BILABIAL",
    "LABIODENTAL",
    "ROUNDED",
    "VOWELS",
    "Phone",
    "check_phones",
]

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
    "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
"""The 39 CMU dictionary phones (stress removed)."""

SILENCE = "sil"
"""Silence, pauses and breath."""

PHONE_SET: tuple[str, ...] = (SILENCE, *ARPABET)

BILABIAL = frozenset({"P", "B", "M"})
"""Lips fully closed."""

LABIODENTAL = frozenset({"F", "V"})
"""Lower lip to the upper teeth."""

ROUNDED = frozenset({"UW", "UH", "OW", "OY", "AO", "W"})
"""Lip rounding."""

VOWELS = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)


@dataclass(frozen=True)
class Phone:
    """One timed phone.

    Attributes:
        symbol: A name in :data:`PHONE_SET`.
        start: Start time in seconds.
        end: End time in seconds (> start).
    """

    symbol: str
    start: float
    end: float


def check_phones(phones: Iterable[Phone]) -> Sequence[Phone]:
    """Validate a phone sequence: known symbols, positive durations, sorted, no overlap.

    Args:
        phones: Timed phones.

    Returns:
        The phones as a list.

    Raises:
        ValueError: On the first bad phone.
    """
    out = list(phones)
    prev_end = 0.0
    for i, p in enumerate(out):
        if p.symbol not in PHONE_SET:
            raise ValueError(f"phone {i}: unknown symbol {p.symbol!r}")
        if not p.end > p.start:
            raise ValueError(f"phone {i} ({p.symbol}): end {p.end} <= start {p.start}")
        if p.start < prev_end - 1e-6:
            raise ValueError(f"phone {i} ({p.symbol}) starts at {p.start} before {prev_end}")
        prev_end = p.end
    return out
