"""Compare classifier-free guidance scales of a trained teacher on held-out voices.

Reproduces the check behind the shipped guidance (model card): teacher closures and
correlation at several guidance scales, on a seeded subset of the run's evaluation set.
Writes ``<run>/guidance.json`` (the card reads it).

    .venv/bin/python scripts/guidance_check.py --run out/train --scales 1.5 3 5 --steps 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from avatar_agent.generator.onnx_model import MotionModelInfo
from avatar_agent.train.evaluate import TorchModel, evaluate_driver, torch_driver
from avatar_agent.train.loops import load_model
from avatar_agent.train.pipeline import eval_items, load_or_create_config


def main() -> None:
    """Print r, closures, rest, open shut and jitter per guidance scale (all groups but Piper)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/final")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.5, 3.0])
    ap.add_argument("--steps", type=int, default=8, help="DDIM steps of the teacher")
    ap.add_argument("--per-group", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(1)
    run = Path(a.run)
    cfg = load_or_create_config(run, None)
    items = [i for i in eval_items(run, per_group=a.per_group) if i.group != "piper"]
    info = MotionModelInfo(25.0, cfg.context, cfg.chunk, cfg.lookahead, 4)
    teacher = load_model(run / "teacher")
    rows = {}
    for w in a.scales:
        model = TorchModel(teacher, info, steps=a.steps, guidance=w, student=False)
        m = evaluate_driver(torch_driver(model), items)["all"]
        print(
            f"w={w:g}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %  "
            f"rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %  "
            f"jitter {m['jitter']:.4f}  ({len(items)} utterances)"
        )
        rows[f"{w:g}"] = m
    out = {"steps": a.steps, "utterances": len(items), "scales": rows}
    (run / "guidance.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
