"""Pure ONNX Runtime inference of the one-step motion generator.

No streaming state and no I/O beyond loading the file.
The model file's inputs and metadata are described in ``avatar_agent/train/export.py`` and
the model card ``avatar_agent/assets/MOTION_MODEL.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from avatar_agent.errors import ModelNotFoundError

__all__ = ["MODEL_ENV", "DEFAULT_MODEL", "MotionModelInfo", "OnnxMotionModel", "find_motion_model"]

MODEL_ENV = "AVATAR_AGENT_MOTION_MODEL"
"""Environment variable naming the motion model file."""

DEFAULT_MODEL = "motion.int8.onnx"
"""File name of the embedded model in ``avatar_agent/assets``."""


def find_motion_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Locate the motion model: argument, then ``$AVATAR_AGENT_MOTION_MODEL``, then embedded.

    A path given by argument or environment variable must exist: a typo there is an error,
    never a silent fall-back to the embedded model.

    Args:
        path: Explicit ``.onnx`` path.

    Returns:
        An existing file path.

    Raises:
        ModelNotFoundError: If the chosen source gives no file (the message names all three).
    """
    hint = (
        f"pass a model path, set {MODEL_ENV}, or reinstall avatar-agent for the embedded "
        f"{DEFAULT_MODEL}"
    )
    env = os.environ.get(MODEL_ENV) or None
    for source, candidate in (("argument", path), (f"${MODEL_ENV}", env)):
        if candidate is not None:
            p = Path(candidate)
            if not p.is_file():
                raise ModelNotFoundError(f"motion model not found: {source} {p} ({hint})")
            return p
    p = Path(__file__).resolve().parent.parent / "assets" / DEFAULT_MODEL
    if not p.is_file():
        raise ModelNotFoundError(f"motion model not found: embedded {p} ({hint})")
    return p


@dataclass(frozen=True)
class MotionModelInfo:
    """Window geometry read from the model's metadata.

    Attributes:
        fps: Motion frame rate of the model (25).
        context: Context frames ``C``.
        chunk: Largest chunk ``K`` it was trained for.
        lookahead: Look-ahead frames ``A``.
        mels_per_frame: Log-mel frames per motion frame.
    """

    fps: float
    context: int
    chunk: int
    lookahead: int
    mels_per_frame: int


class OnnxMotionModel:
    """One ONNX Runtime session of the one-step generator."""

    def __init__(self, path: str | os.PathLike[str], *, threads: int = 1) -> None:
        """Load a model file.

        Args:
            path: ``.onnx`` file.
            threads: Intra-op threads (1 is best for many streams per machine).
        """
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.session = ort.InferenceSession(
            str(self.path), opts, providers=["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.info = MotionModelInfo(
                fps=float(meta["avatar_agent.fps"]),
                context=int(meta["avatar_agent.context"]),
                chunk=int(meta["avatar_agent.chunk"]),
                lookahead=int(meta["avatar_agent.lookahead"]),
                mels_per_frame=int(meta["avatar_agent.mels_per_frame"]),
            )
        except KeyError as exc:
            raise ModelNotFoundError(f"{self.path} is not an avatar-agent motion model") from exc

    def run(
        self,
        context: np.ndarray,
        noise: np.ndarray,
        mel: np.ndarray,
        role: np.ndarray,
        state: np.ndarray,
        expression: np.ndarray,
    ) -> np.ndarray:
        """Generate motion for a batch of windows (shapes in ``train/export.py``).

        Returns:
            ``(B, n, 55)`` float32 raw motion.
        """
        return self.session.run(
            None,
            {
                "context": context,
                "noise": noise,
                "mel": mel,
                "role": role,
                "state": state,
                "expression": expression,
            },
        )[0]
