"""Tests of the baseline audio → motion driver."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_agent.generator import SAMPLE_RATE, BaselineConfig, BaselineDriver, frame_bounds
from avatar_agent.motion import BLENDSHAPES, PARAM_INDEX, PARAMS

SR = SAMPLE_RATE


def speech_like(seconds: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Noise + tone syllables at 4 Hz, peaks near -18 dBFS RMS; 2 s talk, 0.8 s pause.

    Returns:
        The samples and their amplitude envelope.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    syll = np.floor(t * 4).astype(int)
    strength = rng.uniform(0.3, 1.0, syll.max() + 1)[syll]
    env = 0.15 * strength * np.sin(np.pi * 4 * t) ** 2
    env[(t % 2.8) >= 2.0] = 0.0
    carrier = 0.6 * rng.standard_normal(t.size) + 0.8 * np.sin(2 * np.pi * 180 * t)
    return (env * carrier).astype(np.float32), env


def frame_mean(x: np.ndarray, n_frames: int, fps: float) -> np.ndarray:
    b = frame_bounds(n_frames, fps)
    return np.array([x[b[i] : b[i + 1]].mean() if b[i] < len(x) else 0.0 for i in range(n_frames)])


def blink_onsets(blink: np.ndarray) -> np.ndarray:
    """Frame indices where a blink starts (value leaves 0)."""
    on = blink > 0
    return np.flatnonzero(on[1:] & ~on[:-1]) + 1


def blink_groups(blink: np.ndarray, fps: float) -> np.ndarray:
    """Onset times (s) of blink groups (a double blink counts once)."""
    times = blink_onsets(blink) / fps
    keep = np.concatenate([[True], np.diff(times) > 1.0]) if times.size else times.astype(bool)
    return times[keep]


def col(values: np.ndarray, name: str) -> np.ndarray:
    return values[:, PARAM_INDEX[name]]


def test_silence_rest_mouth_and_blinks() -> None:
    track = BaselineDriver().track(np.zeros(20 * SR, np.float32))
    v = track.values
    assert np.all(col(v, "jawOpen") == 0.0)
    for name in ("mouthClose", "mouthFunnel", "mouthStretchLeft", "browInnerUp"):
        assert np.all(col(v, name) == 0.0), name
    groups = blink_groups(col(v, "eyeBlinkLeft"), track.fps)
    assert len(groups) >= 3
    assert np.all(np.diff(groups) >= 2.0 - 1e-6) and np.all(np.diff(groups) <= 6.0 + 1e-6)
    assert np.array_equal(col(v, "eyeBlinkLeft"), col(v, "eyeBlinkRight"))


def test_noise_below_gate_keeps_mouth_closed() -> None:
    quiet = 10 ** (-60 / 20) * np.random.default_rng(0).standard_normal(5 * SR)
    assert np.all(BaselineDriver().track(quiet.astype(np.float32)).column("jawOpen") == 0.0)


def test_jaw_follows_envelope_and_closes_in_gaps() -> None:
    x, env = speech_like(14.0)
    track = BaselineDriver().track(x)
    jaw = track.column("jawOpen")
    ref = frame_mean(env, len(track), track.fps)
    r = np.corrcoef(jaw, ref)[0, 1]
    assert r > 0.7, r
    assert jaw.max() > 0.5
    t = track.times
    deep_gap = (t % 2.8 >= 2.3) & (t % 2.8 < 2.76)
    assert deep_gap.sum() > 20
    assert np.all(jaw[deep_gap] == 0.0)


def test_spectral_cue_funnel_vs_stretch() -> None:
    t = np.arange(3 * SR) / SR
    tone = (0.2 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    noise = (0.2 * np.random.default_rng(3).standard_normal(t.size)).astype(np.float32)
    a, b = BaselineDriver().track(tone).values[10:], BaselineDriver().track(noise).values[10:]
    assert col(a, "mouthFunnel").mean() > 2 * col(a, "mouthStretchLeft").mean()
    assert col(b, "mouthStretchLeft").mean() > 2 * col(b, "mouthFunnel").mean()
    assert col(a, "mouthFunnel").max() <= 0.3 and col(b, "mouthStretchLeft").max() <= 0.3


def test_onsets_raise_brows_and_nod() -> None:
    x, _ = speech_like(10.0)
    talk = BaselineDriver().track(x).values
    rest = BaselineDriver().track(np.zeros_like(x)).values
    assert col(talk, "browInnerUp").max() > 0.05
    assert col(talk, "browInnerUp").max() <= 0.3 + 1e-6
    assert (col(talk, "headPitch") - col(rest, "headPitch")).max() > 0.3


def test_sway_larger_while_speaking() -> None:
    t = np.arange(30 * SR) / SR
    steady = (0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    talk = BaselineDriver().track(steady).column("headYaw")[50:]
    rest = BaselineDriver().track(np.zeros_like(steady)).column("headYaw")[50:]
    assert 0.3 < np.abs(rest).max() < 3.0
    assert np.abs(talk).mean() > 1.4 * np.abs(rest).mean()


def test_deterministic_and_seeded() -> None:
    x, _ = speech_like(8.0)
    a = BaselineDriver(BaselineConfig(seed=5)).track(x).values
    b = BaselineDriver(BaselineConfig(seed=5)).track(x).values
    c = BaselineDriver(BaselineConfig(seed=6)).track(x).values
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_step_equals_track(fps: float) -> None:
    x, _ = speech_like(7.0)
    driver = BaselineDriver(BaselineConfig(fps=fps, seed=2))
    offline = driver.track(x).values
    b = frame_bounds(len(offline), fps)
    driver.step(x[:1000])  # state from before reset() must not leak
    driver.reset()
    online = np.stack([driver.step(x[b[i] : b[i + 1]]) for i in range(len(offline))])
    assert online.dtype == np.float32 and online.shape == (len(offline), len(PARAMS))
    assert np.array_equal(online, offline)


def test_blink_intervals_over_a_minute() -> None:
    x, _ = speech_like(60.0, seed=4)
    for fps in (25.0, 60.0):
        blink = BaselineDriver(BaselineConfig(fps=fps, seed=9)).track(x).column("eyeBlinkLeft")
        groups = blink_groups(blink, fps)
        gaps = np.diff(groups)
        assert len(groups) >= 10
        assert gaps.min() >= 2.0 - 1e-6 and gaps.max() <= 6.0 + 1e-6
        assert gaps.std() > 0.5  # not a fixed period
        assert blink.max() == 1.0
        # each blink lasts 150-250 ms and closes faster than it opens
        on = np.flatnonzero(blink > 0)
        runs = np.split(on, np.flatnonzero(np.diff(on) > 1) + 1)
        for run in runs:
            assert 0.1 <= len(run) / fps <= 0.25
            peak = run[np.argmax(blink[run])]
            assert peak - run[0] <= run[-1] - peak


def test_double_blinks_occur() -> None:
    cfg = BaselineConfig(double_blink_prob=0.5, seed=1)
    blink = BaselineDriver(cfg).track(np.zeros(60 * SR, np.float32)).column("eyeBlinkLeft")
    assert len(blink_onsets(blink)) > len(blink_groups(blink, cfg.fps))


def test_values_in_range_and_continuous() -> None:
    rng = np.random.default_rng(7)
    x, _ = speech_like(20.0)
    x = x * 4.0 + np.where(rng.random(x.size) < 0.001, 5.0, 0.0).astype(np.float32)
    v = BaselineDriver().track(x).values
    blend = v[:, : len(BLENDSHAPES)]
    assert blend.min() >= 0.0 and blend.max() <= 1.0
    assert col(v, "jawOpen").max() <= 0.7 + 1e-6
    assert np.all(col(v, "mouthClose") == 0.0)
    head = v[:, len(BLENDSHAPES) :]
    assert np.abs(head).max() < 6.0
    assert np.abs(np.diff(head, axis=0)).max() < 0.5  # degrees per frame at 25 fps
    for name in ("browInnerUp", "mouthFunnel", "mouthStretchLeft"):
        assert np.abs(np.diff(col(v, name))).max() < 0.2, name


@pytest.mark.parametrize(
    ("fps", "n_samples", "expected"),
    [(25.0, 24000, 38), (25.0, 24001, 38), (30.0, 24000, 45), (30.0, 24001, 46),
     (60.0, 24000, 90), (60.0, 24001, 91), (30.0, 16000, 30), (25.0, 0, 0)],
)  # fmt: skip
def test_frame_count(fps: float, n_samples: int, expected: int) -> None:
    track = BaselineDriver(BaselineConfig(fps=fps)).track(np.zeros(n_samples, np.float32))
    assert len(track) == expected and track.fps == fps


def test_explicit_frame_count_pads_with_silence() -> None:
    x, _ = speech_like(2.0)
    driver = BaselineDriver()
    full = driver.track(x).values
    longer = driver.track(x, n_frames=len(full) + 40).values
    assert np.array_equal(longer[: len(full)], full)
    assert np.all(longer[-10:, PARAM_INDEX["jawOpen"]] == 0.0)
    assert np.array_equal(driver.track(x, n_frames=10).values, full[:10])


def test_nan_and_inf_input_are_sanitized() -> None:
    x, _ = speech_like(4.0)
    bad = x.copy()
    bad[::97] = np.nan
    bad[5::331] = np.inf
    v = BaselineDriver().track(bad).values
    assert np.all(np.isfinite(v))
    assert col(v, "jawOpen").max() > 0.3
    all_nan = BaselineDriver().track(np.full(3 * SR, np.nan, np.float32)).values
    silent = BaselineDriver().track(np.zeros(3 * SR, np.float32)).values
    assert np.array_equal(all_nan, silent)
    frame = BaselineDriver().step(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert np.all(np.isfinite(frame))
    assert BaselineDriver().step(np.zeros(0, np.float32)).shape == (len(PARAMS),)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        BaselineDriver().track(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError):
        BaselineDriver().track(np.zeros(100, np.float32), n_frames=-1)
    with pytest.raises(ValueError):
        BaselineConfig(fps=0)
    with pytest.raises(ValueError):
        BaselineConfig(gate_db=-10, full_db=-20)
    with pytest.raises(ValueError):
        BaselineConfig(seed=-1)
