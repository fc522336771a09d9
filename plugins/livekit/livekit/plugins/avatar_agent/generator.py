"""The engine as LiveKit's ``VideoGenerator``: audio in, paired video/audio frames out."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents.voice.avatar import AudioSegmentEnd, VideoGenerator

import avatar_agent.engine as _engine_module
from avatar_agent.engine import AvatarEngine, AvatarFrame

from .log import logger

__all__ = ["ConsumerClock", "EngineVideoGenerator", "GeneratorStats"]

# How long clear_buffer waits for the runner to finish pushing frames it already took.
_SETTLE_TIMEOUT = 1.0
# Lag past which the engine moves its own frame schedule on (avatar_agent.engine; infinite
# for an engine that does not). Smaller lags are the adapter's to absorb.
_ENGINE_MAX_LAG: float = float(getattr(_engine_module, "_MAX_LAG_S", math.inf))


class ConsumerClock:
    """The engine's pacing clock, held back when LiveKit takes frames later than due.

    LiveKit's ``AVSynchronizer`` paces the published stream by its own clock, started when
    the first frame reaches it. Anything that delays the consumer (a busy event loop at
    start-up, a stall) would leave the engine's schedule permanently ahead of the consumer,
    and the engine would treat every frame as late. :class:`EngineVideoGenerator` measures
    how late each frame is taken and slips this clock by that much, re-anchoring the
    engine's schedule to the consumer. Thread-safe (``now`` is read by engine threads).
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self.slipped_s = 0.0
        """Total seconds the clock was held back."""

    def now(self) -> float:
        """Monotonic seconds minus the accumulated slip."""
        return time.monotonic() - self._offset

    async def sleep_until(self, t: float) -> None:
        """Sleep until :meth:`now` reaches ``t``."""
        while (delay := t - self.now()) > 0:
            await asyncio.sleep(delay)

    def slip(self, seconds: float) -> None:
        """Hold the clock back by ``seconds`` (> 0)."""
        if seconds > 0:
            self._offset += seconds
            self.slipped_s += seconds


@dataclass
class GeneratorStats:
    """What the adapter measured (the engine's own numbers are in ``engine.metrics()``).

    Attributes:
        video_frames: Video frames handed to LiveKit.
        speech_frames: Frames that carried segment audio.
        segments_finished: Segments played to the end (``AudioSegmentEnd`` sent).
        segments_interrupted: ``clear_buffer`` calls that dropped speech.
        stale_frames: Frames of cleared segments whose audio was withheld.
        clock_slips: Times the engine's clock was re-anchored to a late consumer.
        first_frame_latency_s: For each segment, seconds from its first pushed audio to its
            first frame with audio leaving the adapter (wall clock).
        started_at: ``time.monotonic()`` of the first frame.
    """

    video_frames: int = 0
    speech_frames: int = 0
    segments_finished: int = 0
    segments_interrupted: int = 0
    stale_frames: int = 0
    clock_slips: int = 0
    first_frame_latency_s: list[float] = field(default_factory=list)
    started_at: float | None = None

    @property
    def fps(self) -> float:
        """Average frames per second handed to LiveKit since the first frame."""
        if self.started_at is None or self.video_frames < 2:
            return 0.0
        return self.video_frames / max(time.monotonic() - self.started_at, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for logs (latencies as the last value and the worst)."""
        lat = self.first_frame_latency_s
        return {
            "video_frames": self.video_frames,
            "speech_frames": self.speech_frames,
            "fps": round(self.fps, 2),
            "segments_finished": self.segments_finished,
            "segments_interrupted": self.segments_interrupted,
            "stale_frames": self.stale_frames,
            "clock_slips": self.clock_slips,
            "first_frame_latency_s": round(lat[-1], 4) if lat else None,
            "first_frame_latency_max_s": round(max(lat), 4) if lat else None,
        }


class EngineVideoGenerator(VideoGenerator):
    """Adapts an :class:`~avatar_agent.engine.AvatarEngine` to LiveKit's ``VideoGenerator``.

    ``push_audio`` feeds the engine, ``AudioSegmentEnd`` ends the engine's segment,
    ``clear_buffer`` clears it. Iterating yields, for every engine frame, an
    ``rtc.VideoFrame`` and, while a segment is playing, that frame's ``rtc.AudioFrame``; an
    ``AudioSegmentEnd`` follows the last frame of a segment that played to the end. Idle and
    listening frames carry no audio, so LiveKit's ``AvatarRunner`` only reports playback of
    real speech.

    Segments cleared by ``clear_buffer`` are stale: the frames the engine still renders for
    them (the mouth closing) are shown, but their audio and their end are withheld, so no
    stale frame makes the runner report a spurious ``playback_started`` or end the next
    segment early.

    Start the engine with :meth:`start` (or start it just before building the adapter): with
    a :class:`ConsumerClock` the adapter then keeps the engine's pacing anchored to LiveKit's.

    Args:
        engine: The engine; this adapter is its only frame consumer.
        metrics_interval: Seconds between fps/latency log lines (0 or less: never).
    """

    def __init__(self, engine: AvatarEngine, *, metrics_interval: float = 30.0) -> None:
        self._engine = engine
        cfg = engine.config
        self._width = self._height = int(cfg.size)
        self._sample_rate = int(cfg.audio_sample_rate)
        self._metrics_interval = metrics_interval
        self._stale_upto = -1  # segment ids <= this one were cleared
        self._last_segment: int | None = None
        self._segment_started_at: dict[int, float] = {}
        self._audio_seen: set[int] = set()
        self._av_sync: rtc.AVSynchronizer | None = None
        # set while the generator waits for the engine, i.e. the runner has pushed every
        # frame it was given
        self._drained = asyncio.Event()
        self._drained.set()
        self._iterating = False
        self._last_log = 0.0
        self._period = 1.0 / float(cfg.fps)
        clock = engine.clock
        self._clock = clock if isinstance(clock, ConsumerClock) else None
        self._t0: float | None = None  # clock time of frame 0 (the engine's schedule)
        self._next_index: int | None = None
        self.stats = GeneratorStats()

    async def start(self) -> None:
        """Start the engine and note its start time for re-anchoring."""
        await self._engine.start()
        if self._clock is not None:
            self._t0 = self._clock.now()

    @property
    def engine(self) -> AvatarEngine:
        """The engine this adapter drives."""
        return self._engine

    @property
    def video_size(self) -> tuple[int, int]:
        """Width and height of the frames."""
        return self._width, self._height

    @property
    def audio_sample_rate(self) -> int:
        """Sample rate of the audio frames it yields."""
        return self._sample_rate

    @property
    def fps(self) -> float:
        """Frame rate of the engine."""
        return float(self._engine.config.fps)

    def attach(self, av_sync: rtc.AVSynchronizer) -> None:
        """Let ``clear_buffer`` drop what the runner's synchronizer still holds.

        LiveKit's ``AvatarRunner`` leaves up to ~100 ms of queued audio playing after an
        interruption; with the synchronizer attached that audio is dropped at once.

        Args:
            av_sync: The runner's ``av_sync``.
        """
        self._av_sync = av_sync

    # ------------------------------------------------------------------ VideoGenerator API
    async def push_audio(self, frame: rtc.AudioFrame | AudioSegmentEnd) -> None:
        """Feed one TTS audio frame, or end the segment on ``AudioSegmentEnd``."""
        if isinstance(frame, AudioSegmentEnd):
            self._engine.end_segment()
            return
        if frame.samples_per_channel == 0:
            return
        seg = self._engine.push_audio(
            frame.data, sample_rate=frame.sample_rate, channels=frame.num_channels
        )
        if seg != self._last_segment:
            self._last_segment = seg
            self._segment_started_at[seg] = time.monotonic()

    def clear_buffer(self) -> Coroutine[None, None, None]:
        """Interrupt: clear the engine at once; the coroutine settles the runner's queues."""
        if self._last_segment is not None and self._last_segment > self._stale_upto:
            self._stale_upto = self._last_segment
            self.stats.segments_interrupted += 1
        self._segment_started_at.clear()  # cleared segments report no latency
        self._engine.clear()
        return self._settle()

    def __aiter__(self) -> AsyncIterator[rtc.VideoFrame | rtc.AudioFrame | AudioSegmentEnd]:
        """Frames forever (idle ones too), until the engine closes."""
        if self._iterating:
            raise RuntimeError("EngineVideoGenerator supports a single consumer")
        self._iterating = True
        return self._stream()

    # ------------------------------------------------------------------ internals
    async def _settle(self) -> None:
        if self._av_sync is not None:
            await self._av_sync.clear_queue()
        # The runner resets its playback position once this returns; a stale audio frame
        # it is still pushing would then count as the start of a new playback.
        if not self._drained.is_set():
            try:
                await asyncio.wait_for(self._drained.wait(), _SETTLE_TIMEOUT)
            except asyncio.TimeoutError:
                logger.warning("avatar frame consumer did not drain after clear_buffer")

    def _is_live(self, segment_id: int | None) -> bool:
        return segment_id is not None and segment_id > self._stale_upto

    def _video_frame(self, frame: AvatarFrame) -> rtc.VideoFrame:
        video = frame.video
        return rtc.VideoFrame(
            video.shape[1], video.shape[0], rtc.VideoBufferType.RGB24, video.tobytes()
        )

    def _audio_frame(self, frame: AvatarFrame) -> rtc.AudioFrame | None:
        audio = frame.audio
        if audio is None or len(audio) == 0:
            return None
        return rtc.AudioFrame(audio.tobytes(), self._sample_rate, 1, len(audio))

    def _note_audio(self, segment_id: int) -> None:
        if segment_id in self._audio_seen:
            return
        self._audio_seen.add(segment_id)
        started = self._segment_started_at.pop(segment_id, None)
        if started is not None:
            self.stats.first_frame_latency_s.append(time.monotonic() - started)
            del self.stats.first_frame_latency_s[:-100]
        if len(self._audio_seen) > 64:
            self._audio_seen = {s for s in self._audio_seen if s >= segment_id - 8}

    async def _stream(self) -> AsyncIterator[rtc.VideoFrame | rtc.AudioFrame | AudioSegmentEnd]:
        frames = self._engine.frames().__aiter__()
        try:
            while True:
                self._drained.set()
                self._before_next()
                try:
                    frame = await frames.__anext__()
                except StopAsyncIteration:
                    return
                self._drained.clear()
                self._after_frame(frame)
                stats = self.stats
                if stats.started_at is None:
                    stats.started_at = time.monotonic()
                stats.video_frames += 1
                yield self._video_frame(frame)

                seg = frame.segment_id
                if seg is not None:
                    if self._is_live(seg):
                        audio = self._audio_frame(frame)
                        if audio is not None:
                            stats.speech_frames += 1
                            self._note_audio(seg)
                            yield audio
                    else:
                        stats.stale_frames += 1
                for done in frame.done:
                    if not done.interrupted and self._is_live(done.segment_id):
                        stats.segments_finished += 1
                        yield AudioSegmentEnd()
                self._maybe_log()
        finally:
            self._drained.set()

    def _before_next(self) -> None:
        """Before asking for the next frame: if it is already overdue, hold the clock back.

        The engine then sees it on time; it never has to treat frames as late (and skip
        rendering them) because LiveKit's pacing started later or stalled.
        """
        clock = self._clock
        if clock is None or self._t0 is None or self._next_index is None:
            return
        lag = clock.now() - (self._t0 + self._next_index * self._period)
        if lag > 1.5 * self._period:
            self._slip(lag)

    def _after_frame(self, frame: AvatarFrame) -> None:
        """Track the engine's schedule from the frame just taken."""
        clock = self._clock
        if clock is None:
            return
        self._next_index = frame.index + 1
        if self._t0 is None:  # engine started elsewhere: anchor on the first frame
            self._t0 = clock.now() - frame.timestamp
            return
        lag = clock.now() - (self._t0 + frame.timestamp)
        if lag > _ENGINE_MAX_LAG:
            # the event loop stalled while we waited and the engine moved its own
            # schedule on by this much: follow it instead of holding the clock back
            self._t0 += lag
        elif lag > 1.5 * self._period:
            self._slip(lag)

    def _slip(self, lag: float) -> None:
        assert self._clock is not None
        self._clock.slip(lag)
        self.stats.clock_slips += 1
        logger.debug("avatar consumer %.0f ms late; engine clock re-anchored", lag * 1000)

    def _maybe_log(self) -> None:
        if self._metrics_interval <= 0:
            return
        now = time.monotonic()
        if now - self._last_log < self._metrics_interval:
            return
        first = self._last_log == 0.0
        self._last_log = now
        if first:
            return
        extra: dict[str, Any] = {"adapter": self.stats.as_dict()}
        try:
            extra["engine"] = self._engine.metrics().as_dict()
        except Exception:  # metrics must never break the stream
            logger.debug("engine metrics unavailable", exc_info=True)
        logger.info(
            "avatar stream: %.1f fps, first-frame latency %s s",
            self.stats.fps,
            extra["adapter"]["first_frame_latency_s"],
            extra=extra,
        )
