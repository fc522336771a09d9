"""Conditioning vocabulary shared by the generator, the behaviour layer and training.

- :data:`STATES`: the conversational label of a chunk (what the avatar is doing).
- :data:`EXPRESSIONS`: named expressions; an expression vector has one intensity (0..1) per
  name in :data:`EXPRESSION_NAMES` (``neutral`` is the zero vector).
- :data:`EXPRESSION_OVERLAYS`: blendshape offsets of each expression at full intensity; the
  training targets add ``intensity * overlay`` to speech motion, and the baseline driver adds
  the same overlay at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from avatar_agent.motion import PARAM_INDEX, PARAMS

__all__ = [
    "STATES",
    "STATE_INDEX",
    "EXPRESSIONS",
    "EXPRESSION_NAMES",
    "EXPRESSION_OVERLAYS",
    "N_EXPRESSIONS",
    "state_index",
    "expression_vector",
    "overlay",
]

STATES: tuple[str, ...] = ("idle", "speaking", "listening", "thinking")
"""Conversational labels, in the order of the model's label embedding."""

STATE_INDEX: dict[str, int] = {s: i for i, s in enumerate(STATES)}

EXPRESSIONS: tuple[str, ...] = (
    "neutral",
    "happy",
    "concerned",
    "surprised",
    "thinking",
    "sad",
    "angry",
)
"""Named expressions; ``neutral`` means no overlay."""

EXPRESSION_NAMES: tuple[str, ...] = EXPRESSIONS[1:]
"""Names with a slot in the expression vector (everything but ``neutral``)."""

N_EXPRESSIONS = len(EXPRESSION_NAMES)

EXPRESSION_OVERLAYS: dict[str, dict[str, float]] = {
    "happy": {
        "mouthSmileLeft": 0.55, "mouthSmileRight": 0.55, "cheekSquintLeft": 0.3,
        "cheekSquintRight": 0.3, "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2,
        "browOuterUpLeft": 0.1, "browOuterUpRight": 0.1,
    },
    "concerned": {
        "browInnerUp": 0.6, "browDownLeft": 0.15, "browDownRight": 0.15,
        "mouthFrownLeft": 0.25, "mouthFrownRight": 0.25, "mouthPressLeft": 0.1,
        "mouthPressRight": 0.1, "headPitch": 1.5,
    },
    "surprised": {
        "browInnerUp": 0.7, "browOuterUpLeft": 0.6, "browOuterUpRight": 0.6,
        "eyeWideLeft": 0.5, "eyeWideRight": 0.5, "jawOpen": 0.06, "headPitch": -1.5,
    },
    "thinking": {
        "browDownLeft": 0.3, "browOuterUpRight": 0.3, "mouthPressLeft": 0.2,
        "mouthPressRight": 0.2, "mouthLeft": 0.15, "eyeSquintLeft": 0.15,
    },
    "sad": {
        "browInnerUp": 0.5, "mouthFrownLeft": 0.45, "mouthFrownRight": 0.45,
        "mouthShrugLower": 0.15, "eyeLookDownLeft": 0.12, "eyeLookDownRight": 0.12,
        "headPitch": 2.0,
    },
    "angry": {
        "browDownLeft": 0.6, "browDownRight": 0.6, "noseSneerLeft": 0.25,
        "noseSneerRight": 0.25, "mouthPressLeft": 0.3, "mouthPressRight": 0.3,
        "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2,
    },
}  # fmt: skip
"""Offsets at intensity 1 (blendshapes 0..1, head pose in degrees)."""

_OVERLAY_MATRIX = np.zeros((N_EXPRESSIONS, len(PARAMS)), np.float32)
for _k, _name in enumerate(EXPRESSION_NAMES):
    for _p, _v in EXPRESSION_OVERLAYS[_name].items():
        _OVERLAY_MATRIX[_k, PARAM_INDEX[_p]] = _v


def state_index(state: str) -> int:
    """Index of a state label.

    Args:
        state: One of :data:`STATES`.

    Returns:
        Its position in :data:`STATES`.

    Raises:
        ValueError: If the label is unknown.
    """
    try:
        return STATE_INDEX[state]
    except KeyError:
        raise ValueError(f"unknown state {state!r}; expected one of {', '.join(STATES)}") from None


def expression_vector(
    expression: str | Mapping[str, float] | Sequence[float] | np.ndarray | None,
    intensity: float = 1.0,
) -> np.ndarray:
    """Build an expression vector (one 0..1 intensity per :data:`EXPRESSION_NAMES`).

    Args:
        expression: A name (``"happy"``), a mapping of names to weights, a vector of length
            :data:`N_EXPRESSIONS`, or ``None``/``"neutral"`` for no expression.
        intensity: Multiplies the result (0..1).

    Returns:
        Float32 vector of length :data:`N_EXPRESSIONS`, clipped to 0..1.

    Raises:
        ValueError: For an unknown name, a wrong length or non-finite values.
    """
    vec = np.zeros(N_EXPRESSIONS, np.float32)
    if expression is None or (isinstance(expression, str) and expression == "neutral"):
        pass
    elif isinstance(expression, str):
        if expression not in EXPRESSION_NAMES:
            raise ValueError(
                f"unknown expression {expression!r}; expected one of {', '.join(EXPRESSIONS)}"
            )
        vec[EXPRESSION_NAMES.index(expression)] = 1.0
    elif isinstance(expression, Mapping):
        for name, w in expression.items():
            if name == "neutral":
                continue
            vec += expression_vector(name, float(w))
    else:
        arr = np.asarray(expression, np.float32).ravel()
        if arr.shape != (N_EXPRESSIONS,):
            raise ValueError(f"expression vector must have {N_EXPRESSIONS} values, got {arr.size}")
        vec = arr.copy()
    if not np.isfinite(intensity) or not np.all(np.isfinite(vec)):
        raise ValueError("expression values and intensity must be finite")
    return np.clip(vec * float(intensity), 0.0, 1.0).astype(np.float32)


def overlay(expression: np.ndarray) -> np.ndarray:
    """Motion offsets of an expression vector (sum of weighted overlays).

    Args:
        expression: Vector from :func:`expression_vector`, shape ``(N_EXPRESSIONS,)`` or
            ``(..., N_EXPRESSIONS)``.

    Returns:
        Offsets of shape ``(..., len(PARAMS))``.
    """
    return np.asarray(expression, np.float32) @ _OVERLAY_MATRIX
