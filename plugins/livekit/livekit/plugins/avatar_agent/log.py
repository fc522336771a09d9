"""The plugin's logger (configured by the application, never here)."""

from __future__ import annotations

import logging

logger = logging.getLogger("livekit.plugins.avatar_agent")
