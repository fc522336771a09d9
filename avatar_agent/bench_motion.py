"""Benchmark of the learned motion generator: frames/s on one core and first-chunk latency.

``motion_fps_1thread``: model frames per second of the streaming driver (log-mel + one ONNX
Runtime call per 8-frame chunk + bookkeeping) on one thread, median over repetitions of a
10 s speech-like signal. ``motion_first_chunk_ms``: median time of the first 2-frame chunk of
a fresh stream (what the first frame after speech onset waits for).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

__all__ = ["bench_motion"]


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000.0
    env = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.3 * t) > -0.5)
    return (0.3 * env * rng.standard_normal(t.size)).astype(np.float32)


def bench_motion(*, quick: bool = False) -> dict[str, float | str]:
    """Time the learned driver (empty dict entries explain when no model is found).

    Args:
        quick: Fewer repetitions.

    Returns:
        ``motion_fps_1thread``, ``motion_first_chunk_ms`` and ``motion_model``; or
        ``motion_model: "missing"`` when no learned model is installed.
    """
    from avatar_agent.generator.driver import drive_track
    from avatar_agent.generator.learned import LearnedMotionDriver
    from avatar_agent.generator.onnx_model import find_motion_model

    try:
        path = find_motion_model(None)
    except FileNotFoundError:
        return {"motion_model": "missing"}
    driver = LearnedMotionDriver.load(path, fps=25.0, threads=1)
    audio = _speechlike(4.0 if quick else 10.0)
    n = int(len(audio) / 640)
    rates = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        drive_track(driver, audio, n_frames=n, chunk=8)
        rates.append(n / (time.perf_counter() - t0))
    firsts = []
    for _ in range(10 if quick else 30):
        driver.reset()
        t0 = time.perf_counter()
        driver.generate(audio[:1280], 2, lookahead16k=audio[1280 : 1280 + 1280])
        firsts.append((time.perf_counter() - t0) * 1000.0)
    return {
        "motion_fps_1thread": round(statistics.median(rates), 1),
        "motion_first_chunk_ms": round(statistics.median(firsts), 2),
        "motion_model": path.name,
    }
