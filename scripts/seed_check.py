"""How far apart are two trainings that differ only in the seed? The noise of every ablation.

Trains the run's config again with ``--seed`` (network initialisation, window sampling,
diffusion noise; the clips and the scored held-out set stay the run's), exports and
evaluates the student like the shipped one, and writes both int8 rows to
``<run>/seed.json`` (the card reads it). A run of data only (no model of its own) is
represented by ``--model`` (default: the embedded model, seed 0 of the shipped config).
Differences between the two rows are what chance alone does to a training; an ablation that
moves a voice group by less is not a finding.
It takes as long as the run's own teacher and distillation.

    .venv/bin/python scripts/seed_check.py --run out/train --seed 1
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train with another seed into ``<run>/seed-<seed>/``; write ``seed.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run")
    ap.add_argument("--seed", type=int, default=1, help="the other seed")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    ap.add_argument(
        "--model", default=None, help="the run's model, for a run of data only (default: embedded)"
    )
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.seed == base.seed:
        raise SystemExit(f"{run} was trained with seed {base.seed}; pick another")
    cfg = dataclasses.replace(base, seed=a.seed, threads=a.threads or base.threads)
    pipeline.compare_variant(
        run,
        run / f"seed-{a.seed}",
        cfg,
        "seed",
        fields=("teacher_steps", "distill_steps"),
        extra={"seeds": [base.seed, a.seed]},
        labels=(f"seed {base.seed}", f"seed {a.seed}"),
        reference_model=a.model,
    )


if __name__ == "__main__":
    main()
