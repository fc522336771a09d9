"""Eyelids: a skin-coloured lid with a lash line that closes the eye fully.

The warp slides the real upper lid part of the way down; this layer draws the
rest of the lid, from the warped lid down to where the blink puts it, so a
full blink covers the eye completely (no sliver of sclera) whatever the warp
grid's resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatar_agent.motion import PARAM_INDEX
from avatar_agent.portrait import mesh

__all__ = ["Eyelids"]

_EYES = (
    ("eyeBlinkLeft", mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER),
    ("eyeBlinkRight", mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER),
)


class Eyelids:
    """Draws closing upper lids for one portrait.

    Args:
        image: The portrait (RGB uint8), to sample lid and lash colours.
        rest: ``(N, 2)`` control-point positions at neutral motion.
        iod: Inter-ocular distance in pixels.
        warp_share: Fraction of the blink done by the warp (the rest is drawn).
        face_skin: Typical facial skin colour; brightens the shaded lid sample.
    """

    def __init__(
        self,
        image: np.ndarray,
        rest: np.ndarray,
        iod: float,
        warp_share: float,
        face_skin: tuple[int, int, int] | None = None,
    ) -> None:
        self.iod = iod
        self.warp_share = warp_share
        self._eyes = []
        for name, upper, lower in _EYES:
            up = rest[list(upper)]
            lo = rest[list(lower)]
            close = lo + 0.15 * (up - lo)  # where the lid edge rests when closed
            skin, lash = self._colours(image, up, iod)
            if face_skin is not None:
                skin = 0.5 * skin + 0.5 * np.asarray(face_skin, np.float32)
            self._eyes.append((PARAM_INDEX[name], list(upper), up, close, skin, lash))

    @staticmethod
    def _colours(image: np.ndarray, up: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        x0, x1 = int(up[:, 0].min()), int(up[:, 0].max()) + 1
        xs = np.clip(np.arange(x0, x1), 0, w - 1)
        top = np.interp(xs, *_sorted(up))
        band = []
        lash = []
        for x, y in zip(xs, top, strict=True):
            y0 = int(np.clip(y - 0.09 * iod, 0, h - 1))
            y1 = int(np.clip(y - 0.035 * iod, 0, h - 1))
            band.extend(image[y0 : y1 + 1, x])
            yl = int(np.clip(round(y), 0, h - 1))
            lash.extend(image[max(0, yl - 1) : yl + 2, x])
        skin = np.median(np.array(band, np.float32), 0)
        lash_arr = np.array(lash, np.float32)
        dark = lash_arr[np.argsort(lash_arr.sum(1))[: max(1, len(lash_arr) // 5)]].mean(0)
        return skin, dark

    def draw(
        self, frame: np.ndarray, points: np.ndarray, motion: np.ndarray, offset: tuple[int, int]
    ) -> None:
        """Draw the lids into ``frame`` (a region at ``offset`` of the output) in place.

        Args:
            frame: RGB uint8 image region.
            points: ``(N, 2)`` current control-point positions, full-image pixels.
            motion: The motion frame.
            offset: ``(x, y)`` of ``frame``'s top-left corner in full-image pixels.
        """
        off = np.array(offset, np.float32)
        for index, upper, up_rest, close, skin, lash in self._eyes:
            b = float(motion[index])
            if b <= 0.02:
                continue
            cur = points[upper] - off
            # where the lid edge should be: the rest lid moved b of the way to closed
            target = up_rest + b * (close - up_rest) - off
            extra = target[:, 1] - cur[:, 1]
            if extra.max() < 0.3:
                continue
            self._draw_lid(frame, cur, target, skin, lash, b)

    def _draw_lid(
        self,
        frame: np.ndarray,
        cur: np.ndarray,
        target: np.ndarray,
        skin: np.ndarray,
        lash: np.ndarray,
        b: float,
    ) -> None:
        h, w = frame.shape[:2]
        lift = 0.02 * self.iod  # cover the real lash line above the drawn lid
        top = cur - np.array([0.0, lift], np.float32)
        top[[0, -1]] = cur[[0, -1]]
        poly = np.concatenate([top, target[::-1]])
        x0 = max(0, int(np.floor(poly[:, 0].min())) - 2)
        y0 = max(0, int(np.floor(poly[:, 1].min())) - 2)
        x1 = min(w, int(np.ceil(poly[:, 0].max())) + 3)
        y1 = min(h, int(np.ceil(poly[:, 1].max())) + 3)
        if x1 <= x0 or y1 <= y0:
            return
        local = poly - (x0, y0)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(local * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        a = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.6)
        # a convex lid: lighter in the middle, shaded toward the lash line
        yy = np.arange(y1 - y0, dtype=np.float32)[:, None] + y0
        edge_y = np.interp(np.arange(x0, x1) + 0.5, *_sorted(target))[None, :]
        dist = np.clip(edge_y - yy, 0, None) / max(1.0, 0.06 * self.iod)
        shade = 0.9 + 0.1 * np.clip(dist, 0, 1)
        region = frame[y0:y1, x0:x1].astype(np.float32)
        lid = skin[None, None, :] * shade[..., None]
        out = region * (1 - a[..., None]) + lid * a[..., None]
        # lash line along the lid edge, thicker in the middle
        lash_mask = np.zeros_like(mask)
        thick = max(1, int(round(0.014 * self.iod * (0.6 + 0.4 * b))))
        pts = np.round((target - (x0, y0)) * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(lash_mask, [pts], False, 255, thick, cv2.LINE_AA, shift=4)
        la = lash_mask.astype(np.float32)[..., None] / 255.0 * min(1.0, 2.0 * b)
        lash_col = 0.75 * lash + 0.25 * 0.6 * skin
        out = out * (1 - la) + lash_col[None, None, :] * la
        frame[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _sorted(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(curve[:, 0])
    return curve[order, 0], curve[order, 1]
