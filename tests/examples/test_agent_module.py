"""The LiveKit agent script builds offline: models load, the session and agent construct."""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("livekit.agents")
pytest.importorskip("livekit.plugins.silero")
pytest.importorskip("livekit.plugins.avatar_agent")

AGENT = Path(__file__).resolve().parents[2] / "examples" / "customer_service" / "agent.py"


@pytest.fixture(scope="module")
def agent_module():
    spec = importlib.util.spec_from_file_location("customer_service_agent", AGENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeAvatar:
    """Stands in for AvatarSession's tag filters."""

    async def tts_text(self, text):
        async for chunk in text:
            yield chunk.replace("[smile] ", "")

    async def transcript_text(self, text):
        async for chunk in text:
            yield chunk


def test_agent_tools_and_modes(agent_module, monkeypatch):
    from customer_service.bot import ShopBot
    from customer_service.kb import KnowledgeBase
    from customer_service.lk_plugins import RetrievalLLM
    from customer_service.retrieval import FaqRetriever
    from test_bot_offline import BagOfWords

    kb = KnowledgeBase.load()
    bot = ShopBot(kb, FaqRetriever(kb, BagOfWords()), llm=None)
    agent = agent_module.ShopAgent(bot, FakeAvatar())
    names = sorted(t.id for t in agent.tools)
    assert names == ["order_status", "returns_policy", "search_faq"]
    assert "Sam" in agent.instructions

    async def call():
        return await agent.order_status(None, "BL-1001")

    assert json.loads(asyncio.run(call()))["carrier"] == "UPS"

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert isinstance(agent_module._llm(bot), RetrievalLLM)
    monkeypatch.setenv("TURN_DETECTION", "vad")
    assert agent_module._turn_detection() == "vad"


def test_tags_stripped_without_avatar(agent_module):
    async def chunks():
        for c in ["[smi", "le] Hello", " there. [concerned:0.5] Sorry", "!"]:
            yield c

    async def run():
        return "".join([c async for c in agent_module._strip_tags(chunks())])

    assert asyncio.run(run()) == "Hello there. Sorry!"
