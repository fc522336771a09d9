"""The shop's knowledge base: a small JSON file with FAQs, orders and the returns policy."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_KB", "FaqEntry", "KnowledgeBase", "normalize_order_id"]

DEFAULT_KB = Path(__file__).with_name("kb.json")

_ORDER_RE = re.compile(r"\bB\s*\.?\s*L\s*\.?\s*[-‐ ]?\s*((?:\d[\s-]?){4})", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\b(\d{4})\b")


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ item.

    Attributes:
        id: Stable identifier.
        question: The question (and paraphrases) it answers.
        answer: The answer, written to be spoken.
    """

    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the bot knows about the shop.

    Attributes:
        shop: Name, description, hours and contacts.
        returns_policy: ``summary``, ``window_days`` and ``details``.
        orders: Order id (``BL-1001``) to its record.
        faq: The FAQ entries.
    """

    shop: dict[str, Any]
    returns_policy: dict[str, Any]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    faq: tuple[FaqEntry, ...] = ()

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnowledgeBase:
        """Read a knowledge base file.

        Args:
            path: JSON file (default: the example's ``kb.json``).

        Returns:
            The knowledge base.

        Raises:
            ValueError: When the file lacks a required section.
        """
        data = json.loads(Path(path or DEFAULT_KB).read_text(encoding="utf-8"))
        missing = [k for k in ("shop", "returns_policy", "faq") if k not in data]
        if missing:
            raise ValueError(f"knowledge base {path} lacks {', '.join(missing)}")
        faq = tuple(
            FaqEntry(str(f["id"]), str(f["question"]), str(f["answer"])) for f in data["faq"]
        )
        orders = {k.upper(): dict(v) for k, v in data.get("orders", {}).items()}
        return cls(shop=data["shop"], returns_policy=data["returns_policy"], orders=orders, faq=faq)

    @property
    def shop_name(self) -> str:
        """The shop's name."""
        return str(self.shop.get("name", "our shop"))


def normalize_order_id(text: str) -> str | None:
    """Find an order number in free text (typed or transcribed) and normalise it.

    Accepts ``BL-1001``, ``bl 1001``, ``B.L. 1 0 0 1`` and a bare four-digit number.

    Args:
        text: What the customer said.

    Returns:
        ``"BL-1001"`` style id, or None when there is no order number.
    """
    m = _ORDER_RE.search(text)
    if m:
        return "BL-" + re.sub(r"\D", "", m.group(1))
    m = _DIGITS_RE.search(text)
    return f"BL-{m.group(1)}" if m else None
