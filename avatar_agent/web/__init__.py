"""Local browser demo: the example shop bot speaking through the avatar, over WebRTC.

``avatar-agent demo`` serves a page on 127.0.0.1; the engine's frames (video plus the paired
audio slice) are sent to the browser as one WebRTC media stream by aiortc. Needs the ``demo``
extra (aiohttp, aiortc, faster-whisper, ...); those are imported only when the server starts.
"""

from avatar_agent.web.server import DemoOptions, build_app, run_demo

__all__ = ["DemoOptions", "build_app", "run_demo"]
