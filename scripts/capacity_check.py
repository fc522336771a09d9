"""Does a larger network generalise better? Train the run again with another size and compare.

The network is small (192 backbone, 128 audio channels) and runs about three times faster
than the speed target, so there is room for a larger one. This trains a second teacher and
student on the run's own clips with ``--hidden`` backbone channels, ``--audio-hidden`` audio
channels and ``--audio-layers`` residual audio convolutions (same seed and steps), evaluates
the student on the same held-out set and writes both int8 rows (and the run's own size,
``before``) to ``<run>/capacity.json``.

    .venv/bin/python scripts/capacity_check.py --run out/train --hidden 256 --audio-hidden 192 \
        --audio-layers 2
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train the other size into ``<run>/capacity-<hidden>-<audio>-<layers>/``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run")
    ap.add_argument("--hidden", type=int, default=256, help="backbone channels")
    ap.add_argument("--audio-hidden", type=int, default=192, help="audio encoder channels")
    ap.add_argument("--audio-layers", type=int, default=2, help="25 fps audio convolutions")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the run's)")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    size = (a.hidden, a.audio_hidden, a.audio_layers)
    base_size = (base.hidden, base.audio_hidden, base.audio_layers)
    if size == base_size:
        raise SystemExit(f"{run} already has this size; pick another")
    if min(size[:2]) < 8 or a.audio_layers < 0:
        raise SystemExit("channels must be >= 8 and --audio-layers >= 0")
    cfg = dataclasses.replace(
        base,
        hidden=a.hidden,
        audio_hidden=a.audio_hidden,
        audio_layers=a.audio_layers,
        threads=a.threads or base.threads,
    )
    pipeline.compare_variant(
        run,
        run / f"capacity-{a.hidden}-{a.audio_hidden}-{a.audio_layers}",
        cfg,
        "capacity",
        fields=("hidden", "audio_hidden", "audio_layers", "teacher_steps", "distill_steps", "seed"),
        extra={
            "before": dict(zip(("hidden", "audio_hidden", "audio_layers"), base_size, strict=True))
        },
        labels=(
            f"{base.hidden}/{base.audio_hidden}/{base.audio_layers}",
            f"{a.hidden}/{a.audio_hidden}/{a.audio_layers}",
        ),
    )


if __name__ == "__main__":
    main()
