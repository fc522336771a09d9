"""Engine benchmarks: first-frame latency, CPU of one real-time stream, streams per machine.

``avatar-agent bench --json`` adds these keys (see :func:`bench_engine`):

- ``first_frame_ms``: wall time from ``push_audio()`` of a reply's first audio to the engine
  yielding that reply's first frame, at 512×512/25 fps, with the consumer taking frames as
  fast as they come (``realtime=False``): audio intake, the first motion chunk and rendering
  (including the few idle frames already committed), no pacing. Median over replies.
- ``stream_cpu_percent_512_25fps``: process CPU time per wall second of one real-time
  512×512/25 fps stream that speaks the whole time, in % of one core (OpenCV on one thread).
- ``max_realtime_streams``: ``floor(0.85 × cores × 100 / stream_cpu_percent)`` — derived
  from the measured per-stream CPU with 15 % headroom (``max_realtime_streams_method``).
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from typing import Any

import numpy as np

__all__ = ["bench_engine", "first_frame_ms", "stream_cpu_percent"]


def _speech24() -> np.ndarray:
    from avatar_agent.assets import asset_path
    from avatar_agent.audio import load_audio

    x = load_audio(asset_path("demo.wav"), 24000)
    return np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)


async def _first_frame(replies: int, size: int) -> list[float]:
    from avatar_agent.engine import AvatarEngine, EngineConfig

    speech = _speech24()
    piece = speech[: 24000 // 5].tobytes()  # a TTS engine's first 200 ms
    out: list[float] = []
    async with AvatarEngine(None, EngineConfig(size=size, realtime=False)) as eng:
        it = eng.frames().__aiter__()
        for _ in range(10):
            await it.__anext__()
        for _ in range(replies):
            t0 = time.perf_counter()
            sid = eng.push_audio(piece, 24000)
            while True:
                f = await it.__anext__()
                if f.segment_id == sid:
                    out.append((time.perf_counter() - t0) * 1000.0)
                    break
            eng.clear()
            for _ in range(6):
                await it.__anext__()
    return out


def first_frame_ms(replies: int = 20, size: int = 512) -> float:
    """Median first-frame latency in ms (see the module docstring)."""
    return statistics.median(asyncio.run(_first_frame(replies, size)))


async def _stream(seconds: float, size: int, fps: float) -> tuple[float, dict[str, Any]]:
    from avatar_agent.engine import AvatarEngine, EngineConfig

    speech = _speech24()
    async with AvatarEngine(None, EngineConfig(size=size, fps=fps)) as eng:
        it = eng.frames().__aiter__()
        for _ in range(int(fps)):  # warm-up second
            await it.__anext__()

        async def tts() -> None:  # pushes 20 ms frames a bit faster than real time
            while True:
                for i in range(0, len(speech), 480):
                    eng.push_audio(speech[i : i + 480], 24000)
                    await asyncio.sleep(0.015)
                eng.end_segment()

        producer = asyncio.create_task(tts())
        await asyncio.sleep(0.3)
        c0, w0 = time.process_time(), time.perf_counter()
        n = 0
        while time.perf_counter() - w0 < seconds:
            await it.__anext__()
            n += 1
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        producer.cancel()
        m = eng.metrics().as_dict()
    m["bench_frames"] = n
    m["bench_wall_s"] = wall
    return 100.0 * cpu / wall, m


def stream_cpu_percent(seconds: float = 10.0, size: int = 512, fps: float = 25.0) -> float:
    """CPU of one real-time speaking stream, % of one core (see the module docstring)."""
    return asyncio.run(_stream(seconds, size, fps))[0]


def bench_engine(*, quick: bool = False) -> dict[str, Any]:
    """Run the engine benchmarks (OpenCV on one thread) and return the bench keys."""
    import cv2

    cv2.setNumThreads(1)
    res: dict[str, Any] = {}
    res["first_frame_ms"] = round(first_frame_ms(8 if quick else 20), 1)
    cpu, m = asyncio.run(_stream(4.0 if quick else 10.0, 512, 25.0))
    res["stream_cpu_percent_512_25fps"] = round(cpu, 1)
    res["stream_achieved_fps_512_25fps"] = m["achieved_fps"]
    res["stream_dropped_frames_512_25fps"] = m["dropped_frames"]
    cores = os.cpu_count() or 1
    res["max_realtime_streams"] = max(0, math.floor(0.85 * cores * 100.0 / max(cpu, 1e-6)))
    res["max_realtime_streams_method"] = "derived: floor(0.85 * cores * 100 / cpu_percent)"
    return res
