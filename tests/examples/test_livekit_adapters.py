"""The example's LiveKit wrappers, offline (no room, no server)."""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import asyncio
import shutil

import numpy as np
import pytest

pytest.importorskip("livekit.agents")

from customer_service.bot import ShopBot  # noqa: E402
from customer_service.kb import KnowledgeBase  # noqa: E402
from customer_service.lk_plugins import LocalSTT, LocalTTS, RetrievalLLM  # noqa: E402
from customer_service.retrieval import FaqRetriever  # noqa: E402
from livekit import rtc  # noqa: E402
from livekit.agents import llm  # noqa: E402
from test_bot_offline import BagOfWords  # noqa: E402


def test_retrieval_llm_answers_last_user_message():
    kb = KnowledgeBase.load()
    bot = ShopBot(kb, FaqRetriever(kb, BagOfWords(), threshold=0.3), llm=None)

    async def run():
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="user", content="hello")
        ctx.add_message(role="assistant", content="Hi!")
        ctx.add_message(role="user", content="Where is my order BL-1002?")
        text = ""
        async with RetrievalLLM(bot).chat(chat_ctx=ctx) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    text += chunk.delta.content
        return text

    answer = asyncio.run(run())
    assert "BL-1002" in answer and "napkins" in answer


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_local_tts_frames():
    from customer_service.tts import EspeakTTS

    async def run():
        tts = LocalTTS(EspeakTTS())
        frames = []
        async with tts.synthesize("Your order shipped.") as stream:
            async for ev in stream:
                frames.append(ev.frame)
        return tts, frames

    tts, frames = asyncio.run(run())
    assert tts.sample_rate == 22050 and frames
    total = sum(f.samples_per_channel for f in frames) / 22050
    assert 0.5 < total < 3.0


def test_local_stt_wraps_whisper():
    class FakeWhisper:
        language = "en"
        model_path = "fake"

        def transcribe(self, pcm16k):
            self.got = pcm16k
            return "hello there"

    whisper = FakeWhisper()
    stt = LocalSTT(whisper)
    pcm = (np.sin(np.arange(48000) / 48000 * 2 * np.pi * 220) * 8000).astype(np.int16)
    frame = rtc.AudioFrame(pcm.tobytes(), sample_rate=48000, num_channels=1,
                           samples_per_channel=len(pcm))  # fmt: skip
    ev = asyncio.run(stt.recognize([frame]))
    assert ev.alternatives[0].text == "hello there"
    assert abs(len(whisper.got) - 16000) <= 2
    assert not stt.capabilities.streaming
