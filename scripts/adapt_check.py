"""How much does a short fine-tune on one voice's recordings buy that voice?

A voice bot speaks with one TTS voice. This fine-tunes the run's teacher and student
(``TrainConfig.init_from``) on the run's synthetic clips plus ``--copies`` augmented clips
of each real recording outside the evaluation subsets (the ``ivr`` voice's prompts that
evaluation does not score), for ``--teacher-steps`` + ``--distill-steps`` at a lower
learning rate, then evaluates the student on the same held-out set: the ivr row is that
voice on prompts it was not tuned on, the other rows show what the tuning costs elsewhere.
Both int8 rows go to ``<run>/adapt.json`` (the card reads it).

    .venv/bin/python scripts/adapt_check.py --run out/train
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Fine-tune into ``<run>/adapt-ivr/``; write ``adapt.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run to start from")
    ap.add_argument("--copies", type=int, default=8, help="clips per recording of the voice")
    ap.add_argument("--teacher-steps", type=int, default=2000)
    ap.add_argument("--distill-steps", type=int, default=1000)
    ap.add_argument("--lr-scale", type=float, default=0.25, help="x the run's learning rates")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if base.real_copies > 0:
        raise SystemExit(f"{run} already trains on the voice (real_copies={base.real_copies})")
    cfg = dataclasses.replace(
        base,
        init_from=str(run.resolve()),
        real_copies=a.copies,
        teacher_steps=a.teacher_steps,
        distill_steps=a.distill_steps,
        teacher_lr=base.teacher_lr * a.lr_scale,
        distill_lr=base.distill_lr * a.lr_scale,
    )
    fields = ("real_copies", "teacher_steps", "distill_steps", "teacher_lr", "distill_lr", "seed")
    pipeline.compare_variant(run, run / "adapt-ivr", cfg, "adapt", fields=fields)


if __name__ == "__main__":
    main()
