"""Clocks the engine paces frames by: the real monotonic clock and a simulated one for tests."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "SimulatedClock"]


@runtime_checkable
class Clock(Protocol):
    """What the engine needs from a clock."""

    def now(self) -> float:
        """Current time in seconds (any origin, monotonic)."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once :meth:`now` is at least ``t``."""
        ...


class RealClock:
    """Wall time: :func:`time.monotonic` and :func:`asyncio.sleep`."""

    def now(self) -> float:
        """Seconds of :func:`time.monotonic`."""
        return time.monotonic()

    async def sleep_until(self, t: float) -> None:
        """Sleep until the monotonic clock reaches ``t`` (returns at once if it has)."""
        delay = t - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class SimulatedClock:
    """A clock that jumps forward when slept on, so tests can run an hour in seconds.

    ``sleep_until(t)`` sets the time to ``max(now, t)`` and yields to the event loop once.

    Args:
        start: Initial time in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The simulated time in seconds."""
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` (negative values are ignored)."""
        with self._lock:
            self._t += max(0.0, float(seconds))

    async def sleep_until(self, t: float) -> None:
        """Jump to ``t`` if it lies ahead, then yield to the event loop once."""
        with self._lock:
            self._t = max(self._t, float(t))
        await asyncio.sleep(0)
