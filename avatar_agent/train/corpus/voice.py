"""A user's voice folder: recordings + transcripts → aligned utterances for fine-tuning.

A voice bot speaks with one TTS voice. ``avatar-agent train adapt --voice DIR`` fine-tunes the
motion model to it from a folder of that voice's speech, in either layout:

* ``NAME.wav`` + ``NAME.txt`` pairs (any audio FFmpeg reads: ``.wav .flac .mp3 .ogg .m4a``);
* an LJSpeech-style ``metadata.csv`` (``NAME|text`` or ``NAME|text|normalised text`` lines)
  with the audio in ``wavs/NAME.wav`` or ``NAME.wav``.

Transcripts are aligned with pocketsphinx (:func:`avatar_agent.train.corpus.align.align`),
as the corpus's real recordings are, except that words outside its dictionary (names,
brands) get espeak-ng's pronunciation; no phone stream from the TTS engine is needed. A seeded
share of the recordings is held out, so the fine-tune is scored on sentences it did not hear.
The result is a ``manifest.jsonl`` in the corpus format (engine ``voice``), reused when the
folder is unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_agent.audio import AudioError, decode_audio, load_audio, to_mono
from avatar_agent.train.corpus import align
from avatar_agent.train.corpus.build import Utterance
from avatar_agent.train.phones import Phone, check_phones

__all__ = [
    "AUDIO_SUFFIXES",
    "MIN_RECORDINGS",
    "VoiceFolderError",
    "VoiceItem",
    "align_voice",
    "load_voice",
    "read_voice_folder",
    "voice_fingerprint",
]

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
"""Audio file types a voice folder may hold."""

MIN_RECORDINGS = 5
"""Fewest recordings that must align (at least one is held out for scoring)."""


class VoiceFolderError(ValueError):
    """The voice folder is missing, empty, malformed, or too little of it aligns."""


@dataclass(frozen=True)
class VoiceItem:
    """One recording of the voice folder.

    Attributes:
        name: File stem (unique in the folder).
        audio: Audio file.
        text: Its transcript.
    """

    name: str
    audio: Path
    text: str


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise VoiceFolderError(f"{path} is not UTF-8 text ({e.reason})") from e


def _from_metadata(folder: Path) -> list[VoiceItem]:
    items = []
    lines = _read_text(folder / "metadata.csv").splitlines()
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 2 or not parts[0].strip():
            raise VoiceFolderError(f"{folder / 'metadata.csv'} line {k}: expected NAME|text")
        name, text = parts[0].strip(), (parts[2] if len(parts) > 2 else parts[1]).strip()
        audio = next(
            (p for p in (folder / "wavs" / f"{name}.wav", folder / f"{name}.wav") if p.exists()),
            None,
        )
        if audio is None:
            raise VoiceFolderError(
                f"{folder / 'metadata.csv'} line {k}: no wavs/{name}.wav or {name}.wav"
            )
        if not text:
            raise VoiceFolderError(f"{folder / 'metadata.csv'} line {k}: empty transcript")
        items.append(VoiceItem(name, audio, text))
    return items


def read_voice_folder(folder: str | os.PathLike[str]) -> list[VoiceItem]:
    """List the recordings of a voice folder with their transcripts (nothing decoded yet).

    Args:
        folder: ``NAME.wav`` + ``NAME.txt`` pairs, or ``metadata.csv`` + ``wavs/``.

    Returns:
        Items sorted by name.

    Raises:
        VoiceFolderError: No folder, no transcribed recording, an empty transcript, or a
            ``metadata.csv`` line naming missing audio.
    """
    root = Path(folder)
    if not root.is_dir():
        raise VoiceFolderError(f"voice folder {root} does not exist")
    if (root / "metadata.csv").exists():
        items = _from_metadata(root)
    else:
        items, untranscribed = [], []
        for audio in sorted(p for p in root.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
            txt = audio.with_suffix(".txt")
            if not txt.exists():
                untranscribed.append(audio.name)
                continue
            text = " ".join(_read_text(txt).split())
            if not text:
                raise VoiceFolderError(f"{txt} is empty: every recording needs its transcript")
            items.append(VoiceItem(audio.stem, audio, text))
        if not items:
            hint = (
                f" ({len(untranscribed)} without a .txt, e.g. {untranscribed[0]})"
                if untranscribed
                else ""
            )
            raise VoiceFolderError(
                f"no transcribed recordings in {root}: expected NAME.wav + NAME.txt pairs "
                f"or metadata.csv{hint}"
            )
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise VoiceFolderError(f"{root}: two recordings share a name")
    return sorted(items, key=lambda it: it.name)


def voice_fingerprint(folder: str | os.PathLike[str], holdout: float, seed: int) -> list:
    """What an alignment depends on: the split settings and every recording's name, text, size.

    Args:
        folder: The voice folder.
        holdout: Held-out share.
        seed: Split seed.

    Returns:
        A JSON-able list (equal lists: the saved alignment is still valid).
    """
    return _key(read_voice_folder(folder), holdout, seed)


def _key(items: list[VoiceItem], holdout: float, seed: int) -> list:
    return [holdout, seed] + [[it.name, it.text, it.audio.stat().st_size] for it in items]


def align_voice(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    holdout: float = 0.15,
    seed: int = 0,
    min_seconds: float = 0.5,
    max_seconds: float = 30.0,
) -> dict:
    """Align a voice folder and split it into tuning and held-out recordings.

    Writes ``out_dir/manifest.jsonl`` (corpus format: engine ``voice``, split ``train`` or
    ``eval``, absolute audio paths) and ``out_dir/voice.json`` (what was used and why the
    rest was not). An unchanged folder with the same split settings is not aligned again.

    Args:
        folder: The voice folder (:func:`read_voice_folder`).
        out_dir: Where the manifest goes.
        holdout: Share of the aligned recordings held out for scoring (at least one, and
            at least one left to tune on).
        seed: Seed of the split.
        min_seconds: Shorter recordings are left out.
        max_seconds: Longer recordings are left out (split long audio into sentences).

    Returns:
        The summary saved in ``voice.json``.

    Raises:
        VoiceFolderError: Bad folder (see :func:`read_voice_folder`), a bad ``holdout``,
            pocketsphinx missing, or fewer than :data:`MIN_RECORDINGS` recordings aligned.
    """
    if not 0.0 < holdout < 1.0:
        raise VoiceFolderError(f"holdout must be between 0 and 1, got {holdout}")
    items = read_voice_folder(folder)
    out = Path(out_dir)
    summary_path = out / "voice.json"
    key = _key(items, holdout, seed)
    if summary_path.exists() and (out / "manifest.jsonl").exists():
        old = json.loads(summary_path.read_text())
        if old.get("fingerprint") == key:
            return old
    if not align.available():
        raise VoiceFolderError("aligning a voice folder needs pocketsphinx (pip install .[train])")
    records, failed, left_out = [], [], []
    for it in items:
        try:
            x, rate = decode_audio(it.audio)
        except AudioError as e:
            failed.append(f"{it.name}: {e}")
            continue
        x = to_mono(x)
        seconds = x.size / rate
        if not min_seconds <= seconds <= max_seconds:
            left_out.append(f"{it.name}: {seconds:.2f} s")
            continue
        try:
            phones = align.align(x, rate, it.text, guess_unknown=True)
        except align.AlignError as e:
            failed.append(f"{it.name}: {e}")
            continue
        records.append({
            "id": f"voice-{it.name}", "engine": "voice", "voice": Path(folder).resolve().name,
            "text": it.text, "audio": str(it.audio.resolve()), "sample_rate": int(rate),
            "duration": round(seconds, 6), "timing": "pocketsphinx",
            "phones": [[p.symbol, round(p.start, 6), round(p.end, 6)] for p in phones],
        })  # fmt: skip
    if len(records) < MIN_RECORDINGS:
        why = "; ".join((failed + left_out)[:3])
        raise VoiceFolderError(
            f"only {len(records)} of {len(items)} recordings in {folder} aligned (at least "
            f"{MIN_RECORDINGS} needed){': ' + why if why else ''}"
        )
    rng = np.random.default_rng(seed)
    n_held = min(max(1, int(round(holdout * len(records)))), len(records) - 1)  # both splits
    held = set(int(i) for i in rng.choice(len(records), n_held, replace=False))
    for i, r in enumerate(records):
        r["split"] = "eval" if i in held else "train"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")

    def seconds_of(split: str) -> float:
        return round(sum(r["duration"] for r in records if r["split"] == split), 1)

    summary = {
        "folder": str(Path(folder).resolve()),
        "recordings": len(items),
        "tuning": len(records) - n_held,
        "held_out": n_held,
        "tuning_seconds": seconds_of("train"),
        "held_out_seconds": seconds_of("eval"),
        "failed": failed,
        "left_out": left_out,
        "fingerprint": key,
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load_voice(out_dir: str | os.PathLike[str], split: str) -> list[Utterance]:
    """The aligned recordings of one split (``train``: tuned on; ``eval``: held out).

    Args:
        out_dir: Folder :func:`align_voice` wrote.
        split: ``train`` or ``eval``.

    Returns:
        Utterances with 16 kHz audio.
    """
    path = Path(out_dir, "manifest.jsonl")
    if not path.exists():
        raise VoiceFolderError(f"{path} missing: align the voice folder first")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["split"] != split:
                continue
            phones = list(check_phones(Phone(s, float(a), float(b)) for s, a, b in r["phones"]))
            x = load_audio(r["audio"], 16000)
            ids = (r["id"], r["split"], r["engine"], r["voice"], r["text"])
            out.append(Utterance(*ids, x, phones))
    return out
