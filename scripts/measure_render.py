"""Print what FaceLandmarker measures on rendered frames of the default avatar.

The numbers behind the rendering notes: head pose measured against the commanded
pose, inner-lip gap over a jawOpen sweep, eye opening on a blink. Run with
`.venv/bin/python scripts/measure_render.py`.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import eye_opening, lip_gap  # noqa: E402

from avatar_agent.avatar import load_avatar  # noqa: E402
from avatar_agent.motion import frame_from_dict  # noqa: E402
from avatar_agent.portrait.detect import FaceDetector  # noqa: E402
from avatar_agent.render.renderer import CPURenderer  # noqa: E402


def main() -> None:
    renderer = CPURenderer(load_avatar(None))
    with FaceDetector() as det:

        def face(values: dict) -> object:
            return det.detect(renderer.render(frame_from_dict(values)))[0]

        base = face({})
        for axis, attr, amount in (("headYaw", "yaw", 10), ("headPitch", "pitch", 8),
                                   ("headRoll", "roll", 8)):  # fmt: skip
            for sign in (-1, 1):
                got = getattr(face({axis: sign * amount}), attr) - getattr(base, attr)
                print(f"{axis} {sign * amount:+d} deg -> measured {got:+.1f} deg")
        for j in np.linspace(0, 1, 6):
            gap = lip_gap(face({"jawOpen": j}).landmarks)
            print(f"jawOpen {j:.1f} -> inner-lip gap {gap:.3f} IOD")
        shut = face({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
        print(f"blink: eye opening {eye_opening(shut.landmarks) / eye_opening(base.landmarks):.2f} "
              f"of open, eyeBlinkLeft score {base.blendshapes['eyeBlinkLeft']:.2f} -> "
              f"{shut.blendshapes['eyeBlinkLeft']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
