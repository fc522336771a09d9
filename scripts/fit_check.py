"""Training voices against unseen ones: is the gap capacity or generalisation?

Scores an int8 model (default: the embedded one) with the evaluation's streaming path and
metrics on clean utterances of the run's *training* voices (a seeded subset, ``--per-group``
per engine, the audio the clips were built from, before augmentation) and on the held-out
set, each next to the phone-timed targets' own row (the ceiling of a perfect model under
these metrics). A large gap between the splits points at voice generalisation; a small one
at capacity or the targets.

    .venv/bin/python scripts/fit_check.py --run out/fresh --per-group 40
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avatar_agent.generator.driver import make_driver
from avatar_agent.train.evaluate import evaluate_driver, evaluate_targets
from avatar_agent.train.pipeline import eval_items


def main() -> int:
    """Print and write ``<run>/fit.json``: model and target rows per split and voice group."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run whose corpus is scored")
    ap.add_argument("--model", default=None, help="int8 file (default: the embedded model)")
    ap.add_argument("--per-group", type=int, default=30, help="training utterances per engine")
    a = ap.parse_args()
    run = Path(a.run)
    out = {"model": a.model or "embedded"}
    for split in ("train", "eval"):
        # the held-out split is the evaluation's own set (its default subset)
        if split == "train":
            items = eval_items(run, per_group=a.per_group, split="train")
        else:
            items = eval_items(run)
        model = evaluate_driver(make_driver("learned", fps=25.0, model=a.model), items)
        targets = evaluate_targets(items)
        out[split] = {"model": model, "targets": targets}
        print(f"{split} ({len(items)} utterances)")
        for g, m in model.items():
            print(
                f"  {g:>9}: r {m['r']:.3f} (targets {targets[g]['r']:.3f}, ratio "
                f"{m['r'] / targets[g]['r']:.2f})  closures {100 * m['closure']:.1f} %  "
                f"rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %"
            )
    (run / "fit.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
