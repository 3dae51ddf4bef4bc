"""Answer Responses API requests with recorded bytes, optionally hostile: a sans-IO planner
(`Replayer.plan`) shared by the Starlette app here and the respx router.

Hostility options: how bytes are cut into writes (`chunking`), a pause between writes, ending
streams after N events (`disconnect_after`), and a forced HTTP status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.recording import SCENARIO_HEADER, SKIPPED_HEADER
from conformance.replay.chunking import CHUNKING_MODES, chunk, split_events
from conformance.replay.matching import (
    Recording,
    RecordingIndex,
    ReplayRequest,
    load_recordings,
    load_session,
)
from conformance.snapshot import terminal_snapshot

# Never replayed: they describe the original connection, not the answer.
_NOT_REPLAYED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive",
     "date", "server", "content-type"}
)


@dataclass(frozen=True)
class ReplayOptions:
    chunking: str = "event"
    seed: int = 0
    delay_ms: float = 0.0
    disconnect_after: int | None = None  # events per stream
    status: int | None = None  # forced on every answer
    api_key: str | None = None  # the key that counts as valid (None: any key is valid)

    def __post_init__(self) -> None:
        if self.chunking not in CHUNKING_MODES:
            raise ValueError(f"chunking must be one of {', '.join(CHUNKING_MODES)}, not {self.chunking!r}")
        if self.disconnect_after is not None and self.disconnect_after < 0:
            raise ValueError("--disconnect-after must be 0 or more events")
        if self.delay_ms < 0:
            raise ValueError("--delay-ms must be 0 or more")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"--status must be an HTTP status code (100-599), not {self.status}")


@dataclass(frozen=True)
class PlannedAnswer:
    status: int
    media_type: str
    pieces: list[bytes]  # the writes, in order
    stream: bool
    recording: str | None = None  # name of the recording served
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


def error_answer(status: int, message: str, code: str, type_: str = "invalid_request_error") -> PlannedAnswer:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return PlannedAnswer(status, "application/json", [json.dumps(body).encode()], stream=False)


def _carries_data(block: bytes) -> bool:
    return any(line.lstrip(b"\xef\xbb\xbf").startswith(b"data") for line in block.splitlines())


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


def _wants_stream(body: bytes) -> bool | None:
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return None
    return bool(payload.get("stream")) if isinstance(payload, dict) else None


def models_listing(recordings: list[Recording], first: str | None = None) -> dict[str, Any]:
    """GET /models: the recorded session's model first (the runner picks the first one)."""
    models = [first] if first else []
    for r in recordings:
        model = (r.request or {}).get("model")
        if isinstance(model, str) and model not in models:
            models.append(model)
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "replay"} for m in models]
    return {"object": "list", "data": data}


class Replayer:
    """Sans-IO: a request's parts in, the planned answer out. One per served folder (it keeps
    the FIFO position of every recording key)."""

    def __init__(
        self,
        recordings: list[Recording],
        options: ReplayOptions | None = None,
        *,
        session: Mapping[str, Any] | None = None,
    ) -> None:
        self.recordings = recordings
        self.options = options or ReplayOptions()
        self.index = RecordingIndex(recordings)
        self.session = dict(session or {})
        self.served: Counter[str] = Counter()  # recording name -> times served
        # Recorded WebSockets per scenario (conformance.replay.websocket), served in order.
        self.transcripts: dict[str, list[list[dict[str, Any]]]] = {}
        self.unmatched: list[str] = []  # "METHOD /path (scenario)" of requests answered 404/401

    @classmethod
    def from_folder(cls, folder: Any, options: ReplayOptions | None = None) -> Replayer:
        from conformance.replay.websocket import load_transcripts

        replayer = cls(load_recordings(folder), options, session=load_session(folder))
        replayer.transcripts = load_transcripts(folder)
        return replayer

    def next_transcript(self, scenario: str | None) -> list[dict[str, Any]] | None:
        """The next recorded socket of `scenario` (each is served once, in recorded order)."""
        queue = self.transcripts.get(scenario or "")
        return queue.pop(0) if queue else None

    def plan(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, *, base_path: str = ""
    ) -> PlannedAnswer:
        opts = self.options
        req = ReplayRequest.from_parts(method, path, headers, body, api_key=opts.api_key, base_path=base_path)
        strict = opts.api_key is not None
        if opts.status is not None and opts.status >= 400:
            # A forced error status comes with an error body, as a real server would send it.
            self.unmatched.append(f"{req.method} /{req.path} (--status {opts.status})")
            kind = "server_error" if opts.status >= 500 else "invalid_request_error"
            return error_answer(opts.status, f"replay: forced status {opts.status} (--status)", "replay_forced_status",
                                kind)
        if (req.method, req.path) == ("GET", "models") and (not strict or req.auth == "valid"):
            listing = models_listing(self.recordings, self.session.get("model"))
            return PlannedAnswer(200, "application/json", [json.dumps(listing).encode()], False)
        recording = self.index.match(req, strict_auth=strict)
        if recording is None and (skipped := self._skipped_reason(req.scenario)) is not None:
            self.unmatched.append(f"{req.method} /{req.path} ({req.scenario}, skipped when recorded)")
            return _skipped_answer(req, skipped)
        if recording is None:
            self.unmatched.append(f"{req.method} /{req.path}" + (f" ({req.scenario})" if req.scenario else ""))
            if strict and req.auth != "valid":
                return _auth_error(req)
            return self._not_found(req)
        self.served[recording.name] += 1
        return self._answer(recording, req)

    def _skipped_reason(self, scenario: str | None) -> str | None:
        """Why `scenario` was skipped when it was recorded (session.json), or None."""
        entries = self.session.get("scenarios")
        entry = entries.get(scenario) if scenario and isinstance(entries, dict) else None
        if not isinstance(entry, dict) or entry.get("status") != "skipped":
            return None
        return str(entry.get("skip_reason") or "skipped when recorded")

    def _not_found(self, req: ReplayRequest) -> PlannedAnswer:
        closest = self.index.closest(req)
        what = f"{req.method} /{req.path}" + (f" in scenario {req.scenario!r}" if req.scenario else "")
        if closest is None:
            hint = "the replay folder holds no recording"
        else:
            where = f" (scenario {closest.scenario!r}, {closest.method} /{closest.path})" if closest.scenario else ""
            hint = f"the closest recording is {closest.name!r}{where}"
        return error_answer(404, f"replay: no recording matches {what} (by scenario or request hash); {hint}",
                            "recording_not_found")

    def _answer(self, recording: Recording, req: ReplayRequest) -> PlannedAnswer:
        opts = self.options
        status = opts.status or recording.status
        headers = tuple((k, v) for k, v in recording.headers if k.lower() not in _NOT_REPLAYED)
        if recording.kind == "sse" and req.method == "POST" and _wants_stream(req.body) is False:
            # A non-stream request for a recorded stream gets the stream's terminal snapshot.
            snapshot = terminal_snapshot(recording.body)
            if snapshot is not None:
                body = json.dumps(snapshot).encode()
                return PlannedAnswer(status, "application/json", [body], False, recording.name, headers)
        if recording.kind != "sse":
            media_type = recording.content_type or ("application/json" if recording.kind == "json" else "text/plain")
            return PlannedAnswer(status, media_type, [recording.body], False, recording.name, headers)
        body = truncated(recording.body, opts.disconnect_after)
        pieces = list(chunk(body, opts.chunking, seed=opts.seed))
        media_type = recording.content_type or "text/event-stream"
        return PlannedAnswer(status, media_type, pieces, True, recording.name, headers)


def _skipped_answer(req: ReplayRequest, reason: str) -> PlannedAnswer:
    message = f"replay: scenario {req.scenario!r} was skipped when it was recorded ({reason}); nothing to replay"
    answer = error_answer(404, message, "scenario_skipped_when_recorded")
    # Header values are latin-1 on the wire: keep the reason ASCII.
    value = reason.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")
    return dataclasses.replace(answer, headers=((SKIPPED_HEADER, value),))


def _auth_error(req: ReplayRequest) -> PlannedAnswer:
    if req.auth == "none":
        message = "You didn't provide an API key (replay started with --api-key)."
    else:
        message = "Incorrect API key provided (replay started with --api-key)."
    return error_answer(401, message, "invalid_api_key")


def create_replay_app(
    recordings: list[Recording] | Replayer, options: ReplayOptions | None = None
) -> Any:
    """A Starlette app answering every path from `recordings` (paths under /v1 or not)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    replayer = recordings if isinstance(recordings, Replayer) else Replayer(recordings, options)
    delay = replayer.options.delay_ms / 1000.0

    async def paced(pieces: list[bytes]) -> AsyncIterator[bytes]:
        for i, piece in enumerate(pieces):
            if delay and i:
                await asyncio.sleep(delay)
            yield piece

    async def answer(request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        plan = replayer.plan(request.method, path, request.headers, await request.body())
        # content-type goes in as a header: Starlette would append a charset to a media_type.
        headers = {**dict(plan.headers), "content-type": plan.media_type}
        if plan.recording and plan.recording.isascii():
            headers["x-replay-recording"] = plan.recording
        if not plan.stream:
            return Response(plan.body, status_code=plan.status, headers=headers)
        headers.setdefault("cache-control", "no-cache")
        return StreamingResponse(paced(plan.pieces), status_code=plan.status, headers=headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "recordings": len(replayer.recordings)})

    async def socket(ws: WebSocket) -> None:
        from conformance.replay.websocket import play

        records = replayer.next_transcript(ws.headers.get(SCENARIO_HEADER))
        if records is None and "websocket.http.response" not in ws.scope.get("extensions", {}):
            await ws.close(code=1008, reason="no recorded WebSocket for this scenario")
            return
        if records is None:  # no recorded socket: as a server without WebSocket mode
            await ws.send_denial_response(JSONResponse(
                {"error": {"message": "replay: no recorded WebSocket for this scenario", "type":
                           "invalid_request_error", "param": None, "code": "recording_not_found"}}, status_code=404))
            return
        await ws.accept()
        await play(ws, records, delay=delay)  # --delay-ms paces messages as it paces SSE pieces

    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    return Starlette(routes=[Route("/health", health, methods=["GET"]),
                             Route("/{path:path}", answer, methods=methods),
                             WebSocketRoute("/{path:path}", socket)])
