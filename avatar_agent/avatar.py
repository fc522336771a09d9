"""Resolve what the user passed as ``--avatar``: nothing, a bundle, or an image."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from avatar_agent.assets import DEFAULT_AVATAR, asset_path
from avatar_agent.errors import BundleError
from avatar_agent.portrait.bundle import AvatarBundle

__all__ = ["AVATAR_ENV", "load_avatar"]

AVATAR_ENV = "AVATAR_AGENT_AVATAR"
log = logging.getLogger(__name__)


def load_avatar(spec: str | os.PathLike[str] | None = None, *, size: int = 512) -> AvatarBundle:
    """Load an avatar bundle, enrolling an image on the fly if given one.

    Args:
        spec: A ``.avatar`` bundle, a portrait image, or None for the
            ``AVATAR_AGENT_AVATAR`` environment variable, else the embedded
            default avatar.
        size: Output size used when enrolling an image.

    Returns:
        The bundle.

    Raises:
        BundleError: If a bundle is unreadable.
        EnrollmentError: If an image cannot be enrolled.
    """
    if spec is None:
        spec = os.environ.get(AVATAR_ENV) or None
    if spec is None:
        return AvatarBundle.load(asset_path(DEFAULT_AVATAR))
    path = Path(spec)
    if not path.exists():
        raise BundleError(f"avatar not found: {path} (a .avatar bundle or a portrait image)")
    if path.is_file() and not zipfile.is_zipfile(path):
        from avatar_agent.portrait.enroll import enroll

        log.info("enrolling %s on the fly", path)
        return enroll(path, size=size)
    return AvatarBundle.load(path)
