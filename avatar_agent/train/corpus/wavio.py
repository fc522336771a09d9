"""16-bit mono WAV writing for the corpus (reading goes through :mod:`avatar_agent.audio`)."""

from __future__ import annotations

import os
import wave

import numpy as np

__all__ = ["write_wav"]


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples (-1..1) or int16 as a 16-bit mono WAV.

    Args:
        path: Output file.
        samples: Mono samples, float in -1..1 or int16.
        sample_rate: Rate in Hz.
    """
    x = np.asarray(samples)
    if x.dtype != np.int16:
        x = np.round(np.clip(np.nan_to_num(x.astype(np.float64)), -1.0, 32767 / 32768) * 32768)
        x = x.astype(np.int16)
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(x.astype("<i2").tobytes())
