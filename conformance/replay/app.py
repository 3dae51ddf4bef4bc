"""Answer Responses requests with recorded bytes, optionally hostile: an ASGI app and a respx
router share one sans-IO planner (`plan_answer`).

Hostility options: how the bytes are cut into writes (`chunking`), a delay between writes,
ending the stream after N events (`disconnect_after`), and a forced HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.replay.chunking import CHUNKING_MODES, chunk, split_events
from conformance.replay.matching import (
    SCENARIO_HEADER,
    SCENARIO_METADATA_KEY,
    Recording,
    RecordingIndex,
)


@dataclass(frozen=True)
class ReplayOptions:
    chunking: str = "event"
    seed: int = 0
    delay_ms: float = 0.0
    disconnect_after: int | None = None  # events
    status: int | None = None

    def __post_init__(self) -> None:
        if self.chunking not in CHUNKING_MODES:
            raise ValueError(
                f"chunking must be one of {', '.join(CHUNKING_MODES)}, not {self.chunking!r}"
            )
        if self.disconnect_after is not None and self.disconnect_after < 0:
            raise ValueError("disconnect_after must be >= 0")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")


@dataclass(frozen=True)
class PlannedAnswer:
    status: int
    media_type: str
    pieces: list[bytes]  # the writes, in order
    stream: bool
    recording: str | None = None


def _error(status: int, message: str, code: str) -> PlannedAnswer:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return PlannedAnswer(status, "application/json", [json.dumps(body).encode()], stream=False)


def terminal_snapshot(sse_body: bytes) -> dict[str, Any] | None:
    """The Response carried by the last terminal event of an SSE body, if any."""
    from conformance.sse import SSEParser

    parser = SSEParser()
    snapshot = None
    for message in parser.feed(sse_body) + parser.close():
        try:
            event = json.loads(message.data)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") in (
            "response.completed",
            "response.incomplete",
            "response.failed",
        ):
            response = event.get("response")
            snapshot = response if isinstance(response, dict) else snapshot
    return snapshot


def _carries_data(block: bytes) -> bool:
    return any(line.startswith(b"data") for line in block.splitlines())


def truncated(body: bytes, events: int | None) -> bytes:
    """The bytes of `body` up to and including its `events`-th event (all of it when None).
    Comment-only blocks (keep-alives) are not events: they do not count."""
    if events is None:
        return body
    kept: list[bytes] = []
    seen = 0
    for block in split_events(body):
        if seen == events:
            break
        kept.append(block)
        seen += _carries_data(block)
    return b"".join(kept)


def plan_answer(
    index: RecordingIndex, raw_body: bytes, headers: Mapping[str, str], opts: ReplayOptions
) -> PlannedAnswer:
    """What to send back for one POST /responses (pure: no IO)."""
    try:
        payload = json.loads(raw_body) if raw_body else None
    except ValueError:
        return _error(400, "request body is not valid JSON", "invalid_json")
    if not isinstance(payload, dict):
        return _error(400, "request body must be a JSON object", "invalid_request")
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    lowered = {k.lower(): v for k, v in headers.items()}
    scenario = lowered.get(SCENARIO_HEADER) or metadata.get(SCENARIO_METADATA_KEY)
    recording = index.match(payload, scenario)
    if recording is None:
        closest = index.closest(payload, scenario)
        hint = f"; the closest recording is {closest.name!r}" if closest else "; the folder is empty"
        what = f"scenario {scenario!r}" if scenario else "this request (by normalised request hash)"
        return _error(404, f"no recording matches {what}{hint}", "recording_not_found")
    return _answer(recording, bool(payload.get("stream")), opts)


def _answer(recording: Recording, wants_stream: bool, opts: ReplayOptions) -> PlannedAnswer:
    status = opts.status or recording.status
    if recording.kind == "sse" and not wants_stream:
        # A non-stream request for a recorded stream gets the stream's terminal snapshot.
        snapshot = terminal_snapshot(recording.body)
        if snapshot is not None:
            body = json.dumps(snapshot).encode()
            return PlannedAnswer(status, "application/json", [body], False, recording.name)
    if recording.kind == "json":
        media_type = recording.content_type or "application/json"
        return PlannedAnswer(status, media_type, [recording.body], False, recording.name)
    body = truncated(recording.body, opts.disconnect_after)
    pieces = list(chunk(body, opts.chunking, seed=opts.seed))
    media_type = recording.content_type or "text/event-stream"
    return PlannedAnswer(status, media_type, pieces, True, recording.name)


def models_listing(recordings: list[Recording]) -> dict[str, Any]:
    models: list[str] = []
    for r in recordings:
        model = (r.request or {}).get("model")
        if isinstance(model, str) and model not in models:
            models.append(model)
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "replay"} for m in models]
    return {"object": "list", "data": data}


def create_replay_app(recordings: list[Recording], options: ReplayOptions | None = None) -> Any:
    """A Starlette app serving `recordings` under /v1/responses (and /responses)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    opts = options or ReplayOptions()
    index = RecordingIndex(recordings)

    async def paced(pieces: list[bytes]) -> AsyncIterator[bytes]:
        for i, piece in enumerate(pieces):
            if opts.delay_ms and i:
                await asyncio.sleep(opts.delay_ms / 1000.0)
            yield piece

    async def create_response(request: Request) -> Response:
        plan = plan_answer(index, await request.body(), request.headers, opts)
        if not plan.stream:
            return Response(b"".join(plan.pieces), status_code=plan.status, media_type=plan.media_type)
        return StreamingResponse(
            paced(plan.pieces),
            status_code=plan.status,
            media_type=plan.media_type,
            headers={"cache-control": "no-cache"},
        )

    async def list_models(request: Request) -> Response:
        return JSONResponse(models_listing(recordings))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "recordings": len(recordings)})

    return Starlette(
        routes=[
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/responses", create_response, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
