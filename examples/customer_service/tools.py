"""The bot's tools: order status, returns policy and FAQ search, as plain functions.

``TOOL_SCHEMAS`` describes them in the OpenAI function-calling format; ``ShopTools.call``
dispatches a call by name with JSON arguments, so the same code serves the LLM client, the
LiveKit agent and the retrieval mode.
"""

from __future__ import annotations

import json
from typing import Any

from .kb import KnowledgeBase, normalize_order_id
from .retrieval import FaqRetriever

__all__ = ["TOOL_SCHEMAS", "ShopTools"]

TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "Look up an order's status by its number (like BL-1001).",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string", "description": "e.g. BL-1001"}},
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "returns_policy",
            "description": "The shop's returns and refunds policy.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_faq",
            "description": "Search the shop's FAQ (shipping, payment, warranty, hours, care...).",
            "parameters": {
                "type": "object",
                "properties": {"question": {"type": "string"}},
                "required": ["question"],
            },
        },
    },
]

_STATUS_TEXT = {
    "shipped": "was shipped with {carrier} and should arrive {eta}",
    "processing": "is being packed and {eta}",
    "delivered": "was delivered on {delivered_on}",
    "return_received": "came back to our warehouse, and a {refund}",
    "cancelled": "was cancelled, and a {refund}",
}


class ShopTools:
    """Tool implementations over one knowledge base.

    Args:
        kb: The knowledge base.
        retriever: FAQ retriever (for ``search_faq``); None disables that tool's search.
    """

    def __init__(self, kb: KnowledgeBase, retriever: FaqRetriever | None = None) -> None:
        self.kb = kb
        self.retriever = retriever

    def order_status(self, order_id: str) -> dict[str, Any]:
        """Status of one order.

        Args:
            order_id: The order number in any common spelling.

        Returns:
            ``found``, ``order_id`` and, when found, the record and a spoken ``summary``.
        """
        oid = normalize_order_id(order_id) or order_id.strip().upper()
        rec = self.kb.orders.get(oid)
        if rec is None:
            return {"found": False, "order_id": oid}
        template = _STATUS_TEXT.get(str(rec.get("status")), "has status {status}")
        try:
            detail = template.format(**rec)
        except KeyError:
            detail = f"has status {rec.get('status')}"
        summary = f"Order {oid}, your {rec.get('item', 'item')}, {detail}."
        return {"found": True, "order_id": oid, **rec, "summary": summary}

    def returns_policy(self) -> dict[str, Any]:
        """The returns policy: ``summary``, ``window_days`` and ``details``."""
        return dict(self.kb.returns_policy)

    def search_faq(self, question: str) -> dict[str, Any]:
        """Best FAQ answers for a question.

        Args:
            question: The customer's question.

        Returns:
            ``results``: up to three ``{question, answer, score}``.
        """
        if self.retriever is None:
            return {"results": []}
        hits = self.retriever.search(question, k=3)
        return {
            "results": [
                {"question": h.entry.question, "answer": h.entry.answer, "score": round(h.score, 3)}
                for h in hits
            ]
        }

    def call(self, name: str, arguments: str | dict[str, Any] | None) -> str:
        """Run a tool by name; never raises.

        Args:
            name: Tool name from ``TOOL_SCHEMAS``.
            arguments: JSON text or a dict.

        Returns:
            The result as JSON text (``{"error": ...}`` on a bad call).
        """
        try:
            args = json.loads(arguments) if isinstance(arguments, str) else dict(arguments or {})
            if name == "order_status":
                out = self.order_status(str(args.get("order_id", "")))
            elif name == "returns_policy":
                out = self.returns_policy()
            elif name == "search_faq":
                out = self.search_faq(str(args.get("question", "")))
            else:
                out = {"error": f"unknown tool {name}"}
        except (ValueError, TypeError) as exc:
            out = {"error": f"bad arguments for {name}: {exc}"}
        return json.dumps(out)
