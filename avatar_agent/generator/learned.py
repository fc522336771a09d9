"""The learned streaming driver: the one-step ONNX generator behind :class:`MotionDriver`.

The model runs at its own rate (25 fps). For each call the driver keeps the audio it was
given, builds windows of ``context + chunk + look-ahead`` model frames (the context is the
motion it generated last, or the rest pose at the stream start; audio not yet available is
silence), computes their log-mel exactly like training (``LogMel`` framing: 10 ms frames
centred on multiples of 160 samples, 25 ms Hann windows), runs the model once per chunk
and, when the output rate is not 25 fps, interpolates linearly between model frames.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from avatar_agent.audio import LogMel, sanitize
from avatar_agent.generator.baseline import SAMPLE_RATE
from avatar_agent.generator.conditions import (
    N_EXPRESSIONS,
    STATES,
    expression_vector,
    state_index,
)
from avatar_agent.generator.onnx_model import OnnxMotionModel, find_motion_model
from avatar_agent.motion import HEAD_POSE, PARAMS, lip_contact

__all__ = ["LearnedMotionDriver", "find_motion_model"]

_N_BLEND = len(PARAMS) - len(HEAD_POSE)
_HEAD_LIMIT = 20.0


class _Mel:
    """Log-mel of arbitrary sample ranges with :class:`LogMel`'s framing."""

    def __init__(self) -> None:
        ref = LogMel()
        self.window = ref._window
        self.fb = ref._fb

    def frames(self, audio: np.ndarray, base: int, first: int, count: int) -> np.ndarray:
        """Mel frames ``first .. first+count`` of a stream (silence outside ``audio``).

        ``audio`` holds the stream's samples from index ``base`` on.
        """
        hop, win = LogMel.HOP, LogMel.WIN
        s0 = first * hop - win // 2
        n = (count - 1) * hop + win
        seg = np.zeros(n, np.float64)
        a0, a1 = max(s0, base), min(s0 + n, base + len(audio))
        if a1 > a0:
            seg[a0 - s0 : a1 - s0] = audio[a0 - base : a1 - base]
        fr = np.lib.stride_tricks.sliding_window_view(seg, win)[::hop][:count]
        spec = np.fft.rfft(fr * self.window, n=LogMel.N_FFT, axis=1)
        power = spec.real**2 + spec.imag**2
        # einsum, not ``@``: a BLAS matmul wakes OpenBLAS's spinning thread pool, which cost
        # a real-time stream ~35 % of a core for a product this small
        mel = np.einsum("ij,jk->ik", power, self.fb)
        return np.log(mel + LogMel.EPS).astype(np.float32)


class LearnedMotionDriver:
    """Streaming :class:`~avatar_agent.generator.driver.MotionDriver` of the learned model."""

    def __init__(self, model: OnnxMotionModel, *, fps: float = 25.0, seed: int = 0) -> None:
        """Wrap a loaded model.

        Args:
            model: The ONNX generator (or any object with its ``info`` and ``run``).
            fps: Output frame rate.
            seed: Seed of the generator's noise.
        """
        if not 1.0 <= fps <= 120.0:
            raise ValueError(f"fps must be between 1 and 120, got {fps}")
        self.model = model
        self.info = model.info
        self.fps = float(fps)
        self.seed = int(seed)
        # output frames of audio past a chunk that the model's look-ahead covers
        self.lookahead_frames = math.ceil(self.info.lookahead * self.fps / self.info.fps) + (
            0 if self.fps == self.info.fps else 1
        )
        self._mel = _Mel()
        self._spf = SAMPLE_RATE / self.info.fps  # samples per model frame
        self.reset()

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        fps: float = 25.0,
        seed: int = 0,
        threads: int = 1,
    ) -> LearnedMotionDriver:
        """Find and load the model (argument, ``$AVATAR_AGENT_MOTION_MODEL``, embedded).

        Args:
            path: Model file.
            fps: Output frame rate.
            seed: Noise seed.
            threads: ONNX Runtime intra-op threads.

        Returns:
            A driver.
        """
        return cls(OnnxMotionModel(find_motion_model(path), threads=threads), fps=fps, seed=seed)

    def reset(self) -> None:
        """Forget history; the next chunk is frame 0, starting from the rest pose."""
        self._rng = np.random.default_rng(self.seed)
        self._audio = np.zeros(0, np.float32)  # consumed samples from _base on
        self._base = 0
        self._consumed = 0  # total samples consumed
        self._out = 0  # output frames produced
        self._k = 0  # model frames generated
        self._frames = np.zeros((0, len(PARAMS)), np.float32)  # model frames from _fbase
        self._fbase = 0

    def generate(
        self,
        audio16k: np.ndarray,
        n_frames: int,
        *,
        lookahead16k: np.ndarray | None = None,
        state: str = "speaking",
        expression: np.ndarray | None = None,
    ) -> np.ndarray:
        """Generate the next ``n_frames`` output frames (see ``MotionDriver.generate``)."""
        n_frames = int(n_frames)
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        s_idx = state_index(state)
        expr = expression_vector(expression)
        x = sanitize(np.asarray(audio16k, np.float32).ravel()).astype(np.float32)
        la = (
            np.zeros(0, np.float32)
            if lookahead16k is None
            else sanitize(np.asarray(lookahead16k, np.float32).ravel()).astype(np.float32)
        )
        self._audio = np.concatenate([self._audio, x])
        self._consumed += len(x)
        avail = np.concatenate([self._audio, la])

        ratio = self.info.fps / self.fps
        first, last = self._out, self._out + n_frames - 1
        if ratio == 1.0:
            k_need = last
        else:
            k_need = max(0, math.ceil((last + 0.5) * ratio - 0.5))
        while self._k <= k_need:
            n = min(self.info.chunk, k_need - self._k + 1)
            self._run(n, avail, s_idx, expr)
        if ratio == 1.0:
            out = self._frames[first - self._fbase : last + 1 - self._fbase].copy()
        else:
            pos = (np.arange(first, last + 1) + 0.5) * ratio - 0.5
            pos = np.clip(pos, 0.0, None)
            k0 = np.floor(pos).astype(np.int64)
            frac = (pos - k0)[:, None].astype(np.float32)
            k1 = np.minimum(k0 + 1, self._k - 1)
            f0 = self._frames[k0 - self._fbase]
            f1 = self._frames[k1 - self._fbase]
            out = f0 + (f1 - f0) * frac
        self._out += n_frames
        self._trim()
        np.clip(out[:, :_N_BLEND], 0.0, 1.0, out=out[:, :_N_BLEND])
        np.clip(out[:, _N_BLEND:], -_HEAD_LIMIT, _HEAD_LIMIT, out=out[:, _N_BLEND:])
        lip_contact(out)  # the context keeps the model's own frames, overshoot included
        return out.astype(np.float32)

    def _run(self, n: int, avail: np.ndarray, s_idx: int, expr: np.ndarray) -> None:
        info = self.info
        c, a = info.context, info.lookahead
        k0 = self._k
        length = c + n + a
        ctx = np.zeros((1, c, len(PARAMS)), np.float32)
        for j in range(c):
            k = k0 - c + j
            if k >= self._fbase and k - self._fbase < len(self._frames):
                ctx[0, j] = self._frames[k - self._fbase]
        m0 = info.mels_per_frame * (k0 - c)
        mel = self._mel.frames(avail, self._base, m0, info.mels_per_frame * length)[None]
        role = np.zeros((1, length, 3), np.float32)
        role[0, :c, 0] = 1.0
        role[0, c : c + n, 1] = 1.0
        role[0, c + n :, 2] = 1.0
        st = np.zeros((1, length, len(STATES)), np.float32)
        st[0, :, s_idx] = 1.0
        ex = np.broadcast_to(expr.reshape(1, 1, N_EXPRESSIONS), (1, length, N_EXPRESSIONS))
        noise = self._rng.standard_normal((1, n, len(PARAMS))).astype(np.float32)
        y = self.model.run(ctx, noise, mel, role, st, np.ascontiguousarray(ex, np.float32))[0]
        self._frames = np.concatenate([self._frames, y.astype(np.float32)])
        self._k += n

    def _trim(self) -> None:
        """Drop audio and frames no future window can reach (bounded memory)."""
        keep_from = max(
            0, min(self._k - self.info.context, self._out * self.info.fps // self.fps - 2)
        )
        keep_from = int(keep_from)
        if keep_from > self._fbase:
            self._frames = self._frames[keep_from - self._fbase :]
            self._fbase = keep_from
        s_keep = int(
            (self._k - self.info.context) * self._spf - LogMel.WIN
        )  # earliest sample a future window reads
        if s_keep > self._base:
            cut = min(s_keep - self._base, len(self._audio))
            self._audio = self._audio[cut:]
            self._base += cut


def default_model_path() -> Path:
    """Path of the embedded model (may not exist in a checkout without a trained model)."""
    return find_motion_model(None)
