"""Which /p b m/ does a motion model miss on held-out voices, and by how much?

For every bilabial (≥ 40 ms) of a run's evaluation set, the smallest predicted lip opening
on the frames the closure metric looks at (±20 ms); a miss is one above the closed
threshold. Prints, per voice group: bilabials, misses, the quartiles of the misses' smallest
opening (near 0.05: partial closures; large: no closure at all) and misses per phone.

    .venv/bin/python scripts/closure_misses.py --run out/train [--model M]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avatar_agent.generator.driver import drive_track, make_driver
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.metrics import CLOSED, FPS
from avatar_agent.train.phones import BILABIAL
from avatar_agent.train.pipeline import eval_items


def main() -> None:
    """Print the per-group summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--model", default=None, help="ONNX model (default: the embedded one)")
    a = ap.parse_args()
    driver = make_driver("learned", fps=FPS, model=a.model)
    jaw, close = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
    found: dict[str, list[tuple[float, str]]] = {}
    for it in eval_items(Path(a.run)):
        v = drive_track(driver, it.samples16k, chunk=8).values
        o = v[:, jaw] - v[:, close]
        lo = np.arange(len(o)) / FPS
        hi = lo + 1 / FPS
        for p in it.phones:
            if p.symbol in BILABIAL and p.end - p.start >= 0.04:
                m = (hi > p.start - 0.02) & (lo < p.end + 0.02)
                if m.any():
                    found.setdefault(it.group, []).append((float(o[m].min()), p.symbol))
    for group, rows in sorted(found.items()):
        mins = np.array([r[0] for r in rows])
        miss = mins > CLOSED
        q = np.round(np.percentile(mins[miss], [25, 50, 75]), 3) if miss.any() else "-"
        per = {s: f"{sum(m > CLOSED for m, t in rows if t == s)}/{sum(t == s for _, t in rows)}"
               for s in sorted(BILABIAL)}  # fmt: skip
        print(f"{group}: {len(rows)} bilabials, {int(miss.sum())} missed; smallest opening of "
              f"the misses (quartiles) {q}; misses per phone {per}")  # fmt: skip


if __name__ == "__main__":
    main()
