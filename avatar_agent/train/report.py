"""The evaluation table (Markdown) written by ``avatar-agent train eval``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["int8_row", "markdown_table"]


def int8_row(metrics: dict[str, dict]) -> dict | None:
    """The int8 student's ``{group: metrics}`` of an evaluation's results (None if absent)."""
    return next((v for k, v in metrics.items() if k.startswith("student int8")), None)


def _fmt(m: dict[str, float]) -> str:
    nan = float("nan")  # metrics.json files written before the lip-shape columns lack them
    return (
        f"{m['r']:.3f} | {m['lag_ms']:+.0f} | {100 * m['closure']:.1f} % | "
        f"{100 * m['rest']:.1f} % | {100 * m['open_shut']:.1f} % | "
        f"{m.get('rounding_auc', nan):.2f} | {m.get('labiodental_auc', nan):.2f} | "
        f"{m['jitter']:.4f}"
    )


def markdown_table(results: dict[str, dict[str, dict[str, float]]], items: Sequence) -> str:
    """Markdown tables: overall (when there are several voice groups), then one per group.

    Args:
        results: ``{driver: {group: metrics}}`` from ``evaluate_driver``.
        items: The evaluation items (for counts).

    Returns:
        Markdown text.
    """
    counts = Counter(it.group for it in items)
    head = (
        "| driver | r | lag (ms) | /p b m/ closed | silence at rest | open shut "
        "| rounded vs spread | /f v/ lip tuck | jitter |\n"
    )
    head += "|---|---|---|---|---|---|---|---|---|\n"
    groups = ["all", *sorted(counts)] if len(counts) > 1 else sorted(counts)
    parts = []
    for g in groups:
        any_m = next(iter(results.values()))[g]
        n = len(items) if g == "all" else counts[g]
        parts.append(
            f"**{g}** ({n} utterances, {int(any_m['n_frames'])} frames, "
            f"{int(any_m['n_closures'])} bilabials, {int(any_m['n_rest_frames'])} rest frames)\n\n"
            + head
            + "".join(f"| {name} | {_fmt(r[g])} |\n" for name, r in results.items())
        )
    return "\n".join(parts)
