"""Shared fixtures: the default avatar, a renderer, and a face detector for measurements."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from avatar_agent.avatar import load_avatar
from avatar_agent.portrait import mesh
from avatar_agent.render.renderer import CPURenderer


@pytest.fixture(scope="session")
def bundle():
    return load_avatar(None)


@pytest.fixture(scope="session")
def renderer(bundle):
    return CPURenderer(bundle)


@pytest.fixture(scope="session")
def detector():
    from avatar_agent.portrait.detect import FaceDetector

    det = FaceDetector()
    yield det
    det.close()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def eye_opening(landmarks: np.ndarray) -> float:
    """Mean vertical lid gap of both eyes divided by eye width (re-detected landmarks)."""
    vals = []
    for up, lo in (
        (mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER),
        (mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER),
    ):
        u = landmarks[list(up[2:-2]), 1]
        lower = landmarks[list(lo[2:-2]), 1]
        width = abs(landmarks[up[0], 0] - landmarks[up[-1], 0])
        vals.append(float(np.mean(lower - u)) / width)
    return float(np.mean(vals))


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip gap at the centre divided by the inter-ocular distance."""
    iod = np.linalg.norm(
        landmarks[list(mesh.LEFT_EYE), :2].mean(0) - landmarks[list(mesh.RIGHT_EYE), :2].mean(0)
    )
    return float((landmarks[mesh.INNER_LOWER_MID, 1] - landmarks[mesh.INNER_UPPER_MID, 1]) / iod)


def encode(path: Path, fmt: str, codec: str, x: np.ndarray, rate: int, **options: str) -> Path:
    """Encode (channels, n) float samples with PyAV (it converts format and frame size)."""
    layout = "mono" if x.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.layout = layout
        for i in range(0, x.shape[1], 1000):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[:, i : i + 1000]), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
