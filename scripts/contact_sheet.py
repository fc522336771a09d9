"""Render docs/contact-sheet.png: jaw and viseme sweeps, a blink, head turns.

Rows: the embedded default avatar, then matplotlib's public-domain portrait of
Grace Hopper (enrolled on the fly). Run with `make contact-sheet`.
"""

from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np

from avatar_agent.avatar import load_avatar
from avatar_agent.motion import frame_from_dict
from avatar_agent.portrait import mesh
from avatar_agent.portrait.enroll import enroll
from avatar_agent.render.renderer import CPURenderer

ROOT = Path(__file__).resolve().parents[1]
TILE = 200

POSES = [
    ("neutral", {}),
    ("jaw .25", {"jawOpen": 0.25}),
    ("jaw .5", {"jawOpen": 0.5}),
    ("jaw 1", {"jawOpen": 1.0}),
    ("AA", {"jawOpen": 0.45, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3}),
    ("OO", {"jawOpen": 0.18, "mouthPucker": 0.8, "mouthFunnel": 0.6}),
    ("EE", {"jawOpen": 0.12, "mouthStretchLeft": 0.6, "mouthStretchRight": 0.6,
            "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3}),
    ("F/V", {"jawOpen": 0.1, "mouthRollLower": 0.7, "mouthUpperUpLeft": 0.3,
             "mouthUpperUpRight": 0.3}),
    ("M/B/P", {"jawOpen": 0.1, "mouthClose": 0.1, "mouthPressLeft": 0.6, "mouthPressRight": 0.6}),
    ("blink .5", {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5}),
    ("blink 1", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
    ("yaw -10", {"headYaw": -10}),
    ("yaw +10", {"headYaw": 10}),
    ("pitch +8", {"headPitch": 8}),
    ("roll -8", {"headRoll": -8}),
    ("brows+gaze", {"browInnerUp": 0.8, "eyeLookUpLeft": 0.6, "eyeLookUpRight": 0.6}),
]  # fmt: skip


def row(renderer: CPURenderer) -> np.ndarray:
    lm = renderer.bundle.landmarks
    oval = lm[list(mesh.FACE_OVAL), :2]
    c = oval.mean(0)
    half = int(0.75 * np.ptp(oval[:, 1]))
    x0, y0 = int(c[0]) - half, int(c[1]) - half
    tiles = []
    for label, values in POSES:
        img = renderer.render(frame_from_dict(values))
        pad = cv2.copyMakeBorder(img, half, half, half, half, cv2.BORDER_REPLICATE)
        crop = pad[y0 + half : y0 + 3 * half, x0 + half : x0 + 3 * half]
        tile = cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA)
        cv2.putText(
            tile, label, (6, TILE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA
        )
        cv2.putText(
            tile,
            label,
            (6, TILE - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    half_n = len(tiles) // 2
    return np.concatenate([np.concatenate(tiles[:half_n], 1), np.concatenate(tiles[half_n:], 1)], 0)


def main() -> None:
    hopper = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rows = [row(CPURenderer(load_avatar(None))), row(CPURenderer(enroll(hopper, size=512)))]
    sheet = np.concatenate(rows, 0)
    out = ROOT / "docs" / "contact-sheet.png"
    out.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(out)


if __name__ == "__main__":
    main()
