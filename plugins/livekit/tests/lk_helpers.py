"""Shared helpers of the LiveKit plugin tests: tones, a frame recorder, an event log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import AgentSession

from avatar_agent.engine import AvatarEngine, EngineConfig

SR = 24000
SIZE = 128  # small frames keep the suite fast on two shared cores


def new_session() -> AgentSession:
    """An AgentSession with no STT/LLM/TTS; avatars cannot pause, so no false-interruption
    resume (what the README recommends for avatars)."""
    return AgentSession(turn_handling={"interruption": {"resume_false_interruption": False}})


def small_config(**kw: Any) -> EngineConfig:
    base: dict[str, Any] = {"size": SIZE, "fps": 25, "driver": "baseline", "seed": 0}
    base.update(kw)
    return EngineConfig(**base)


async def tone(seconds: float, sr: int = SR, freq: float = 220.0) -> AsyncIterator[rtc.AudioFrame]:
    """Speech stand-in: 100 ms frames of a loud tone (what a TTS would stream)."""
    n = sr // 10
    t = np.arange(n) / sr
    for i in range(round(seconds * 10)):
        x = (np.sin(2 * np.pi * freq * (t + i * n / sr)) * 8000).astype(np.int16)
        yield rtc.AudioFrame(x.tobytes(), sr, 1, n)


@dataclass
class FrameLog:
    """Every engine frame the adapter took: (wall time, state, segment id, done)."""

    rows: list[tuple[float, str, int | None, tuple[Any, ...]]] = field(default_factory=list)

    def states_between(self, t0: float, t1: float) -> list[str]:
        return [s for t, s, _, _ in self.rows if t0 <= t <= t1]

    def speech_states(self) -> list[str]:
        return [s for _, s, seg, _ in self.rows if seg is not None]


def record_frames(engine: AvatarEngine) -> FrameLog:
    """Wrap ``engine.frames`` so every frame handed to the adapter is logged."""
    log = FrameLog()
    original = engine.frames

    async def frames() -> AsyncIterator[Any]:
        async for f in original():
            log.rows.append((time.monotonic(), f.state, f.segment_id, f.done))
            yield f

    engine.frames = frames  # type: ignore[method-assign]
    return log


@dataclass
class PlaybackLog:
    """``playback_started`` / ``playback_finished`` events of an audio output."""

    started: list[float] = field(default_factory=list)
    finished: list[tuple[float, bool, float]] = field(default_factory=list)

    def attach(self, output: Any) -> PlaybackLog:
        output.on("playback_started", lambda ev: self.started.append(time.monotonic()))
        output.on(
            "playback_finished",
            lambda ev: self.finished.append(
                (ev.playback_position, ev.interrupted, time.monotonic())
            ),
        )
        return self


async def wait_until(pred: Any, timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(step)
    return bool(pred())
