"""Festival synthesis with segment timings, run as a separate ``festival -b`` process.

A generated Scheme script synthesises a batch of sentences, saves each wave as RIFF and
prints every segment's name and end time (``(utt.relation.items utt 'Segment)``,
``(item.feat s "end")``). Voices: ``slt`` (``festvox-us-slt-hts``, HTS female, 32 kHz) and
``kal`` (``festvox-kallpc16k``, diphone male, 16 kHz; held out) and ``ked``
(``festvox-kdlpc16k``, diphone male, 16 kHz). Festival's phone names (CMU/radio
phone set) map to ARPAbet in :data:`FESTIVAL_TO_ARPABET`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus.segments import to_phones
from avatar_agent.train.phones import ARPABET, SILENCE, Phone

__all__ = [
    "FESTIVAL_TO_ARPABET",
    "FESTIVAL_VOICES",
    "FestivalError",
    "FestivalResult",
    "available",
    "synth_batch",
]

FESTIVAL_VOICES: dict[str, str] = {
    "slt": "voice_cmu_us_slt_arctic_hts",
    "kal": "voice_kal_diphone",
    "ked": "voice_ked_diphone",
}
"""Short voice name → Scheme function selecting it."""

FESTIVAL_TO_ARPABET: dict[str, tuple[str, ...]] = {
    **{p.lower(): (p,) for p in ARPABET},
    "pau": (SILENCE,), "h#": (SILENCE,), "brth": (SILENCE,), "ssil": (SILENCE,), "#": (SILENCE,),
    "ax": ("AH",), "axr": ("ER",), "ix": ("IH",), "ux": ("UW",), "dx": ("T",), "nx": ("N",),
    "hv": ("HH",), "el": ("AH", "L"), "em": ("AH", "M"), "en": ("AH", "N"), "q": ("T",),
    "tcl": ("T",), "dcl": ("D",),
}  # fmt: skip
"""Festival phone name → ARPAbet phones."""


class FestivalError(RuntimeError):
    """Festival missing or a batch failed."""


@dataclass
class FestivalResult:
    """One synthesised sentence.

    Attributes:
        text: Input text.
        samples: float32 mono samples.
        sample_rate: Rate in Hz.
        phones: Timed phones covering the audio.
    """

    text: str
    samples: np.ndarray
    sample_rate: int
    phones: list[Phone]


def available(voice: str | None = None) -> bool:
    """Whether the ``festival`` binary (and the voice, if given) is installed."""
    if shutil.which("festival") is None:
        return False
    if voice is None:
        return True
    dirs = {
        "slt": "us/cmu_us_slt_arctic_hts",
        "kal": "english/kal_diphone",
        "ked": "english/ked_diphone",
    }
    return Path("/usr/share/festival/voices", dirs[voice]).is_dir()


def _scheme_string(text: str) -> str:
    clean = " ".join(text.replace("\\", " ").split())
    return '"' + clean.replace('"', '\\"') + '"'


_PRELUDE = """
(define (avatar_dump name text)
  (let ((utt (SynthText text)))
    (utt.save.wave utt name 'riff)
    (format t "UTT %s\\n" name)
    (mapcar (lambda (s) (format t "SEG %s %f\\n" (item.name s) (item.feat s "end")))
            (utt.relation.items utt 'Segment))
    t))
"""


def synth_batch(
    texts: Sequence[str], voice: str = "slt", *, timeout: float = 600.0
) -> list[FestivalResult | None]:
    """Synthesise sentences with one festival process.

    Args:
        texts: Sentences.
        voice: ``"slt"``, ``"kal"`` or ``"ked"``.
        timeout: Seconds allowed for the whole batch.

    Returns:
        One result per text, ``None`` where festival failed on it.

    Raises:
        FestivalError: Festival is not installed or the process failed as a whole.
    """
    if voice not in FESTIVAL_VOICES:
        raise FestivalError(f"unknown festival voice {voice!r}")
    exe = shutil.which("festival")
    if exe is None:
        raise FestivalError("festival not found (apt-get install festival festvox-us-slt-hts)")
    with tempfile.TemporaryDirectory(prefix="festival-") as tmp:
        lines = [f"({FESTIVAL_VOICES[voice]})", _PRELUDE]
        for i, text in enumerate(texts):
            wav = Path(tmp, f"{i}.wav")
            lines.append(
                f'(unwind-protect (avatar_dump "{wav}" {_scheme_string(text)}) '
                f'(format t "FAIL {wav}\\n"))'
            )
        script = Path(tmp, "batch.scm")
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = subprocess.run(
            [exe, "-b", str(script)], capture_output=True, text=True, timeout=timeout, check=False
        )
        segs: dict[str, list[tuple[str, float]]] = {}
        current = None
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "UTT":
                current = parts[1]
                segs[current] = []
            elif len(parts) == 3 and parts[0] == "SEG" and current is not None:
                segs[current].append((parts[1], float(parts[2])))
        if not segs and texts:
            raise FestivalError(f"festival produced nothing: {proc.stderr.strip()[-400:]}")
        out: list[FestivalResult | None] = []
        for i, text in enumerate(texts):
            wav = str(Path(tmp, f"{i}.wav"))
            if wav not in segs or not Path(wav).is_file():
                out.append(None)
                continue
            try:
                out.append(_result(text, wav, segs[wav]))
            except (KeyError, ValueError):
                out.append(None)
        return out


def _result(text: str, wav_path: str, segs: list[tuple[str, float]]) -> FestivalResult:
    with wave.open(wav_path, "rb") as w:
        rate, n, ch = w.getframerate(), w.getnframes(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch).mean(axis=1)
    duration = pcm.size / rate
    labels, start = [], 0.0
    for name, end in segs:
        labels.append((name, start, end))
        start = end
    phones = to_phones(labels, FESTIVAL_TO_ARPABET, duration)
    return FestivalResult(text, (pcm / 32768.0).astype(np.float32), rate, phones)
