"""Seeded audio augmentations that keep phone times right (pure NumPy, 16 kHz mono).

Only :func:`speed` changes timing (phone times are scaled by ``1 / factor``); the other
effects keep the sample grid. :func:`augment` applies a random subset.
"""

from __future__ import annotations

import numpy as np

from avatar_agent.audio import resample
from avatar_agent.train.phones import Phone

__all__ = [
    "RATE",
    "add_noise",
    "augment",
    "equalize",
    "gain",
    "pitch_shift",
    "resample_through",
    "reverb",
    "speed",
    "telephone",
]

RATE = 16000


def _f32(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def speed(x: np.ndarray, phones: list[Phone], factor: float) -> tuple[np.ndarray, list[Phone]]:
    """Play faster (``factor > 1``) or slower, like tape: pitch moves with the speed.

    Args:
        x: float32 samples at 16 kHz.
        phones: Timed phones of ``x``.
        factor: Speed factor (e.g. 0.85..1.15).

    Returns:
        ``(samples, phones)`` with times scaled by ``1 / factor`` (exactly, in samples, the
        factor is rounded so that ``16000 * factor`` is an integer rate).
    """
    sr_in = _fast_rate(RATE * factor)
    y = resample(x, sr_in, RATE)
    scale = RATE / sr_in
    total = y.size / RATE
    out = [Phone(p.symbol, p.start * scale, min(p.end * scale, total)) for p in phones]
    out = [p for p in out if p.end > p.start]
    if out:
        out[-1] = Phone(out[-1].symbol, out[-1].start, total)
    return y, out


def _fast_rate(rate: float) -> int:
    """Round a rate to a multiple of 200 Hz: few polyphase phases, a cached filter table."""
    return max(200, int(round(rate / 200.0)) * 200)


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    win = np.hanning(n_fft).astype(np.float32)
    pad = np.pad(x, (n_fft, n_fft))
    n = 1 + (pad.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    return np.fft.rfft(pad[idx] * win, axis=1)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    win = np.hanning(n_fft)
    frames = np.fft.irfft(spec, n=n_fft, axis=1) * win
    idx = np.arange(n_fft)[None, :] + hop * np.arange(len(frames))[:, None]
    size = hop * (len(frames) - 1) + n_fft
    out = np.bincount(idx.ravel(), weights=frames.ravel(), minlength=size)
    norm = np.bincount(idx.ravel(), weights=np.broadcast_to(win**2, frames.shape).ravel(),
                       minlength=size)  # fmt: skip
    out = out / np.maximum(norm, 1e-6)
    return out[n_fft : n_fft + length].astype(np.float32)


def _stretch(x: np.ndarray, rate: float, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Phase-vocoder time stretch: output length ``len(x) / rate``."""
    spec = _stft(x, n_fft, hop)
    steps = np.arange(0, len(spec) - 1, rate)
    i = steps.astype(np.int64)
    frac = (steps - i)[:, None]
    mag = (1 - frac) * np.abs(spec[i]) + frac * np.abs(spec[i + 1])
    omega = 2 * np.pi * hop * np.arange(spec.shape[1]) / n_fft
    dphi = np.angle(spec[i + 1]) - np.angle(spec[i]) - omega
    dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
    inc = omega + dphi
    phase = np.angle(spec[0]) + np.concatenate(
        [np.zeros((1, inc.shape[1])), np.cumsum(inc[:-1], axis=0)]
    )
    return _istft(mag * np.exp(1j * phase), n_fft, hop, int(round(x.size / rate)))


def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Shift pitch, keeping duration and timing (phase vocoder + resampling).

    Args:
        x: float32 samples at 16 kHz.
        semitones: Shift (e.g. -4..4).

    Returns:
        Samples of the same length.
    """
    ratio = 2.0 ** (semitones / 12.0)
    if abs(ratio - 1.0) < 1e-3:
        return _f32(x).copy()
    stretched = _stretch(_f32(x), 1.0 / ratio)  # longer by ratio
    y = resample(stretched, _fast_rate(RATE * ratio), RATE)
    if y.size >= x.size:
        return y[: x.size]
    return np.pad(y, (0, x.size - y.size))


def gain(x: np.ndarray, db: float) -> np.ndarray:
    """Change loudness by ``db`` decibels and clip to -1..1."""
    return np.clip(_f32(x) * np.float32(10.0 ** (db / 20.0)), -1.0, 1.0)


def _colored(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    white = rng.standard_normal(n)
    if exponent == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / f ** (exponent / 2), n=n)
    return y / (np.std(y) + 1e-12)


def _babble(n: int, rng: np.random.Generator) -> np.ndarray:
    """Speech-shaped noise: pink noise with a syllable-rate (2–6 Hz) amplitude modulation."""
    y = np.zeros(n)
    t = np.arange(n) / RATE
    for _ in range(int(rng.integers(3, 7))):
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t + rng.uniform(0, 2 * np.pi))
        band = _colored(n, rng, 1.0)
        # crude formant-ish emphasis: difference filter keeps it in the speech band
        band = np.convolve(band, [1.0, rng.uniform(-0.9, 0.0)], mode="same")
        y += env**2 * band
    return y / (np.std(y) + 1e-12)


def add_noise(
    x: np.ndarray, rng: np.random.Generator, snr_db: float, kind: str = "white"
) -> np.ndarray:
    """Add noise at a signal-to-noise ratio.

    Args:
        x: float32 samples.
        rng: Random generator.
        snr_db: SNR in dB relative to the signal's RMS.
        kind: ``"white"``, ``"pink"``, ``"brown"`` or ``"babble"``.

    Returns:
        Noisy samples clipped to -1..1.
    """
    x = _f32(x)
    n = x.size
    if kind == "babble":
        noise = _babble(n, rng)
    else:
        noise = _colored(n, rng, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)
    noise *= rms / (10.0 ** (snr_db / 20.0))
    return np.clip(x + noise.astype(np.float32), -1.0, 1.0)


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float, wet: float = 0.5) -> np.ndarray:
    """Convolve with a synthetic room response (exponentially decaying noise).

    Args:
        x: float32 samples.
        rng: Random generator.
        rt60: Decay time to -60 dB in seconds.
        wet: Mix of the reverberant tail (0..1); the direct path stays at time 0.

    Returns:
        Samples of the same length (no delay added), peak-matched to the input.
    """
    x = _f32(x)
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    rir = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)
    rir[: int(0.002 * RATE)] = 0.0
    rir *= wet / (np.sqrt(np.sum(rir**2)) + 1e-12)
    rir[0] = 1.0
    m = x.size + n - 1
    size = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(rir, size), size)[: x.size]
    peak_in, peak_out = float(np.max(np.abs(x)) + 1e-9), float(np.max(np.abs(y)) + 1e-9)
    return np.clip(y * (peak_in / peak_out), -1.0, 1.0).astype(np.float32)


def _bandpass(x: np.ndarray, rate: int, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / rate)
    # smooth (raised-cosine) edges, 100 Hz wide
    w = np.clip((f - (lo - 100)) / 200, 0, 1) * np.clip(((hi + 100) - f) / 200, 0, 1)
    return np.fft.irfft(spec * (0.5 - 0.5 * np.cos(np.pi * w)), n=x.size)


def telephone(x: np.ndarray) -> np.ndarray:
    """Narrowband telephone channel: 300–3400 Hz at 8 kHz, 8-bit μ-law, back to 16 kHz.

    Args:
        x: float32 samples at 16 kHz.

    Returns:
        Samples of the same length.
    """
    y = resample(_f32(x), RATE, 8000)
    y = _bandpass(y, 8000, 300.0, 3400.0)
    mu = 255.0
    y = np.clip(y, -1.0, 1.0)
    comp = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    comp = np.round(comp * 127.0) / 127.0
    y = np.sign(comp) * np.expm1(np.abs(comp) * np.log1p(mu)) / mu
    out = resample(y.astype(np.float32), 8000, RATE)
    return np.pad(out, (0, max(0, x.size - out.size)))[: x.size]


def equalize(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Random timbre/channel colouring: a spectral tilt and two broad peaks or dips.

    The gain curve (dB over log frequency) is a tilt of up to ±4 dB per octave around 1 kHz
    plus two Gaussian bumps of ±9 dB (0.7-octave wide, centres 150 Hz–6 kHz), so voices and
    microphones the corpus lacks (brighter, duller, boxier) are seen in training.

    Args:
        x: float32 samples at 16 kHz.
        rng: Random generator.
        strength: Scales the gains (0: no change).

    Returns:
        Samples of the same length and RMS.
    """
    x = _f32(x)
    if x.size < 2:
        return x.copy()
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / RATE)
    octv = np.log2(np.maximum(f, 50.0) / 1000.0)
    db = rng.uniform(-4.0, 4.0) * strength * np.clip(octv, -3.0, 3.0)
    for _ in range(2):
        c = rng.uniform(np.log2(0.15), np.log2(6.0))
        db = db + rng.uniform(-9.0, 9.0) * strength * np.exp(-0.5 * ((octv - c) / 0.35) ** 2)
    y = np.fft.irfft(spec * 10.0 ** (db / 20.0), n=x.size)
    rms_in, rms_out = float(np.sqrt(np.mean(x * x))), float(np.sqrt(np.mean(y * y)))
    if rms_out > 1e-9:
        y *= rms_in / rms_out
    return y.astype(np.float32)


def resample_through(x: np.ndarray, rate: int) -> np.ndarray:
    """Resample to ``rate`` and back to 16 kHz (band-limits below 16 kHz, keeps length)."""
    y = resample(resample(_f32(x), RATE, rate), rate, RATE)
    return np.pad(y, (0, max(0, x.size - y.size)))[: x.size]


def augment(
    samples16k: np.ndarray,
    phones: list[Phone],
    rng: np.random.Generator,
    *,
    strength: float = 1.0,
) -> tuple[np.ndarray, list[Phone]]:
    """Apply a random subset of the augmentations.

    Each effect is applied with probability ``0.5 * strength`` (loudness always varies):
    speed ±15 %, pitch ±3 semitones, equalisation (:func:`equalize`), loudness -25..+6 dB,
    noise (white/pink/brown/babble, SNR 5..40 dB), reverb (RT60 0.1..0.8 s), telephone band,
    resampling through 8..48 kHz.
    Ranges shrink towards neutral with ``strength < 1``.

    Args:
        samples16k: float32 mono samples at 16 kHz.
        phones: Timed phones of the samples.
        rng: Random generator (the only source of randomness).
        strength: 0 (no change) .. 1 (full ranges and probabilities).

    Returns:
        ``(samples16k, phones)``: finite float32 in -1..1 and phones with matching times.
    """
    x = _f32(samples16k)
    s = float(np.clip(strength, 0.0, 1.0))
    if s == 0.0:
        return x.copy(), list(phones)
    p = 0.5 * s

    def on() -> bool:
        return bool(rng.random() < p)

    if on():
        x, phones = speed(x, phones, 1.0 + rng.uniform(-0.15, 0.15) * s)
    if on():
        x = pitch_shift(x, rng.uniform(-3.0, 3.0) * s)
    if on():
        x = equalize(x, rng, s)
    if on():
        x = reverb(x, rng, rng.uniform(0.1, 0.1 + 0.7 * s), wet=rng.uniform(0.2, 0.8))
    if on():
        x = resample_through(
            x, int(rng.choice([8000, 11025, 12000, 22050, 24000, 32000, 44100, 48000]))
        )
    if on():
        x = telephone(x)
    if on():
        kind = str(rng.choice(["white", "pink", "brown", "babble"]))
        x = add_noise(x, rng, rng.uniform(40.0 - 35.0 * s, 40.0), kind)
    x = gain(x, rng.uniform(-25.0 * s, 6.0 * s))
    return np.clip(np.nan_to_num(x), -1.0, 1.0).astype(np.float32), list(phones)
