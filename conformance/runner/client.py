"""HTTP for the runner: httpx requests with deadlines, and retries on transport errors only.

Deadlines are asyncio deadlines measured from when the request is sent (first byte, whole
body/stream), so a target that hangs anywhere is cut off and reported, never waited on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from conformance.exchange import NOT_JSON  # the one sentinel, shared with the http.* rules
from conformance.runner.targets import Target

_NOT_JSON = NOT_JSON


class TransportFailure(Exception):
    """No answer at all (refused, reset, DNS, TLS) after the configured retries."""


class TimedOut(Exception):
    """A deadline passed. `phase` is "first-byte" or "body"."""

    def __init__(self, phase: str, seconds: float, detail: str = "") -> None:
        self.phase = phase
        self.seconds = seconds
        self.detail = detail
        what = "no response within" if phase == "first-byte" else "response not finished within"
        super().__init__(f"{what} {seconds:g}s{': ' + detail if detail else ''}")


def describe_transport_error(exc: BaseException) -> str:
    """One line, no traceback: 'ConnectError: [Errno 111] Connection refused'."""
    text = str(exc) or exc.__class__.__doc__ or ""
    return f"{type(exc).__name__}: {text.strip().splitlines()[0] if text.strip() else 'no detail'}"


@dataclass
class HttpResult:
    method: str
    path: str
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_s: float

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def json(self) -> Any:
        """The decoded body, or `NOT_JSON` when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return _NOT_JSON




class HttpClient:
    """One httpx.AsyncClient bound to a target. Auth is added per request (so it can be left out)."""

    def __init__(self, target: Target, *, timeout: float = 120.0, retries: int = 1) -> None:
        self.target = target
        self.timeout = timeout
        self.retries = max(0, retries)
        # httpx's own timeouts are a backstop only; the asyncio deadlines below decide.
        self._client = httpx.AsyncClient(
            base_url=target.base_url + "/",
            transport=target.transport(),
            timeout=httpx.Timeout(timeout + 5.0),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _build(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool | str = True,
    ) -> httpx.Request:
        h: dict[str, str] = {"accept": "application/json, text/event-stream"}
        if auth is True:
            h.update(self.target.auth_headers())
        elif isinstance(auth, str):  # an explicit (wrong) key for the auth scenarios
            h.update(self.target.auth_headers(auth))
        if content is not None:
            h["content-type"] = "application/json"
        h.update(headers or {})
        kwargs: dict[str, Any] = {"headers": h}
        if content is not None:
            kwargs["content"] = content
        elif json_body is not None:
            kwargs["content"] = orjson.dumps(json_body)
            h["content-type"] = "application/json"
        return self._client.build_request(method, path.lstrip("/"), **kwargs)

    async def _send(self, request: httpx.Request, deadline: float) -> httpx.Response:
        """Send with retries on transport errors; the response body is not read yet."""
        loop = asyncio.get_running_loop()
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    return await self._client.send(request, stream=True)
            except TimeoutError:
                raise TimedOut("first-byte", self.timeout) from None
            except httpx.TimeoutException:
                raise TimedOut("first-byte", self.timeout) from None
            except httpx.TransportError as exc:
                last = exc
                if attempt < self.retries:
                    await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
        if last is None:
            raise TimedOut("first-byte", self.timeout)
        raise TransportFailure(describe_transport_error(last))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool | str = True,
    ) -> HttpResult:
        """A whole request/response within `timeout`."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        deadline = loop.time() + self.timeout
        request = self._build(method, path, json_body=json_body, content=content, headers=headers, auth=auth)
        response = await self._send(request, deadline)
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                body = await response.aread()
        except TimeoutError:
            raise TimedOut("body", self.timeout) from None
        except httpx.TransportError as exc:
            raise TransportFailure(describe_transport_error(exc)) from None
        finally:
            await response.aclose()
        return HttpResult(method, path, response.status_code, response.headers, body, time.perf_counter() - started)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool | str = True,
    ) -> AsyncIterator[StreamHandle]:
        """Open a streamed response (headers received within `timeout`); read it with `chunks()`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        request = self._build(method, path, json_body=json_body, headers=headers, auth=auth)
        response = await self._send(request, deadline)
        try:
            yield StreamHandle(response, deadline, self.timeout)
        finally:
            # Closing mid-stream drops the connection: that is the client disconnect.
            with contextlib.suppress(Exception):
                await response.aclose()


class StreamHandle:
    """An open streamed response: status, headers, and body chunks as they arrive."""

    def __init__(self, response: httpx.Response, deadline: float, timeout: float) -> None:
        self.response = response
        self.deadline = deadline
        self.timeout = timeout
        self.started = time.perf_counter()

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    async def read(self) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(0.0, self.deadline - loop.time())):
                return await self.response.aread()
        except TimeoutError:
            raise TimedOut("body", self.timeout) from None
        except httpx.TransportError as exc:
            raise TransportFailure(describe_transport_error(exc)) from None

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Body bytes as received; raises TimedOut at the deadline, TransportFailure on reset."""
        loop = asyncio.get_running_loop()
        iterator = self.response.aiter_bytes().__aiter__()
        while True:
            remaining = self.deadline - loop.time()
            if remaining <= 0:
                raise TimedOut("body", self.timeout)
            try:
                async with asyncio.timeout(remaining):
                    chunk = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise TimedOut("body", self.timeout) from None
            except httpx.TimeoutException:
                raise TimedOut("body", self.timeout) from None
            except httpx.TransportError as exc:
                raise TransportFailure(describe_transport_error(exc)) from None
            yield chunk
