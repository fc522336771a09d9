"""The motion space: canonical parameter names and a track type.

A motion frame is one value per parameter: the 52 ARKit blendshapes (0..1,
"Left"/"Right" meaning the subject's own left/right) followed by the head pose
``headYaw``, ``headPitch``, ``headRoll`` in degrees. ``jawOpen`` with
``mouthClose`` keeps ARKit's meaning: lips apart ≈ ``jawOpen - mouthClose``.

A :class:`MotionTrack` is frames × parameters at a frame rate, with CSV and
JSON import and export. CSV files have ``time`` (seconds) as the first column,
one row per video frame and one column per parameter; missing parameters read
as zero.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BLENDSHAPES",
    "HEAD_POSE",
    "PARAMS",
    "PARAM_INDEX",
    "MotionError",
    "MotionTrack",
    "neutral_frame",
    "frame_from_dict",
    "lip_contact",
]

BLENDSHAPES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
"""The 52 ARKit blendshape names, values 0..1."""

HEAD_POSE: tuple[str, ...] = ("headYaw", "headPitch", "headRoll")
"""Head rotation in degrees: yaw (positive turns toward the subject's left, i.e.
image right), pitch (positive looks down), roll (positive tilts the top of the
head toward image right)."""

PARAMS: tuple[str, ...] = BLENDSHAPES + HEAD_POSE
"""All motion parameters in canonical column order."""

PARAM_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARAMS)}
"""Column index of each parameter name."""

_N_BLEND = len(BLENDSHAPES)
_HEAD_LIMIT_DEG = 45.0


class MotionError(ValueError):
    """Raised for malformed motion data (unknown names, bad shapes, bad files)."""


def neutral_frame() -> np.ndarray:
    """Return an all-zero motion frame (mouth closed, eyes open, head straight).

    Returns:
        A float32 vector of length ``len(PARAMS)``.
    """
    return np.zeros(len(PARAMS), dtype=np.float32)


def frame_from_dict(values: Mapping[str, float]) -> np.ndarray:
    """Build a motion frame from a ``{name: value}`` mapping; the rest stay zero.

    Args:
        values: Parameter values keyed by canonical name.

    Returns:
        A float32 vector of length ``len(PARAMS)``.

    Raises:
        MotionError: If a name is not a motion parameter.
    """
    frame = neutral_frame()
    for name, value in values.items():
        if name not in PARAM_INDEX:
            raise MotionError(f"unknown motion parameter {name!r}")
        frame[PARAM_INDEX[name]] = float(value)
    return frame


def lip_contact(values: np.ndarray) -> np.ndarray:
    """Stop the lips at contact: ``mouthClose`` never exceeds ``jawOpen`` (in place).

    A model trained with ``closure_overshoot`` aims ``mouthClose`` past ``jawOpen`` on /p b m/
    (the articulatory *virtual target* beyond contact, which is what presses real lips
    together), and hand-made tracks may do the same; what a viewer sees, and what ARKit's
    ``mouthClose`` means, stops at contact.

    Args:
        values: ``(..., len(PARAMS))`` motion frames.

    Returns:
        ``values``, with ``mouthClose = min(mouthClose, jawOpen)``.
    """
    jaw, close = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
    np.minimum(values[..., close], values[..., jaw], out=values[..., close])
    return values


def _clean(values: np.ndarray) -> np.ndarray:
    """Replace non-finite values by 0 and clip to the valid ranges."""
    out = np.nan_to_num(values.astype(np.float32, copy=True), nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(out[:, :_N_BLEND], 0.0, 1.0, out=out[:, :_N_BLEND])
    np.clip(out[:, _N_BLEND:], -_HEAD_LIMIT_DEG, _HEAD_LIMIT_DEG, out=out[:, _N_BLEND:])
    return out


@dataclass
class MotionTrack:
    """A sequence of motion frames at a fixed frame rate.

    Attributes:
        values: Array of shape ``(frames, len(PARAMS))``, float32, canonical
            column order. Blendshapes are clipped to 0..1 and head angles to
            ±45°; non-finite values become 0.
        fps: Frames per second.
    """

    values: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        arr = np.asarray(self.values)
        if arr.ndim != 2 or arr.shape[1] != len(PARAMS):
            raise MotionError(
                f"motion values must have shape (frames, {len(PARAMS)}), got {arr.shape}"
            )
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise MotionError(f"fps must be a positive number, got {self.fps}")
        self.values = _clean(arr)
        self.fps = float(self.fps)

    @classmethod
    def zeros(cls, frames: int, fps: float) -> MotionTrack:
        """Return a neutral track of ``frames`` frames."""
        return cls(np.zeros((frames, len(PARAMS)), np.float32), fps)

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, Sequence[float] | np.ndarray], fps: float
    ) -> MotionTrack:
        """Build a track from per-parameter columns; absent parameters are zero.

        Args:
            columns: Equal-length value sequences keyed by parameter name.
            fps: Frames per second.

        Raises:
            MotionError: On unknown names or unequal lengths.
        """
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise MotionError(f"columns have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        values = np.zeros((n, len(PARAMS)), np.float32)
        for name, col in columns.items():
            if name not in PARAM_INDEX:
                raise MotionError(f"unknown motion parameter {name!r}")
            values[:, PARAM_INDEX[name]] = np.asarray(col, dtype=np.float32)
        return cls(values, fps)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        """Length of the track in seconds (frames / fps)."""
        return len(self) / self.fps

    @property
    def times(self) -> np.ndarray:
        """Start time of each frame in seconds."""
        return np.arange(len(self), dtype=np.float64) / self.fps

    def column(self, name: str) -> np.ndarray:
        """Return the values of one parameter (a view).

        Raises:
            MotionError: If ``name`` is not a motion parameter.
        """
        if name not in PARAM_INDEX:
            raise MotionError(f"unknown motion parameter {name!r}")
        return self.values[:, PARAM_INDEX[name]]

    def frame(self, index: int) -> dict[str, float]:
        """Return frame ``index`` as a ``{name: value}`` dict."""
        return {name: float(v) for name, v in zip(PARAMS, self.values[index], strict=True)}

    # ------------------------------------------------------------------ CSV
    def to_csv(self, path: str | Path, *, columns: Iterable[str] | None = None) -> None:
        """Write the track as CSV: ``time`` then one column per parameter.

        Args:
            path: Output file.
            columns: Parameters to write (default: all, canonical order).
        """
        names = list(PARAMS if columns is None else columns)
        idx = [PARAM_INDEX[n] for n in names]
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["time", *names])
            for t, row in zip(self.times, self.values[:, idx], strict=True):
                writer.writerow([f"{t:.6f}", *(f"{v:.6g}" for v in row)])

    @classmethod
    def from_csv(cls, path: str | Path, *, fps: float | None = None) -> MotionTrack:
        """Read a CSV written by :meth:`to_csv` (or any tool using the same columns).

        The frame rate is taken from the ``time`` column unless ``fps`` is given.

        Raises:
            MotionError: If the file is missing, has no ``time`` first column,
                has unknown or non-numeric columns, or its times are not
                evenly spaced.
        """
        try:
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
        except OSError as exc:
            raise MotionError(f"cannot read motion file {path}: {exc.strerror}") from exc
        rows = [r for r in rows if r and any(c.strip() for c in r)]
        if not rows or rows[0][0].strip() != "time":
            raise MotionError(f"{path}: first column must be 'time'")
        header = [h.strip() for h in rows[0]]
        unknown = [h for h in header[1:] if h not in PARAM_INDEX]
        if unknown:
            raise MotionError(f"{path}: unknown motion parameters {unknown}")
        try:
            data = np.array([[float(c) for c in r] for r in rows[1:]], dtype=np.float64)
        except ValueError as exc:
            raise MotionError(f"{path}: non-numeric value ({exc})") from exc
        if data.size == 0:
            raise MotionError(f"{path}: no frames")
        if data.ndim != 2 or data.shape[1] != len(header):
            raise MotionError(f"{path}: rows have different numbers of columns")
        times = data[:, 0]
        if fps is None:
            fps = _fps_from_times(times, path)
        columns = {name: data[:, i + 1] for i, name in enumerate(header[1:])}
        return cls.from_columns(columns, fps)

    # ----------------------------------------------------------------- JSON
    def to_json(self, path: str | Path) -> None:
        """Write ``{"fps": ..., "params": [...], "frames": [[...], ...]}``."""
        doc = {
            "fps": self.fps,
            "params": list(PARAMS),
            "frames": [[round(float(v), 5) for v in row] for row in self.values],
        }
        Path(path).write_text(json.dumps(doc))

    @classmethod
    def from_json(cls, path: str | Path) -> MotionTrack:
        """Read a file written by :meth:`to_json` (``params`` may be a subset).

        Raises:
            MotionError: If the document is malformed.
        """
        try:
            doc = json.loads(Path(path).read_text())
            params = list(doc["params"])
            frames = np.asarray(doc["frames"], dtype=np.float64)
            fps = float(doc["fps"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MotionError(f"{path}: not a motion JSON file ({exc})") from exc
        if frames.ndim != 2 or frames.shape[1] != len(params):
            raise MotionError(f"{path}: frames do not match params")
        return cls.from_columns({p: frames[:, i] for i, p in enumerate(params)}, fps)

    @classmethod
    def load(cls, path: str | Path) -> MotionTrack:
        """Read a ``.csv`` or ``.json`` motion file by extension."""
        if str(path).lower().endswith(".json"):
            return cls.from_json(path)
        return cls.from_csv(path)


def _fps_from_times(times: np.ndarray, path: str | Path) -> float:
    if len(times) < 2:
        raise MotionError(f"{path}: need two rows to infer fps; pass fps explicitly")
    steps = np.diff(times)
    step = float(np.median(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > 0.25 * step:
        raise MotionError(f"{path}: 'time' must increase in even steps (one row per frame)")
    # the whole span averages out the rounding of the printed times
    fps = (len(times) - 1) / float(times[-1] - times[0])
    return round(fps, 3)
