"""The proxy's IO edge towards its upstream: one httpx client, auth headers, error mapping,
stall detection and SSE decoding. The only module of `adapters` that does IO.

The upstream key goes into request headers and nowhere else; `Upstream.scrub` masks it in any
text that could reach a client or a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx

from reference_server.sources.adapters.sse_decode import SSEDecoder

log = logging.getLogger("reference_server.proxy")

ANTHROPIC_VERSION = "2023-06-01"


class UpstreamFailure(Exception):
    """The upstream answered with an error, could not be reached, or sent garbage.

    `status` is what the proxy answers its own client with; `code` is the upstream's code (or
    one of the proxy's: upstream_timeout, upstream_unreachable, upstream_protocol_error)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    @property
    def type(self) -> str | None:
        return "server_error" if self.status >= 500 else None


class Upstream:
    """Where and how to reach the upstream. Owns its httpx client unless one was given."""

    def __init__(self, kind: str, url: str, key: str | None, model_map: dict[str, str], timeout: float,
                 client: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.kind, self.url, self.key, self.timeout = kind, url.rstrip("/"), key, timeout
        self.model_map = model_map
        self._client = client
        self._transport = transport
        self._owns_client = client is None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # Per-read timeout = the stall limit; the proxy enforces it itself as well (below).
            self._client = httpx.AsyncClient(transport=self._transport,
                                             timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)))
        return self._client

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.kind == "anthropic":
            headers["anthropic-version"] = ANTHROPIC_VERSION
            if self.key:
                headers["x-api-key"] = self.key
        elif self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return headers

    def model(self, name: Any) -> str | None:
        return self.model_map.get(name, name) if isinstance(name, str) else None

    def scrub(self, text: str) -> str:
        return text.replace(self.key, "***") if self.key else text

    # ------------------------------------------------------------------ calls
    async def model_ids(self) -> list[str]:
        """The model-map names, else the upstream's own model list (empty when unavailable)."""
        if self.model_map:
            return list(self.model_map)
        try:
            resp = await self.client().get(f"{self.url}/models", headers=self.headers())
            data = resp.json().get("data", []) if resp.status_code < 400 else []
            return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        except (httpx.HTTPError, ValueError, AttributeError):
            return []

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A non-stream call: the decoded answer; UpstreamFailure otherwise."""
        try:
            resp = await asyncio.wait_for(self.client().post(f"{self.url}{path}", json=body, headers=self.headers()),
                                          self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise UpstreamFailure(504, f"The upstream did not answer within {self.timeout:g} s.",
                                  "upstream_timeout") from None
        except httpx.HTTPError as exc:
            log.warning("upstream request failed: %s", self.scrub(str(exc)))
            raise UpstreamFailure(502, "The upstream could not be reached.", "upstream_unreachable") from None
        if resp.status_code >= 400:
            raise self.failure(resp.status_code, resp.content)
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise UpstreamFailure(502, "The upstream answer is not a JSON object.", "upstream_protocol_error")
        return answer

    async def events(self, path: str, body: dict[str, Any]) -> AsyncGenerator[Any, None]:
        """Decoded SSE payloads of a streaming call: dicts, the string "[DONE]", or
        ("bad-json", excerpt). UpstreamFailure for an HTTP error answer; TimeoutError on a
        stall; httpx errors on a disconnect."""
        async with self.client().stream("POST", f"{self.url}{path}", json=body, headers=self.headers()) as resp:
            if resp.status_code >= 400:
                raise self.failure(resp.status_code, await resp.aread())
            decoder = SSEDecoder()
            async for chunk in with_idle_timeout(resp.aiter_bytes(), self.timeout):
                for msg in decoder.feed(chunk):
                    yield decode_payload(msg.data)
            for msg in decoder.close():
                yield decode_payload(msg.data)

    def failure(self, status: int, body: bytes) -> UpstreamFailure:
        """The proxy's answer to an upstream HTTP error (the upstream's message quoted, scrubbed)."""
        message, code = f"The upstream answered HTTP {status}.", None
        try:
            err = json.loads(body).get("error")
            if isinstance(err, dict):
                message = f"Upstream error ({status}): {err.get('message') or err.get('type') or 'no message'}"
                code = err.get("code") or err.get("type")
            elif isinstance(err, str):
                message = f"Upstream error ({status}): {err}"
        except (ValueError, AttributeError):
            pass
        if status in (401, 403):
            ours = 502  # the proxy's own upstream credentials were refused: not the client's fault
        elif status in (400, 404, 409, 413, 422, 429):
            ours = 400 if status == 422 else status
        else:
            ours = 502 if status < 529 else 503
        return UpstreamFailure(ours, self.scrub(message), str(code or "upstream_error"))


async def with_idle_timeout(chunks: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """Re-yield upstream bytes; raise TimeoutError when none arrive for `seconds` (a stall)."""
    iterator = chunks.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), seconds)
        except StopAsyncIteration:
            return
        yield chunk


def decode_payload(data: str) -> Any:
    if data.strip() == "[DONE]":
        return "[DONE]"
    try:
        return json.loads(data)
    except ValueError:
        return ("bad-json", data[:80])
