"""Any OpenAI-compatible chat-completions server (Ollama, llama.cpp server, vLLM, hosted APIs).

The request runs in a worker thread so the deadline holds even when a server trickles bytes; the
API key only ever goes into the Authorization header, never into errors, logs or ``repr``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx

from index.generation._types import MAX_TOKENS, GenerationError

log = logging.getLogger(__name__)


class OpenAICompatible:
    """POSTs ``{base_url}/chat/completions``; streams (SSE) by default, plain JSON otherwise."""

    __slots__ = ("__key", "base_url", "max_tokens", "model", "name", "stream")

    def __init__(self, base_url: str, model: str | None, api_key: str | None = None, stream: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.stream = stream
        self.max_tokens = MAX_TOKENS
        self.name = f"openai:{model or 'default'}"
        self.__key = api_key or None

    def __repr__(self) -> str:
        key = "'***'" if self.__key else "None"
        return (
            f"OpenAICompatible(base_url={self.base_url!r}, model={self.model!r}, api_key={key}, stream={self.stream})"
        )

    def complete(self, messages: list[dict[str, str]], *, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        box: dict[str, Any] = {}
        client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)

        def run() -> None:
            try:
                box["text"] = self._request(client, messages, deadline, timeout)
            except GenerationError as exc:
                box["error"] = exc
            except httpx.TimeoutException:
                box["error"] = GenerationError(f"timeout after {timeout:g} s")
            except httpx.ConnectError:
                box["error"] = GenerationError("cannot connect to the LLM server")
            except (httpx.HTTPError, OSError, RuntimeError) as exc:  # closed under us, or a network fault
                box["error"] = GenerationError(f"request failed ({type(exc).__name__})")

        worker = threading.Thread(target=run, name="llm-request", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            client.close()  # wakes the worker if it is blocked on the socket
            raise GenerationError(f"timeout after {timeout:g} s")
        client.close()
        if "error" in box:
            raise box["error"]
        return str(box["text"])

    def _payload(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "stream": self.stream,
        }
        if self.model:
            payload["model"] = self.model
        return payload

    def _request(self, client: httpx.Client, messages: list[dict[str, str]], deadline: float, timeout: float) -> str:
        headers = {"Accept": "text/event-stream" if self.stream else "application/json"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        url = f"{self.base_url}/chat/completions"
        with client.stream("POST", url, json=self._payload(messages), headers=headers) as response:
            if response.status_code != 200:
                log.info("LLM server answered HTTP %d", response.status_code)
                raise GenerationError(f"HTTP {response.status_code}")
            if "text/event-stream" in response.headers.get("content-type", ""):
                return _read_stream(response, deadline, timeout)
            body = response.read()
        if time.monotonic() > deadline:
            raise GenerationError(f"timeout after {timeout:g} s")
        return _content(_json(body))


def _json(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GenerationError("malformed response") from None


def _content(data: Any) -> str:
    """``choices[0].message.content`` of a non-streamed reply."""
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise GenerationError(
            "server error" if isinstance(data, dict) and "error" in data else "malformed response"
        ) from None
    if not isinstance(content, str):
        raise GenerationError("malformed response")
    return content


def _read_stream(response: httpx.Response, deadline: float, timeout: float) -> str:
    """Joins ``choices[0].delta.content`` of SSE ``data:`` lines up to ``[DONE]`` (or the end)."""
    parts: list[str] = []
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            raise GenerationError(f"timeout after {timeout:g} s")
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, "event:" lines
        data = line[5:].strip()
        if data == "[DONE]":
            break
        chunk = _json(data)
        if isinstance(chunk, dict) and "error" in chunk:
            raise GenerationError("server error")
        try:
            choices = chunk["choices"]
            delta = (choices[0].get("delta") or {}) if choices else {}
            piece = delta.get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise GenerationError("malformed response") from None
        if isinstance(piece, str):
            parts.append(piece)
    return "".join(parts)
