"""Engine frames to WebRTC: one pump fans each frame out to per-peer video and audio tracks.

Each :class:`~avatar_agent.engine.AvatarFrame` becomes one video frame and two 20 ms Opus-sized
audio frames whose timestamps come from the frame index, so the browser's RTCP-based lip sync
keeps them paired. The engine paces frames in real time; the tracks only wait on their queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FramePump", "PeerMedia"]

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000  # Opus's rate: frames pass the encoder's resampler untouched


def _put_drop_oldest(q: asyncio.Queue[Any], item: Any) -> None:
    while True:
        try:
            q.put_nowait(item)
            return
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                q.get_nowait()


class PeerMedia:
    """The two outgoing tracks of one browser connection.

    Args:
        fps: Video frame rate.
        audio_rate: Sample rate of the frames' audio slices (must be 48000 for pass-through).
    """

    def __init__(self, fps: float, audio_rate: int = AUDIO_RATE) -> None:
        from aiortc import MediaStreamTrack

        self.fps = fps
        self.audio_rate = audio_rate
        self._first_index: int | None = None
        self._video_q: asyncio.Queue[tuple[int, np.ndarray] | None] = asyncio.Queue(maxsize=3)
        self._audio_q: asyncio.Queue[tuple[int, np.ndarray] | None] = asyncio.Queue(maxsize=8)
        media = self

        class _Video(MediaStreamTrack):
            kind = "video"

            async def recv(self) -> Any:
                return await media._next_video(self)

        class _Audio(MediaStreamTrack):
            kind = "audio"

            async def recv(self) -> Any:
                return await media._next_audio(self)

        self.video = _Video()
        self.audio = _Audio()

    def push(self, index: int, video: np.ndarray, audio: np.ndarray) -> None:
        """Queue one engine frame (drops the oldest when the peer falls behind).

        Args:
            index: Engine frame index.
            video: ``(h, w, 3)`` uint8 RGB.
            audio: int16 mono slice of this frame at ``audio_rate``.
        """
        if self._first_index is None:
            self._first_index = index
        rel = index - self._first_index
        _put_drop_oldest(self._video_q, (rel, video))
        start = round(rel * self.audio_rate / self.fps)
        half = len(audio) // 2
        for off, part in ((0, audio[:half]), (half, audio[half:])):
            if len(part):
                _put_drop_oldest(self._audio_q, (start + off, part))

    def close(self) -> None:
        """End both tracks."""
        for q in (self._video_q, self._audio_q):
            _put_drop_oldest(q, None)

    async def _next_video(self, track: Any) -> Any:
        import av
        from aiortc.mediastreams import MediaStreamError

        item = await self._video_q.get()
        if item is None:
            track.stop()
            raise MediaStreamError
        rel, rgb = item
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = round(rel * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame

    async def _next_audio(self, track: Any) -> Any:
        import av
        from aiortc.mediastreams import MediaStreamError

        item = await self._audio_q.get()
        if item is None:
            track.stop()
            raise MediaStreamError
        pts, pcm = item
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.audio_rate
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, self.audio_rate)
        return frame


class FramePump:
    """Consume ``engine.frames()`` forever and fan each frame out.

    Args:
        engine: A started :class:`~avatar_agent.engine.AvatarEngine`.
        on_frame: Called with every frame (state tracking, segment completion).
    """

    def __init__(self, engine: Any, on_frame: Callable[[Any], None] | None = None) -> None:
        self.engine = engine
        self.on_frame = on_frame
        self.peers: set[PeerMedia] = set()
        self.frames_seen = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the pump task."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="frame-pump")

    async def _run(self) -> None:
        async for frame in self.engine.frames():
            self.frames_seen += 1
            if self.on_frame is not None:
                try:
                    self.on_frame(frame)
                except Exception:  # a UI callback must never stop the stream
                    log.exception("frame callback failed")
            if not self.peers:
                continue
            audio = np.asarray(frame.audio, dtype=np.int16)
            video = np.array(frame.video, dtype=np.uint8, copy=True)  # the engine may reuse it
            for peer in list(self.peers):
                peer.push(frame.index, video, audio)

    async def aclose(self) -> None:
        """Stop the pump and end all peers' tracks."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for peer in self.peers:
            peer.close()
        self.peers.clear()
