"""The render stage: motion frames → RGB frames, handed to the consumer's event loop."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from avatar_agent.stream.shared import FrameItem, Shared

__all__ = ["RenderStage"]

log = logging.getLogger(__name__)


class RenderStage(threading.Thread):
    """Worker thread that renders queued motion frames.

    Stale frames (from before a ``clear()``) are dropped unrendered. In real-time mode a
    frame already past its due time is not rendered: the previous picture is reused (counted
    as dropped) so audio keeps flowing on time. Rendered frames go to the consumer through
    ``deliver``, which the engine makes thread-safe and bounded.

    Args:
        shared: Engine state.
        render: Motion frame → ``(size, size, 3)`` uint8 RGB; None for a motion-only stream.
        inbox: Queue from the motion stage.
        deliver: Hands a finished item to the consumer; blocks while the output queue is
            full and returns False when the engine is closing.
    """

    def __init__(
        self,
        shared: Shared,
        render: Callable[[np.ndarray], np.ndarray] | None,
        inbox: queue.Queue,
        deliver: Callable[[FrameItem], bool],
    ) -> None:
        super().__init__(name="avatar-render", daemon=True)
        self.s = shared
        self.render = render
        self.inbox = inbox
        self.deliver = deliver
        self._last_video: np.ndarray | None = None
        self._last_error_log = -float("inf")

    def run(self) -> None:
        """Render until the engine stops."""
        s = self.s
        period = 1.0 / float(s.timeline.fps)
        while not s.stopped:
            try:
                item: FrameItem = self.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if item.epoch != s.epoch:
                continue
            if self.render is not None:
                late = (
                    s.config.realtime
                    and self._last_video is not None
                    and s.clock.now() > s.due(item.index) + 0.5 * period
                )
                if late:
                    s.metrics.dropped_frames += 1
                    item.video = self._last_video
                else:
                    item.video = self._render(item.motion)
            if item.first_push_wall is not None:
                s.metrics.first_compute.append(time.perf_counter() - item.first_push_wall)
            if not self.deliver(item):
                return

    def _render(self, motion: np.ndarray) -> np.ndarray:
        assert self.render is not None
        t0 = time.perf_counter()
        try:
            video = self.render(motion)
        except Exception:  # one bad frame must not end the stream: repeat the last picture
            self.s.metrics.render_errors += 1
            now = time.monotonic()
            if now - self._last_error_log > 10.0:
                self._last_error_log = now
                log.exception("rendering a frame failed; repeating the previous picture")
            if self._last_video is None:
                size = self.s.config.size
                return np.zeros((size, size, 3), np.uint8)
            return self._last_video
        self.s.metrics.render_s.append(time.perf_counter() - t0)
        self._last_video = video
        return video
