"""Microphone input: the browser's audio track, endpointed by loudness, into utterances.

Speech starts when the level rises 12 dB over the tracked noise floor (and above -50 dBFS) for
60 ms, and ends after 0.7 s below it; 0.3 s before the start is kept. Each finished utterance
(16 kHz mono float) goes to a callback — the demo transcribes it with faster-whisper, whose own
Silero VAD filter trims what is left of the silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

__all__ = ["Endpointer", "MicListener"]

log = logging.getLogger(__name__)

RATE = 16000
BLOCK = 320  # 20 ms


class Endpointer:
    """Loudness-based utterance detector over 20 ms blocks at 16 kHz.

    Args:
        start_ms: Loud time that starts an utterance.
        end_ms: Quiet time that ends it.
        preroll_ms: Audio kept from before the start.
        max_s: Longest utterance; longer ones are cut.
        min_dbfs: Level that is never speech.
        margin_db: How far over the noise floor speech must be.
    """

    def __init__(
        self,
        *,
        start_ms: int = 60,
        end_ms: int = 700,
        preroll_ms: int = 300,
        max_s: float = 15.0,
        min_dbfs: float = -50.0,
        margin_db: float = 12.0,
    ) -> None:
        self.start_blocks = max(1, start_ms // 20)
        self.end_blocks = max(1, end_ms // 20)
        self.max_blocks = int(max_s * 50)
        self.min_dbfs = min_dbfs
        self.margin_db = margin_db
        self.floor_db = -60.0
        self.speaking = False
        self._pre: deque[np.ndarray] = deque(maxlen=max(1, preroll_ms // 20))
        self._utt: list[np.ndarray] = []
        self._loud = 0
        self._quiet = 0
        self._buf = np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray) -> list[tuple[str, np.ndarray | None]]:
        """Feed 16 kHz mono float samples.

        Args:
            samples: Any number of samples.

        Returns:
            Events in order: ``("start", None)`` and ``("end", utterance)``.
        """
        events: list[tuple[str, np.ndarray | None]] = []
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])
        while len(self._buf) >= BLOCK:
            block, self._buf = self._buf[:BLOCK], self._buf[BLOCK:]
            events += self._block(block)
        return events

    def _block(self, block: np.ndarray) -> list[tuple[str, np.ndarray | None]]:
        db = 20.0 * np.log10(float(np.sqrt(np.mean(block**2))) + 1e-9)
        loud = db > max(self.min_dbfs, self.floor_db + self.margin_db)
        if not self.speaking:
            # the floor follows quiet input quickly and loud input slowly
            self.floor_db += (0.05 if db < self.floor_db else 0.005) * (db - self.floor_db)
            self._pre.append(block)
            self._loud = self._loud + 1 if loud else 0
            if self._loud >= self.start_blocks:
                self.speaking, self._quiet = True, 0
                self._utt = list(self._pre)
                self._pre.clear()
                return [("start", None)]
            return []
        self._utt.append(block)
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= self.end_blocks or len(self._utt) >= self.max_blocks:
            utt = np.concatenate(self._utt)
            self.speaking, self._utt, self._loud = False, [], 0
            return [("end", utt)]
        return []


class MicListener:
    """Read a remote aiortc audio track and report utterances.

    Args:
        track: The browser's microphone track.
        on_start: Called when speech starts (barge-in).
        on_utterance: Run as a task with each finished utterance (16 kHz mono float32).
    """

    def __init__(
        self,
        track: Any,
        *,
        on_start: Callable[[], None],
        on_utterance: Callable[[np.ndarray], Awaitable[None]],
    ) -> None:
        self.track = track
        self.on_start = on_start
        self.on_utterance = on_utterance
        self.endpointer = Endpointer()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start reading the track."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mic")

    async def _run(self) -> None:
        import av
        from aiortc.mediastreams import MediaStreamError

        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            for out in resampler.resample(frame):
                for kind, utt in self.endpointer.feed(out.to_ndarray().reshape(-1)):
                    if kind == "start":
                        self.on_start()
                    elif utt is not None:  # handled aside so the track keeps being read
                        task = asyncio.ensure_future(self.on_utterance(utt))
                        self._pending.add(task)
                        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
