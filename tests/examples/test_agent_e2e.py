"""The example agent end to end through LiveKit Agents and the avatar plugin, offline.

A real ``AgentSession`` with the example's retrieval "LLM" and local TTS (espeak-ng) and a
real in-process ``AvatarSession`` publish into the plugin tests' stand-in room: a typed user
turn is answered from the FAQ, spoken without its expression tag, acted by the avatar (the tag's
expression reaches the engine) and played to the end with the avatar speaking.
"""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import asyncio
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("livekit.agents")
pytest.importorskip("livekit.plugins.avatar_agent")
PLUGIN_TESTS = Path(__file__).resolve().parents[2] / "plugins" / "livekit" / "tests"
pytestmark = pytest.mark.skipif(
    not (PLUGIN_TESTS / "lk_fakes.py").is_file() or shutil.which("espeak-ng") is None,
    reason="needs the plugin's stand-in room and espeak-ng",
)
AGENT = Path(__file__).resolve().parents[2] / "examples" / "customer_service" / "agent.py"


def _load_agent():
    spec = importlib.util.spec_from_file_location("customer_service_agent_e2e", AGENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_typed_turn_is_answered_spoken_and_acted():
    sys.path.insert(0, str(PLUGIN_TESTS))
    from customer_service.bot import ShopBot
    from customer_service.kb import KnowledgeBase
    from customer_service.lk_plugins import LocalTTS, RetrievalLLM
    from customer_service.retrieval import FaqRetriever
    from customer_service.tts import EspeakTTS
    from livekit.agents import AgentSession
    from livekit.plugins import avatar_agent
    from lk_fakes import FakeRoom
    from test_bot_offline import BagOfWords

    from avatar_agent.engine import AvatarEngine, EngineConfig

    agent_module = _load_agent()

    async def main():
        kb = KnowledgeBase.load()
        bot = ShopBot(kb, FaqRetriever(kb, BagOfWords(), threshold=0.3), llm=None)
        engine = AvatarEngine(config=EngineConfig(size=128, fps=25, driver="baseline"))
        expressions, states = [], []
        original = engine.set_expression

        def spy(name, intensity=1.0, duration=None):
            expressions.append(str(name))
            original(name, intensity, duration)

        engine.set_expression = spy
        frames = engine.frames

        async def logged():
            async for f in frames():
                states.append(f.state)
                yield f

        engine.frames = logged
        avatar = avatar_agent.AvatarSession(engine=engine, metrics_interval=0)
        session = AgentSession(
            llm=RetrievalLLM(bot),
            tts=LocalTTS(EspeakTTS()),
            turn_handling={"interruption": {"resume_false_interruption": False}},
        )
        spoken: list[str] = []
        session.on(
            "conversation_item_added",
            lambda ev: spoken.append(ev.item.text_content or "") if ev.item.role == "assistant"
            else None,
        )  # fmt: skip
        await avatar.start(session, room=FakeRoom("agent-shop"))
        agent = agent_module.ShopAgent(bot, avatar)
        agent.on_enter = _no_greeting  # the greeting is a separate say(); keep one turn
        await session.start(agent)
        handle = session.generate_reply(user_input="Where is my order BL-1001?")
        await asyncio.wait_for(handle.wait_for_playout(), 30)
        await session.aclose()
        await avatar.aclose()
        return spoken, expressions, states

    spoken, expressions, states = asyncio.run(main())
    reply = [s for s in spoken if "BL-1001" in s]
    assert reply and "[smile]" not in reply[0] and "Thursday" in reply[0]
    assert "happy" in expressions  # the [smile] tag, acted instead of spoken
    assert "speaking" in states


async def _no_greeting() -> None:
    return None
