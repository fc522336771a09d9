"""Does the mouth probe help? Train the run again with it and compare.

Reproduces the mouth-probe finding of the model card: a second teacher and student are
trained on the run's own clips, with the same seed and steps, adding the probe's loss
(:mod:`avatar_agent.train.probe`, weight ``--weight``) to the teacher and, with
``--audio-layers N``, residual 25 fps convolutions to the audio encoder; the student is
exported and evaluated like the shipped one on the same held-out set, and both int8 rows are
written to ``<run>/probe.json`` (the card reads it). It takes as long as the run's own
teacher and distillation.

    .venv/bin/python scripts/probe_check.py --run out/train --weight 1
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train with the probe into ``<run>/probe-w<weight>[-a<layers>]/``; write ``probe.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run trained without it")
    ap.add_argument("--weight", type=float, default=1.0, help="weight of the probe's loss")
    ap.add_argument("--audio-layers", type=int, default=0, help="25 fps audio convolutions")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if base.aux_weight > 0:
        raise SystemExit(f"{run} already trains with the probe (aux_weight={base.aux_weight})")
    cfg = dataclasses.replace(base, aux_weight=a.weight, audio_layers=a.audio_layers)
    sub = run / (f"probe-w{a.weight:g}" + (f"-a{a.audio_layers}" if a.audio_layers else ""))
    fields = ("aux_weight", "audio_layers", "teacher_steps", "distill_steps", "seed")
    pipeline.compare_variant(run, sub, cfg, "probe", fields=fields)


if __name__ == "__main__":
    main()
