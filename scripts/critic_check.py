"""Does the adversarial sync critic help? Distil the run's teacher again with it and compare.

Reproduces the critic finding of the model card: a second student is distilled from the same
teacher, with the same seed and steps, adding the sync critic's adversarial term
(``--adv-weight``); it is exported and evaluated like the shipped student on the same held-out
set, and both int8 rows are written to ``<run>/critic.json`` (the card reads it).

    .venv/bin/python scripts/critic_check.py --run out/train --adv-weight 0.05
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Distil with the critic into ``<run>/critic-w<weight>/`` and write ``critic.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run with a teacher (eval by the end)")
    ap.add_argument("--adv-weight", type=float, default=0.05)
    a = ap.parse_args()
    run = Path(a.run)
    cfg = dataclasses.replace(pipeline.load_or_create_config(run, None), adv_weight=a.adv_weight)
    sub = run / f"critic-w{a.adv_weight:g}"
    pipeline.compare_variant(
        run, sub, cfg, "critic", new_teacher=False, fields=("adv_weight", "distill_steps")
    )


if __name__ == "__main__":
    main()
