"""A respx router serving a recording or fixture folder to httpx-based clients (openai-python
included) in-process: no socket, no server. Same planner as the replay server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.replay.app import PlannedAnswer, Replayer, ReplayOptions

DEFAULT_BASE_URL = "https://replay.conformance.invalid/v1"


class _PacedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The planned writes, one per iteration, for sync and async clients alike."""

    def __init__(self, pieces: list[bytes], delay_s: float) -> None:
        self.pieces = pieces
        self.delay_s = delay_s

    def __iter__(self) -> Iterator[bytes]:
        for i, piece in enumerate(self.pieces):
            if self.delay_s and i:
                time.sleep(self.delay_s)
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, piece in enumerate(self.pieces):
            if self.delay_s and i:
                await asyncio.sleep(self.delay_s)
            yield piece


def _response(plan: PlannedAnswer, delay_s: float) -> httpx.Response:
    headers = [*plan.headers, ("content-type", plan.media_type)]
    if plan.recording and plan.recording.isascii():
        headers.append(("x-replay-recording", plan.recording))
    if plan.stream:
        return httpx.Response(plan.status, headers=headers, stream=_PacedStream(plan.pieces, delay_s))
    return httpx.Response(plan.status, headers=headers, content=plan.body)


def respx_router(
    path: str | Path | Replayer,
    *,
    base_url: str = DEFAULT_BASE_URL,
    options: ReplayOptions | None = None,
    assert_all_called: bool = False,
) -> Any:
    """A `respx.MockRouter` answering every request under `base_url` from the folder `path`.

    ```python
    with respx_router("fixtures/streams") as router:
        # openai 3.x sends through httpx2, which respx does not patch: hand it an httpx client.
        client = openai.OpenAI(base_url=router.replay_base_url, api_key="x", http_client=httpx.Client())
        client.responses.stream(..., extra_headers={"X-Conformance-Scenario": "positive/built/text"})
    ```
    Requests elsewhere are not mocked: respx raises for them (`assert_all_mocked`).
    """
    try:
        import respx
    except ImportError as exc:  # respx is a test dependency, not a runtime one
        raise RuntimeError("respx_router needs the `respx` package: pip install respx") from exc

    replayer = path if isinstance(path, Replayer) else Replayer.from_folder(path, options)
    base = base_url.rstrip("/")
    base_path = urlsplit(base).path
    delay_s = replayer.options.delay_ms / 1000.0
    router = respx.MockRouter(assert_all_called=assert_all_called, assert_all_mocked=True)

    def answer(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii", "replace")
        plan = replayer.plan(request.method, target, request.headers, request.read(), base_path=base_path)
        return _response(plan, delay_s)

    router.route(url__startswith=base + "/").mock(side_effect=answer)
    router.replayer = replayer  # type: ignore[attr-defined]  # loaded and served (`served`, `unmatched`)
    router.replay_base_url = base  # type: ignore[attr-defined]  # give it to the client under test
    return router
