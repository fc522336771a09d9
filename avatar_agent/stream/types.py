"""Public data types of the engine: configuration, frames, segment notices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from avatar_agent.stream.timeline import as_fraction

__all__ = ["AvatarFrame", "EngineConfig", "SegmentDone"]


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Settings of one :class:`~avatar_agent.engine.AvatarEngine` stream.

    Attributes:
        fps: Video frame rate, 20–60 (default 25). The motion driver runs at this rate.
        size: Output side in pixels (square frames).
        driver: Motion driver name: ``auto`` (learned model when found, else baseline),
            ``baseline`` or ``learned``.
        seed: Seed of stochastic motion (blinks, sway, model noise).
        audio_sample_rate: Rate of each frame's output audio slice (int16 mono), 8–96 kHz.
        realtime: True: frames are paced by the clock (frame ``i`` is yielded at
            ``start + i / fps``); False: produced as fast as the consumer takes them, still
            bounded by the queues.
        first_chunk_frames: Motion frames generated at once at speech onset (small, for
            latency).
        chunk_frames: Motion frames generated at once during speech after the first chunk.
        idle_chunk_frames: Motion frames generated at once when no speech is playing.
        lead_frames: How many frames the motion stage may run ahead of the frame being
            yielded (the pipeline depth when idle; speech chunks may go a chunk further).
        render_queue_frames: Capacity of the motion → render queue (0: derived from the
            chunk sizes).
        output_queue_frames: Capacity of the render → consumer queue.
        convert_ahead_s: Seconds of pushed speech converted (resampled) ahead of playback;
            the rest stays as compact int16 at the input rate.
        expression_ease_s: Time an expression takes to ease in or out.
        transition_s: Time over which a motion discontinuity (label change, interruption)
            is blended away.
        underrun_wait_s: With ``realtime=False``, how long (wall time) the motion stage
            waits for more audio of an open segment before playing a silent frame.
        listening_nods: Add a small head nod when the user pauses (the driver decides
            gaze and mouth per state; this is the only engine-level gesture).
        warn_interval_s: Minimum time between two "slower than real time" warnings.
        video: False: motion-only stream — frames carry ``motion`` and ``audio`` but
            ``video=None`` (for clients that render blendshapes themselves, and for cheap
            soak tests of the timing path).
    """

    fps: float = 25.0
    size: int = 512
    driver: str = "auto"
    seed: int = 0
    audio_sample_rate: int = 24000
    realtime: bool = True
    first_chunk_frames: int = 2
    chunk_frames: int = 8
    idle_chunk_frames: int = 2
    lead_frames: int = 2
    render_queue_frames: int = 0
    output_queue_frames: int = 4
    convert_ahead_s: float = 2.0
    expression_ease_s: float = 0.3
    transition_s: float = 0.1
    underrun_wait_s: float = 1.0
    listening_nods: bool = True
    warn_interval_s: float = 30.0
    video: bool = True

    def __post_init__(self) -> None:
        try:
            fps = as_fraction(self.fps)
        except (TypeError, ValueError):
            raise ValueError(f"fps must be a number between 20 and 60, got {self.fps!r}") from None
        if not 20 <= fps <= 60:
            raise ValueError(f"fps must be between 20 and 60, got {self.fps}")
        if not isinstance(self.size, int) or not 16 <= self.size <= 4096:
            raise ValueError(f"size must be an int between 16 and 4096, got {self.size!r}")
        if not isinstance(self.audio_sample_rate, int) or not (
            8000 <= self.audio_sample_rate <= 96000
        ):
            raise ValueError(
                f"audio_sample_rate must be an int between 8000 and 96000, "
                f"got {self.audio_sample_rate!r}"
            )
        for name in ("first_chunk_frames", "chunk_frames", "idle_chunk_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 64:
                raise ValueError(f"{name} must be an int between 1 and 64, got {value!r}")
        if not isinstance(self.lead_frames, int) or not 0 <= self.lead_frames <= 64:
            raise ValueError(f"lead_frames must be an int between 0 and 64, got {self.lead_frames}")
        if self.render_queue_frames < 0 or self.output_queue_frames < 1:
            raise ValueError("render_queue_frames must be >= 0 and output_queue_frames >= 1")
        for name in ("convert_ahead_s", "expression_ease_s", "transition_s", "underrun_wait_s"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 60.0:
                raise ValueError(f"{name} must be between 0 and 60 s, got {value}")

    @property
    def render_queue_capacity(self) -> int:
        """Capacity of the motion → render queue actually used."""
        if self.render_queue_frames:
            return max(self.render_queue_frames, 1)
        return max(self.chunk_frames, self.first_chunk_frames) + self.lead_frames + 2


@dataclass(frozen=True)
class SegmentDone:
    """A speech segment that finished playing.

    Attributes:
        segment_id: The id :meth:`~avatar_agent.engine.AvatarEngine.push_audio` returned.
        played_s: Seconds of its audio that were played (all of it unless interrupted).
        interrupted: True when :meth:`~avatar_agent.engine.AvatarEngine.clear` cut it short
            (or dropped it before it played).
    """

    segment_id: int
    played_s: float
    interrupted: bool


@dataclass(frozen=True, eq=False)
class AvatarFrame:
    """One video frame with exactly its slice of audio.

    Attributes:
        video: ``(size, size, 3)`` uint8 RGB (None only with ``EngineConfig(video=False)``).
        audio: int16 mono samples of this frame at ``config.audio_sample_rate``: the pushed
            speech at this point of the stream, or silence.
        timestamp: ``index / fps`` seconds since :meth:`~avatar_agent.engine.AvatarEngine.start`.
        index: Frame number, from 0, without gaps.
        segment_id: The speech segment this frame plays, or None (idle/silence).
        state: ``idle`` | ``speaking`` | ``listening`` | ``thinking``.
        done: Segments that finished with this frame.
        motion: The motion frame it was rendered from (``len(PARAMS)`` float32).
        expression: The eased expression vector of this frame.
    """

    video: np.ndarray | None
    audio: np.ndarray
    timestamp: float
    index: int
    segment_id: int | None
    state: str
    done: tuple[SegmentDone, ...] = ()
    motion: np.ndarray | None = field(default=None, repr=False)
    expression: np.ndarray | None = field(default=None, repr=False)
