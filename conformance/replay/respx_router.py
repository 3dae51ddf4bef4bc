"""A respx router serving a fixture folder, for httpx-based clients (openai-python included)
in-process: no socket, no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conformance.replay.app import ReplayOptions, models_listing, plan_answer
from conformance.replay.matching import RecordingIndex, load_recordings

DEFAULT_BASE_URL = "https://replay.conformance.invalid/v1"


def respx_router(
    path: str | Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    options: ReplayOptions | None = None,
    assert_all_called: bool = False,
) -> Any:
    """A `respx.MockRouter` answering `POST {base_url}/responses` from the recordings in `path`.

    Use it as a context manager (`with respx_router(dir) as router: ...`) around code that builds
    its httpx client inside the block, or pass `router` as a transport-level mock.
    """
    import respx

    recordings = load_recordings(path)
    index = RecordingIndex(recordings)
    opts = options or ReplayOptions()
    base = base_url.rstrip("/")
    router = respx.MockRouter(assert_all_called=assert_all_called, assert_all_mocked=True)

    def create_response(request: httpx.Request) -> httpx.Response:
        plan = plan_answer(index, request.read(), dict(request.headers), opts)
        content = iter(plan.pieces) if plan.stream else b"".join(plan.pieces)
        return httpx.Response(plan.status, headers={"content-type": plan.media_type}, content=content)

    router.post(f"{base}/responses").mock(side_effect=create_response)
    router.get(f"{base}/models").mock(return_value=httpx.Response(200, json=models_listing(recordings)))
    return router
