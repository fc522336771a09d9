"""The streaming motion-driver contract every generator implements, and a factory.

A driver turns 16 kHz mono audio into motion frames chunk by chunk. The caller (the engine,
or the offline ``track`` helpers) owns timing: it hands the driver exactly the audio of the
next ``n_frames`` output frames, plus optional look-ahead audio that follows them, the
current conversational state and expression vector. The driver keeps its own history
(previous motion, feature context) so consecutive chunks join without seams, including
across state and expression changes.

Frame ``i`` (counted from the last :meth:`MotionDriver.reset`) covers samples
``[b[i], b[i+1])`` with ``b = frame_bounds(i + 1, fps)``; callers pass audio accordingly.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from avatar_agent.generator.baseline import SAMPLE_RATE, BaselineConfig, BaselineDriver
from avatar_agent.generator.conditions import expression_vector, overlay, state_index
from avatar_agent.motion import PARAM_INDEX, PARAMS, MotionTrack

__all__ = [
    "DRIVERS",
    "MotionDriver",
    "BaselineMotionDriver",
    "make_driver",
    "drive_track",
]

DRIVERS: tuple[str, ...] = ("auto", "learned", "baseline")
"""Driver names accepted by :func:`make_driver` (``auto``: learned if its model is found)."""

_MOUTH = [i for i, p in enumerate(PARAMS) if p.startswith(("mouth", "jaw", "cheek", "tongue"))]


@runtime_checkable
class MotionDriver(Protocol):
    """Streaming audio → motion generator.

    Attributes:
        fps: Output frame rate.
        lookahead_frames: Output frames of audio past the chunk the driver can use (the
            caller may pass less, e.g. at the end of a segment; missing audio is silence).
    """

    fps: float
    lookahead_frames: int

    def reset(self) -> None:
        """Forget history; the next chunk starts at frame 0 from the rest pose."""
        ...

    def generate(
        self,
        audio16k: np.ndarray,
        n_frames: int,
        *,
        lookahead16k: np.ndarray | None = None,
        state: str = "speaking",
        expression: np.ndarray | None = None,
    ) -> np.ndarray:
        """Generate the next ``n_frames`` motion frames.

        Args:
            audio16k: 16 kHz mono float32 samples of exactly these frames.
            n_frames: Number of frames (>= 1).
            lookahead16k: Audio that follows the chunk (at most ``lookahead_frames`` frames).
            state: One of :data:`~avatar_agent.generator.conditions.STATES`.
            expression: Expression vector (see
                :func:`~avatar_agent.generator.conditions.expression_vector`); None = neutral.

        Returns:
            Float32 array ``(n_frames, len(PARAMS))``.
        """
        ...


class BaselineMotionDriver:
    """:class:`MotionDriver` around the loudness :class:`BaselineDriver`.

    The mouth follows the audio only in the ``speaking`` state (listening, idle and thinking
    keep it at rest); the expression overlay is added on top, and ``thinking`` glances aside.
    """

    lookahead_frames = 0

    def __init__(self, *, fps: float = 25.0, seed: int = 0) -> None:
        """Create the driver.

        Args:
            fps: Output frame rate.
            seed: Seed of blinks and sway.
        """
        self.fps = float(fps)
        self._inner = BaselineDriver(BaselineConfig(fps=fps, seed=seed))
        self._frame = 0
        self._aside = 0.0

    def reset(self) -> None:
        """Forget history (see :meth:`MotionDriver.reset`)."""
        self._inner.reset()
        self._frame = 0
        self._aside = 0.0

    def generate(
        self,
        audio16k: np.ndarray,
        n_frames: int,
        *,
        lookahead16k: np.ndarray | None = None,
        state: str = "speaking",
        expression: np.ndarray | None = None,
    ) -> np.ndarray:
        """Generate frames (see :meth:`MotionDriver.generate`)."""
        state_index(state)
        n_frames = int(n_frames)
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        x = np.asarray(audio16k, np.float32).ravel()
        b = _bounds(self._frame, n_frames, self.fps)
        b = b - b[0]
        offs = overlay(expression_vector(expression))
        k = math.exp(-1.0 / (0.4 * self.fps))
        out = np.empty((n_frames, len(PARAMS)), np.float32)
        for i in range(n_frames):
            f = self._inner.step(x[b[i] : b[i + 1]])
            if state != "speaking":
                f[_MOUTH] = 0.0
            target = 1.0 if state == "thinking" else 0.0
            self._aside = target + (self._aside - target) * k
            f[PARAM_INDEX["eyeLookUpLeft"]] += 0.35 * self._aside
            f[PARAM_INDEX["eyeLookUpRight"]] += 0.35 * self._aside
            f[PARAM_INDEX["eyeLookOutRight"]] += 0.3 * self._aside
            f[PARAM_INDEX["eyeLookInLeft"]] += 0.3 * self._aside
            f += offs
            n_blend = PARAM_INDEX["headYaw"]
            np.clip(f[:n_blend], 0.0, 1.0, out=f[:n_blend])
            out[i] = f
        self._frame += n_frames
        return out


def _bounds(first: int, n: int, fps: float) -> np.ndarray:
    """Absolute 16 kHz sample offsets of frames ``first .. first + n`` (n + 1 values)."""
    idx = np.arange(first, first + n + 1)
    return np.floor(idx * (SAMPLE_RATE / fps) + 0.5).astype(np.int64)


def make_driver(
    name: str = "auto",
    *,
    fps: float = 25.0,
    seed: int = 0,
    model: str | os.PathLike[str] | None = None,
) -> MotionDriver:
    """Create a motion driver by name.

    Args:
        name: ``auto`` (the learned model when its file is found, else the baseline),
            ``learned`` or ``baseline``.
        fps: Output frame rate.
        seed: Seed of stochastic motion (noise of the learned model, blinks of the baseline).
        model: Path of the learned model's ONNX file; default: argument, then the
            ``AVATAR_AGENT_MOTION_MODEL`` environment variable, then the embedded model.

    Returns:
        A :class:`MotionDriver`.

    Raises:
        ValueError: For an unknown name.
        ModelNotFoundError: If ``learned`` is asked for and no model file is found.
    """
    if name not in DRIVERS:
        raise ValueError(f"unknown driver {name!r}; expected one of {', '.join(DRIVERS)}")
    if name == "baseline":
        return BaselineMotionDriver(fps=fps, seed=seed)
    try:
        from avatar_agent.generator.learned import LearnedMotionDriver, find_motion_model
    except ImportError:  # learned driver not built yet
        if name == "learned":
            raise
        return BaselineMotionDriver(fps=fps, seed=seed)
    try:
        path = find_motion_model(model)
    except FileNotFoundError:
        # auto falls back only when nothing was configured; a wrong path is an error
        if name == "learned" or model is not None or os.environ.get("AVATAR_AGENT_MOTION_MODEL"):
            raise
        return BaselineMotionDriver(fps=fps, seed=seed)
    return LearnedMotionDriver(_shared_model(str(Path(path).resolve())), fps=fps, seed=seed)


@functools.lru_cache(maxsize=8)
def _shared_model(path: str):  # noqa: ANN202
    """One ONNX Runtime session per model file and process, shared by all drivers.

    Its ``run`` is thread-safe, so many streams in one worker load the model once.
    """
    from avatar_agent.generator.onnx_model import OnnxMotionModel

    return OnnxMotionModel(path)


def drive_track(
    driver: MotionDriver,
    samples16k: np.ndarray,
    n_frames: int | None = None,
    *,
    chunk: int = 8,
    state: str = "speaking",
    expression: np.ndarray | None = None,
) -> MotionTrack:
    """Run a driver over a whole clip offline, chunk by chunk, with full look-ahead.

    Args:
        driver: A driver; it is reset first.
        samples16k: 1-D 16 kHz mono samples.
        n_frames: Output length; default ``ceil(len * fps / 16000)``; frames past the audio
            are driven by silence.
        chunk: Frames per chunk.
        state: State label of every chunk.
        expression: Expression vector of every chunk.

    Returns:
        A :class:`MotionTrack` at ``driver.fps``.
    """
    x = np.asarray(samples16k, np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D mono samples, got shape {x.shape}")
    fps = driver.fps
    if n_frames is None:
        n_frames = math.ceil(len(x) * fps / SAMPLE_RATE - 1e-9)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    driver.reset()
    la = int(driver.lookahead_frames)
    b = _bounds(0, n_frames + la, fps)
    pad = np.zeros(max(0, int(b[-1]) - len(x)), np.float32)
    xp = np.concatenate([x[: b[-1]], pad])
    out = np.zeros((n_frames, len(PARAMS)), np.float32)
    for s in range(0, n_frames, chunk):
        n = min(chunk, n_frames - s)
        e = s + n
        out[s:e] = driver.generate(
            xp[b[s] : b[e]],
            n,
            lookahead16k=xp[b[e] : b[min(e + la, n_frames + la)]] if la else None,
            state=state,
            expression=expression,
        )
    return MotionTrack(out, fps)
