"""FAQ retrieval by sentence-embedding similarity (the bot's no-LLM mode)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .kb import FaqEntry, KnowledgeBase

__all__ = ["Embedder", "FaqMatch", "FaqRetriever"]


class Embedder(Protocol):
    """Anything that maps sentences to unit vectors (``MiniLMEmbedder`` in production)."""

    def encode(self, sentences: list[str]) -> np.ndarray:
        """Return ``(n, d)`` unit vectors."""
        ...


@dataclass(frozen=True)
class FaqMatch:
    """A retrieved FAQ entry.

    Attributes:
        entry: The entry.
        score: Cosine similarity between the query and the entry's question.
    """

    entry: FaqEntry
    score: float


class FaqRetriever:
    """Nearest FAQ questions to a query.

    Args:
        kb: The knowledge base.
        embedder: Sentence embedder; FAQ questions are embedded once here.
        threshold: Lowest cosine similarity that counts as an answer.
    """

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, *, threshold: float = 0.35) -> None:
        self.kb = kb
        self.threshold = threshold
        self._embedder = embedder
        texts = [f"{f.question} {f.answer}" for f in kb.faq]
        self._questions = embedder.encode([f.question for f in kb.faq]) if kb.faq else None
        self._full = embedder.encode(texts) if kb.faq else None

    def search(self, query: str, k: int = 3) -> list[FaqMatch]:
        """Rank FAQ entries for a query.

        Args:
            query: The customer's words.
            k: How many to return.

        Returns:
            Up to ``k`` matches, best first (scores may be below the threshold).
        """
        if self._questions is None or not query.strip():
            return []
        q = self._embedder.encode([query])[0]
        # a question can match the FAQ's question or the answer's wording
        scores = np.maximum(self._questions @ q, self._full @ q)
        order = np.argsort(-scores)[:k]
        return [FaqMatch(self.kb.faq[i], float(scores[i])) for i in order]

    def best(self, query: str) -> FaqMatch | None:
        """The best match at or above the threshold, or None."""
        hits = self.search(query, k=1)
        return hits[0] if hits and hits[0].score >= self.threshold else None
