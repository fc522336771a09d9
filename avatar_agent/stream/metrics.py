"""Engine metrics: counters and short windows, snapshot as :class:`EngineMetrics`."""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["EngineMetrics", "MetricsRecorder"]

_WINDOW = 250  # frames in the sliding windows


@dataclass(frozen=True)
class EngineMetrics:
    """A snapshot of one engine's health.

    Attributes:
        frames_out: Frames yielded so far.
        stream_time_s: ``frames_out / fps``.
        fps_target: Configured frame rate.
        achieved_fps: Frames yielded per wall-clock second over the last ~250 frames.
        realtime_factor: Compute (motion + render) seconds per second of video over the last
            ~250 frames; below 1 is faster than real time.
        motion_ms_per_frame: Mean motion-driver time per frame (recent window).
        render_ms_per_frame: Mean render time per frame (recent window).
        first_frame_latency_ms: Last segment: first pushed audio → its first frame yielded
            (wall clock; includes pacing in real-time mode), or None before any speech.
        first_frame_latency_ms_median: Median over recent segments.
        first_frame_compute_ms: Last segment: first pushed audio → its first frame rendered
            (with ``realtime=True`` this includes waiting for the frame's turn in the
            schedule, up to ``lead_frames`` frame periods).
        first_frame_compute_ms_median: Median over recent segments.
        render_queue: Frames waiting between the motion and render stages.
        output_queue: Rendered frames waiting for the consumer.
        pending_audio_s: Speech pushed but not yet played (all open segments).
        open_segments: Segments pushed and not finished.
        dropped_frames: Frames whose rendering was skipped because they were already late
            (the previous picture is repeated; the audio is never dropped).
        late_frames: Frames yielded more than one frame period after their due time.
        underrun_frames: Frames of an open segment played as silence because its audio had
            not arrived in time.
        driver_errors: Motion chunks that failed (the previous pose was held).
        render_errors: Frames that failed to render (the previous picture was repeated).
        segments_started: Segments that began playing.
        segments_done: Segments that played to the end.
        segments_interrupted: Segments cut off or dropped by ``clear()``.
        clears: ``clear()`` calls.
        state: Label of the last yielded frame.
    """

    frames_out: int
    stream_time_s: float
    fps_target: float
    achieved_fps: float | None
    realtime_factor: float | None
    motion_ms_per_frame: float | None
    render_ms_per_frame: float | None
    first_frame_latency_ms: float | None
    first_frame_latency_ms_median: float | None
    first_frame_compute_ms: float | None
    first_frame_compute_ms_median: float | None
    render_queue: int
    output_queue: int
    pending_audio_s: float
    open_segments: int
    dropped_frames: int
    late_frames: int
    underrun_frames: int
    driver_errors: int
    render_errors: int
    segments_started: int
    segments_done: int
    segments_interrupted: int
    clears: int
    state: str

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as a plain dict (JSON-serialisable)."""
        return asdict(self)


def _median_ms(values: deque[float]) -> float | None:
    return round(statistics.median(values) * 1000.0, 2) if values else None


def _last_ms(values: deque[float]) -> float | None:
    return round(values[-1] * 1000.0, 2) if values else None


class MetricsRecorder:
    """Thread-safe-enough counters (single writers, appends to bounded deques).

    Args:
        fps: Target frame rate.
    """

    def __init__(self, fps: float) -> None:
        self.fps = float(fps)
        self.frames_out = 0
        self.dropped_frames = 0
        self.late_frames = 0
        self.underrun_frames = 0
        self.driver_errors = 0
        self.render_errors = 0
        self.segments_started = 0
        self.segments_done = 0
        self.segments_interrupted = 0
        self.clears = 0
        self.state = "idle"
        self.yield_times: deque[float] = deque(maxlen=_WINDOW)
        self.motion_s: deque[float] = deque(maxlen=_WINDOW)  # per frame
        self.render_s: deque[float] = deque(maxlen=_WINDOW)  # per frame
        self.first_out: deque[float] = deque(maxlen=50)
        self.first_compute: deque[float] = deque(maxlen=50)
        self._last_warn = -float("inf")
        self._warned_dropped = 0

    def add_motion(self, seconds: float, frames: int) -> None:
        """Record the motion-driver time of a chunk of ``frames`` frames."""
        per = seconds / max(frames, 1)
        for _ in range(frames):
            self.motion_s.append(per)

    def realtime_factor(self) -> float | None:
        """Compute seconds per second of video over the recent window, or None."""
        if not self.motion_s:
            return None
        render = statistics.fmean(self.render_s) if self.render_s else 0.0
        per_frame = render + statistics.fmean(self.motion_s)
        return per_frame * self.fps

    def achieved_fps(self) -> float | None:
        """Frames yielded per wall second over the recent window, or None."""
        if len(self.yield_times) < 2:
            return None
        span = self.yield_times[-1] - self.yield_times[0]
        return (len(self.yield_times) - 1) / span if span > 0 else None

    def warning(self, interval_s: float) -> str | None:
        """A "slower than real time" message when due (at most once per ``interval_s``)."""
        now = time.monotonic()
        if now - self._last_warn < interval_s or self.frames_out < 2 * _WINDOW // 5:
            return None
        rtf = self.realtime_factor()
        new_drops = self.dropped_frames - self._warned_dropped
        if (rtf is None or rtf <= 1.0) and new_drops <= 0:
            return None
        self._last_warn = now
        self._warned_dropped = self.dropped_frames
        what = "slower than real time" if rtf is not None and rtf > 1.0 else "behind real time"
        return (
            f"avatar engine {what}: realtime_factor={rtf or 0.0:.2f} "
            f"(motion {1000 * statistics.fmean(self.motion_s or [0.0]):.1f} ms + render "
            f"{1000 * statistics.fmean(self.render_s or [0.0]):.1f} ms per frame at "
            f"{self.fps:g} fps), {new_drops} late frame(s) dropped since the last warning"
        )

    def snapshot(self, **live: Any) -> EngineMetrics:
        """Build an :class:`EngineMetrics`; ``live`` supplies queue depths and state."""
        rtf = self.realtime_factor()
        fps = self.achieved_fps()
        return EngineMetrics(
            frames_out=self.frames_out,
            stream_time_s=round(self.frames_out / self.fps, 6),
            fps_target=self.fps,
            achieved_fps=None if fps is None else round(fps, 2),
            realtime_factor=None if rtf is None else round(rtf, 4),
            motion_ms_per_frame=(
                round(statistics.fmean(self.motion_s) * 1000, 3) if self.motion_s else None
            ),
            render_ms_per_frame=(
                round(statistics.fmean(self.render_s) * 1000, 3) if self.render_s else None
            ),
            first_frame_latency_ms=_last_ms(self.first_out),
            first_frame_latency_ms_median=_median_ms(self.first_out),
            first_frame_compute_ms=_last_ms(self.first_compute),
            first_frame_compute_ms_median=_median_ms(self.first_compute),
            dropped_frames=self.dropped_frames,
            late_frames=self.late_frames,
            underrun_frames=self.underrun_frames,
            driver_errors=self.driver_errors,
            render_errors=self.render_errors,
            segments_started=self.segments_started,
            segments_done=self.segments_done,
            segments_interrupted=self.segments_interrupted,
            clears=self.clears,
            **live,
        )
