"""Forced alignment of audio + transcript → timed phones with pocketsphinx.

Uses the US English acoustic model and cmudict that the ``pocketsphinx`` wheel ships: a first
pass aligns words (``set_align_text``), a second pass aligns phones inside them
(``set_alignment``; ``get_alignment``). Frames are 10 ms. Used for real recordings and for
checking engines' own timings. When the first pass does not reach the end of the transcript
(typical for formant-synthesised espeak speech), it is retried without optional
silence/filler words between words.
"""

from __future__ import annotations

import os
import re
from functools import cache

import numpy as np

from avatar_agent.audio import resample
from avatar_agent.train.corpus.segments import to_phones
from avatar_agent.train.phones import ARPABET, SILENCE, Phone

__all__ = ["AlignError", "align", "available", "guess_pronunciation", "normalize_text"]

_FRAME = 0.01
_RATE = 16000
_PAD = 0.3  # seconds of silence added at both ends
_TABLE: dict[str, tuple[str, ...]] = {p: (p,) for p in ARPABET} | {"SIL": (SILENCE,)}

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


class AlignError(RuntimeError):
    """pocketsphinx missing, words not in its dictionary, or the alignment failed."""


def available() -> bool:
    """Whether pocketsphinx can be imported."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return (
            _number_words(n // 1000)
            + " thousand"
            + ("" if rest == 0 else " " + _number_words(rest))
        )
    return " ".join(_ONES[int(d)] for d in str(n))


def normalize_text(text: str) -> list[str]:
    """Lowercase words for the dictionary: digits spelled out, punctuation dropped.

    Args:
        text: Transcript.

    Returns:
        Words (apostrophes kept, hyphens split).
    """
    text = text.lower().replace("-", " ")
    text = re.sub(r"\d+", lambda m: " " + _number_words(int(m.group())) + " ", text)
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text)


@cache
def _decoder(fillers: bool = True, guessing: bool = False):  # noqa: ANN202
    # guessing decoders get espeak's pronunciations of unknown words; the others never do
    try:
        import pocketsphinx as ps
    except ImportError as e:
        raise AlignError("pocketsphinx is not installed (pip install pocketsphinx)") from e
    return ps.Decoder(samprate=_RATE, logfn=os.devnull, fsgusefiller=fillers)


@cache
def guess_pronunciation(word: str) -> str | None:
    """espeak-ng's pronunciation of a word, as pocketsphinx phones (``"Y UW K IY"``).

    Args:
        word: A lowercase word (names, brands: what the dictionary lacks).

    Returns:
        Space-separated ARPAbet phones, or ``None`` when espeak-ng is missing or fails.
    """
    from avatar_agent.train.corpus import espeak

    if not espeak.available():
        return None
    try:
        _, _, phones = espeak.synth(word, espeak.EspeakVoice("en-us"))
    except (espeak.EspeakError, KeyError, ValueError):
        return None
    return " ".join(p.symbol for p in phones if p.symbol != SILENCE) or None


def _run(dec, pcm: bytes, words: list[str]):  # noqa: ANN001, ANN202
    dec.set_align_text(" ".join(words))
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    if hyp is None or hyp.hypstr.split() != words:
        raise RuntimeError("word alignment did not reach the end of the transcript")
    dec.set_alignment()
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    return dec.get_alignment()


def align(
    samples: np.ndarray, sample_rate: int, text: str, *, guess_unknown: bool = False
) -> list[Phone]:
    """Force-align a transcript to mono audio.

    Args:
        samples: float mono samples in -1..1.
        sample_rate: Their rate (resampled to 16 kHz here).
        text: Transcript (normalised with :func:`normalize_text`).
        guess_unknown: Give words outside the dictionary espeak-ng's pronunciation
            (:func:`guess_pronunciation`) instead of failing. Off for the corpus, so its
            evaluation set does not depend on espeak-ng's letter-to-sound rules.

    Returns:
        Phones covering the audio (pocketsphinx silences and noise → ``sil``).

    Raises:
        AlignError: pocketsphinx missing, a word outside the dictionary (and no guess), or no
            alignment.
    """
    dec = _decoder(True, guess_unknown)
    words = normalize_text(text)
    missing = [w for w in words if dec.lookup_word(w) is None]
    if guess_unknown and missing:
        for w in list(missing):
            if (pron := guess_pronunciation(w)) is not None:
                for d in (dec, _decoder(False, True)):
                    d.add_word(w, pron, True)
                missing.remove(w)
    if not words or missing:
        raise AlignError(f"words not in the pocketsphinx dictionary: {missing or text!r}")
    x = np.asarray(samples, np.float32)
    if sample_rate != _RATE:
        x = resample(x, sample_rate, _RATE)
    n = x.size
    pad = np.zeros(int(_PAD * _RATE), np.float32)  # the grammar needs silence at both ends
    pcm = (np.clip(np.concatenate([pad, x, pad]), -1.0, 1.0) * 32767).astype("<i2").tobytes()
    try:
        alignment = _run(dec, pcm, words)
    except RuntimeError:
        # synthetic speech (espeak) often only aligns without optional fillers between words
        try:
            alignment = _run(_decoder(False, guess_unknown), pcm, words)
        except RuntimeError as e:
            raise AlignError(f"alignment failed: {e}") from e
    if alignment is None:
        raise AlignError("no alignment")
    labels = []
    for ph in alignment.phones():
        name = ph.name if ph.name in _TABLE else "SIL"
        start = ph.start * _FRAME - _PAD
        labels.append((name, start, start + ph.duration * _FRAME))
    if not any(lab[0] != "SIL" for lab in labels):
        raise AlignError("alignment has no phones")
    return to_phones(labels, _TABLE, n / _RATE)
