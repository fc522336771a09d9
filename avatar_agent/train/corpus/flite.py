"""Flite synthesis with segment timings, one ``flite`` process per sentence.

``flite -voice V -psdur -t TEXT -o WAV`` prints every segment as ``name:end`` (seconds) and
writes a 16 kHz RIFF. Training voices: the clustergen voices ``awb`` (Scottish male), ``rms``
(US male) and ``slt`` (US female) built into Debian's ``flite`` package. ``kal``/``kal16``
(the diphone voice held out as festival ``kal``) are never used. Flite uses festival's phone
names, so :data:`~.festival.FESTIVAL_TO_ARPABET` maps them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus.festival import FESTIVAL_TO_ARPABET
from avatar_agent.train.corpus.segments import to_phones
from avatar_agent.train.phones import Phone

__all__ = ["FLITE_VOICES", "FliteError", "FliteResult", "available", "synth"]

FLITE_VOICES: tuple[str, ...] = ("awb", "rms", "slt")
"""Flite voices used for training (clustergen; never ``kal``/``kal16``, held out)."""


class FliteError(RuntimeError):
    """Flite missing or a sentence failed."""


@dataclass
class FliteResult:
    """One synthesised sentence.

    Attributes:
        samples: float32 mono samples.
        sample_rate: Rate in Hz.
        phones: Timed phones covering the audio.
    """

    samples: np.ndarray
    sample_rate: int
    phones: list[Phone]


def available() -> bool:
    """Whether the ``flite`` binary is installed (Debian ``flite``)."""
    return shutil.which("flite") is not None


def synth(text: str, voice: str, *, stretch: float = 1.0, timeout: float = 60.0) -> FliteResult:
    """Synthesise one sentence.

    Args:
        text: Sentence.
        voice: One of :data:`FLITE_VOICES`.
        stretch: Duration stretch (>1 is slower).
        timeout: Seconds allowed.

    Returns:
        The audio and its phones.

    Raises:
        FliteError: Flite is missing, the voice is not a training voice, or synthesis failed.
    """
    if voice not in FLITE_VOICES:
        raise FliteError(f"flite voice {voice!r} is not a training voice {FLITE_VOICES}")
    exe = shutil.which("flite")
    if exe is None:
        raise FliteError("flite not found (apt-get install flite)")
    clean = " ".join(text.split())
    with tempfile.TemporaryDirectory(prefix="flite-") as tmp:
        wav = Path(tmp, "out.wav")
        proc = subprocess.run(
            [exe, "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-psdur",
             "-t", clean, "-o", str(wav)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not wav.is_file():
            raise FliteError(f"flite failed: {proc.stderr.strip()[-300:]}")
        with wave.open(str(wav), "rb") as w:
            rate, n = w.getframerate(), w.getnframes()
            pcm = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.float32)
    labels, start = [], 0.0
    for tok in proc.stdout.split():
        name, sep, end = tok.rpartition(":")
        if not sep:
            continue
        try:
            t = float(end)
        except ValueError:
            continue
        labels.append((name, start, t))
        start = t
    if not labels:
        raise FliteError("flite printed no segments")
    try:
        phones = to_phones(labels, FESTIVAL_TO_ARPABET, pcm.size / rate)
    except (KeyError, ValueError) as e:
        raise FliteError(f"bad segments: {e}") from e
    return FliteResult(pcm / 32768.0, rate, phones)
