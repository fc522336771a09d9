"""CPU renderer: motion frame → RGB frame by warping the portrait.

Per frame: rig (motion → control points) → sparse displacements → coarse
backward map → one ``cv2.remap`` of the person layer and its matte over the
head region → composite over the still background plate → mouth interior.
Only the head region (fixed at load time) is touched; every other pixel is the
portrait's own. Identity cannot drift: every frame is rendered from the
reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from avatar_agent.motion import PARAMS, MotionTrack, lip_contact
from avatar_agent.portrait.bundle import AvatarBundle
from avatar_agent.render.eyes import Eyelids
from avatar_agent.render.mouth import MouthInterior
from avatar_agent.render.rig import Rig, RigConfig
from avatar_agent.render.warp import WarpField

__all__ = ["CPURenderer"]


class CPURenderer:
    """Renders motion frames for one avatar on the CPU (NumPy/OpenCV).

    Args:
        bundle: The enrolled avatar.
        size: Output side in pixels (default: the bundle's size).
        rig_config: Rig amplitudes.
        grid: Coarse grid nodes across the output width (warp resolution).

    Attributes:
        size: Output side in pixels.
        rig: The portrait's rig.
    """

    def __init__(
        self,
        bundle: AvatarBundle,
        *,
        size: int | None = None,
        rig_config: RigConfig | None = None,
        grid: int = 104,
    ) -> None:
        b = bundle.resized(size) if size and size != bundle.size else bundle
        self.size = b.size
        self.bundle = b
        self.rig = Rig(b.landmarks, b.rest, size=self.size, config=rig_config)
        self.warp = WarpField(self.rig.points, self.rig.roi, step=self.size / grid)
        x0, y0, x1, y1 = self.rig.roi
        self._roi = (slice(y0, y1), slice(x0, x1))
        self._offset = (x0, y0)
        self._image = np.ascontiguousarray(b.image)
        # premultiplied person layer: image = person + plate * (1 - matte), exactly, so a
        # frame with no motion reproduces the portrait
        self._matte = np.ascontiguousarray(b.masks["person"])
        plate = _fit_plate(self._image, b.plate, self._matte)
        self._plate_roi = np.ascontiguousarray(plate[self._roi])
        self._person = cv2.subtract(self._image, _scale_by(plate, cv2.bitwise_not(self._matte)))
        self.eyelids = Eyelids(
            b.image, self.rig.points + self.rig.rest_offset, self.rig.iod,
            self.rig.config.blink_warp_share, b.meta["colours"]["skin"],
        )  # fmt: skip
        self.mouth = MouthInterior(
            self.rig.points + self.rig.rest_offset,
            self.rig.iod,
            b.meta["colours"],
            b.teeth_upper,
            b.teeth_lower,
        )

    def render(self, frame: np.ndarray) -> np.ndarray:
        """Render one motion frame.

        Args:
            frame: Motion vector of length ``len(PARAMS)``; non-finite values
                are treated as 0; ``mouthClose`` above ``jawOpen`` stops at lip contact.

        Returns:
            ``(size, size, 3)`` uint8 RGB, a new array.
        """
        w = np.nan_to_num(np.asarray(frame, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if w.shape != (len(PARAMS),):
            raise ValueError(f"motion frame must have {len(PARAMS)} values, got {w.shape}")
        lip_contact(w)
        pts = self.rig.positions(w)
        src = self.warp.backward_map(pts - self.rig.points)
        border = cv2.BORDER_REPLICATE
        person = cv2.remap(self._person, src, None, cv2.INTER_LINEAR, borderMode=border)
        matte = cv2.remap(self._matte, src, None, cv2.INTER_LINEAR, borderMode=border)
        roi = cv2.add(person, _scale_by(self._plate_roi, cv2.bitwise_not(matte)))
        self.eyelids.draw(roi, pts, w, self._offset)
        self.mouth.draw(roi, pts, self._offset)
        out = self._image.copy()
        out[self._roi] = roi
        return out

    def render_track(self, track: MotionTrack | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Render every frame of a track (or any iterable of motion frames)."""
        frames = track.values if isinstance(track, MotionTrack) else track
        for f in frames:
            yield self.render(f)


def _scale_by(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``image * weight / 255`` for an RGB uint8 image and a one-channel uint8 weight."""
    return cv2.multiply(image, cv2.cvtColor(weight, cv2.COLOR_GRAY2RGB), scale=1.0 / 255.0)


def _fit_plate(image: np.ndarray, plate: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """Adjust the plate at soft matte edges so the person layer is a valid premultiplied layer.

    With ``person = image - plate * (1 - a)``, a consistent layer needs
    ``0 <= person <= 255 * a`` (colours within range). Where the inpainted plate
    breaks that, the plate is solved from the clamped person value instead, so
    ``person + plate * (1 - a)`` still gives back the image, and warped edges
    never carry stray colour onto the background.
    """
    a = matte.astype(np.float32)[..., None] / 255.0
    img = image.astype(np.float32)
    person = np.clip(img - plate.astype(np.float32) * (1.0 - a), 0.0, 255.0 * a)
    fitted = np.where(a < 1.0, (img - person) / np.maximum(1.0 - a, 1e-6), plate)
    fitted = np.floor(np.clip(fitted, 0.0, 255.0))
    return fitted.astype(np.uint8)
