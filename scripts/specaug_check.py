"""Does on-the-fly log-mel augmentation help? Train the run again with it and compare.

Reproduces the augmentation finding of the model card: a second teacher and student are
trained on the run's own clips, with the same seed and steps, drawing a vocal-tract-length
warp and frequency masks for each training window (:mod:`avatar_agent.train.specaug`,
``--p`` of the windows); the student is exported and evaluated like the shipped one on the
same held-out set, and both int8 rows are written to ``<run>/specaug.json`` (the card reads
it). It takes as long as the run's own teacher and distillation.

    .venv/bin/python scripts/specaug_check.py --run out/train --p 0.8
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train with the augmentation into ``<run>/specaug-p<p>/`` and write ``specaug.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run trained without it")
    ap.add_argument("--p", type=float, default=0.8, help="share of windows augmented")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if base.p_spec > 0:
        raise SystemExit(f"{run} already trains with the augmentation (p_spec={base.p_spec})")
    cfg = dataclasses.replace(base, p_spec=a.p)
    sub = run / f"specaug-p{a.p:g}"
    fields = ("p_spec", "spec_warp", "spec_masks", "spec_mask_width")
    fields += ("teacher_steps", "distill_steps", "seed")
    pipeline.compare_variant(run, sub, cfg, "specaug", fields=fields)


if __name__ == "__main__":
    main()
