"""Exact frame timing: frame ``i`` starts at ``i / fps`` seconds, sample counts never drift.

The frame rate is held as a fraction (29.97 → 2997/100), and the first sample of frame ``i``
at rate ``r`` is ``round(i * r / fps)`` computed with integers, the same rule as
:func:`avatar_agent.audio.frame_boundaries`, so frame ``N`` of an hour-long stream starts
within half a sample of ``N / fps`` seconds.
"""

from __future__ import annotations

from fractions import Fraction

from avatar_agent.audio import as_fraction

__all__ = ["Timeline", "as_fraction"]


class Timeline:
    """Frame ↔ time ↔ sample arithmetic at one frame rate.

    Args:
        fps: Frames per second.
    """

    def __init__(self, fps: float | Fraction) -> None:
        self.fps = as_fraction(fps)
        self._num = self.fps.numerator
        self._den = self.fps.denominator

    def bound(self, index: int, rate: int) -> int:
        """First sample of frame ``index`` at ``rate`` Hz (round half up of ``index*rate/fps``)."""
        return (index * 2 * rate * self._den + self._num) // (2 * self._num)

    def length(self, index: int, rate: int) -> int:
        """Number of samples of frame ``index`` at ``rate`` Hz."""
        return self.bound(index + 1, rate) - self.bound(index, rate)

    def span(self, first: int, count: int, rate: int) -> int:
        """Number of samples of frames ``first .. first + count - 1``."""
        return self.bound(first + count, rate) - self.bound(first, rate)

    def time(self, index: int) -> float:
        """Start time of frame ``index`` in seconds (exact rational, then rounded to float)."""
        return float(Fraction(index * self._den, self._num))

    def frames_in(self, seconds: float) -> int:
        """Whole frames in ``seconds`` (rounded to the nearest frame)."""
        return round(seconds * self._num / self._den)
