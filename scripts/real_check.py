"""Does real speech in training help on unseen natural voices? Train the run again with it.

Reproduces the real-speech finding of the model card: a second teacher and student are
trained on the run's own synthetic clips plus ``--copies`` augmented clips of each real
recording outside the evaluation subsets (the Asterisk prompts of the ``ivr`` voice that
evaluation does not score; :func:`avatar_agent.train.pipeline.real_train_utterances`), with
the same seed and steps. Both int8 rows go to ``<run>/real.json`` (the card reads it). The
``ivr`` voice is then seen in training (its scored prompts are not), so the verdict rests on
the voices neither run has heard: the human recordings and the neural Piper voice. It takes
as long as the run's own teacher and distillation, plus a couple of minutes of clips.

    .venv/bin/python scripts/real_check.py --run out/train --copies 8

With ``--voice DIR`` the real speech is a voice folder instead (``docs/adapt.md``: NAME.wav +
NAME.txt pairs, aligned with pocketsphinx, 15 % held out), trained into
``<run>/voice-<name>-c<copies>/`` and compared in ``<run>/real-<name>.json`` (not read by
the card), together with both models' scores on the folder's held-out recordings
(``voice_heldout``): e.g. the Piper voice made by ``scripts/make_voice_folder.py``, to see
whether a natural-sounding neural voice in training helps the voices neither run has heard.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from avatar_agent.train import pipeline


def main() -> None:
    """Train with real speech into ``<run>/real-c<copies>/``; write ``real.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train", help="evaluated run trained without it")
    ap.add_argument("--copies", type=int, default=8, help="clips per real recording")
    ap.add_argument("--voice", type=Path, default=None, help="a voice folder instead of ivr")
    a = ap.parse_args()
    run = Path(a.run)
    base = pipeline.load_or_create_config(run, None)
    if base.real_copies > 0 or a.copies <= 0:
        raise SystemExit(f"need a run without real speech and --copies > 0 ({run})")
    cfg = dataclasses.replace(base, real_copies=a.copies)
    sub, name = run / f"real-c{a.copies}", "real"
    if a.voice is not None:
        from avatar_agent.train.corpus.voice import align_voice

        voice = a.voice.resolve().name
        sub, name = run / f"voice-{voice}-c{a.copies}", f"real-{voice}"
        align_voice(a.voice, sub / "voice", seed=base.seed)
        cfg = dataclasses.replace(cfg, voice=str((sub / "voice").resolve()))
    fields = ("real_copies", "voice", "teacher_steps", "distill_steps", "seed")
    out = pipeline.compare_variant(run, sub, cfg, name, fields=fields)
    if a.voice is not None:  # also the folder's own held-out recordings, both models
        from avatar_agent.train.adapt import score_voice

        models = {"without": run / "motion.int8.onnx", "with": sub / "motion.int8.onnx"}
        scores = score_voice(models, sub / "voice", base.seed)
        print(scores.pop("table"))
        out["voice_heldout"] = scores
        (run / f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
