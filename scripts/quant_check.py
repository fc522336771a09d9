"""Which layer does int8 quantisation hurt? Quantise a run's student one layer at a time.

For each Conv / MatMul / Gemm of the run's ``motion.onnx``, quantises that layer alone (all
others kept in float) and prints the mean |int8 − fp32| of the lip opening over ``--windows``
training windows, worst first; then the whole model quantised with and without
:data:`~avatar_agent.train.export.FLOAT_NODES` kept in float. Writes nothing into the run.

    .venv/bin/python scripts/quant_check.py --run out/v2/seed-1
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import onnx

from avatar_agent.train import pipeline
from avatar_agent.train.config import TrainConfig
from avatar_agent.train.export import FLOAT_NODES, parity, quantize_int8


def main() -> None:
    """Print per-layer and whole-model int8 errors of a run's student."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="run with motion.onnx")
    ap.add_argument("--windows", type=int, default=32, help="windows per parity check")
    ap.add_argument("--top", type=int, default=6, help="layers printed")
    a = ap.parse_args()
    run = Path(a.run)
    cfg = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    clips = pipeline._train_clips(run, cfg)
    fp32 = run / "motion.onnx"
    layers = [n.name for n in onnx.load(str(fp32)).graph.node
              if n.op_type in ("Conv", "MatMul", "Gemm")]  # fmt: skip

    def error(float_nodes: tuple[str, ...], n: int) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "q.onnx")
            calib = pipeline._sampler(cfg, clips, 3, augment=False)
            quantize_int8(fp32, out, cfg, calib, float_nodes=float_nodes)
            return parity(fp32, out, cfg, pipeline._sampler(cfg, clips, 4, augment=False), n=n)

    alone = {name: error(tuple(x for x in layers if x != name), a.windows) for name in layers}
    worst = sorted(alone, key=lambda k: alone[k]["open_mean_abs"], reverse=True)
    print(f"{len(layers)} layers; lip-opening error with one layer quantised alone:")  # noqa: T201
    for name in worst[: a.top]:
        print(f"  {alone[name]['open_mean_abs']:.5f}  {name}")  # noqa: T201
    whole = (("all layers int8", ()), (f"{', '.join(FLOAT_NODES)} in float", FLOAT_NODES))
    for label, keep in whole:
        e = error(keep, 64)
        print(f"{label}: mean |int8 - fp32| {e['mean_abs']:.4f}, "  # noqa: T201
              f"lip opening {e['open_mean_abs']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
