"""Where the motion model loses lip-sync r: level, timing detail or the slow envelope.

Runs the int8 model through the streaming path on the run's held-out set and prints, per
voice group, the pooled r of the predicted lip opening against the phone-derived openness
(as ``train eval``), the same for the phone-timed targets, the correlation of prediction and
targets, and three diagnostics:

- ``oracle affine``: r after fitting each utterance's prediction to the reference with its
  own scale and offset (what per-utterance or per-voice gain control could buy at most);
- ``smoothed``: r of both signals low-passed with a 7-frame (280 ms) Hann window (if the
  prediction were only off in fine timing, this would close most of the gap to the targets);
- ``fast part``: correlation of prediction and targets in what that low-pass removes.

    .venv/bin/python scripts/r_breakdown.py --run out/train [--model M]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avatar_agent.generator.driver import drive_track, make_driver
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.metrics import FPS
from avatar_agent.train.pipeline import eval_items
from avatar_agent.train.targets import mouth_targets
from avatar_agent.train.targets.visemes import lip_openness

_J, _C = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _smooth(x: np.ndarray, k: int = 7) -> np.ndarray:
    w = np.hanning(k + 2)[1:-1]
    return np.convolve(np.pad(x, k, mode="edge"), w / w.sum(), "same")[k:-k]


def _affine(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    a = np.stack([pred, np.ones_like(pred)], 1)
    return a @ np.linalg.lstsq(a, ref, rcond=None)[0]


def main() -> None:
    """Print the breakdown per voice group and over all groups."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run whose held-out set is scored")
    ap.add_argument("--model", default=None, help="ONNX model (default: the embedded one)")
    a = ap.parse_args()
    driver = make_driver("learned", fps=FPS, model=a.model)
    rows = []
    for it in eval_items(Path(a.run)):
        track = drive_track(driver, it.samples16k, chunk=8).values
        pred = track[:, _J] - track[:, _C]
        target = mouth_targets(it.phones, len(pred), FPS).values
        rows.append((it.group, pred, lip_openness(it.phones, len(pred), FPS),
                     target[:, _J] - target[:, _C]))  # fmt: skip
    print("group      n  |  r    targets r  pred~targets | oracle affine | smoothed: r, "
          "targets r | fast part pred~targets")  # fmt: skip
    for group in [*sorted({r[0] for r in rows}), "all"]:
        sel = [r for r in rows if group in ("all", r[0])]
        p, ref, t = (np.concatenate([r[i] for r in sel]) for i in (1, 2, 3))
        cal = np.concatenate([_affine(r[1], r[2]) for r in sel])
        ps, refs, ts = (np.concatenate([_smooth(r[i]) for r in sel]) for i in (1, 2, 3))
        print(
            f"{group:>8} {len(sel):4d}  | {_corr(p, ref):.3f}  {_corr(t, ref):.3f}      "
            f"{_corr(p, t):.3f}       | {_corr(cal, ref):.3f}         | {_corr(ps, refs):.3f}, "
            f"{_corr(ts, refs):.3f}     | {_corr(p - ps, t - ts):.3f}"
        )


if __name__ == "__main__":
    main()
