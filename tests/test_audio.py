"""Tests for avatar_agent.audio: decoding, cleaning, resampling, loudness, log-mel."""

from __future__ import annotations

import math
import wave

import av
import numpy as np
import pytest
from conftest import encode

from avatar_agent.audio import (
    TARGET_RATE,
    AudioError,
    LogMel,
    StreamingResampler,
    _mel_filterbank,
    decode_audio,
    frame_boundaries,
    frame_rms_db,
    load_audio,
    resample,
    sanitize,
    to_mono,
)

FREQS = (440.0, 660.0)  # left, right test tones
AMPS = (0.5, 0.25)


def tones(rate: int, channels: int, seconds: float = 0.5) -> np.ndarray:
    """(channels, n) float32: 440 Hz at 0.5 on the left, 660 Hz at 0.25 on the right."""
    t = np.arange(int(rate * seconds)) / rate
    rows = [a * np.sin(2 * np.pi * f * t) for f, a in zip(FREQS, AMPS, strict=True)]
    return np.stack(rows[:channels]).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window), refined by parabolic interpolation."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(x)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# --------------------------------------------------------------------------- decode

RATES = (8000, 44100, 48000)
CASES = [
    # (format, codec, extension, rate, channels, options, exact length, rate out)
    *[("wav", "pcm_s16le", "wav", r, c, {}, True, r) for r in RATES for c in (1, 2)],
    *[("flac", "flac", "flac", r, c, {}, True, r) for r in RATES for c in (1, 2)],
    *[("mp3", "libmp3lame", "mp3", r, c, {}, True, r) for r in RATES for c in (1, 2)],
    # FFmpeg's native Vorbis encoder is stereo-only; Opus is decoded at 48 kHz.
    *[("ogg", "vorbis", "ogg", r, 2, {"strict": "experimental"}, False, r) for r in RATES],
    ("ogg", "libopus", "ogg", 48000, 1, {}, False, 48000),
    ("ogg", "libopus", "ogg", 8000, 1, {}, False, 48000),
    ("wav", "pcm_f32le", "wav", 48000, 2, {}, True, 48000),
    ("wav", "pcm_u8", "wav", 8000, 1, {}, True, 8000),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "codec", "ext", "rate", "channels", "opts", "exact", "rate_out"),
                         CASES)  # fmt: skip
def test_decode_formats(tmp_path, fmt, codec, ext, rate, channels, opts, exact, rate_out):
    x = tones(rate, channels)
    path = encode(tmp_path / f"tone.{ext}", fmt, codec, x, rate, **opts)
    y, sr = decode_audio(path)
    assert sr == rate_out
    assert y.dtype == np.float32 and y.ndim == 2 and y.shape[0] == channels
    want = x.shape[1] * rate_out // rate
    if exact:
        assert y.shape[1] == want
    else:  # lossy codecs may pad to whole frames
        assert want <= y.shape[1] <= want + 2048 * rate_out // rate + 1024
    assert np.abs(y).max() <= 1.0
    for ch in range(channels):
        seg = y[ch, y.shape[1] // 4 : y.shape[1] * 3 // 4]
        # FFmpeg's experimental Vorbis encoder smears the quieter channel by ~±15 Hz.
        assert peak_hz(seg, sr) == pytest.approx(FREQS[ch], abs=20.0 if codec == "vorbis" else 3.0)
        tol = 0.002 if codec.startswith("pcm") or codec == "flac" else 0.1
        assert rms(seg) == pytest.approx(AMPS[ch] / math.sqrt(2), rel=tol)


def test_decode_lossless_is_sample_exact(tmp_path):
    x = tones(44100, 2)
    q = np.round(x * 32767) / 32768  # representable in int16
    y, _ = decode_audio(encode(tmp_path / "t.flac", "flac", "flac", q, 44100))
    np.testing.assert_allclose(y, q, atol=1.5 / 32768)


def test_load_audio_stereo_44k_to_16k_mono(tmp_path):
    path = encode(tmp_path / "s.wav", "wav", "pcm_s16le", tones(44100, 2, 1.0), 44100)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == (16000,)
    # the mono mix holds both tones at half amplitude: 0.25 at 440 Hz, 0.125 at 660 Hz
    seg = y[4000:12000]
    assert peak_hz(seg, 16000) == pytest.approx(440, abs=1.0)
    spec = np.abs(np.fft.rfft(seg * np.hanning(8000)))  # 2 Hz bins
    assert spec[330] / spec[220] == pytest.approx(0.5, rel=0.02)
    assert rms(seg) == pytest.approx(math.hypot(0.25, 0.125) / math.sqrt(2), rel=0.005)
    assert len(load_audio(path, sample_rate=48000)) == 48000


def test_decode_errors(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        decode_audio(tmp_path / "missing.wav")
    text = tmp_path / "notes.wav"
    text.write_text("this is a text file, not audio\n" * 20)
    with pytest.raises(AudioError, match="cannot decode"):
        decode_audio(text)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        decode_audio(empty)
    zero = tmp_path / "zero.wav"
    with wave.open(str(zero), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")
    with pytest.raises(AudioError, match="no audio samples"):
        decode_audio(zero)
    with pytest.raises(AudioError, match="directory"):
        decode_audio(tmp_path)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError):
        decode_audio(junk)
    assert issubclass(AudioError, ValueError)


def test_decode_video_without_audio(tmp_path):
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioError, match="no audio stream"):
        decode_audio(path)


# --------------------------------------------------------------------------- sanitize / mono


def test_sanitize():
    x = np.array([0.5, np.nan, np.inf, -np.inf, 2.0, -3.0], dtype=np.float64)
    y = sanitize(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.5, 0, 0, 0, 1, -1])
    assert np.isnan(x[1])  # input untouched
    pcm = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    np.testing.assert_allclose(sanitize(pcm), [0, 0.5, -1, 32767 / 32768])
    f = np.zeros(3, np.float32)
    assert sanitize(f) is not f
    with pytest.raises(AudioError):
        sanitize(np.array(["a"]))


def test_to_mono():
    st = np.stack([np.ones(5), -np.ones(5) * 0.5]).astype(np.float32)
    np.testing.assert_allclose(to_mono(st), np.full(5, 0.25))
    m = np.arange(4, dtype=np.float32)
    out = to_mono(m)
    np.testing.assert_array_equal(out, m)
    assert out is not m and out.dtype == np.float32
    np.testing.assert_array_equal(to_mono(m[None, :]), m)
    with pytest.raises(AudioError, match="transpose"):
        to_mono(np.zeros((1000, 2)))
    with pytest.raises(AudioError):
        to_mono(np.zeros((2, 2, 2)))


# --------------------------------------------------------------------------- resampling

RATE_PAIRS = [(8000, 16000), (11025, 16000), (22050, 16000), (44100, 16000), (48000, 16000),
              (16000, 48000), (24000, 16000)]  # fmt: skip


@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_resample_sine(sr_in, sr_out):
    for f in (440.0, 1234.5, 3000.0):
        x = (0.5 * np.sin(2 * np.pi * f * np.arange(sr_in) / sr_in)).astype(np.float32)
        y = resample(x, sr_in, sr_out)
        assert y.dtype == np.float32 and len(y) == sr_out
        assert peak_hz(y, sr_out) == pytest.approx(f, abs=0.5)
        # Sample-accurate against the ideal resampled sine away from the edges.
        ideal = 0.5 * np.sin(2 * np.pi * f * np.arange(sr_out) / sr_out)
        edge = sr_out // 50
        assert np.abs(y - ideal)[edge:-edge].max() < 1e-3


@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_resample_length(sr_in, sr_out):
    for n in (0, 1, 2, 3, 7, 441, 1001, 12345):
        y = resample(np.zeros(n, np.float32), sr_in, sr_out)
        assert len(y) == round(n * sr_out / sr_in)


@pytest.mark.parametrize("sr_in", [22050, 44100, 48000])
def test_resample_rejects_aliases(sr_in):
    """Tones above the 8 kHz output Nyquist must not fold back into the band."""
    t = np.arange(sr_in) / sr_in
    for f in (8800.0, 10000.0, 12000.0):
        if f >= sr_in / 2:
            continue
        y = resample(np.sin(2 * np.pi * f * t).astype(np.float32), sr_in, 16000)
        assert 20 * np.log10(rms(y[500:-500]) / math.sqrt(0.5)) < -70


def test_upsample_rejects_images():
    x = np.sin(2 * np.pi * 3000 * np.arange(16000) / 16000).astype(np.float32)
    y = resample(x, 16000, 48000)[2000:-2000]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    hz = np.fft.rfftfreq(len(y), 1 / 48000)
    assert 20 * np.log10(spec[hz > 8000].max() / spec.max()) < -70


def test_resample_passband_flat():
    t = np.arange(48000) / 48000
    for f in (100.0, 1000.0, 4000.0, 6000.0):
        y = resample(np.sin(2 * np.pi * f * t).astype(np.float32), 48000, 16000)
        assert rms(y[1000:-1000]) * math.sqrt(2) == pytest.approx(1.0, abs=0.01)


def test_resample_same_rate_and_errors():
    x = np.arange(5, dtype=np.float32)
    y = resample(x, 16000, 16000)
    np.testing.assert_array_equal(x, y)
    assert y is not x
    with pytest.raises(AudioError):
        resample(x, 0, 16000)
    with pytest.raises(AudioError):
        resample(np.zeros((2, 5)), 8000, 16000)


@pytest.mark.parametrize(("sr_in", "sr_out"), [*RATE_PAIRS, (16000, 16000), (44099, 16000)])
def test_streaming_resampler_matches_one_shot(sr_in, sr_out):
    rng = np.random.default_rng(sr_in + sr_out)
    # (44099 Hz has 16000 filter phases, so its taps are computed on the fly: slower)
    x = (0.3 * rng.standard_normal(sr_in // 2 if sr_in == 44099 else sr_in * 2)).astype(np.float32)
    ref = resample(x, sr_in, sr_out)
    sr = StreamingResampler(sr_in, sr_out)
    outs, i, produced = [], 0, 0
    while i < len(x):
        n = int(rng.choice([0, 1, 7, 160, 441, 1024, 3000]))
        outs.append(sr.push(x[i : i + n]))
        i = min(i + n, len(x))
        produced += len(outs[-1])
        # Latency bound: everything but the last latency_in input samples is out.
        assert produced >= math.floor((i - sr.latency_in) * sr_out / sr_in) - 1
    outs.append(sr.flush())
    y = np.concatenate(outs)
    assert len(y) == len(ref)
    np.testing.assert_allclose(y, ref, atol=1e-6, rtol=0)
    # flush() resets: a second stream gives the same answer again.
    y2 = np.concatenate([sr.push(x), sr.flush()])
    np.testing.assert_allclose(y2, ref, atol=1e-6, rtol=0)


def test_streaming_resampler_no_clicks_on_sine():
    x = (0.8 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
    sr = StreamingResampler(44100, 16000)
    y = np.concatenate([sr.push(x[i : i + 441]) for i in range(0, len(x), 441)] + [sr.flush()])
    ideal = 0.8 * np.sin(2 * np.pi * 440 * np.arange(len(y)) / 16000)
    assert np.abs(y - ideal)[200:-200].max() < 1e-3


# --------------------------------------------------------------------------- frame loudness


def test_frame_boundaries_accumulate_exactly():
    b = frame_boundaries(300, 30, 16000)
    assert b[0] == 0 and b[-1] == 160000 and set(np.diff(b)) == {533, 534}
    assert np.all(np.abs(b - np.arange(301) * 16000 / 30) <= 0.5)
    b = frame_boundaries(30000, 30000 / 1001, 48000)
    assert b[-1] == 48048000  # 1001 s


def test_frame_rms_db():
    sr = TARGET_RATE
    t = np.arange(sr) / sr
    sine = np.sin(2 * np.pi * 500 * t)  # 640 samples per frame at 25 fps = 20 periods
    db = frame_rms_db(sine, 25)
    assert db.shape == (25,) and db.dtype == np.float32
    np.testing.assert_allclose(db, 20 * np.log10(1 / math.sqrt(2)), atol=0.01)
    np.testing.assert_allclose(frame_rms_db(0.1 * sine, 25), -23.01, atol=0.01)
    np.testing.assert_array_equal(frame_rms_db(np.zeros(sr), 25), -100.0)
    # default n_frames covers every sample; extra frames are padded with silence
    assert len(frame_rms_db(np.ones(1000), 30)) == math.ceil(1000 / (16000 / 30))
    db = frame_rms_db(np.ones(1000), 30, n_frames=5)
    assert db[0] == pytest.approx(0.0, abs=1e-6)
    assert db[1] == pytest.approx(10 * np.log10((1000 - 533) / 534), abs=1e-4)
    np.testing.assert_array_equal(db[2:], -100.0)
    # loud then quiet
    x = np.concatenate([np.full(sr // 2, 0.5), np.full(sr // 2, 0.001)])
    db = frame_rms_db(x, 50)
    np.testing.assert_allclose(db[:25], -6.02, atol=0.01)
    np.testing.assert_allclose(db[25:], -60.0, atol=0.01)
    assert len(frame_rms_db(np.zeros(0), 30)) == 0


# --------------------------------------------------------------------------- log-mel


def test_logmel_streaming_matches_one_shot():
    rng = np.random.default_rng(7)
    x = (0.2 * rng.standard_normal(3 * 16000 + 77)).astype(np.float32)
    ref = LogMel.compute(x)
    assert ref.shape == (math.ceil(len(x) / 160), 80) and ref.dtype == np.float32
    for _ in range(3):
        mel, outs, i = LogMel(), [], 0
        while i < len(x):
            n = int(rng.integers(0, 2000)) if rng.random() > 0.2 else int(rng.integers(0, 5))
            outs.append(mel.push(x[i : i + n]))
            i += n
            # every frame whose window has fully arrived is out
            assert mel.n_frames == max(0, (min(i, len(x)) - 200) // 160 + 1)
        outs.append(mel.flush())
        np.testing.assert_allclose(np.concatenate(outs), ref, atol=1e-5, rtol=0)


def test_logmel_shapes_and_silence():
    assert LogMel.compute(np.zeros(0)).shape == (0, 80)
    assert LogMel.compute(np.zeros(1)).shape == (1, 80)
    assert LogMel.compute(np.zeros(160)).shape == (1, 80)
    assert LogMel.compute(np.zeros(161)).shape == (2, 80)
    np.testing.assert_allclose(LogMel.compute(np.zeros(1600)), np.log(1e-6), rtol=1e-6)


def test_logmel_tone_lands_in_its_band():
    t = np.arange(16000) / 16000
    fb = _mel_filterbank(80, 512, 16000, 0.0, 8000.0)
    centres = np.argmax(fb, axis=0) * 16000 / 512  # FFT bin at each filter's peak
    for band in (10, 30, 60):
        f = centres[band]
        mel = LogMel.compute(np.sin(2 * np.pi * f * t))
        assert np.all(np.argmax(mel[5:-5], axis=1) == band)
    mel = LogMel.compute(np.sin(2 * np.pi * 440 * t))
    expected = int(np.argmax(fb[round(440 * 512 / 16000)]))
    assert expected in (14, 15)  # HTK scale: 440 Hz falls between bands 14 and 15
    assert set(np.argmax(mel[5:-5], axis=1)) <= {14, 15}
    assert np.argmax(mel[50]) == expected


def test_logmel_frames_centred_on_hops():
    x = np.zeros(16000, np.float32)
    x[1600] = 1.0  # t = 100 ms -> frame 10 is centred on it
    energy = LogMel.compute(x).max(axis=1)
    assert int(np.argmax(energy)) == 10
    # the click is inside frames 9..11 (window ±200 samples) and nowhere else
    assert np.all(energy[[9, 10, 11]] > -5) and np.all(np.delete(energy, [9, 10, 11]) < -13)
