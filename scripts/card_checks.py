"""Rewrite check lines of the installed model card from a run's check files.

The card is written whole by ``avatar-agent train install``; a check measured after that (on
the run folder that holds its ``<name>.json``) is added here without replacing the model::

    .venv/bin/python scripts/card_checks.py --run out/v2 speech kokoro
"""

from __future__ import annotations

import argparse
from pathlib import Path

from avatar_agent.train.card import CHECKS, refresh_checks

CARD = Path(__file__).resolve().parent.parent / "avatar_agent" / "assets" / "MOTION_MODEL.md"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="run folder holding the check files")
    ap.add_argument("--card", default=str(CARD), help="card to rewrite")
    ap.add_argument("names", nargs="+", choices=sorted(CHECKS), help="checks to write")
    args = ap.parse_args()
    for line in refresh_checks(Path(args.run), Path(args.card), args.names):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
