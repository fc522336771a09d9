"""Does real speech in training help on unseen natural voices? Train the run again with it.

Reproduces the real-speech finding of the model card: a second teacher and student are
trained on the run's own synthetic clips plus ``--copies`` augmented clips of each real
recording outside the evaluation subsets (the Asterisk prompts of the ``ivr`` voice that
evaluation does not score; :func:`avatar_agent.train.pipeline.real_train_utterances`), with
the same seed and steps. Both int8 rows go to ``<run>/real.json`` (the card reads it). The
``ivr`` voice is then seen in training (its scored prompts are not), so the verdict rests on
the voices neither run has heard: the human recordings and the neural Piper voice. It takes
as long as the run's own teacher and distillation, plus a couple of minutes of clips.

    .venv/bin/python scripts/real_check.py --run out/train --copies 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from avatar_agent.train import pipeline
from avatar_agent.train.report import int8_row


def main() -> None:
    """Train with real speech into ``<run>/real-c<copies>/``; write ``real.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run trained without it")
    ap.add_argument("--copies", type=int, default=8, help="clips per real recording")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if base.real_copies > 0 or a.copies <= 0:
        raise SystemExit(f"need a run without real speech and --copies > 0 ({run})")
    cfg = dataclasses.replace(base, real_copies=a.copies)
    sub = run / f"real-c{a.copies}"
    with_real = pipeline.train_variant(run, sub, cfg, new_teacher=True)
    used = json.loads((sub / "config.json").read_text())
    out = {
        **{k: used[k] for k in ("real_copies", "teacher_steps", "distill_steps", "seed")},
        "data": json.loads((sub / "data_real.json").read_text()),
        "without": int8_row(json.loads((run / "metrics.json").read_text())),
        "with": int8_row(with_real),
    }
    (run / "real.json").write_text(json.dumps(out, indent=2) + "\n")
    for name in ("without", "with"):
        for group in ("all", "piper", "human", "ivr"):
            m = out[name].get(group)
            if m:
                print(
                    f"{name:>7} {group:>5}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %"
                    f"  rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %"
                )


if __name__ == "__main__":
    main()
