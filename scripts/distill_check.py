"""Does a change to the distillation loss help the one-step student? Distil again and compare.

Distils a second student from the run's own teacher (same seed and steps), exports and
evaluates it on the same held-out set, and writes both int8 rows to a JSON in the run:

- ``--data-weight W``: the data term at the largest timestep (the one step the student runs)
  weighs ``W`` instead of ``data_weight`` (``<run>/dataweight.json``);
- ``--contact-weight W``: frames whose target shows the lips at contact (/p b m/) weigh ``W``
  times the others in the consistency loss (``cd_contact_weight``; ``<run>/contact.json``).

    .venv/bin/python scripts/distill_check.py --run out/train --data-weight 2
    .venv/bin/python scripts/distill_check.py --run out/train --contact-weight 5
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Distil into ``<run>/<name>-<w>/`` and write ``<name>.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run with a teacher (eval by the end)")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--data-weight", type=float, default=None)
    what.add_argument("--contact-weight", type=float, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    field, name, value = (
        ("data_weight", "dataweight", a.data_weight)
        if a.data_weight is not None
        else ("cd_contact_weight", "contact", a.contact_weight)
    )
    old = getattr(base, field)
    if value == old or value < 0:
        raise SystemExit(f"{run} already uses {field} {old}; pick another >= 0")
    cfg = dataclasses.replace(base, threads=a.threads or base.threads, **{field: value})
    pipeline.compare_variant(
        run,
        run / f"{name}-{value:g}",
        cfg,
        name,
        new_teacher=False,
        fields=(field, "distill_steps", "seed"),
        labels=(f"{old:g}", f"{value:g}"),
    )


if __name__ == "__main__":
    main()
