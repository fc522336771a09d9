"""A real telephone voice: Asterisk's English prompts (evaluation; optionally training).

Debian's ``asterisk-core-sounds-en-wav`` (CC-BY-SA-3.0, Allison Smith; bookworm main) holds
the ~560 studio prompts of the Asterisk PBX as 8 kHz recordings, and
``asterisk-core-sounds-en`` holds their script (``core-sounds-en.txt.gz``, one
``name: text`` line per prompt). One professional US female voice at telephone bandwidth
(nothing above 4 kHz): a real human voice unlike any training engine, and the channel voice
bots are often heard through. Prompts are aligned with pocketsphinx; prompts whose text is
not a plain transcript (tones, silences, bracketed notes, "..." fragments) or has words
outside the pocketsphinx dictionary are left out and counted.

All prompts go into the corpus's ``eval`` split. Evaluation scores a seeded subset of them;
a run with ``TrainConfig.real_copies`` trains on the others
(:func:`avatar_agent.train.pipeline.real_train_utterances`), never on the scored ones.

The packages are fetched with ``apt-get download`` (no installation, no root needed beyond
what apt needs to read its lists) into a cache folder and unpacked with ``dpkg-deb -x``.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from pathlib import Path

from avatar_agent.audio import decode_audio, to_mono
from avatar_agent.train.corpus import align
from avatar_agent.train.corpus.human import cache_dir
from avatar_agent.train.corpus.wavio import write_wav

__all__ = ["PACKAGES", "SOUNDS", "build_ivr", "fetch_prompts", "read_script", "unpacked"]

PACKAGES = ("asterisk-core-sounds-en-wav", "asterisk-core-sounds-en")
"""Debian packages: the recordings and their script."""

SOUNDS = "usr/share/asterisk/sounds/en_US_f_Allison"
"""Where the recordings lie inside the unpacked package."""

_SCRIPT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
_SOURCE = "asterisk-core-sounds-en-wav (Debian, CC-BY-SA-3.0, Allison Smith)"


def unpacked(package: str, cache: Path) -> Path:
    """The unpacked tree of a Debian package, downloaded and unpacked when missing.

    Args:
        package: Debian package name (``apt-get download`` fetches it into ``cache``).
        cache: Download folder; the tree is ``cache/<package>``.

    Returns:
        The unpacked tree.

    Raises:
        RuntimeError: The download failed.
    """
    root = cache / package
    if (root / ".done").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        proc = subprocess.run(
            ["apt-get", "download", package],
            cwd=cache, capture_output=True, text=True, check=False,
        )  # fmt: skip
        debs = sorted(cache.glob(f"{package}_*.deb"))
        if not debs:
            raise RuntimeError(
                f"apt-get download {package} failed (run apt-get update first?): "
                f"{proc.stderr.strip()[-300:]}"
            )
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(root)], check=True)
    (root / ".done").write_text(debs[-1].name + "\n")
    return root


def read_script(path: Path) -> dict[str, str]:
    """``prompt name → text`` from the gzipped script (``name: text`` lines; ``;`` comments)."""
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            key, text = line.split(":", 1)
            out[key.strip()] = " ".join(text.split())
    return out


def _plain(text: str) -> str | None:
    """The prompt text if it is a plain transcript, else ``None``."""
    if "[" in text or "..." in text or "…" in text:
        return None
    return text if re.search(r"[A-Za-z]", text) else None


def fetch_prompts(cache: Path | None = None) -> tuple[list[tuple[str, Path, str]], int]:
    """The prompts with a plain transcript, fetching the packages if needed.

    Args:
        cache: Download folder (default ``~/.cache/avatar-agent/corpus-debs``).

    Returns:
        ``([(name, wav path, text)], prompts left out)``.
    """
    cache = cache or cache_dir("corpus-debs")
    sounds = unpacked(PACKAGES[0], cache) / SOUNDS
    script = read_script(unpacked(PACKAGES[1], cache) / _SCRIPT)
    items, skipped = [], 0
    for wav in sorted(sounds.rglob("*.wav")):
        name = wav.relative_to(sounds).with_suffix("").as_posix()
        text = _plain(script.get(name, ""))
        if text is None or name.startswith(("silence/", "letters/")):
            skipped += 1
            continue
        items.append((name, wav, text))
    return items, skipped


def build_ivr(out_dir: str | os.PathLike[str], *, min_seconds: float = 1.0) -> tuple[list, dict]:
    """Align the prompts and describe them for the manifest (engine ``ivr``, split ``eval``).

    Args:
        out_dir: Corpus folder (audio goes to ``audio/ivr-*.wav``).
        min_seconds: Shorter prompts (single words) are left out.

    Returns:
        ``(manifest records, info)``; info counts prompts used, left out and failed.
    """
    out = Path(out_dir)
    info: dict = {"source": _SOURCE, "used": 0, "left_out": 0, "failed": []}
    if not align.available():
        info["skipped"] = "pocketsphinx not installed"
        return [], info
    try:
        items, info["left_out"] = fetch_prompts()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        info["skipped"] = str(e)
        return [], info
    records = []
    (out / "audio").mkdir(parents=True, exist_ok=True)
    for name, wav, text in items:
        x, rate = decode_audio(wav)
        x = to_mono(x)
        if x.size / rate < min_seconds:
            info["left_out"] += 1
            continue
        try:
            phones = align.align(x, rate, text)
        except align.AlignError as e:
            info["failed"].append(f"{name}: {e}")
            continue
        uid = "ivr-" + name.replace("/", "-")
        rel = f"audio/{uid}.wav"
        write_wav(out / rel, x, rate)
        records.append({
            "id": uid, "split": "eval", "engine": "ivr", "voice": "allison",
            "text": text, "audio": rel, "sample_rate": int(rate),
            "duration": round(x.size / rate, 6), "source": _SOURCE, "timing": "pocketsphinx",
            "phones": [[p.symbol, round(p.start, 6), round(p.end, 6)] for p in phones],
        })  # fmt: skip
    info["used"] = len(records)
    return records, info
