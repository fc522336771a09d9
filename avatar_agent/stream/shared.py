"""State shared by the engine's threads, guarded by one condition variable."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from avatar_agent.stream.clock import Clock
from avatar_agent.stream.metrics import MetricsRecorder
from avatar_agent.stream.segments import Segment
from avatar_agent.stream.timeline import Timeline
from avatar_agent.stream.types import EngineConfig, SegmentDone

__all__ = ["FrameItem", "Shared"]


@dataclass(eq=False)
class FrameItem:
    """A frame travelling through the pipeline (motion stage → render stage → consumer)."""

    epoch: int
    index: int
    motion: np.ndarray
    audio: np.ndarray  # int16 at the output rate
    segment_id: int | None
    n_real: int  # samples of this frame that are the segment's audio (the rest is padding)
    state: str
    expression: np.ndarray
    done: tuple[SegmentDone, ...] = ()
    first_push_wall: float | None = None  # set on a segment's first frame
    video: np.ndarray | None = field(default=None, repr=False)


class Shared:
    """Everything the threads and the public API share; mutate only under ``cond``.

    Args:
        config: Engine settings.
        clock: The pacing clock.
    """

    def __init__(self, config: EngineConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.timeline = Timeline(config.fps)
        self.cond = threading.Condition()
        self.segments: deque[Segment] = deque()  # waiting or playing, in play order
        self.by_id: dict[int, Segment] = {}  # not yet reported done
        self.played: dict[int, int] = {}  # output samples yielded per segment
        self.current: Segment | None = None  # open segment receiving pushes
        self.next_segment_id = 1
        self.epoch = 0
        self.restart_index = 0
        self.next_out = 0  # index of the next frame the consumer yields
        self.last_motion: np.ndarray | None = None  # motion of the last yielded frame
        self.signals: deque[str] = deque()
        self.expressions: deque[tuple[np.ndarray, float | None]] = deque()
        self.pending_done: list[SegmentDone] = []  # interrupted, for the next yielded frame
        self.stopped = False
        self.t0 = 0.0  # clock time of frame 0
        self.metrics = MetricsRecorder(float(self.timeline.fps))

    def due(self, index: int) -> float:
        """Clock time at which frame ``index`` is due."""
        return self.t0 + self.timeline.time(index)

    def is_stopped(self) -> bool:
        """Whether the engine is closing (read without the lock; a plain bool)."""
        return self.stopped

    def play_order(self) -> deque[Segment]:
        """The segments in play order (call under the lock)."""
        return self.segments
