"""On-the-fly log-mel augmentation: the warp moves formants by the asked factor, masks hit bands."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_agent.audio import LogMel
from avatar_agent.generator.conditions import N_EXPRESSIONS
from avatar_agent.motion import PARAMS
from avatar_agent.train.specaug import SpecAugment, mel_centres_hz, warp_mel
from avatar_agent.train.windows import SILENCE_MEL, Clip, WindowSampler


def _tone_mel(hz: float) -> np.ndarray:
    t = np.arange(16000) / 16000.0
    return LogMel.compute((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32))[20:40]


def _peak_hz(mel: np.ndarray) -> float:
    """Peak frequency by parabolic interpolation on the log-mel bins."""
    centres = mel_centres_hz()
    spec = mel.mean(0)
    k = int(spec.argmax())
    a, b, c = spec[k - 1], spec[k], spec[k + 1]
    off = 0.5 * (a - c) / (a - 2 * b + c)
    return float(np.interp(k + off, np.arange(len(centres)), centres))


@pytest.mark.parametrize("alpha", [0.87, 0.93, 1.08, 1.15])
def test_warp_moves_a_tone_by_alpha(alpha: float) -> None:
    mel = _tone_mel(1500.0).astype(np.float32)
    f0 = _peak_hz(mel)
    f1 = _peak_hz(warp_mel(mel[None], np.array([alpha]))[0])
    assert f1 / f0 == pytest.approx(alpha, rel=0.02)


def test_warp_by_one_is_identity_and_keeps_dtype() -> None:
    mel = np.random.default_rng(0).normal(size=(3, 8, 80)).astype(np.float32)
    out = warp_mel(mel, np.ones(3))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, mel, atol=1e-5)


def test_masks_replace_at_most_the_asked_bands_with_the_frame_mean() -> None:
    rng = np.random.default_rng(1)
    mel = rng.normal(size=(64, 12, 80)).astype(np.float32)
    before = mel.copy()
    out = SpecAugment(warp=0.0, masks=2, mask_width=8, p=1.0)(mel, np.random.default_rng(2))
    changed = (out != before).any(1)  # (B, M): a masked bin changes on every row
    assert changed.any(1).all()  # every window got a mask
    widths = changed.sum(1)
    assert widths.max() <= 16 and widths.min() >= 1
    for b in range(64):
        cols = np.flatnonzero(changed[b])
        # masked bins hold one value per row, the mean of the row before masking
        np.testing.assert_allclose(out[b][:, cols], np.broadcast_to(
            before[b].mean(1, keepdims=True), (12, len(cols))), atol=1e-5)  # fmt: skip
        assert (np.diff(out[b][:, cols], axis=1) == 0).all()


def test_probability_zero_changes_nothing_and_seed_repeats() -> None:
    mel = np.random.default_rng(3).normal(size=(16, 8, 80)).astype(np.float32)
    same = SpecAugment(p=0.0)(mel.copy(), np.random.default_rng(0))
    np.testing.assert_array_equal(same, mel)
    a = SpecAugment()(mel.copy(), np.random.default_rng(5))
    b = SpecAugment()(mel.copy(), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, mel)


def test_sampler_augments_audio_only() -> None:
    frames = 40
    rng = np.random.default_rng(0)
    clip = Clip(
        rng.normal(-6.0, 2.0, (4 * frames, 80)).astype(np.float16),
        rng.random((frames, len(PARAMS))).astype(np.float32),
        np.zeros(frames, np.int8),
        np.zeros((frames, N_EXPRESSIONS), np.float16),
    )
    kw = {"context": 4, "chunk": 8, "lookahead": 2, "seed": 7, "p_stream_start": 0.5}
    plain = WindowSampler([clip], **kw).sample(32)
    aug = WindowSampler([clip], spec_augment=SpecAugment(p=1.0), **kw).sample(32)
    np.testing.assert_array_equal(plain.motion, aug.motion)
    np.testing.assert_array_equal(plain.role, aug.role)
    assert not np.allclose(plain.mel, aug.mel)
    # the silent rows before a stream start stay digital silence
    silent = (plain.mel == SILENCE_MEL).all(-1)
    assert silent.sum() >= 16
    np.testing.assert_allclose(aug.mel[silent], SILENCE_MEL, atol=1e-4)
