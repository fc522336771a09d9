"""Does untranscribed natural speech in the Whisper term generalise? Train the run again.

Trains a teacher and student on the run's own clips (its config, steps and ``--seed``) whose
Whisper term also reads ``--copies`` augmented copies of the untranscribed natural speech of
:mod:`avatar_agent.train.corpus.speech` (two telephone-prompt voices, Italian and Russian,
48 min, and 8 min of English from several speakers; the mouth is never trained on them).
Evaluates the student on the run's held-out set next to the reference model (``--model``,
default the embedded one, which is the seed-0 run of the shipped config) on the same items,
and writes both int8 rows to ``<run>/speech[-seed-S].json``.

    .venv/bin/python scripts/speech_check.py --run out/train --copies 3 [--seed 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from avatar_agent.train import pipeline
from avatar_agent.train.report import int8_row


def main() -> None:
    """Train the variant into ``<run>/speech-<copies>[-seed-S]/`` and compare."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run whose clips the variant shares")
    ap.add_argument("--copies", type=int, default=3, help="augmented copies per recording")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the run's)")
    ap.add_argument("--model", default=None, help="reference int8 model (default: embedded)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.copies <= 0 or base.whisper_weight <= 0:
        raise SystemExit("--copies must be > 0 and the run must use the Whisper term")
    seed = base.seed if a.seed is None else a.seed
    cfg = dataclasses.replace(
        base, whisper_speech_copies=a.copies, seed=seed, threads=a.threads or base.threads
    )
    suffix = "" if seed == base.seed else f"-seed-{seed}"
    sub = run / f"speech-{a.copies}{suffix}"
    other = pipeline.train_variant(run, sub, cfg, new_teacher=True)
    reference = pipeline.reference_rows(run, a.model)
    used = json.loads((sub / "config.json").read_text())
    out = {
        "whisper_speech_copies": used["whisper_speech_copies"],
        "whisper_speech_batch": used["whisper_speech_batch"],
        "seed": used["seed"],
        "teacher_steps": used["teacher_steps"],
        "distill_steps": used["distill_steps"],
        "reference_model": a.model or "embedded",
        "data": json.loads((sub / "data_speech.json").read_text()),
        "without": reference,
        "with": int8_row(other),
    }
    (run / f"speech{suffix}.json").write_text(json.dumps(out, indent=2) + "\n")
    for key in ("without", "with"):
        for group, m in sorted(out[key].items()):
            print(
                f"{key:>7} {group:>8}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %"
                f"  rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %"
            )


if __name__ == "__main__":
    main()
