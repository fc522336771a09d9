"""Loading avatars and building engines, once per process where it can be shared."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar_agent.avatar import load_avatar
from avatar_agent.engine import AvatarEngine, EngineConfig
from avatar_agent.errors import AvatarAgentError
from avatar_agent.generator.driver import make_driver
from avatar_agent.portrait.bundle import AvatarBundle

from .generator import ConsumerClock
from .log import logger
from .options import AVATAR_ENV, AvatarAgentPluginError, resolve_motion_model

__all__ = ["AvatarSpec", "EngineSettings", "load_shared_avatar", "make_engine", "prewarm"]

AvatarSpec = str | os.PathLike[str] | AvatarBundle | None
"""An avatar: a ``.avatar`` bundle path, a portrait image path, a loaded bundle, or None."""

_cache_lock = threading.Lock()
_avatar_cache: dict[tuple[str, int], AvatarBundle] = {}


@dataclass(frozen=True)
class EngineSettings:
    """How the plugin builds each stream's engine.

    Attributes:
        fps: Video frame rate.
        size: Square frame side in pixels.
        driver: Motion driver (``auto``, ``learned``, ``baseline``).
        seed: Seed of stochastic motion.
        audio_sample_rate: Rate of the audio published with the video.
        motion_model: Learned motion model file (None: ``AVATAR_AGENT_MOTION_MODEL`` or the
            engine's default).
        extra: Further ``EngineConfig`` fields.
    """

    fps: float = 25.0
    size: int = 512
    driver: str = "auto"
    seed: int = 0
    audio_sample_rate: int = 24000
    motion_model: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def config(self) -> EngineConfig:
        """The engine configuration (realtime: LiveKit publishes at wall-clock pace)."""
        kwargs: dict[str, Any] = {
            "fps": self.fps,
            "size": self.size,
            "driver": self.driver,
            "seed": self.seed,
            "audio_sample_rate": self.audio_sample_rate,
            "realtime": True,
        }
        kwargs.update(self.extra)
        try:
            return EngineConfig(**kwargs)
        except (TypeError, ValueError) as e:
            raise AvatarAgentPluginError(f"invalid avatar engine option: {e}") from e


def load_shared_avatar(avatar: AvatarSpec, *, size: int) -> AvatarBundle:
    """Load an avatar once per process; later calls with the same spec share it.

    Args:
        avatar: Bundle, path, or None for ``AVATAR_AGENT_AVATAR`` / the embedded default.
        size: Output size, used when a portrait image is enrolled on the fly.

    Returns:
        The loaded bundle.

    Raises:
        AvatarAgentPluginError: If the avatar cannot be loaded (names the variable).
    """
    if isinstance(avatar, AvatarBundle):
        return avatar
    spec = os.fspath(avatar) if avatar is not None else os.environ.get(AVATAR_ENV) or ""
    key = (spec, size)
    with _cache_lock:
        cached = _avatar_cache.get(key)
        if cached is not None:
            return cached
        t0 = time.perf_counter()
        try:
            bundle = load_avatar(spec or None, size=size)
        except AvatarAgentError as e:
            source = "`avatar`" if avatar is not None else AVATAR_ENV
            raise AvatarAgentPluginError(
                f"cannot load the avatar from {source} ({spec!r}): {e}; pass `avatar=` or set "
                f"{AVATAR_ENV} to a .avatar bundle or a portrait image, or unset both for the "
                "default avatar"
            ) from e
        _avatar_cache[key] = bundle
        logger.info(
            "avatar loaded",
            extra={"avatar": spec or "<default>", "load_s": round(time.perf_counter() - t0, 3)},
        )
        return bundle


def make_engine(avatar: AvatarSpec, settings: EngineSettings) -> AvatarEngine:
    """Build (not start) one stream's engine, sharing the process's loaded avatar.

    Args:
        avatar: The avatar (see :func:`load_shared_avatar`).
        settings: Engine settings.

    Returns:
        A new engine.
    """
    config = settings.config()
    bundle = load_shared_avatar(avatar, size=settings.size)
    driver = None
    if settings.motion_model is not None:
        # an explicit model; otherwise the engine's make_driver finds AVATAR_AGENT_MOTION_MODEL
        driver = make_driver(
            config.driver, fps=float(config.fps), seed=config.seed, model=settings.motion_model
        )
    return AvatarEngine(avatar=bundle, config=config, clock=ConsumerClock(), driver=driver)


def prewarm(
    *,
    avatar: AvatarSpec = None,
    size: int = 512,
    motion_model: str | os.PathLike[str] | None = None,
) -> AvatarBundle:
    """Load what every stream of this process shares; call it from ``setup_fnc``.

    Args:
        avatar: The avatar (None: ``AVATAR_AGENT_AVATAR`` or the embedded default).
        size: Frame size the streams will use.
        motion_model: Checked to exist (None: ``AVATAR_AGENT_MOTION_MODEL`` if set).

    Returns:
        The loaded bundle.
    """
    resolve_motion_model(motion_model)
    return load_shared_avatar(avatar, size=size)
