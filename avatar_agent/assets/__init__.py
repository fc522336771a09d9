"""Embedded assets: the default avatar bundle and the demo sentence.

The default avatar is NASA's public-domain portrait of astronaut Eileen
Collins (as shipped by scikit-image), enrolled with ``make default-avatar``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_AVATAR", "DEMO_AUDIO", "asset_path"]

DEFAULT_AVATAR = "default.avatar"
DEMO_AUDIO = "demo.wav"


def asset_path(name: str) -> Path:
    """Filesystem path of an embedded asset.

    Args:
        name: File name inside ``avatar_agent/assets``.

    Raises:
        FileNotFoundError: If the asset is not installed.
    """
    path = Path(str(resources.files(__package__).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"embedded asset missing: {path} (reinstall avatar-agent)")
    return path
