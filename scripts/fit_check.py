"""Generalisation gap: the motion model on training utterances against held-out ones.

Runs the int8 student through the streaming path on a seeded subset of the run's *training*
utterances (unaugmented originals, ``--per-group`` per engine) and on the held-out set, and
prints r and the /p b m/ closure share of both. A large gap points at voice generalisation;
a small one at capacity or the targets.

    .venv/bin/python scripts/fit_check.py --run out/train [--model M] [--per-group 30]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from avatar_agent.generator.driver import make_driver
from avatar_agent.train.evaluate import evaluate_driver
from avatar_agent.train.pipeline import eval_items


def main() -> None:
    """Print the per-group metrics of both splits."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--model", default=None, help="ONNX model (default: the embedded one)")
    ap.add_argument("--per-group", type=int, default=30, help="training utterances per engine")
    a = ap.parse_args()
    driver = make_driver("learned", fps=25.0, model=a.model)
    for split, per_group in (("train", a.per_group), ("eval", 40)):
        items = eval_items(Path(a.run), per_group=per_group, split=split)
        for group, m in sorted(evaluate_driver(driver, items).items()):
            print(
                f"{split:>5} {group:>9}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} % "
                f"({int(m['n_closures'])})  open shut {100 * m['open_shut']:.1f} %"
            )


if __name__ == "__main__":
    main()
