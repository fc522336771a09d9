"""What does more audio look-ahead buy? Train the run again with a longer one and compare.

The model sees ``lookahead`` frames (40 ms each) of audio past the chunk it generates; lips
move before the sound they shape (anticipatory coarticulation), so a longer look-ahead can
raise the correlation, at the price of the same added latency before the avatar's first
frame. This trains a second teacher and student on the run's own clips with ``--frames``
frames of look-ahead (same seed and steps), evaluates the student on the same held-out set
and writes both int8 rows to ``<run>/lookahead.json`` (the card reads it).

    .venv/bin/python scripts/lookahead_check.py --run out/train --frames 4
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train with ``--frames`` of look-ahead into ``<run>/lookahead-<frames>/``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run")
    ap.add_argument("--frames", type=int, default=4, help="look-ahead frames (40 ms each)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.frames == base.lookahead or a.frames < 0:
        raise SystemExit(f"{run} already looks {base.lookahead} frames ahead; pick another")
    cfg = dataclasses.replace(base, lookahead=a.frames)
    pipeline.compare_variant(
        run,
        run / f"lookahead-{a.frames}",
        cfg,
        "lookahead",
        fields=("teacher_steps", "distill_steps", "seed"),
        extra={"lookahead": [base.lookahead, a.frames]},
        labels=(f"{40 * base.lookahead} ms", f"{40 * a.frames} ms"),
    )


if __name__ == "__main__":
    main()
