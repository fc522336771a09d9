"""Training clips (audio features + motion targets) and the window sampler.

A :class:`Clip` is one augmented utterance: log-mel at 100 Hz, motion targets at 25 fps, a
state label and an expression vector per frame. :class:`WindowSampler` cuts random windows
of ``context + n + lookahead`` frames (``n`` in 1..K) exactly the way the streaming driver
builds them, including the stream start (context before frame 0 is the rest pose over
silence) and a missing look-ahead (silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar_agent.audio import LogMel
from avatar_agent.generator.conditions import N_EXPRESSIONS, STATES
from avatar_agent.motion import PARAMS
from avatar_agent.train.specaug import SpecAugment

__all__ = ["Clip", "Batch", "WindowSampler", "SILENCE_MEL", "clip_stats", "mel_of"]

SILENCE_MEL = float(np.log(LogMel.EPS))
"""Log-mel value of digital silence."""

MELS_PER_FRAME = 4
SAMPLES_PER_FRAME = 640  # 16 kHz at 25 fps


@dataclass
class Clip:
    """One training track.

    Attributes:
        mel: ``(4 T, 80)`` float16 log-mel (frame ``j`` owns mel rows ``4j .. 4j+3``).
        motion: ``(T, P)`` float32 motion targets at 25 fps.
        state: ``(T,)`` int8 state index per frame.
        expression: ``(T, E)`` float16 expression vector per frame.
        whisper: ``(T, 384)`` float16 Whisper encoder features of the clip's audio
            (:mod:`~avatar_agent.train.whisper`), or None.
    """

    mel: np.ndarray
    motion: np.ndarray
    state: np.ndarray
    expression: np.ndarray
    whisper: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = len(self.motion)
        if self.mel.shape[0] != MELS_PER_FRAME * t:
            raise ValueError(f"mel rows {self.mel.shape[0]} != 4 * frames {t}")
        if self.state.shape != (t,) or self.expression.shape != (t, N_EXPRESSIONS):
            raise ValueError("state/expression length must match motion frames")
        if self.whisper is not None and len(self.whisper) != t:
            raise ValueError(f"whisper frames {len(self.whisper)} != motion frames {t}")


def mel_of(samples16k: np.ndarray, n_frames: int) -> np.ndarray:
    """Log-mel rows for ``n_frames`` motion frames (zero-padded audio past the end).

    Args:
        samples16k: Mono 16 kHz samples.
        n_frames: Motion frames at 25 fps.

    Returns:
        float16 ``(4 n_frames, 80)``.
    """
    need = n_frames * SAMPLES_PER_FRAME
    x = np.zeros(need, np.float32)
    m = min(need, len(samples16k))
    x[:m] = samples16k[:m]
    mel = LogMel.compute(x)
    return mel[: MELS_PER_FRAME * n_frames].astype(np.float16)


@dataclass
class Batch:
    """A batch of windows (numpy, float32 unless noted).

    Attributes:
        motion: ``(B, L, P)`` raw target motion (context frames hold the context).
        role: ``(B, L, 3)`` one-hot roles.
        mel: ``(B, 4L, 80)`` raw log-mel.
        state: ``(B, L, S)`` one-hot states.
        expression: ``(B, L, E)``.
        gen: ``(B, L)`` bool, frames to generate.
        ctx_start: ``(B,)`` bool, windows at the stream start (context is the rest pose).
        whisper: ``(B, L, 384)`` Whisper features of the window's audio (None when no clip
            has them).
        whisper_mask: ``(B, L)`` 1 where ``whisper`` holds the features of the audio the
            window's log-mel shows (0 outside the clip, on silenced look-ahead, or for clips
            without features).
    """

    motion: np.ndarray
    role: np.ndarray
    mel: np.ndarray
    state: np.ndarray
    expression: np.ndarray
    gen: np.ndarray
    ctx_start: np.ndarray
    whisper: np.ndarray | None = None
    whisper_mask: np.ndarray | None = None


class WindowSampler:
    """Random windows from clips, shaped like the streaming driver's calls."""

    def __init__(
        self,
        clips: list[Clip],
        *,
        context: int,
        chunk: int,
        lookahead: int,
        seed: int,
        p_full_chunk: float = 0.6,
        p_no_lookahead: float = 0.1,
        p_stream_start: float = 0.05,
        spec_augment: SpecAugment | None = None,
    ) -> None:
        """Create a sampler.

        Args:
            clips: Training clips (at least one frame each).
            context: Context frames.
            chunk: Largest chunk K.
            lookahead: Look-ahead frames.
            seed: RNG seed.
            p_full_chunk: Share of windows with ``n = K`` (others uniform 1..K).
            p_no_lookahead: Share whose look-ahead audio is silence (segment end).
            p_stream_start: Share placed at frame 0 with a rest-pose, silent context.
            spec_augment: Log-mel augmentation drawn anew for every window (None: off).
        """
        if not clips:
            raise ValueError("no training clips")
        self.clips = clips
        self.context, self.chunk, self.lookahead = context, chunk, lookahead
        self.rng = np.random.default_rng(seed)
        lengths = np.array([len(c.motion) for c in clips], np.float64)
        self._p = lengths / lengths.sum()
        self.p_full_chunk = p_full_chunk
        self.p_no_lookahead = p_no_lookahead
        self.p_stream_start = p_stream_start
        self.spec_augment = spec_augment
        self._wdim = next((c.whisper.shape[1] for c in clips if c.whisper is not None), 0)
        self.has_whisper = self._wdim > 0

    def sample(self, batch: int, n: int | None = None) -> Batch:
        """Draw ``batch`` windows, all with the same chunk length (so they stack).

        Args:
            batch: Number of windows.
            n: Chunk length; default random (``K`` with ``p_full_chunk``, else 1..K).

        Returns:
            A :class:`Batch`.
        """
        rng = self.rng
        if n is None:
            n = (
                self.chunk
                if rng.random() < self.p_full_chunk
                else int(rng.integers(1, self.chunk + 1))
            )
        c, la = self.context, self.lookahead
        length = c + n + la
        n_params = len(PARAMS)
        motion = np.zeros((batch, length, n_params), np.float32)
        mel = np.full((batch, MELS_PER_FRAME * length, 80), SILENCE_MEL, np.float32)
        state = np.zeros((batch, length, len(STATES)), np.float32)
        expr = np.zeros((batch, length, N_EXPRESSIONS), np.float32)
        starts = np.zeros(batch, bool)
        whisper = np.zeros((batch, length, self._wdim), np.float32) if self.has_whisper else None
        wmask = np.zeros((batch, length), np.float32) if self.has_whisper else None
        idx = rng.choice(len(self.clips), size=batch, p=self._p)
        for b, k in enumerate(idx):
            clip = self.clips[k]
            t = len(clip.motion)
            if rng.random() < self.p_stream_start:
                j0 = 0
                starts[b] = True
            else:
                j0 = int(rng.integers(0, max(1, t - n + 1)))
            lo, hi = j0 - c, j0 + n + la  # window frames [lo, hi) in clip frames
            s, e = max(lo, 0), min(hi, t)
            if e > s:
                motion[b, s - lo : e - lo] = clip.motion[s:e]
                mel[b, 4 * (s - lo) : 4 * (e - lo)] = clip.mel[4 * s : 4 * e]
                st = clip.state[s:e]
                state[b, np.arange(s - lo, e - lo), st] = 1.0
                expr[b, s - lo : e - lo] = clip.expression[s:e]
                if whisper is not None and clip.whisper is not None:
                    whisper[b, s - lo : e - lo] = clip.whisper[s:e]
                    wmask[b, s - lo : e - lo] = 1.0  # type: ignore[index]
            # frames outside the clip: rest pose, silence, the nearest frame's labels
            if s - lo > 0:
                state[b, : s - lo, clip.state[0]] = 1.0
                expr[b, : s - lo] = clip.expression[0]
            if hi - e > 0:
                state[b, e - lo :, clip.state[t - 1]] = 1.0
                expr[b, e - lo :] = clip.expression[t - 1]
            if la and rng.random() < self.p_no_lookahead:
                mel[b, 4 * (c + n) :] = SILENCE_MEL
                if wmask is not None:
                    wmask[b, c + n :] = 0.0
        if self.spec_augment is not None:
            self.spec_augment(mel, rng)
        role = np.zeros((batch, length, 3), np.float32)
        role[:, :c, 0] = 1.0
        role[:, c : c + n, 1] = 1.0
        role[:, c + n :, 2] = 1.0
        gen = np.zeros((batch, length), bool)
        gen[:, c : c + n] = True
        return Batch(motion, role, mel, state, expr, gen, starts, whisper, wmask)


def clip_stats(clips: list[Clip]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin log-mel and per-parameter motion mean/std (std floored).

    Args:
        clips: Training clips.

    Returns:
        ``(mel_mean, mel_std, motion_mean, motion_std)`` as float32 arrays.
    """
    mel = np.concatenate([c.mel for c in clips]).astype(np.float64)
    mot = np.concatenate([c.motion for c in clips]).astype(np.float64)
    mel_mean, mel_std = mel.mean(0), np.maximum(mel.std(0), 1e-3)
    head = np.array([p.startswith("head") for p in PARAMS])
    floor = np.where(head, 1.0, 0.05)
    mot_mean = np.where(mot.std(0) > 1e-6, mot.mean(0), 0.0)
    mot_std = np.maximum(mot.std(0), floor)
    return (
        mel_mean.astype(np.float32),
        mel_std.astype(np.float32),
        mot_mean.astype(np.float32),
        mot_std.astype(np.float32),
    )
