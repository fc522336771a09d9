"""Which training clips differ between two builds of a run's data (``clips_train.npz``).

Two runs of the same config and seed should build the same clips; this counts the clips
whose log-mel or motion targets differ, the largest change of the normalisation statistics
(``stats.npz``) and the training utterances of the two corpora whose audio differs, so a
rerun's differences can be traced to its data.

    .venv/bin/python scripts/clips_diff.py out/v2 out/fresh
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np


def main() -> int:
    """Print the clips that differ and the statistics' largest change."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", type=Path, help="run folder")
    ap.add_argument("b", type=Path, help="run folder")
    args = ap.parse_args()
    za, zb = np.load(args.a / "clips_train.npz"), np.load(args.b / "clips_train.npz")
    la, lb = za["lengths"], zb["lengths"]
    if la.shape != lb.shape or (la != lb).any():
        print(f"the clip lengths differ ({len(la)} against {len(lb)} clips)")
        return 1
    ends = np.cumsum(la)
    starts = ends - la
    mel_a, mel_b, mo_a, mo_b = za["mel"], zb["mel"], za["motion"], zb["motion"]
    mel_diff, mo_diff = [], []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if not np.array_equal(mel_a[4 * s : 4 * e], mel_b[4 * s : 4 * e]):
            mel_diff.append(i)
        if not np.array_equal(mo_a[s:e], mo_b[s:e]):
            mo_diff.append(i)
    print(f"{len(la)} clips: log-mel differs in {len(mel_diff)}, motion targets in {len(mo_diff)}")
    print(f"  log-mel: {mel_diff}")
    print(f"  motion:  {mo_diff}")
    sa, sb = np.load(args.a / "stats.npz"), np.load(args.b / "stats.npz")
    for k in sa.files:
        print(f"  stats {k}: largest change {float(np.abs(sa[k] - sb[k]).max()):.3g}")
    _corpus_diff(args.a, args.b)
    return 0


def _corpus_diff(a: Path, b: Path) -> None:
    """The training utterances whose synthesised audio differs between the runs' corpora."""
    from avatar_agent.train.corpus.build import load_corpus

    ua, ub = (
        load_corpus(Path((r / "corpus_path.txt").read_text().strip()), split="train")
        for r in (a, b)
    )
    if [u.id for u in ua] != [u.id for u in ub]:
        print("the corpora plan different training utterances")
        return
    diff = [i for i, (x, y) in enumerate(zip(ua, ub, strict=True))
            if not np.array_equal(x.samples16k, y.samples16k)]  # fmt: skip
    per = Counter(ua[i].engine for i in diff)
    total = Counter(u.engine for u in ua)
    print(f"training utterances with different audio: {diff}")
    for engine in sorted(total):
        print(f"  {engine}: {per[engine]} of {total[engine]} differ")


if __name__ == "__main__":
    raise SystemExit(main())
