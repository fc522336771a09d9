"""Do Kokoro-82M's natural-sounding voices in training help unseen voices? Train the run again.

Speaks ``--utterances`` sentences with Kokoro (:mod:`avatar_agent.train.corpus.kokoro_corpus`;
five voice styles and mixes of two, rates 0.85–1.2, the model's own phone durations) into
``<run>/corpus_kokoro`` once (every seed shares it), then trains a teacher and student on the
run's own clips plus ``--copies`` augmented copies of each Kokoro utterance (the run's config,
steps and ``--seed``), evaluates the student on the run's held-out set, and writes its int8
rows next to the run's (or, for a run of data only, the reference ``--model``'s, default the
embedded one) to ``<run>/kokoro[-seed-S].json``.

    .venv/bin/python scripts/kokoro_check.py --run out/train --copies 2 [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline
from avatar_agent.train.corpus.kokoro_corpus import build_kokoro


def main() -> None:
    """Train the variant into ``<run>/kokoro-<copies>[-seed-S]/`` and compare."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run whose clips the variant shares")
    ap.add_argument("--copies", type=int, default=2, help="augmented copies per utterance")
    ap.add_argument("--utterances", type=int, default=600, help="Kokoro sentences")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the run's)")
    ap.add_argument("--model", default=None, help="reference int8 model (default: embedded)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if a.copies <= 0:
        raise SystemExit("--copies must be > 0")
    seed = base.seed if a.seed is None else a.seed
    cfg = dataclasses.replace(
        base,
        kokoro_copies=a.copies,
        kokoro_utterances=a.utterances,
        seed=seed,
        threads=a.threads or base.threads,
    )
    build_kokoro(pipeline.kokoro_corpus_dir(run), a.utterances, seed=base.seed)
    suffix = "" if seed == base.seed else f"-seed-{seed}"
    pipeline.compare_variant(
        run,
        run / f"kokoro-{a.copies}{suffix}",
        cfg,
        f"kokoro{suffix}",
        fields=("kokoro_copies", "seed", "teacher_steps", "distill_steps"),
        labels=("without", "kokoro"),
        reference_model=a.model,
    )


if __name__ == "__main__":
    main()
