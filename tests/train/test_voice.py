"""A user's voice folder for ``train adapt``: layouts, early errors, alignment and the split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatar_agent.train.corpus import align, espeak
from avatar_agent.train.corpus.voice import (
    MIN_RECORDINGS,
    VoiceFolderError,
    align_voice,
    load_voice,
    read_voice_folder,
)
from avatar_agent.train.corpus.wavio import write_wav
from avatar_agent.train.phones import SILENCE

from .voice_folder import SENTENCES, VOICE, write_voice_folder


def _tone(path: Path, seconds: float = 1.0) -> None:
    t = np.arange(int(16000 * seconds)) / 16000
    write_wav(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)


def test_pairs_layout_skips_untranscribed_audio(tmp_path: Path) -> None:
    for name in ("b", "a"):
        _tone(tmp_path / f"{name}.wav")
        (tmp_path / f"{name}.txt").write_text(f"  line {name}\n  continued \n")
    _tone(tmp_path / "orphan.wav")  # no transcript: not used
    (tmp_path / "notes.txt").write_text("not a transcript of anything")
    items = read_voice_folder(tmp_path)
    assert [it.name for it in items] == ["a", "b"]
    assert items[0].text == "line a continued" and items[0].audio == tmp_path / "a.wav"


def test_metadata_csv_layout(tmp_path: Path) -> None:
    (tmp_path / "wavs").mkdir()
    _tone(tmp_path / "wavs" / "LJ001.wav")
    _tone(tmp_path / "LJ002.wav")
    (tmp_path / "metadata.csv").write_text(
        "LJ001|Dr. Smith is in.|Doctor Smith is in.\nLJ002|Two cats.\n\n"
    )
    items = read_voice_folder(tmp_path)
    assert [(it.name, it.text) for it in items] == [
        ("LJ001", "Doctor Smith is in."),  # the normalised column when there is one
        ("LJ002", "Two cats."),
    ]
    assert items[0].audio == tmp_path / "wavs" / "LJ001.wav"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no transcribed recordings"),
        ({"a.wav": None}, "1 without a .txt, e.g. a.wav"),
        ({"a.wav": None, "a.txt": " \n"}, "a.txt is empty"),
        ({"metadata.csv": "x|hello\n"}, "line 1: no wavs/x.wav or x.wav"),
        ({"metadata.csv": "just text\n"}, "line 1: expected NAME|text"),
        ({"metadata.csv": "a|one\na|two\n", "a.wav": None}, "two recordings share a name"),
        ({"a.wav": None, "a.txt": b"caf\xe9"}, "a.txt is not UTF-8 text"),
    ],
)
def test_bad_folders_fail_early_with_the_reason(
    tmp_path: Path, files: dict[str, str | bytes | None], message: str
) -> None:
    for name, text in files.items():
        if text is None:
            _tone(tmp_path / name)
        elif isinstance(text, bytes):
            (tmp_path / name).write_bytes(text)
        else:
            (tmp_path / name).write_text(text)
    with pytest.raises(VoiceFolderError, match=message):
        read_voice_folder(tmp_path)
    with pytest.raises(VoiceFolderError, match="does not exist"):
        read_voice_folder(tmp_path / "nowhere")


@pytest.mark.skipif(not espeak.available(), reason="libespeak-ng not installed")
@pytest.mark.skipif(not align.available(), reason="pocketsphinx not installed")
def test_align_split_reuse_and_too_little_speech(tmp_path: Path) -> None:
    folder = write_voice_folder(tmp_path / "voice")
    x, rate, _ = espeak.synth("Hi.", VOICE)
    write_wav(folder / "short.wav", x[: rate // 4], rate)  # 0.25 s: left out by length
    (folder / "short.txt").write_text("Hi.")
    x, rate, _ = espeak.synth("This is Yuki from Vancouver.", VOICE)
    write_wav(folder / "name.wav", x, rate)  # "yuki" is not in pocketsphinx's dictionary
    (folder / "name.txt").write_text("This is Yuki from Vancouver.")
    (folder / "broken.wav").write_bytes(b"not audio at all")
    (folder / "broken.txt").write_text("Nothing to hear.")
    out = tmp_path / "aligned"

    info = align_voice(folder, out, holdout=0.3, seed=1)
    assert info["recordings"] == len(SENTENCES) + 3
    assert info["tuning"] + info["held_out"] == len(SENTENCES) + 1  # the name is guessed
    assert info["held_out"] == 2  # round(0.3 x 8)
    assert [f.split(":")[0] for f in info["failed"]] == ["broken"]
    assert [f.split(":")[0] for f in info["left_out"]] == ["short"]
    named = next(r for r in map(json.loads, (out / "manifest.jsonl").open()) if "name" in r["id"])
    syms = [p[0] for p in named["phones"]]
    assert "Y UW K IY" in " ".join(syms)  # espeak-ng's pronunciation of the name, aligned
    with pytest.raises(align.AlignError, match=r"not in the pocketsphinx dictionary: \['yuki'\]"):
        align.align(x, rate, "This is Yuki from Vancouver.")  # the corpus's aligner: no guesses
    tune, held = load_voice(out, "train"), load_voice(out, "eval")
    assert len(tune) == info["tuning"] and len(held) == info["held_out"]
    assert not {u.id for u in tune} & {u.id for u in held}
    for u in tune + held:
        assert u.engine == "voice" and u.voice == "voice"
        assert u.phones[0].start == 0.0
        assert u.phones[-1].end == pytest.approx(len(u.samples16k) / 16000, abs=0.011)
        assert any(p.symbol != SILENCE for p in u.phones)

    stamp = (out / "manifest.jsonl").stat().st_mtime_ns
    assert align_voice(folder, out, holdout=0.3, seed=1) == info  # unchanged: reused
    assert (out / "manifest.jsonl").stat().st_mtime_ns == stamp
    other = align_voice(folder, out, holdout=0.3, seed=2)  # another split: aligned again
    assert (out / "manifest.jsonl").stat().st_mtime_ns != stamp
    assert {r["id"] for r in map(json.loads, (out / "manifest.jsonl").open())} == {
        u.id for u in tune + held
    }
    assert other["held_out"] == 2

    with pytest.raises(VoiceFolderError, match="holdout"):
        align_voice(folder, out, holdout=1.0)
    most = align_voice(folder, tmp_path / "most", holdout=0.99)
    assert (most["tuning"], most["held_out"]) == (1, len(SENTENCES))  # one left to tune on
    few = tmp_path / "few"
    few.mkdir()
    for name in ("s0", "s1", "broken"):
        for ext in (".wav", ".txt"):
            (few / f"{name}{ext}").write_bytes((folder / f"{name}{ext}").read_bytes())
    why = f"only 2 of 3 .*at least {MIN_RECORDINGS}.*broken: "
    with pytest.raises(VoiceFolderError, match=why):
        align_voice(few, tmp_path / "few-aligned")
