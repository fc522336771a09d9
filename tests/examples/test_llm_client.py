"""The OpenAI-compatible client against a local fake endpoint (tool calls, errors, fallback)."""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import asyncio
import json

import pytest
from customer_service.bot import ShopBot
from customer_service.kb import KnowledgeBase
from customer_service.llm import ChatClient, LLMConfig, LLMError
from customer_service.retrieval import FaqRetriever
from test_bot_offline import BagOfWords

aiohttp_web = pytest.importorskip("aiohttp.web")


def test_config_from_env():
    assert LLMConfig.from_env({}) is None
    cfg = LLMConfig.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "LLM_MODEL": "m"})
    assert cfg.base_url == "http://127.0.0.1:9/v1" and cfg.model == "m" and cfg.api_key == ""
    cfg = LLMConfig.from_env({"OPENAI_API_KEY": "k"})
    assert cfg.base_url.startswith("https://api.openai.com") and cfg.api_key == "k"


async def _serve(handler):
    app = aiohttp_web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = aiohttp_web.AppRunner(app)
    await runner.setup()
    site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/v1"


def test_tool_calling_loop():
    seen = []

    async def handler(request):
        body = await request.json()
        seen.append(body)
        assert request.headers["Authorization"] == "Bearer sekret"
        if body["messages"][-1]["role"] == "user":
            args = json.dumps({"order_id": "BL-1003"})
            call = {"id": "c1", "type": "function",
                    "function": {"name": "order_status", "arguments": args}}  # fmt: skip
            msg = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            result = json.loads(body["messages"][-1]["content"])
            msg = {"role": "assistant", "content": f"[smile] {result['summary']}"}
        return aiohttp_web.json_response({"choices": [{"message": msg}]})

    async def run():
        runner, base = await _serve(handler)
        try:
            kb = KnowledgeBase.load()
            bot = ShopBot(kb, FaqRetriever(kb, BagOfWords()),
                          llm=LLMConfig(base_url=base, api_key="sekret", model="toy"))  # fmt: skip
            assert bot.mode == "llm"
            return await bot.reply("did my skillet arrive? BL-1003")
        finally:
            await runner.cleanup()

    answer = asyncio.run(run())
    assert answer.startswith("[smile] Order BL-1003") and "delivered" in answer
    assert seen[0]["model"] == "toy" and seen[0]["tools"]
    assert seen[0]["messages"][0]["role"] == "system"
    assert seen[1]["messages"][-1]["role"] == "tool"


def test_errors_fall_back_to_retrieval():
    async def handler(request):
        return aiohttp_web.Response(status=500, text="boom")

    async def run():
        runner, base = await _serve(handler)
        try:
            client = ChatClient(LLMConfig(base_url=base))
            with pytest.raises(LLMError, match="500"):
                await client.complete([{"role": "user", "content": "hi"}])
            kb = KnowledgeBase.load()
            bot = ShopBot(kb, FaqRetriever(kb, BagOfWords()), llm=LLMConfig(base_url=base))
            return await bot.reply("What is your returns policy?")
        finally:
            await runner.cleanup()

    assert "30 days" in asyncio.run(run())
