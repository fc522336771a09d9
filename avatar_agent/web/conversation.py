"""One demo conversation: typed or spoken turns in, the bot's tagged answer spoken by the avatar.

Turn handling: a new user turn (typed, or the start of speech on the microphone) interrupts the
avatar (``engine.clear()``) and cancels the turn in progress. The answer is split into
sentences; each is synthesised off the event loop and pushed to the engine as it is ready, so
the avatar starts speaking after the first sentence. Expression tags set the engine's
expression when the audio of their sentence starts playing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from avatar_agent.engine import Signal
from avatar_agent.web.speech import SpeechPart, speech_parts

__all__ = ["Conversation"]

log = logging.getLogger(__name__)

SENTENCE_GAP_S = 0.15
EXPRESSION_INTENSITY = 0.8


class Conversation:
    """Glue between the bot, the local TTS/STT and the engine.

    Args:
        engine: A started :class:`~avatar_agent.engine.AvatarEngine`.
        emit: Sends an event dict to every connected page.
    """

    def __init__(self, engine: Any, emit: Callable[[dict[str, Any]], None]) -> None:
        self.engine = engine
        self.emit = emit
        self.bot: Any = None
        self.tts: Any = None
        self.stt: Any = None
        self.ready = asyncio.Event()
        self.state = "idle"
        self.expression = "neutral"
        self._turn: asyncio.Task[None] | None = None
        self._segment: int | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._greeted = False

    # ----------------------------------------------------------------- set-up
    def attach(self, bot: Any, tts: Any, stt: Any | None) -> None:
        """Provide the bot parts once they are loaded (the engine runs before that)."""
        self.bot, self.tts, self.stt = bot, tts, stt
        self.ready.set()
        self.emit(self.ready_event())

    def ready_event(self) -> dict[str, Any]:
        """The ``ready`` event: bot mode, voice, whether the microphone is transcribed."""
        return {"type": "ready", "bot_mode": self.bot.mode, "tts": self.tts.name,
                "stt": self.stt is not None}  # fmt: skip

    # ------------------------------------------------------------------ input
    def on_frame(self, frame: Any) -> None:
        """Track the engine's state and the end of the bot's speech (called per frame)."""
        if frame.state != self.state:
            self.state = frame.state
            self.emit({"type": "state", "state": frame.state})
        for done in frame.done:
            if done.segment_id == self._segment:
                self._segment = None
                self.engine.signal(Signal.AGENT_LISTENING)
                self.emit({"type": "spoken", "seconds": round(done.played_s, 2),
                           "interrupted": bool(done.interrupted)})  # fmt: skip

    def say(self, text: str) -> None:
        """A typed turn."""
        text = text.strip()
        if text:
            self._start_turn(self._answer(text))

    def greet(self) -> None:
        """Speak the bot's greeting once (the first time a page connects)."""
        if not self._greeted:
            self._greeted = True
            self._start_turn(self._greet())

    def user_started_speaking(self) -> None:
        """Microphone speech began: barge in."""
        self._interrupt()
        self.engine.signal(Signal.USER_STARTED_SPEAKING)
        self.emit({"type": "mic", "status": "hearing"})

    async def utterance(self, pcm16k: np.ndarray) -> None:
        """Microphone speech ended: transcribe it and answer."""
        self.engine.signal(Signal.USER_STOPPED_SPEAKING)
        await self.ready.wait()
        if self.stt is None:
            return
        self.emit({"type": "mic", "status": "transcribing"})
        t0 = time.perf_counter()
        text = await asyncio.to_thread(self.stt.transcribe, pcm16k)
        log.info("heard %r (%.2f s audio, %.2f s)", text, len(pcm16k) / 16000,
                 time.perf_counter() - t0)  # fmt: skip
        self.emit({"type": "mic", "status": "idle"})
        if text:
            self.emit({"type": "heard", "text": text})
            self.say(text)
        else:
            self.engine.signal(Signal.AGENT_LISTENING)

    def set_expression(self, name: str) -> None:
        """An expression button."""
        self.engine.set_expression(name, intensity=EXPRESSION_INTENSITY, duration=None)
        self.expression = name
        self.emit({"type": "expression", "name": name})

    # ------------------------------------------------------------------ turns
    def _interrupt(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._segment is not None:
            self.engine.clear()

    def _start_turn(self, coro: Any) -> None:
        self._interrupt()
        self._turn = asyncio.get_running_loop().create_task(coro)
        self._turn.add_done_callback(self._turn_done)

    @staticmethod
    def _turn_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("turn failed", exc_info=task.exception())

    async def _greet(self) -> None:
        await self.ready.wait()
        greeting = self.bot.greeting()
        self.emit({"type": "bot", "text": _display(greeting)})
        await self._speak(greeting)

    async def _answer(self, text: str) -> None:
        self.emit({"type": "user", "text": text})
        self.engine.signal(Signal.AGENT_THINKING)
        await self.ready.wait()
        answer = await self.bot.reply(text)
        self.emit({"type": "bot", "text": _display(answer)})
        await self._speak(answer)

    async def _speak(self, answer: str) -> None:
        loop = asyncio.get_running_loop()
        parts = speech_parts(answer)
        start: float | None = None
        offset = 0.0
        try:
            for part in parts:
                pcm = await asyncio.to_thread(self.tts.synthesize, part.text)
                if len(pcm) == 0:
                    continue
                rate = int(self.tts.sample_rate)
                if start is None:
                    start = loop.time()
                    self.engine.signal(Signal.AGENT_SPEAKING)
                self._schedule_expression(part, start + offset, len(pcm) / rate)
                gap = np.zeros(int(SENTENCE_GAP_S * rate), np.int16)
                self._segment = self.engine.push_audio(np.concatenate([pcm, gap]), sample_rate=rate)
                offset += len(pcm) / rate + SENTENCE_GAP_S
        except asyncio.CancelledError:
            raise  # interrupted: the engine was cleared, which ends the segment
        except Exception:
            if start is not None:
                self.engine.end_segment()  # play what was pushed
            raise
        if start is not None:
            self.engine.end_segment()

    def _schedule_expression(self, part: SpeechPart, at: float, seconds: float) -> None:
        if part.expression is None:
            return
        name, intensity = part.expression, part.intensity * EXPRESSION_INTENSITY

        def apply() -> None:
            if name == "neutral":
                self.engine.set_expression("neutral", duration=None)
            else:
                self.engine.set_expression(name, intensity=intensity, duration=seconds + 1.0)
            self.expression = name
            self.emit({"type": "expression", "name": name})

        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_at(max(at, loop.time()), apply))

    async def aclose(self) -> None:
        """Cancel the turn in progress."""
        self._interrupt()
        if self._turn is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._turn


def _display(text: str) -> str:
    """The answer as shown in the chat (tags removed)."""
    return " ".join(p.text for p in speech_parts(text))
