"""Which /p b m/ does a motion model miss on held-out voices, and by how much?

For every bilabial (≥ 40 ms) of a run's evaluation set, the smallest predicted lip opening
on the frames the closure metric looks at (±20 ms); a miss is one above the closed
threshold. Prints, per voice group: bilabials, misses, the quartiles of the misses' smallest
opening (near 0.05: partial closures; large: no closure at all), the share of misses that
were near-closures (smallest opening ≤ 0.2), misses among short (< 70 ms) and longer
bilabials, misses per phone, and how many of the near-closed local minima of the opening
during speech (0.05 < opening ≤ 0.1) fall on a bilabial: low means closing every near-miss
by a threshold would add false closures.

    .venv/bin/python scripts/closure_misses.py --run out/train [--model M]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avatar_agent.generator.driver import drive_track, make_driver
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.metrics import CLOSED, FPS
from avatar_agent.train.phones import BILABIAL, SILENCE
from avatar_agent.train.pipeline import eval_items


def main() -> None:
    """Print the per-group summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--model", default=None, help="ONNX model (default: the embedded one)")
    a = ap.parse_args()
    driver = make_driver("learned", fps=FPS, model=a.model)
    jaw, close = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
    found: dict[str, list[tuple[float, str, float]]] = {}
    minima: dict[str, list[bool]] = {}  # per near-closed local minimum: on a bilabial?
    for it in eval_items(Path(a.run)):
        v = drive_track(driver, it.samples16k, chunk=8).values
        o = v[:, jaw] - v[:, close]
        lo = np.arange(len(o)) / FPS
        hi = lo + 1 / FPS
        on_bilabial, in_speech = np.zeros(len(o), bool), np.zeros(len(o), bool)
        for p in it.phones:
            m = (hi > p.start - 0.02) & (lo < p.end + 0.02)
            if p.symbol != SILENCE:
                in_speech |= m
            if p.symbol in BILABIAL:
                on_bilabial |= m
                if p.end - p.start >= 0.04 and m.any():
                    row = (float(o[m].min()), p.symbol, p.end - p.start)
                    found.setdefault(it.group, []).append(row)
        k = np.arange(1, len(o) - 1)
        near = k[(o[k] <= o[k - 1]) & (o[k] <= o[k + 1]) & (o[k] > CLOSED) & (o[k] <= 0.1)]
        minima.setdefault(it.group, []).extend(on_bilabial[near[in_speech[near]]])
    for group, rows in sorted(found.items()):
        mins = np.array([r[0] for r in rows])
        short = np.array([r[2] < 0.07 for r in rows])
        miss = mins > CLOSED
        q = np.round(np.percentile(mins[miss], [25, 50, 75]), 3) if miss.any() else "-"
        near_share = f"{100 * np.mean(mins[miss] <= 0.2):.0f} %" if miss.any() else "-"
        per = {s: f"{sum(m > CLOSED for m, t, _ in rows if t == s)}/"
                  f"{sum(t == s for _, t, _ in rows)}" for s in sorted(BILABIAL)}  # fmt: skip
        hits = minima.get(group, [])
        on_bilabial_share = f"{int(np.sum(hits))}/{len(hits)}"
        print(f"{group}: {len(rows)} bilabials, {int(miss.sum())} missed; smallest opening of "
              f"the misses (quartiles) {q}, {near_share} of them <= 0.2; missed short "
              f"(< 70 ms) {int((miss & short).sum())}/{int(short.sum())}, longer "
              f"{int((miss & ~short).sum())}/{int((~short).sum())}; misses per phone {per}; "
              f"near-closed minima in speech on a bilabial: {on_bilabial_share}")  # fmt: skip


if __name__ == "__main__":
    main()
