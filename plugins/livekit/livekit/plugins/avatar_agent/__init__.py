"""avatar-agent for LiveKit Agents: a self-hosted real-time talking-head avatar.

Add the avatar to an agent::

    from livekit.plugins import avatar_agent

    avatar = avatar_agent.AvatarSession()
    await avatar.start(session, room=ctx.room)
    await session.start(agent=MyAgent(), room=ctx.room)

``AvatarSession(mode="remote")`` renders in a separate ``avatar-agent worker`` process found
through LiveKit's agent dispatch instead. See the project README, section "LiveKit".
"""

from __future__ import annotations

from livekit.agents import Plugin

from .avatar import AvatarSession
from .generator import EngineVideoGenerator, GeneratorStats
from .log import logger
from .options import AvatarAgentPluginError
from .runtime import EngineSettings, prewarm
from .version import __version__

__all__ = [
    "AvatarAgentPluginError",
    "AvatarSession",
    "EngineSettings",
    "EngineVideoGenerator",
    "GeneratorStats",
    "prewarm",
    "__version__",
]


class AvatarAgentPlugin(Plugin):
    """Registers the plugin with LiveKit Agents (version reporting, ``download-files``)."""

    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)

    def download_files(self) -> None:
        """Nothing to download: the avatar and motion model ship with ``avatar-agent``."""


Plugin.register_plugin(AvatarAgentPlugin())

# Cleanup docs of unexported modules
_module = dir()
NOT_IN_ALL = [m for m in _module if m not in __all__]

__pdoc__ = {}

for n in NOT_IN_ALL:
    __pdoc__[n] = False
