"""Mouth interior: cavity, teeth and tongue drawn where the lips part.

Upper teeth ride on the skull (they follow head motion only); lower teeth and
tongue ride on the jaw (they follow the chin). Both are clipped by the current
inner-lip outline, so they can never float outside the mouth.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatar_agent.portrait import mesh

__all__ = ["MouthInterior"]

_INNER = list(mesh.LIPS_INNER)


class MouthInterior:
    """Draws the inside of the mouth for one portrait.

    Args:
        rest: ``(N, 2)`` control-point positions at neutral motion.
        iod: Inter-ocular distance in pixels.
        colours: ``cavity``, ``tongue`` RGB lists from the bundle manifest.
        teeth_upper: RGBA sprite of the upper teeth.
        teeth_lower: RGBA sprite of the lower teeth.
    """

    def __init__(
        self,
        rest: np.ndarray,
        iod: float,
        colours: dict,
        teeth_upper: np.ndarray,
        teeth_lower: np.ndarray,
    ) -> None:
        self.iod = iod
        self.rest = rest.astype(np.float32)
        self.cavity = np.array(colours["cavity"], np.float32)
        self.tongue = np.array(colours["tongue"], np.float32) * 0.8
        self.seam_colour = np.array(colours["lips"], np.float32) * 0.62
        line = 0.5 * (rest[mesh.INNER_UPPER_MID] + rest[mesh.INNER_LOWER_MID])
        self._line = line
        self._upper = self._split(teeth_upper)
        self._lower = self._split(teeth_lower)
        # upper incisor edge a little below the lip line; lower incisors just behind them
        self._upper_edge = float(line[1] + 0.06 * iod)
        self._lower_top = float(line[1] + 0.035 * iod)
        self._min_area = max(2.0, (0.01 * iod) ** 2 * 4)

    @staticmethod
    def _split(sprite: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rgb = sprite[..., :3].astype(np.float32) * 0.97  # teeth sit in the mouth's shade
        alpha = sprite[..., 3].astype(np.float32) / 255.0
        return rgb, alpha

    def draw(self, frame: np.ndarray, points: np.ndarray, offset: tuple[int, int] = (0, 0)) -> bool:
        """Draw the interior into ``frame`` in place.

        Args:
            frame: RGB uint8 image (or a region of one).
            points: ``(N, 2)`` current control-point positions, full-image pixels.
            offset: ``(x, y)`` of ``frame``'s top-left corner in full-image pixels.

        Returns:
            Whether anything was drawn (False when the lips are closed).
        """
        inner = points[_INNER] - np.array(offset, np.float32)
        area = 0.5 * abs(float(np.dot(inner[:, 0], np.roll(inner[:, 1], 1))
                               - np.dot(inner[:, 1], np.roll(inner[:, 0], 1))))  # fmt: skip
        if area <= self._min_area:
            self._seam(frame, inner)
            return False
        # between one and two times the smallest area the seam fades into the interior, so a
        # lip opening of a thousandth does not switch the look of the mouth in one frame
        fade = min(1.0, (area - self._min_area) / self._min_area)
        h, w = frame.shape[:2]
        x0 = max(0, int(np.floor(inner[:, 0].min())) - 2)
        y0 = max(0, int(np.floor(inner[:, 1].min())) - 2)
        x1 = min(w, int(np.ceil(inner[:, 0].max())) + 3)
        y1 = min(h, int(np.ceil(inner[:, 1].max())) + 3)
        if x1 <= x0 or y1 <= y0:
            return False
        pw, ph = x1 - x0, y1 - y0
        local = inner - (x0, y0)
        mask = np.zeros((ph, pw), np.uint8)
        cv2.fillPoly(mask, [np.round(local * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        a = mask.astype(np.float32) / 255.0

        # cavity: dark, darker toward the back (centre) of the mouth
        yy = (np.arange(ph, dtype=np.float32)[:, None] + 0.5) / ph
        xx = (np.arange(pw, dtype=np.float32)[None, :] + 0.5) / pw
        depth = 0.55 + 0.45 * np.clip(4.0 * ((xx - 0.5) ** 2 + 0.5 * (yy - 0.5) ** 2), 0, 1)
        patch = self.cavity[None, None, :] * depth[..., None]

        # tongue on the floor of the mouth, riding on the jaw
        jaw = points[mesh.CHIN] - self.rest[mesh.CHIN]
        head = points[mesh.NOSE_TIP] - self.rest[mesh.NOSE_TIP]
        cx = float(0.5 * (local[0, 0] + local[10, 0]))
        lower_mid = local[15]
        tw = 0.42 * (local[10, 0] - local[0, 0])
        th = 0.12 * self.iod
        cy = float(lower_mid[1] + 0.1 * th)
        tongue = np.zeros((ph, pw), np.uint8)
        cv2.ellipse(tongue, (int(round(cx * 4)), int(round(cy * 4))),
                    (max(1, int(tw * 4)), max(1, int(th * 4))), 0, 180, 360, 255, -1,
                    cv2.LINE_AA, shift=2)  # fmt: skip
        ta = cv2.GaussianBlur(tongue.astype(np.float32) / 255.0, (0, 0), max(0.6, 0.01 * self.iod))
        tshade = (0.55 + 0.45 * np.clip((yy * ph - (cy - th)) / max(th, 1), 0, 1))[..., None]
        patch = patch * (1 - ta[..., None]) + self.tongue * tshade * ta[..., None]

        # lower teeth (jaw) then upper teeth (skull)
        lx = self._line[0] + jaw[0] - x0 - offset[0]
        ly = self._lower_top + 0.9 * jaw[1] - y0 - offset[1]
        self._blit(patch, *self._lower, lx, ly, anchor_bottom=False)
        ux = self._line[0] + head[0] - x0 - offset[0]
        uy = self._upper_edge + head[1] - y0 - offset[1]
        self._blit(patch, *self._upper, ux, uy, anchor_bottom=True)

        # the upper lip shades the top of the opening; a softer shade all round
        edge = cv2.GaussianBlur(a, (0, 0), max(0.7, 0.02 * self.iod))
        top = np.interp(np.arange(pw) + 0.5, *self._upper_curve(local))[None, :]
        below_lip = np.clip((np.arange(ph, dtype=np.float32)[:, None] + 0.5 - top), 0, None)
        shade = 1.0 - 0.3 * np.exp(-below_lip / max(1.0, 0.03 * self.iod))
        shade *= 0.85 + 0.15 * np.clip((edge - 0.5) * 2.0, 0, 1)
        patch *= shade[..., None]
        region = frame[y0:y1, x0:x1]
        blended = region.astype(np.float32) * (1 - a[..., None]) + patch * a[..., None]
        if fade < 1.0:
            seam = region.copy()
            self._seam(seam, inner - (x0, y0))
            blended = fade * blended + (1.0 - fade) * seam.astype(np.float32)
        region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return True

    @staticmethod
    def _upper_curve(local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        up = local[: len(mesh.LIPS_INNER_UPPER)]
        order = np.argsort(up[:, 0])
        return up[order, 0], up[order, 1]

    def _seam(self, frame: np.ndarray, inner: np.ndarray) -> None:
        """Closed lips: a thin dark line where they meet."""
        n = len(mesh.LIPS_INNER_UPPER)
        upper = inner[:n]
        lower = np.concatenate([inner[:1], inner[n:][::-1], inner[n - 1 : n]])
        mid = 0.5 * (upper + lower)
        colour = tuple(float(c) for c in self.seam_colour)
        pts = np.round(mid * 16).astype(np.int32).reshape(-1, 1, 2)
        thickness = max(1, int(round(0.012 * self.iod)))
        cv2.polylines(frame, [pts], False, colour, thickness, cv2.LINE_AA, shift=4)

    @staticmethod
    def _blit(
        patch: np.ndarray,
        rgb: np.ndarray,
        alpha: np.ndarray,
        cx: float,
        edge_y: float,
        *,
        anchor_bottom: bool,
    ) -> None:
        sh, sw = alpha.shape
        ph, pw = patch.shape[:2]
        sx0 = int(round(cx - sw / 2))
        sy0 = int(round(edge_y - sh)) if anchor_bottom else int(round(edge_y))
        px0, py0 = max(0, sx0), max(0, sy0)
        px1, py1 = min(pw, sx0 + sw), min(ph, sy0 + sh)
        if px1 <= px0 or py1 <= py0:
            return
        src = (slice(py0 - sy0, py1 - sy0), slice(px0 - sx0, px1 - sx0))
        a = alpha[src][..., None]
        dst = patch[py0:py1, px0:px1]
        dst[...] = dst * (1 - a) + rgb[src] * a
