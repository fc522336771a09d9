"""Look at the learned lip sync on a held-out human recording: curve plus rendered frames.

Drives the default avatar with a motion model on one held-out utterance of a run's corpus
(a human recording by default), then writes ``out/lipsync_sheet.png``: the predicted lip
opening against the phone-derived reference and the training target (bilabials marked),
and a row of rendered frames at /p b m/ (should be shut) and open vowels (should be open),
each labelled with its phone and predicted opening; prints the peak predicted and target
openings. With ``--shapes`` the frames are vowel shapes instead: rounded /uw uh ow oy ao w/
(should pucker), spread /iy ih eh ae ey/ (should stretch) and /f v/ (lower lip tucked), each
labelled with the predicted rounding (funnel + pucker - stretch) or lip tuck.

    .venv/bin/python scripts/lipsync_sheet.py --run out/train [--model M] [--group human]
        [--shapes]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from avatar_agent.avatar import load_avatar  # noqa: E402
from avatar_agent.generator.driver import drive_track, make_driver  # noqa: E402
from avatar_agent.motion import PARAM_INDEX  # noqa: E402
from avatar_agent.render.renderer import CPURenderer  # noqa: E402
from avatar_agent.train.metrics import SPREAD, lip_shape_signals  # noqa: E402
from avatar_agent.train.phones import BILABIAL, LABIODENTAL, ROUNDED  # noqa: E402
from avatar_agent.train.pipeline import eval_items  # noqa: E402
from avatar_agent.train.targets import lip_openness, mouth_targets  # noqa: E402

_OPEN_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH"}


def main() -> None:
    """Write the sheet and print the file name."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--model", default=None, help="ONNX model (default: the embedded one)")
    ap.add_argument("--group", default="human")
    ap.add_argument("--index", type=int, default=0, help="which utterance of the group")
    ap.add_argument("--shapes", action="store_true", help="vowel shapes and /f v/ instead")
    ap.add_argument("--out", default=None, help="default out/lipsync_sheet[_shapes].png")
    a = ap.parse_args()
    a.out = a.out or ("out/lipsync_sheet_shapes.png" if a.shapes else "out/lipsync_sheet.png")
    item = [i for i in eval_items(Path(a.run)) if i.group == a.group][a.index]
    driver = make_driver("learned", fps=25.0, model=a.model)
    track = drive_track(driver, item.samples16k, chunk=8)
    vals = track.values
    opening = vals[:, PARAM_INDEX["jawOpen"]] - vals[:, PARAM_INDEX["mouthClose"]]
    ref = lip_openness(item.phones, len(opening))
    tv = mouth_targets(item.phones, len(opening)).values
    target = tv[:, PARAM_INDEX["jawOpen"]] - tv[:, PARAM_INDEX["mouthClose"]]
    t = np.arange(len(opening)) / 25.0

    picks: list[tuple[int, str]] = []
    rounding, tuck = lip_shape_signals(vals)
    kinds = (ROUNDED, SPREAD, LABIODENTAL)
    for p in item.phones if a.shapes else ():
        mid = int((p.start + p.end) / 2 * 25)
        kind = next((k for k in kinds if p.symbol in k), None)
        if mid < len(opening) and kind and sum(s in kind for _, s in picks) < 2:
            picks.append((mid, p.symbol))
    for p in () if a.shapes else item.phones:
        mid = int((p.start + p.end) / 2 * 25)
        if mid >= len(opening):
            continue
        if p.symbol in BILABIAL and sum(s in BILABIAL for _, s in picks) < 4:
            lo, hi = int(p.start * 25), max(int(p.start * 25) + 1, int(np.ceil(p.end * 25)))
            k = lo + int(np.argmin(opening[lo:hi]))
            picks.append((k, p.symbol))
        elif p.symbol in _OPEN_VOWELS and sum(s in _OPEN_VOWELS for _, s in picks) < 3:
            picks.append((mid, p.symbol))
    picks.sort()
    renderer = CPURenderer(load_avatar(None))
    tiles = []
    for k, sym in picks:
        img = renderer.render(vals[k])  # RGB
        h, w = img.shape[:2]
        crop = img[int(h * 0.45) : int(h * 0.95), int(w * 0.2) : int(w * 0.8)]
        crop = cv2.resize(crop, (240, 200))
        if not a.shapes:
            what = f"open {opening[k]:.2f}"
        elif sym in LABIODENTAL:
            what = f"tuck {tuck[k]:.2f}"
        else:
            what = f"round {rounding[k]:+.2f}"
        tiles.append((crop, f"/{sym.lower()}/ {k / 25:.2f}s {what}"))

    fig = plt.figure(figsize=(2.4 * max(len(tiles), 4), 6.2))
    ax = fig.add_axes([0.05, 0.62, 0.9, 0.33])
    ax.plot(t, ref, color="0.6", label="phone-derived openness (reference)")
    ax.plot(t, target, color="C2", ls=":", label="training target (what the model learns)")
    ax.plot(t, opening, color="C0", label="predicted jawOpen - mouthClose")
    for p in item.phones:
        if p.symbol in BILABIAL:
            ax.axvspan(p.start, p.end, color="C3", alpha=0.2)
    ax.axhline(0.05, color="C3", lw=0.8, ls="--")
    ax.set_title(f"{a.group} #{a.index} (held out; red: /p b m/, dashed: closed threshold)")
    ax.set_xlabel("s")
    ax.legend(loc="upper right", fontsize=8)
    for i, (tile, label) in enumerate(tiles):
        tax = fig.add_axes([0.02 + i * 0.96 / len(tiles), 0.02, 0.94 / len(tiles), 0.5])
        tax.imshow(tile)
        tax.set_title(label, fontsize=9)
        tax.axis("off")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=90)
    print(f"{a.out}: peak opening predicted {opening.max():.2f}, target {target.max():.2f}")


if __name__ == "__main__":
    main()
