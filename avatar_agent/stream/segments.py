"""Speech segments: pushed PCM in, 16 kHz float32 (for motion) and output-rate int16 out.

:func:`pcm_to_int16` turns whatever an adapter pushes (int16 bytes, memoryviews, int or float
arrays, interleaved channels) into compact interleaved int16; a :class:`Segment` keeps that
until the :class:`IntakeStage` thread converts it — a bounded stretch ahead of playback —
into two sample queues on the same time grid: 16 kHz mono float32 for the motion driver and
mono int16 at the output rate for the frames' audio slices. Memory per segment is the pushed
audio as int16 plus a few seconds of converted samples, however much is pushed at once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from avatar_agent.audio import StreamingResampler, sanitize
from avatar_agent.stream.fifo import SampleFifo

__all__ = ["MOTION_RATE", "IntakeStage", "Segment", "float_to_int16", "pcm_to_int16"]

log = logging.getLogger(__name__)

MOTION_RATE = 16000
"""Sample rate of the audio the motion driver sees."""

_PIECE_S = 0.5  # seconds of input converted per step of the intake thread


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in -1..1 → int16 (``round(x * 32768)``, clipped); exact for int16 input."""
    y = np.rint(np.asarray(x, np.float32) * 32768.0)
    return np.clip(y, -32768, 32767).astype(np.int16)


def pcm_to_int16(pcm: object, channels: int) -> tuple[np.ndarray | bytes, bool]:
    """Convert pushed PCM to a flat interleaved int16 array (or raw bytes to finish later).

    Args:
        pcm: int16 ``bytes``/``bytearray``/``memoryview``, or an ndarray: int16, int32 or float
            (-1..1; NaN/inf become 0, out-of-range values are clipped), flat interleaved or
            ``(n, channels)`` or ``(channels, n)``.
        channels: Interleaved channel count.

    Returns:
        ``(data, is_bytes)``: raw bytes (an odd trailing byte is carried by the segment) or a
        flat int16 array.

    Raises:
        ValueError: For a type or shape that is not audio.
    """
    if isinstance(pcm, (bytes, bytearray)):
        return bytes(pcm), True
    if isinstance(pcm, memoryview):
        return pcm.tobytes(), True
    arr = np.asarray(pcm)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or arr.dtype in (np.int16, np.int32)
    ):
        raise ValueError(f"audio must be int16 bytes or int16/int32/float samples, not {arr.dtype}")
    if arr.ndim == 2:
        if arr.shape[1] == channels:
            arr = arr.reshape(-1)
        elif arr.shape[0] == channels:
            arr = arr.T.reshape(-1)
        else:
            raise ValueError(f"audio of shape {arr.shape} does not have {channels} channel(s)")
    elif arr.ndim > 2:
        raise ValueError(f"audio must be 1-D interleaved or 2-D, got shape {arr.shape}")
    arr = arr.reshape(-1)
    if arr.dtype == np.int16:
        return arr.copy(), False
    return float_to_int16(sanitize(arr)), False


class Segment:
    """One speech segment (one TTS reply or part of one) on its way to the frames.

    Args:
        segment_id: Id handed back to the caller.
        out_rate: Output sample rate (int16 slices).
    """

    def __init__(self, segment_id: int, out_rate: int) -> None:
        self.id = segment_id
        self.out_rate = out_rate
        self.raw: deque[tuple[int, int, np.ndarray]] = deque()  # (rate, channels, int16)
        self.raw_seconds = 0.0
        self.ended = False
        self.complete = False  # ended and everything converted
        self.busy = False  # the intake thread is converting a piece of it
        self.started = False  # the motion stage began playing it
        self.frames_planned = 0
        self.first_push_wall: float | None = None
        self.fifo16 = SampleFifo(np.float32)
        self.fifo_out = SampleFifo(np.int16)
        self._carry_byte = b""
        self._carry = np.zeros(0, np.int16)
        self._fmt: tuple[int, int] | None = None
        self._rate: int | None = None
        self._res16: StreamingResampler | None = None
        self._res_out: StreamingResampler | None = None

    # --------------------------------------------------------------- producer side (locked)
    def add(self, data: np.ndarray | bytes, is_bytes: bool, rate: int, channels: int) -> None:
        """Queue pushed PCM (from :func:`pcm_to_int16`); partial samples wait for the next push."""
        if self._fmt != (rate, channels):
            self._carry_byte, self._carry = b"", np.zeros(0, np.int16)
            self._fmt = (rate, channels)
        if is_bytes:
            raw = self._carry_byte + data
            usable = len(raw) - len(raw) % 2
            self._carry_byte = raw[usable:]
            arr = np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16)
        else:
            arr = data
        if self._carry.size:
            arr = np.concatenate([self._carry, arr])
        whole = arr.size - arr.size % channels
        self._carry = arr[whole:].copy()
        if whole:
            self.raw.append((rate, channels, arr[:whole]))
            self.raw_seconds += whole / channels / rate

    @property
    def pending(self) -> bool:
        """Whether pushed audio is still waiting to be converted."""
        return bool(self.raw) or self.busy

    # --------------------------------------------------------------- intake side
    def take_piece(self) -> tuple[int, int, np.ndarray]:
        """Pop at most half a second of queued input (locked by the caller)."""
        rate, channels, arr = self.raw[0]
        limit = int(rate * _PIECE_S) * channels
        if arr.size > limit:
            self.raw[0] = (rate, channels, arr[limit:])
            arr = arr[:limit]
        else:
            self.raw.popleft()
        self.raw_seconds = max(0.0, self.raw_seconds - arr.size / channels / rate)
        return rate, channels, arr

    def convert(self, rate: int, channels: int, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Resample one piece (no lock needed: only the intake thread calls this).

        Returns:
            ``(samples16k_float32, samples_out_int16)``, to :meth:`store` under the lock.
        """
        x = arr.astype(np.float32) / 32768.0
        if channels > 1:
            x = x.reshape(-1, channels).mean(axis=1, dtype=np.float32)
        head16: list[np.ndarray] = []
        head_out: list[np.ndarray] = []
        if rate != self._rate:
            if self._res16 is not None and self._res_out is not None:
                head16.append(self._res16.flush())
                head_out.append(self._res_out.flush())
            self._rate = rate
            self._res16 = StreamingResampler(rate, MOTION_RATE)
            self._res_out = StreamingResampler(rate, self.out_rate)
        assert self._res16 is not None and self._res_out is not None
        y16 = np.concatenate([*head16, self._res16.push(x)])
        yout = np.concatenate([*head_out, self._res_out.push(x)])
        return y16, float_to_int16(yout)

    def store(self, y16: np.ndarray, yout: np.ndarray) -> None:
        """Append converted samples (locked by the caller)."""
        self.fifo16.append(y16)
        self.fifo_out.append(yout)

    def finish(self) -> None:
        """Flush the resamplers after the last piece and mark the segment complete (locked)."""
        if self._res16 is not None and self._res_out is not None:
            self.store(self._res16.flush(), float_to_int16(self._res_out.flush()))
        self._res16 = self._res_out = None
        self.complete = True

    def drop(self) -> None:
        """Release all audio (after an interruption)."""
        self.raw.clear()
        self.raw_seconds = 0.0
        self.fifo16.clear()
        self.fifo_out.clear()
        self.complete = True


class IntakeStage(threading.Thread):
    """Worker thread that converts queued segment audio a bounded stretch ahead of playback.

    Args:
        cond: The engine's condition variable (guards ``segments``).
        segments: Callable returning the segments in play order (called under the lock).
        ahead_s: Seconds of converted audio kept ready per segment chain.
        stopped: Callable returning True when the engine is closing.
    """

    def __init__(
        self,
        cond: threading.Condition,
        segments: Callable[[], deque[Segment]],
        ahead_s: float,
        stopped: Callable[[], bool],
    ) -> None:
        super().__init__(name="avatar-intake", daemon=True)
        self._cond = cond
        self._segments = segments
        self._ahead = max(1, int(ahead_s * MOTION_RATE))
        self._stopped = stopped

    def _find_work(self) -> tuple[Segment, tuple[int, int, np.ndarray] | None] | None:
        budget = self._ahead
        for seg in self._segments():
            if seg.raw and budget > len(seg.fifo16):
                seg.busy = True
                return seg, seg.take_piece()
            if seg.ended and not seg.raw and not seg.complete and not seg.busy:
                return seg, None
            budget -= len(seg.fifo16)
            if budget <= 0 or not seg.complete:
                break
        return None

    def run(self) -> None:
        """Convert until the engine stops; a bad piece is logged and skipped."""
        while True:
            with self._cond:
                work = None
                while not self._stopped():
                    work = self._find_work()
                    if work is not None:
                        break
                    self._cond.wait(0.25)
                if work is None:
                    return
                seg, piece = work
                if piece is None:
                    seg.finish()
                    self._cond.notify_all()
                    continue
            try:
                y16, yout = seg.convert(*piece)
            except Exception:  # one bad piece must not end the stream
                log.exception("dropping a piece of audio that could not be converted")
                y16, yout = np.zeros(0, np.float32), np.zeros(0, np.int16)
            with self._cond:
                seg.busy = False
                if not seg.complete:  # not dropped by clear() meanwhile
                    seg.store(y16, yout)
                    if seg.ended and not seg.raw:
                        seg.finish()
                self._cond.notify_all()
