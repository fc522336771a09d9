"""A minimal OpenAI-compatible chat-completions client with tool calling (aiohttp).

Works with any server that speaks ``POST {base}/chat/completions``: OpenAI, a local llama.cpp
server, vLLM, Ollama's ``/v1``, LM Studio... Configured from ``OPENAI_BASE_URL``,
``OPENAI_API_KEY`` and ``LLM_MODEL``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ChatClient", "LLMConfig", "LLMError"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


class LLMError(RuntimeError):
    """The endpoint failed or answered something unusable."""


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the model.

    Attributes:
        base_url: API root, e.g. ``http://127.0.0.1:8080/v1``.
        api_key: Bearer token ("" for local servers that need none).
        model: Model name.
        temperature: Sampling temperature.
        timeout_s: Per-request timeout.
    """

    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    model: str = DEFAULT_MODEL
    temperature: float = 0.4
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMConfig | None:
        """Read the configuration from environment variables.

        Args:
            env: Mapping to read (default ``os.environ``).

        Returns:
            The config, or None when neither ``OPENAI_BASE_URL`` nor ``OPENAI_API_KEY`` is set
            (the bot then answers in retrieval mode).
        """
        env = os.environ if env is None else env
        base, key = env.get("OPENAI_BASE_URL", ""), env.get("OPENAI_API_KEY", "")
        if not base and not key:
            return None
        return cls(
            base_url=(base or DEFAULT_BASE_URL).rstrip("/"),
            api_key=key,
            model=env.get("LLM_MODEL", "") or DEFAULT_MODEL,
        )


class ChatClient:
    """Chat completions with a tool-calling loop.

    Args:
        config: Endpoint configuration.
        tools: OpenAI tool schemas offered to the model.
        call_tool: ``(name, arguments_json) -> result_json``.
        max_tool_rounds: Tool round-trips before giving up on a final answer.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        tools: list[dict[str, Any]] | None = None,
        call_tool: Callable[[str, str], str] | None = None,
        max_tool_rounds: int = 3,
    ) -> None:
        self.config = config
        self.tools = tools or []
        self.call_tool = call_tool
        self.max_tool_rounds = max_tool_rounds

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        import aiohttp

        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        url = f"{self.config.base_url}/chat/completions"
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.post(url, json=payload, headers=headers) as resp:
                    text = await resp.text()
                    if resp.status != 200:
                        raise LLMError(f"{url} answered {resp.status}: {text[:200]}")
                    return json.loads(text)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise LLMError(f"{url}: {exc}") from exc

    async def complete(self, messages: list[dict[str, Any]]) -> str:
        """Run the conversation to a final assistant message, executing tool calls.

        Args:
            messages: OpenAI-format messages (system, user, assistant...). Tool call and tool
                result messages are appended to this list in place.

        Returns:
            The assistant's final text.

        Raises:
            LLMError: On transport errors or a malformed answer.
        """
        for _ in range(self.max_tool_rounds + 1):
            payload: dict[str, Any] = {
                "model": self.config.model,
                "messages": messages,
                "temperature": self.config.temperature,
            }
            if self.tools and self.call_tool is not None:
                payload["tools"] = self.tools
            data = await self._post(payload)
            try:
                msg = data["choices"][0]["message"]
            except (KeyError, IndexError, TypeError) as exc:
                raise LLMError(f"malformed completion: {str(data)[:200]}") from exc
            calls = msg.get("tool_calls") or []
            if not calls or self.call_tool is None:
                return str(msg.get("content") or "").strip()
            messages.append(
                {"role": "assistant", "content": msg.get("content"), "tool_calls": calls}
            )
            for call in calls:
                fn = call.get("function", {})
                result = self.call_tool(str(fn.get("name", "")), fn.get("arguments") or "{}")
                log.info("tool %s(%s) -> %s", fn.get("name"), fn.get("arguments"), result[:120])
                messages.append(
                    {"role": "tool", "tool_call_id": call.get("id", ""), "content": result}
                )
        raise LLMError("the model kept calling tools without answering")
