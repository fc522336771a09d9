"""Mouth-interior sprites: upper and lower rows of teeth as RGBA images."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["make_teeth"]

# tooth widths from the centre outward, in inter-ocular distances (front view of the arch:
# incisors, lateral incisors, canines, premolars, molars foreshortened)
_UPPER = (0.125, 0.095, 0.08, 0.065, 0.055, 0.05)
_LOWER = (0.08, 0.08, 0.075, 0.065, 0.055, 0.05)


def make_teeth(
    iod: float, height: float, colour: tuple[int, int, int], *, lower: bool
) -> np.ndarray:
    """Draw a row of teeth as an RGBA sprite.

    A continuous band (so no cavity shows between teeth) with soft separation
    lines, slightly rounded biting edges, teeth darkening toward the corners as
    the arch turns away, and a gum-side shade. The biting edge is the bottom
    edge for the upper row and the top edge for the lower row.

    Args:
        iod: Inter-ocular distance in pixels (sets tooth widths).
        height: Sprite height in pixels.
        colour: Tooth RGB colour, matched to the portrait.
        lower: Draw the lower row.

    Returns:
        ``(H, W, 4)`` uint8 RGBA.
    """
    ss = 4
    widths = np.array(_LOWER if lower else _UPPER) * iod * ss
    w = int(np.ceil(2 * widths.sum())) + 2
    h = max(3, int(round(height))) * ss
    edges = np.concatenate([-np.cumsum(widths)[::-1], [0.0], np.cumsum(widths)]) + w / 2
    xx = np.arange(w, dtype=np.float32)[None, :] + 0.5
    yy = np.arange(h, dtype=np.float32)[:, None] + 0.5
    t = yy / h if not lower else 1.0 - yy / h  # 0 at the gum, 1 at the biting edge
    # which tooth each column belongs to and where within it
    k = np.clip(np.searchsorted(edges, xx[0]) - 1, 0, len(edges) - 2)
    left, right = edges[k], edges[k + 1]
    rank = np.abs(k - (len(widths) - 0.5)) - 0.5  # 0 for the central incisors
    f = (xx[0] - left) / (right - left)  # 0..1 across the tooth
    # biting edge rounded at each tooth's corners
    corner = np.minimum(f, 1 - f) * (right - left)
    radius = 0.3 * (right - left)
    inset = radius - np.sqrt(np.maximum(0, radius**2 - (radius - corner) ** 2))
    drop = np.where(corner < radius, inset, 0.0)
    length = h * (1.0 - 0.06 * rank) - drop
    along = t * h  # distance from the gum
    alpha = np.clip(length[None, :] - along + 0.5, 0, 1)
    shade_arch = 1.0 - 0.11 * rank
    sep = 1.0 - 0.28 * np.exp(
        -((np.minimum(f, 1 - f) * (right - left)) ** 2) / (2 * (0.6 * ss) ** 2)
    )
    rnd = 1.0 - 0.1 * (2 * f - 1) ** 2
    shade = (0.82 + 0.18 * t) * (shade_arch * sep * rnd)[None, :]
    rgb = np.array(colour, np.float32)[None, None, :] * shade[..., None]
    rgba = np.dstack([rgb, alpha * 255.0])
    small = cv2.resize(rgba, (w // ss, h // ss), interpolation=cv2.INTER_AREA)
    return np.clip(small + 0.5, 0, 255).astype(np.uint8)
