"""avatar-agent: a self-hosted, real-time talking-head avatar for voice agents."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
