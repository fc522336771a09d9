"""Options, their environment-variable fallbacks, the wire protocol names and the error type."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_agent.errors import AvatarAgentError

__all__ = [
    "AVATAR_ENV",
    "MOTION_MODEL_ENV",
    "AGENT_NAME_ENV",
    "DEFAULT_AGENT_NAME",
    "RPC_SET_EXPRESSION",
    "AvatarAgentPluginError",
    "DispatchInfo",
    "resolve_motion_model",
    "resolve_livekit_credentials",
]

AVATAR_ENV = "AVATAR_AGENT_AVATAR"
"""Avatar bundle or portrait image used when ``avatar`` is not given."""
MOTION_MODEL_ENV = "AVATAR_AGENT_MOTION_MODEL"
"""Learned motion model (ONNX) used when ``motion_model`` is not given."""
AGENT_NAME_ENV = "AVATAR_AGENT_WORKER_NAME"
"""Agent name the dispatched worker registers under when ``agent_name`` is not given."""
DEFAULT_AGENT_NAME = "avatar-agent"

RPC_SET_EXPRESSION = "avatar_agent.set_expression"
"""RPC the agent calls on the avatar worker; payload JSON ``{name, intensity, duration}``."""


class AvatarAgentPluginError(AvatarAgentError):
    """A wrong option or a missing requirement of the LiveKit plugin."""


def resolve_motion_model(motion_model: str | os.PathLike[str] | None) -> Path | None:
    """The motion model file from the argument, else ``AVATAR_AGENT_MOTION_MODEL``.

    Args:
        motion_model: Explicit path, or None.

    Returns:
        The path, or None when neither is set (the engine then uses its default).

    Raises:
        AvatarAgentPluginError: If the chosen path does not exist.
    """
    source = "`motion_model`"
    if motion_model is None:
        motion_model = os.environ.get(MOTION_MODEL_ENV) or None
        source = MOTION_MODEL_ENV
    if motion_model is None:
        return None
    path = Path(motion_model)
    if not path.is_file():
        raise AvatarAgentPluginError(
            f"motion model not found: {path} (from {source}; set `motion_model` or "
            f"{MOTION_MODEL_ENV} to the ONNX file, or unset both for the default)"
        )
    return path


def resolve_livekit_credentials(
    url: str | None,
    api_key: str | None,
    api_secret: str | None,
    *,
    what: str = "a remote avatar outside a LiveKit job needs LiveKit credentials",
    names: tuple[str, str, str] = ("`livekit_url`", "`livekit_api_key`", "`livekit_api_secret`"),
) -> tuple[str, str, str]:
    """LiveKit URL and API credentials from the arguments, else the usual variables.

    Args:
        url: ``livekit_url`` argument.
        api_key: ``livekit_api_key`` argument.
        api_secret: ``livekit_api_secret`` argument.
        what: Start of the error message.
        names: How the caller spells the three arguments, for the error message.

    Returns:
        ``(url, api_key, api_secret)``.

    Raises:
        AvatarAgentPluginError: Naming every missing argument and its variable.
    """
    values = {
        (names[0], "LIVEKIT_URL"): url or os.environ.get("LIVEKIT_URL"),
        (names[1], "LIVEKIT_API_KEY"): api_key or os.environ.get("LIVEKIT_API_KEY"),
        (names[2], "LIVEKIT_API_SECRET"): api_secret or os.environ.get("LIVEKIT_API_SECRET"),
    }
    missing = [f"{arg} or {env}" for (arg, env), v in values.items() if not v]
    if missing:
        raise AvatarAgentPluginError(f"{what}: set " + ", ".join(missing))
    u, k, s = values.values()
    assert u and k and s
    return u, k, s


@dataclass(frozen=True)
class DispatchInfo:
    """What the agent tells the avatar worker in the dispatch metadata (JSON).

    Attributes:
        agent_identity: Identity of the agent participant the avatar publishes for.
        avatar_identity: Identity the avatar worker joins with.
        expression: Initial expression name, or None.
    """

    agent_identity: str
    avatar_identity: str
    expression: str | None = None

    def to_json(self) -> str:
        """Serialize for ``CreateAgentDispatchRequest.metadata``."""
        data: dict[str, Any] = {
            "avatar_agent": 1,
            "agent_identity": self.agent_identity,
            "avatar_identity": self.avatar_identity,
        }
        if self.expression:
            data["expression"] = self.expression
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> DispatchInfo:
        """Parse dispatch metadata.

        Raises:
            AvatarAgentPluginError: If it is not avatar-agent dispatch metadata.
        """
        try:
            data = json.loads(text or "")
            return cls(
                agent_identity=str(data["agent_identity"]),
                avatar_identity=str(data["avatar_identity"]),
                expression=data.get("expression") or None,
            )
        except (ValueError, KeyError, TypeError) as e:
            raise AvatarAgentPluginError(
                "dispatch metadata must be JSON with agent_identity and avatar_identity "
                f"(dispatch with livekit.plugins.avatar_agent.AvatarSession(mode='remote')): {e}"
            ) from e
