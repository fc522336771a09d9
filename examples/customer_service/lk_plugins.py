"""LiveKit Agents wrappers of the example's local parts: STT, TTS, and the no-LLM "LLM".

- :class:`LocalSTT`: faster-whisper (non-streaming; the session pairs it with Silero VAD).
- :class:`LocalTTS`: Piper joe (ONNX) or espeak-ng, sentence by sentence.
- :class:`RetrievalLLM`: answers from the FAQ by sentence-embedding match when no LLM
  endpoint is configured, so the whole agent runs offline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectOptions, llm, stt, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from .bot import ShopBot
from .stt import WhisperSTT
from .tts import LocalTTS as _Synth

__all__ = ["LocalSTT", "LocalTTS", "RetrievalLLM"]


def _to_16k_mono(frame: rtc.AudioFrame) -> np.ndarray:
    from avatar_agent.audio import resample

    pcm = np.frombuffer(bytes(frame.data), np.int16).astype(np.float32) / 32768.0
    if frame.num_channels > 1:
        pcm = pcm.reshape(-1, frame.num_channels).mean(1)
    return resample(pcm, frame.sample_rate, 16000) if frame.sample_rate != 16000 else pcm


class LocalSTT(stt.STT):
    """faster-whisper as a LiveKit STT (utterances cut by the session's VAD).

    Args:
        whisper: A loaded :class:`~customer_service.stt.WhisperSTT`.
    """

    def __init__(self, whisper: WhisperSTT) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._whisper = whisper

    @property
    def model(self) -> str:
        """The Whisper model path or name."""
        return str(self._whisper.model_path)

    @property
    def provider(self) -> str:
        """Where it runs."""
        return "faster-whisper (local)"

    async def _recognize_impl(
        self,
        buffer: Any,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer)
        text = await asyncio.to_thread(self._whisper.transcribe, _to_16k_mono(frame))
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=self._whisper.language, text=text)],
        )


class LocalTTS(tts.TTS):
    """A local synthesiser (:mod:`customer_service.tts`) as a LiveKit TTS.

    Args:
        synth: Piper or espeak-ng synthesiser.
    """

    def __init__(self, synth: _Synth) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=int(synth.sample_rate),
            num_channels=1,
        )
        self._synth = synth

    @property
    def provider(self) -> str:
        """Which local voice."""
        return f"{self._synth.name} (local)"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        """Synthesise one sentence (the session's adapter splits the stream into sentences)."""
        return _LocalChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class _LocalChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        synth = self._tts._synth  # type: ignore[attr-defined]
        pcm = await asyncio.to_thread(synth.synthesize, self.input_text)
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=int(synth.sample_rate),
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(np.asarray(pcm, np.int16).tobytes())
        output_emitter.flush()


class RetrievalLLM(llm.LLM):
    """Offline stand-in for an LLM: the shop bot's retrieval mode on the last user message.

    Args:
        bot: The shop bot (its ``answer_offline`` is used; no endpoint is called).
    """

    def __init__(self, bot: ShopBot) -> None:
        super().__init__()
        self.bot = bot

    @property
    def model(self) -> str:
        """The embedding model behind the answers."""
        return "all-MiniLM-L6-v2 FAQ retrieval"

    @property
    def provider(self) -> str:
        """Where it runs."""
        return "local"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Any] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[Any] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        """Answer the last user message of ``chat_ctx``."""
        return _RetrievalStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


class _RetrievalStream(llm.LLMStream):
    async def _run(self) -> None:
        bot: ShopBot = self._llm.bot  # type: ignore[attr-defined]
        question = ""
        for item in reversed(self._chat_ctx.items):
            if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "user":
                question = item.text_content or ""
                break
        answer = await asyncio.to_thread(bot.answer_offline, question) if question else ""
        answer = answer or bot.greeting()
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=utils.shortuuid(), delta=llm.ChoiceDelta(role="assistant", content=answer)
            )
        )
