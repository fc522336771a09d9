"""Regenerate avatar_agent/assets/default.avatar (run by `make default-avatar`).

Source: scikit-image's ``astronaut.png``, NASA's portrait of astronaut Eileen
Collins (public domain, NASA image S94-38090). Enrolled at 512 px with the
project's own ``avatar-agent enroll``. Deterministic: same inputs, same bundle.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "avatar_agent" / "assets" / "default.avatar"

with tempfile.TemporaryDirectory() as tmp:
    src = Path(tmp) / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(src)
    cmd = [
        sys.executable,
        "-m",
        "avatar_agent",
        "enroll",
        str(src),
        "-o",
        str(OUT),
        "--size",
        "512",
    ]
    subprocess.run(cmd, check=True)
print(OUT)
