"""Score a from-scratch rerun of the shipped config next to the embedded model.

The model card's numbers are one training run. Rerunning the documented command
(``avatar-agent train all --run RUN`` with the shipped config and seed) trains another
model; this scores its int8 student (``RUN/metrics.json``, from ``avatar-agent train eval``)
and the embedded model on the same held-out items, with the run's stage times
(``RUN/timings.json``). Writes ``RUN/rerun.json`` (the card's check line).

    .venv/bin/python scripts/rerun_check.py --run out/fresh
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avatar_agent.train.pipeline import reference_rows
from avatar_agent.train.report import int8_row


def main() -> int:
    """Write ``rerun.json`` and print the pooled and natural-voice rows."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="finished and evaluated run")
    a = ap.parse_args()
    run = Path(a.run)
    metrics = run / "metrics.json"
    if not metrics.exists():
        raise SystemExit(f"{metrics} missing: run `avatar-agent train eval --run {run}` first")
    own = int8_row(json.loads(metrics.read_text()))
    if own is None:
        raise SystemExit(f"{metrics} has no int8 student row")
    cfg = json.loads((run / "config.json").read_text())
    timings = run / "timings.json"
    out = {
        "seed": cfg["seed"],
        "teacher_steps": cfg["teacher_steps"],
        "distill_steps": cfg["distill_steps"],
        "timings": json.loads(timings.read_text()) if timings.exists() else {},
        "reference_model": "embedded",
        "without": reference_rows(run),
        "with": own,
    }
    (run / "rerun.json").write_text(json.dumps(out, indent=2) + "\n")
    for key, label in (("without", "embedded"), ("with", "rerun")):
        for group in ("all", "human", "piper", "ivr"):
            m = out[key][group]
            print(
                f"{label:>8} {group:>5}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %  "
                f"rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
