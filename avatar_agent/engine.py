"""The real-time avatar stream: push speech audio, get paired video/audio frames forever.

One :class:`AvatarEngine` per avatar stream. Audio goes in from any thread
(:meth:`AvatarEngine.push_audio`, never blocks); frames come out of one async iterator
(:meth:`AvatarEngine.frames`), idle frames too, at the configured fps: the engine is the
clock adapters publish by. Each frame carries exactly its ``1/fps`` slice of the pushed audio
(silence when idle), so A/V alignment is by construction.

Pipeline (worker threads joined by bounded queues; the event loop only awaits)::

    push_audio ─► segments (int16) ─► intake thread: resample to 16 kHz + output rate
               ─► motion thread: chunking, behaviour label, eased expression, driver,
                  transition blend ─► render queue (bounded)
               ─► render thread: CPURenderer from the reference portrait ─► output queue
               ─► frames(): pacing by the clock, clear() epochs, SegmentDone notices

See ``docs/engine-api.md`` for the contract adapters rely on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from avatar_agent.behavior import Behavior, Signal
from avatar_agent.generator.conditions import expression_vector
from avatar_agent.generator.driver import MotionDriver, make_driver
from avatar_agent.portrait.bundle import AvatarBundle
from avatar_agent.stream.clock import Clock, RealClock, SimulatedClock
from avatar_agent.stream.metrics import EngineMetrics
from avatar_agent.stream.planner import MotionStage
from avatar_agent.stream.render_stage import RenderStage
from avatar_agent.stream.segments import IntakeStage, Segment, pcm_to_int16
from avatar_agent.stream.shared import FrameItem, Shared
from avatar_agent.stream.types import AvatarFrame, EngineConfig, SegmentDone
from avatar_agent.tags import resolve_expression

__all__ = [
    "AvatarEngine",
    "AvatarFrame",
    "Clock",
    "EngineConfig",
    "EngineMetrics",
    "RealClock",
    "SegmentDone",
    "Signal",
    "SimulatedClock",
]

log = logging.getLogger(__name__)

_STOP = object()
_MAX_LAG_S = 0.5  # a consumer further behind than this moves the schedule instead of bursting


class AvatarEngine:
    """One real-time avatar stream.

    Args:
        avatar: An :class:`~avatar_agent.portrait.bundle.AvatarBundle` (share one between
            engines), a bundle or portrait path for :func:`~avatar_agent.avatar.load_avatar`,
            or None for the default avatar.
        config: Settings (default :class:`EngineConfig()`).
        clock: Pacing clock (default :class:`RealClock`); :class:`SimulatedClock` runs an
            hour in seconds.
        driver: A ready :class:`~avatar_agent.generator.driver.MotionDriver` at
            ``config.fps`` to use instead of ``make_driver(config.driver, ...)``.

    Example::

        async with AvatarEngine(config=EngineConfig(fps=25, size=512)) as engine:
            engine.push_audio(pcm, sample_rate=24000)
            engine.end_segment()
            async for frame in engine.frames():
                publish(frame.video, frame.audio, frame.timestamp)
    """

    def __init__(
        self,
        avatar: AvatarBundle | str | os.PathLike[str] | None = None,
        config: EngineConfig | None = None,
        clock: Clock | None = None,
        *,
        driver: MotionDriver | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.clock: Clock = clock if clock is not None else RealClock()
        self._avatar = avatar
        self._driver = driver
        self._s = Shared(self.config, self.clock)
        self._behavior = Behavior()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out: asyncio.Queue[Any] | None = None
        self._slots = threading.Semaphore(self.config.output_queue_frames)
        self._render_q: queue.Queue[FrameItem] = queue.Queue(self.config.render_queue_capacity)
        self._started = False
        self._consuming = False
        self._last_video: np.ndarray | None = None
        self._state = "idle"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load the avatar and driver (off the event loop) and start the worker threads.

        Frame 0 is due now; later frames every ``1/fps`` seconds. Calling it again does
        nothing.
        """
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        self._out = asyncio.Queue()
        render, driver = await asyncio.to_thread(self._load)
        s = self._s
        s.t0 = self.clock.now()
        self._threads = [
            IntakeStage(s.cond, s.play_order, self.config.convert_ahead_s, s.is_stopped),
            MotionStage(s, driver, self._render_q, self._behavior),
            RenderStage(s, render, self._render_q, self._deliver),
        ]
        for t in self._threads:
            t.start()

    def _load(self) -> tuple[Any, MotionDriver]:
        from avatar_agent.avatar import load_avatar
        from avatar_agent.render.renderer import CPURenderer

        cfg = self.config
        driver = self._driver or make_driver(cfg.driver, fps=float(cfg.fps), seed=cfg.seed)
        if abs(float(driver.fps) - float(cfg.fps)) > 1e-6:
            raise ValueError(f"driver runs at {driver.fps} fps, the engine at {cfg.fps}")
        if not cfg.video:
            return None, driver
        if isinstance(self._avatar, AvatarBundle):
            bundle = self._avatar
        else:
            bundle = load_avatar(self._avatar, size=cfg.size)
        # the same warp-node spacing relative to the face at every size (104 nodes at 512 px)
        grid = max(12, min(104, round(104 * cfg.size / 512)))
        renderer = CPURenderer(bundle, size=cfg.size, grid=grid)
        return renderer.render, driver

    async def aclose(self) -> None:
        """Stop the threads and end :meth:`frames`. Safe to call twice."""
        s = self._s
        with s.cond:
            if s.stopped:
                return
            s.stopped = True
            s.cond.notify_all()
        for t in self._threads:
            await asyncio.to_thread(t.join, 2.0)
        if self._out is not None:
            self._out.put_nowait(_STOP)

    async def __aenter__(self) -> AvatarEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ input (any thread)
    def push_audio(self, pcm: Any, sample_rate: int, channels: int = 1) -> int:
        """Queue speech audio of the current segment; never blocks, thread-safe.

        Args:
            pcm: int16 ``bytes``/``bytearray``/``memoryview`` (little-endian), or an ndarray
                of int16, int32 or float (-1..1) samples; interleaved when ``channels > 1``
                (2-D ``(n, channels)``/``(channels, n)`` arrays are accepted too). Empty
                audio, NaN/inf, out-of-range values and odd byte counts are cleaned (a partial
                sample waits for the next push).
            sample_rate: Its rate in Hz (8000–96000); may differ between pushes.
            channels: Interleaved channel count (1–16); channels are averaged.

        Returns:
            The segment id. A new segment starts with the first push after
            :meth:`end_segment` or :meth:`clear`.

        Raises:
            ValueError: For a bad rate, channel count or a type that is not audio.
        """
        rate = _check_int(sample_rate, "sample_rate", 8000, 96000)
        ch = _check_int(channels, "channels", 1, 16)
        data, is_bytes = pcm_to_int16(pcm, ch)
        s = self._s
        with s.cond:
            seg = s.current
            if seg is None:
                seg = Segment(s.next_segment_id, self.config.audio_sample_rate)
                s.next_segment_id += 1
                s.current = seg
                s.segments.append(seg)
                s.by_id[seg.id] = seg
                s.played[seg.id] = 0
            before = len(seg.raw)
            seg.add(data, is_bytes, rate, ch)
            if seg.first_push_wall is None and len(seg.raw) > before:
                seg.first_push_wall = time.perf_counter()
            s.cond.notify_all()
            return seg.id

    def end_segment(self) -> None:
        """Mark the end of the current segment (no more audio for it); no-op when none."""
        s = self._s
        with s.cond:
            if s.current is not None:
                s.current.ended = True
                s.current = None
                s.cond.notify_all()

    def clear(self) -> None:
        """Barge-in: drop all queued speech; the mouth eases to rest within ~100 ms.

        No frame of the dropped speech is yielded after this call returns. The next frame
        reports every dropped segment in ``done`` with ``interrupted=True`` and the seconds
        that had played.
        """
        s = self._s
        with s.cond:
            s.epoch += 1
            s.restart_index = s.next_out
            rate = self.config.audio_sample_rate
            for sid, seg in s.by_id.items():
                s.pending_done.append(SegmentDone(sid, s.played.get(sid, 0) / rate, True))
                seg.drop()
            s.metrics.segments_interrupted += len(s.by_id)
            s.by_id.clear()
            s.played.clear()
            s.segments.clear()
            s.current = None
            s.metrics.clears += 1
            s.cond.notify_all()

    def signal(self, sig: Signal | str) -> None:
        """Pass a turn-taking signal (applied from the next planned frame).

        Args:
            sig: A :class:`Signal` or its value, e.g. ``"user_started_speaking"``.

        Raises:
            ValueError: For an unknown signal.
        """
        value = Signal(sig).value
        s = self._s
        with s.cond:
            s.signals.append(value)
            s.cond.notify_all()

    def set_expression(
        self,
        expression: str | np.ndarray | Any | None,
        intensity: float = 1.0,
        duration: float | None = None,
    ) -> None:
        """Ease toward an expression (~300 ms), hold it, then ease back to neutral.

        Args:
            expression: A name (``happy``, ``concerned``, ``surprised``, ``thinking``,
                ``sad``, ``angry``, ``neutral``) or an alias from :mod:`avatar_agent.tags`
                (``smile``, ``worried``, ...), a mapping of names to weights, or a vector
                (see :func:`~avatar_agent.generator.conditions.expression_vector`).
            intensity: 0..1.
            duration: Seconds to hold before easing back; None holds until the next call.

        Raises:
            ValueError: For an unknown name, a bad vector or a negative duration.
        """
        if isinstance(expression, str):
            expression = resolve_expression(expression)
        vec = expression_vector(expression, intensity)
        if duration is not None and not duration >= 0:
            raise ValueError(f"duration must be >= 0 or None, got {duration!r}")
        s = self._s
        with s.cond:
            s.expressions.append((vec, None if duration is None else float(duration)))
            s.cond.notify_all()

    # ------------------------------------------------------------------ output
    def _deliver(self, item: FrameItem) -> bool:
        """Render thread → event loop, blocking while the output queue is full."""
        while not self._s.stopped:
            if self._slots.acquire(timeout=0.1):
                assert self._loop is not None and self._out is not None
                try:
                    self._loop.call_soon_threadsafe(self._out.put_nowait, item)
                except RuntimeError:  # event loop closed
                    return False
                return True
        return False

    async def frames(self) -> AsyncIterator[AvatarFrame]:
        """Yield frames forever (idle ones too) until :meth:`aclose`; one consumer only.

        Yields:
            :class:`AvatarFrame` objects with consecutive indices from 0.

        Raises:
            RuntimeError: If the engine was not started or another consumer is iterating.
        """
        if not self._started or self._out is None:
            raise RuntimeError("call start() (or use 'async with') before frames()")
        if self._consuming:
            raise RuntimeError("frames() already has a consumer")
        self._consuming = True
        try:
            async for frame in self._frames():
                yield frame
        finally:
            self._consuming = False

    async def _frames(self) -> AsyncIterator[AvatarFrame]:
        s, cfg = self._s, self.config
        assert self._out is not None
        pace = cfg.realtime or isinstance(self.clock, SimulatedClock)
        period = 1.0 / float(s.timeline.fps)
        while True:
            item = await self._out.get()
            if item is _STOP:
                return
            self._slots.release()
            if cfg.realtime:
                lag = self.clock.now() - s.due(item.index)
                if lag > _MAX_LAG_S:  # the consumer stalled: move the schedule, don't burst
                    with s.cond:
                        s.t0 += lag
                    log.info("consumer %.2f s behind; frame schedule moved on", lag)
            if pace:
                await self.clock.sleep_until(s.due(item.index))
            with s.cond:
                if item.epoch != s.epoch or item.index != s.next_out:
                    continue  # made before clear(): never shown
                s.next_out += 1
                done = item.done
                if s.pending_done:
                    done = tuple(s.pending_done) + done
                    s.pending_done.clear()
                if item.segment_id is not None and item.segment_id in s.played:
                    s.played[item.segment_id] += item.n_real
                for d in item.done:
                    s.by_id.pop(d.segment_id, None)
                    s.played.pop(d.segment_id, None)
                    s.metrics.segments_done += 1
                s.last_motion = item.motion
                s.cond.notify_all()
            m = s.metrics
            m.frames_out += 1
            m.state = self._state = item.state
            m.yield_times.append(time.perf_counter())
            if item.first_push_wall is not None:
                m.first_out.append(time.perf_counter() - item.first_push_wall)
            if cfg.realtime and self.clock.now() > s.due(item.index) + period:
                m.late_frames += 1
            if m.frames_out % 25 == 0:
                msg = m.warning(cfg.warn_interval_s)
                if msg:
                    log.warning(msg)
            yield AvatarFrame(
                video=item.video,
                audio=item.audio,
                timestamp=s.timeline.time(item.index),
                index=item.index,
                segment_id=item.segment_id,
                state=item.state,
                done=done,
                motion=item.motion,
                expression=item.expression,
            )

    # ------------------------------------------------------------------ introspection
    @property
    def state(self) -> str:
        """Label of the last yielded frame."""
        return self._state

    @property
    def fps(self) -> float:
        """The frame rate."""
        return float(self._s.timeline.fps)

    def metrics(self) -> EngineMetrics:
        """A snapshot of counters, latencies, queue depths and speed."""
        s = self._s
        with s.cond:
            pending = sum(seg.raw_seconds + len(seg.fifo_out) / seg.out_rate for seg in s.segments)
            open_segments = len(s.by_id)
        return s.metrics.snapshot(
            render_queue=self._render_q.qsize(),
            output_queue=self._out.qsize() if self._out is not None else 0,
            pending_audio_s=round(pending, 3),
            open_segments=open_segments,
            state=self._state,
        )


def _check_int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)
