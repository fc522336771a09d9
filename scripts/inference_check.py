"""Inference-side variants of a trained student on the held-out set: ensembles, noise scale.

Runs the streaming driver (8-frame chunks) over a run's evaluation set with the int8
model(s) given and prints, per voice group, the lip-sync and lip-shape metrics. With several
``--model`` files their outputs are averaged (an ensemble; each sees the same context and
noise); ``--noise-scale`` multiplies the student's input noise (1: as shipped, 0: the noise
mean).

    .venv/bin/python scripts/inference_check.py --run out/train \
        --model out/train/motion.int8.onnx out/train/seed-1/motion.int8.onnx
    .venv/bin/python scripts/inference_check.py --run out/train --noise-scale 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avatar_agent.generator.driver import drive_track
from avatar_agent.generator.learned import LearnedMotionDriver
from avatar_agent.generator.onnx_model import OnnxMotionModel
from avatar_agent.train.evaluate import metrics_by_group
from avatar_agent.train.pipeline import eval_items


class _Variant:
    """An ONNX student (or the mean of several) with its input noise scaled."""

    def __init__(self, models: list[OnnxMotionModel], noise_scale: float) -> None:
        self.models, self.scale, self.info = models, noise_scale, models[0].info

    def run(self, ctx: np.ndarray, noise: np.ndarray, *rest: np.ndarray) -> list[np.ndarray]:
        outs = [m.run(ctx, noise * self.scale, *rest)[0] for m in self.models]
        return [np.mean(outs, axis=0)]


def main() -> None:
    """Print the per-group rows of the variant."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run whose held-out set is scored")
    ap.add_argument("--model", nargs="+", default=None, help="int8 model(s) (default: the run's)")
    ap.add_argument("--noise-scale", type=float, default=1.0)
    a = ap.parse_args()
    run = Path(a.run)
    paths = a.model or [str(run / "motion.int8.onnx")]
    models = [OnnxMotionModel(p) for p in paths]
    if any(m.info != models[0].info for m in models):
        raise SystemExit("the models differ in chunk, context or look-ahead; cannot average")
    driver = LearnedMotionDriver(_Variant(models, a.noise_scale))  # type: ignore[arg-type]
    items = eval_items(run)
    rows = metrics_by_group(items, [drive_track(driver, it.samples16k, chunk=8).values
                                    for it in items])  # fmt: skip
    for g, m in sorted(rows.items()):
        print(
            f"{g:>9}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %  rest "
            f"{100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %  "
            f"rounding {m['rounding_auc']:.3f}  /f v/ {m['labiodental_auc']:.3f}"
        )


if __name__ == "__main__":
    main()
