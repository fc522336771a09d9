"""Does a heavier ground-truth term help the one-step student? Distil again and compare.

The distillation loss adds ``data_weight`` × the data term at the largest timestep (the one
step the student runs). This distils a second student from the run's own teacher with
``--data-weight`` (same seed and steps), exports and evaluates it on the same held-out set,
and writes both int8 rows to ``<run>/dataweight.json``.

    .venv/bin/python scripts/distill_check.py --run out/train --data-weight 2
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Distil into ``<run>/dataweight-<w>/`` and write ``dataweight.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run with a teacher (eval by the end)")
    ap.add_argument("--data-weight", type=float, default=2.0)
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.data_weight == base.data_weight or a.data_weight < 0:
        raise SystemExit(f"{run} already uses data_weight {base.data_weight}; pick another >= 0")
    cfg = dataclasses.replace(base, data_weight=a.data_weight)
    pipeline.compare_variant(
        run,
        run / f"dataweight-{a.data_weight:g}",
        cfg,
        "dataweight",
        new_teacher=False,
        fields=("data_weight", "distill_steps", "seed"),
        labels=(f"{base.data_weight:g}", f"{a.data_weight:g}"),
    )


if __name__ == "__main__":
    main()
