"""Benchmarks: renderer frames/s, bundle load time, peak memory.

Run with ``avatar-agent bench [--json]`` (or ``make bench``). Every number is a
median over repetitions; the JSON object on the last line is for machines.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time

import numpy as np

__all__ = ["bench_motion_frames", "run_bench"]


def bench_motion_frames(n: int = 250, fps: float = 25.0, seed: int = 0) -> np.ndarray:
    """A realistic motion sequence for timing: speech-like jaw, blinks, head sway."""
    from avatar_agent.generator.baseline import BaselineConfig, BaselineDriver

    rng = np.random.default_rng(seed)
    t = np.arange(int(n / fps * 16000)) / 16000.0
    env = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.3 * t) > -0.5)
    audio = (0.3 * env * rng.standard_normal(t.size)).astype(np.float32)
    return BaselineDriver(BaselineConfig(fps=fps, seed=seed)).track(audio, n_frames=n).values


def _set_threads(n: int) -> None:
    import cv2

    cv2.setNumThreads(n)


def _render_fps(size: int, frames: np.ndarray, repeats: int) -> float:
    from avatar_agent.avatar import load_avatar
    from avatar_agent.render.renderer import CPURenderer

    r = CPURenderer(load_avatar(None), size=size)
    for f in frames[:10]:
        r.render(f)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for f in frames:
            r.render(f)
        rates.append(len(frames) / (time.perf_counter() - t0))
    return statistics.median(rates)


def _worker(args: tuple[int, int, int]) -> float:
    size, n, repeats = args
    os.environ["OMP_NUM_THREADS"] = "1"
    _set_threads(1)
    return _render_fps(size, bench_motion_frames(n), repeats)


def _load_ms(repeats: int) -> float:
    from avatar_agent.assets import DEFAULT_AVATAR, asset_path
    from avatar_agent.portrait.bundle import AvatarBundle
    from avatar_agent.render.renderer import CPURenderer

    path = asset_path(DEFAULT_AVATAR)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        CPURenderer(AvatarBundle.load(path))
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def run_bench(*, json_line: bool = False, quick: bool = False) -> int:
    """Run the benchmarks and print a table (and a JSON line).

    Args:
        json_line: Print one JSON object as the last line.
        quick: Fewer frames and repetitions.

    Returns:
        Exit status 0.
    """
    n, repeats = (100, 3) if quick else (250, 5)
    _set_threads(1)
    frames = bench_motion_frames(n)
    res: dict[str, float | int | str] = {}
    res["bundle_load_ms"] = round(_load_ms(3 if quick else 7), 1)
    for size in (256, 384, 512):
        res[f"render_fps_{size}_1thread"] = round(_render_fps(size, frames, repeats), 1)
    from avatar_agent.bench_motion import bench_motion

    res.update(bench_motion(quick=quick))
    from avatar_agent.bench_engine import bench_engine

    res.update(bench_engine(quick=quick))
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    cores = os.cpu_count() or 1
    ctx = mp.get_context("spawn")
    with ctx.Pool(cores) as pool:
        per_proc = pool.map(_worker, [(512, n, repeats)] * cores)
    res["render_fps_512_allcores"] = round(sum(per_proc), 1)
    res["cores"] = cores
    res["frames_per_run"] = n
    for key, value in res.items():
        print(f"{key:>28}  {value}")
    if json_line:
        print(json.dumps(res))
    sys.stdout.flush()
    return 0
