"""The shop bot's knowledge base, tools and retrieval mode, with a toy embedder (fast)."""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import asyncio
import json
import re
import zlib

import numpy as np
import pytest
from customer_service.bot import ShopBot, load_prompt
from customer_service.kb import KnowledgeBase, normalize_order_id
from customer_service.retrieval import FaqRetriever
from customer_service.tools import TOOL_SCHEMAS, ShopTools


class BagOfWords:
    """Deterministic stand-in for MiniLM: hashed word counts, unit length."""

    def encode(self, sentences):
        out = np.zeros((len(sentences), 256), np.float32)
        for i, s in enumerate(sentences):
            for w in re.findall(r"[a-z]+", s.lower()):
                if len(w) > 3:
                    out[i, zlib.crc32(w.encode()) % 256] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def bot(kb):
    return ShopBot(kb, FaqRetriever(kb, BagOfWords(), threshold=0.3), llm=None)


def test_kb_loads(kb):
    assert kb.shop_name == "Brightleaf Home"
    assert "BL-1001" in kb.orders and len(kb.faq) >= 10
    assert kb.returns_policy["window_days"] == 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is BL-1001?", "BL-1001"),
        ("order bl 1003 please", "BL-1003"),
        ("it's B.L. 1 0 0 2", "BL-1002"),
        ("my order number is 1004", "BL-1004"),
        ("how long does shipping take", None),
    ],
)
def test_order_ids(text, expected):
    assert normalize_order_id(text) == expected


def test_tools(kb):
    tools = ShopTools(kb)
    found = tools.order_status("bl-1001")
    assert found["found"] and "UPS" in found["summary"] and "Thursday" in found["summary"]
    assert not tools.order_status("BL-9999")["found"]
    assert json.loads(tools.call("returns_policy", "{}"))["window_days"] == 30
    assert "error" in json.loads(tools.call("order_status", "not json"))
    assert "error" in json.loads(tools.call("nope", {}))
    names = {t["function"]["name"] for t in TOOL_SCHEMAS}
    assert names == {"order_status", "returns_policy", "search_faq"}


def test_retrieval_mode_answers(bot):
    ask = bot.answer_offline
    assert "Thursday" in ask("Where is my order BL-1001?")
    assert ask("where is order 1009").startswith("[concerned]")
    assert "30 days" in ask("What is your returns policy?")
    assert "free" in ask("how much does shipping cost")
    assert ask("hello").startswith("[smile]")
    assert ask("thanks, bye").startswith("[smile]")
    assert ask("my lamp arrived broken, it doesn't have a warranty?").startswith("[concerned]")
    assert "not sure" in ask("what is the meaning of life")
    assert "didn't catch" in ask("  ")


def test_reply_without_llm_is_retrieval(bot):
    assert bot.mode == "retrieval"
    answer = asyncio.run(bot.reply("Do you ship internationally?"))
    assert "Canada" in answer
    assert bot.history[-2:] == [
        {"role": "user", "content": "Do you ship internationally?"},
        {"role": "assistant", "content": answer},
    ]


def test_prompt_names_the_tags():
    prompt = load_prompt()
    for tag in ("[smile]", "[concerned]", "[thinking]", "[neutral]"):
        assert tag in prompt
    from avatar_agent.tags import strip_tags

    # every tag the prompt teaches is one the avatar understands
    for tag in set(re.findall(r"`(\[[a-z]+\])`", prompt)):
        assert strip_tags(f"{tag} hi").cues, tag
