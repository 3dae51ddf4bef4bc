"""WebSocket mode: `response.create` and `response.steer` on one socket at `/v1/responses`.

One response runs at a time; `response.create` events queue in arrival order. Each is parsed
and validated exactly like `POST /v1/responses` (the same `ResponseService`), and its events are
the same as over SSE, one JSON text message each. What goes wrong is an `error` message
(`{type, status, error: {type, code, message, param}}`); the socket stays open. A create with
`generate: false` (WebSocket-only) prepares its state as a completed response with no output.

The connection keeps the conversation of its most recent finished response in memory, so a
`store: false` response can be continued by `previous_response_id` on the same socket (a new
socket has lost it: `previous_response_not_found`). A continuation that fails evicts the
response it named. After `websocket_max_seconds` the server sends
`websocket_connection_limit_reached` and closes normally (after the running response).

Steering (`response.steer`) queues user input for the running response. The input is committed
by an automatic successor response (same settings, `previous_response_id` = the steered one)
created when the running one finishes; if it stopped for client tool output, the input stays
queued (`response.steer.pending`) and is prepended to the client's next `response.create` for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from ..core.service import Prepared, ResponseService
from ..core.settings import Settings
from ..protocol.errors import APIError, error_body, invalid_type
from ..protocol.events import ResponseEventWriter, new_id
from ..protocol.request import parse_input
from ..protocol.sse import dumps
from .middleware import authorized

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
MAX_PENDING_STEERS = 8
MAX_QUEUED_CREATES = 32  # a client that floods creates gets errors, not unbounded memory
_KEPT_WRITERS = 32  # finished responses a late `response.steer` is still answered about
_TOOL_CALLS = ("function_call", "custom_tool_call")


def install_websocket(app: FastAPI, service: ResponseService, settings: Settings) -> None:
    api_key = settings.api_key.encode() if settings.api_key else None

    @app.websocket("/v1/responses")
    async def responses_socket(ws: WebSocket) -> None:
        if not authorized(ws.scope, api_key):
            await _deny(ws)
            return
        await ws.accept()
        await _Connection(ws, service, settings).serve()


async def _deny(ws: WebSocket) -> None:
    """401 on the upgrade itself when the server can send one, else a policy close."""
    body = error_body("Incorrect API key provided. Pass it as 'Authorization: Bearer <key>'.",
                      code="invalid_api_key")
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse(body, status_code=401, headers={"www-authenticate": "Bearer"}))
    else:
        await ws.close(code=CLOSE_POLICY, reason="invalid_api_key")


@dataclass
class _Steer:
    id: str
    input: Any  # as the client sent it (returned in `response.steer.failed`)
    items: list[dict[str, Any]]


@dataclass
class _Turn:
    prep: Prepared
    body: dict[str, Any]  # the create body, inherited by an automatic successor
    stream_id: str | None
    steers: list[_Steer] = field(default_factory=list)
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # waiting for a number


class _Connection:
    def __init__(self, ws: WebSocket, service: ResponseService, settings: Settings) -> None:
        self.ws = ws
        self.service = service
        self.settings = settings
        self.creates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.cache: dict[str, list[dict[str, Any]]] = {}  # the most recent response's conversation
        self.turn: _Turn | None = None
        self.writers: dict[str, tuple[ResponseEventWriter, str | None]] = {}  # finished, on this socket
        self.pending: dict[str, list[_Steer]] = {}  # steer input waiting for an explicit create
        self.deadline = time.monotonic() + settings.websocket_max_seconds
        self.lock = asyncio.Lock()

    async def serve(self) -> None:
        receiver = asyncio.create_task(self._receive())
        worker = asyncio.create_task(self._work())
        try:
            await asyncio.wait({receiver, worker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (worker, receiver):  # the worker first: its response is stored cancelled
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    # ------------------------------------------------------------------ sending
    async def _send(self, event: dict[str, Any], stream_id: str | None = None) -> None:
        if event.get("type") == "error" and "error" not in event:
            # Over a WebSocket the error is always nested (the SDK's ResponseWsError).
            event = {"type": "error", "sequence_number": event.get("sequence_number"),
                     "error": {"type": event.get("code") or "server_error", "code": event.get("code"),
                               "message": event.get("message"), "param": event.get("param")}}
        if stream_id is not None:
            event = {**event, "stream_id": stream_id}
        async with self.lock:
            await self.ws.send_text(dumps(event).decode())

    async def _send_error(self, status: int, error: dict[str, Any], stream_id: str | None = None) -> None:
        await self._send({"type": "error", "status": status, "error": error}, stream_id)

    async def _api_error(self, exc: APIError, stream_id: str | None = None) -> None:
        await self._send_error(exc.status, exc.body()["error"], stream_id)

    # ------------------------------------------------------------------ receiving
    async def _receive(self) -> None:
        while True:
            try:
                message = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            if data is None:
                data = (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(data) > self.settings.max_body_bytes:
                await self._send_error(413, error_body(
                    f"Message too large: the limit is {self.settings.max_body_bytes} bytes.",
                    code="request_too_large")["error"])
                await self.ws.close(code=CLOSE_TOO_BIG)
                return
            try:
                event = json.loads(data)
            except ValueError as exc:
                await self._send_error(400, error_body(f"The message is not valid JSON: {exc}.",
                                                       code="invalid_json")["error"])
                continue
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "response.create":
                if self.creates.qsize() >= MAX_QUEUED_CREATES:
                    await self._send_error(429, error_body(
                        f"Too many response.create messages waiting: at most {MAX_QUEUED_CREATES} may queue "
                        "behind the running response.", code="too_many_queued_requests")["error"])
                    continue
                await self.creates.put(event)
            elif kind == "response.steer":
                await self._steer(event)
            else:
                shown = "a message without 'type'" if kind is None else f"'{kind}'"
                await self._send_error(400, error_body(
                    f"Unsupported client event {shown}: expected 'response.create' or 'response.steer'.",
                    param="type", code="unknown_event_type")["error"])

    # ------------------------------------------------------------------ responses
    async def _work(self) -> None:
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(self.creates.get(), remaining)
            except TimeoutError:
                break
            await self._create(event)
        minutes = self.settings.websocket_max_seconds / 60
        await self._send_error(400, error_body(
            f"This WebSocket reached its connection limit ({minutes:g} minutes): open a new one.",
            code="websocket_connection_limit_reached")["error"])
        await self.ws.close(code=CLOSE_NORMAL, reason="websocket_connection_limit_reached")

    async def _create(self, event: dict[str, Any]) -> None:
        stream_id = event.get("stream_id") if isinstance(event.get("stream_id"), str) else None
        body = {k: v for k, v in event.items() if k not in ("type", "stream_id")}
        previous = body.get("previous_response_id")
        previous = previous if isinstance(previous, str) else None
        queued = self.pending.pop(previous, []) if previous else []
        try:
            if body.get("background") is True:
                raise APIError(400, "'background' is not supported over a WebSocket.", param="background",
                               code="unsupported_parameter")
            body["stream"] = True  # implicit over a WebSocket
            # WebSocket-only: `generate: false` prepares the request's state without model output.
            generate = body.pop("generate", None)
            if generate is not None and not isinstance(generate, bool):
                raise invalid_type("generate", "a boolean", generate)
            if queued:
                own = body.get("input")
                own = [{"type": "message", "role": "user", "content": own}] if isinstance(own, str) else own
                body["input"] = [item for s in queued for item in s.items] + list(own or [])
            prep = await self.service.prepare(body, local=self.cache, generate=generate is not False)
        except APIError as exc:
            if previous:
                self.cache.pop(previous, None)  # a failed continuation evicts what it named
            await self._api_error(exc, stream_id)
            await self._fail_steers(queued, previous, "successor_creation_failed",
                                    "The request that was to carry this input failed.")
            return
        await self._run(prep, body, stream_id)

    async def _run(self, prep: Prepared, body: dict[str, Any], stream_id: str | None) -> None:
        turn = _Turn(prep, body, stream_id)
        self.turn = turn
        writer = prep.writer
        try:
            async with contextlib.aclosing(self.service.stream(prep)) as events:
                async for event in events:
                    await self._send(event, stream_id)
                    if writer.next_sequence_number == event["sequence_number"] + 1:
                        await self._flush(turn)
        finally:
            self.turn = None
        response = writer.snapshot()
        self._remember(writer, stream_id)
        previous = prep.request.previous_response_id
        if response["status"] in ("completed", "incomplete"):
            output = response.get("output") or []
            self.cache = {writer.response_id: [*prep.context, *prep.request.input_items, *output]}
        elif previous:
            self.cache.pop(previous, None)
        await self._flush(turn)
        if turn.steers:
            await self._after_steered(turn, response)

    def _remember(self, writer: ResponseEventWriter, stream_id: str | None) -> None:
        self.writers[writer.response_id] = (writer, stream_id)
        while len(self.writers) > _KEPT_WRITERS:
            del self.writers[next(iter(self.writers))]

    # ------------------------------------------------------------------ steering
    async def _flush(self, turn: _Turn) -> None:
        notices, turn.notices = turn.notices, []
        for kind, fields in notices:
            await self._send(turn.prep.writer.notice(kind, **fields), turn.stream_id)

    async def _steer(self, event: dict[str, Any]) -> None:
        target = event.get("previous_response_id")
        raw = event.get("input")
        turn = self.turn
        running = turn is not None and turn.prep.writer.response_id == target and turn.prep.writer.phase != "done"
        try:
            items = _steer_items(event)
        except APIError as exc:
            await self._steer_failed(target, raw, None, "invalid_input", exc.message)
            return
        if running:
            assert turn is not None
            if len(turn.steers) >= MAX_PENDING_STEERS:
                await self._steer_failed(target, raw, None, "too_many_pending_steers",
                                         f"At most {MAX_PENDING_STEERS} steering inputs may wait for one response.")
                return
            steer = _Steer(new_id("steer"), raw, items)
            turn.steers.append(steer)
            turn.prep.stop_at_boundary = "steered"  # the successor takes over at the next item boundary
            turn.notices.append(("response.steer.accepted",
                                 {"steer": {"id": steer.id, "previous_response_id": target}}))
            return
        if isinstance(target, str) and target in self.writers:
            await self._steer_failed(target, raw, None, "response_already_completed",
                                     f"Response '{target}' has finished and no longer accepts steering input.")
        else:
            await self._steer_failed(target, raw, None, "response_not_found",
                                     f"Response '{target}' is not running on this connection.")

    async def _steer_failed(self, target: Any, raw: Any, steer_id: str | None, code: str, message: str) -> None:
        steer: dict[str, Any] = {"input": raw, "previous_response_id": target}
        if steer_id is not None:
            steer["id"] = steer_id
        fields = {"error": {"type": "invalid_request_error", "code": code, "message": message}, "steer": steer}
        turn = self.turn
        if turn is not None and turn.prep.writer.response_id == target:
            # Its events may be numbered but not sent yet: the notice waits its turn in order.
            turn.notices.append(("response.steer.failed", fields))
            return
        known = self.writers.get(target) if isinstance(target, str) else None
        if known is not None:
            writer, stream_id = known
            await self._send(writer.notice("response.steer.failed", **fields), stream_id)
        else:
            # No response of this connection to number it in: it stands alone.
            await self._send({"type": "response.steer.failed", "sequence_number": 0, **fields})

    async def _fail_steers(self, steers: list[_Steer], target: str | None, code: str, message: str) -> None:
        for steer in steers:
            await self._steer_failed(target, steer.input, steer.id, code, message)

    async def _after_steered(self, turn: _Turn, response: dict[str, Any]) -> None:
        rid = turn.prep.writer.response_id
        if response["status"] not in ("completed", "incomplete"):
            await self._fail_steers(turn.steers, rid, "response_not_active",
                                    f"Response '{rid}' ended {response['status']} before the input was applied.")
            return
        calls = [item for item in response.get("output") or [] if item.get("type") in _TOOL_CALLS]
        if calls:
            # The client owes tool output: the input waits for its explicit continuation.
            self.pending[rid] = list(turn.steers)
            required = [_required_input(call) for call in calls]
            for steer in turn.steers:
                await self._send(turn.prep.writer.notice(
                    "response.steer.pending", reason="waiting_for_required_input", required_input=required,
                    steer={"id": steer.id, "previous_response_id": rid}), turn.stream_id)
            return
        body = {**turn.body, "previous_response_id": rid,
                "input": [item for steer in turn.steers for item in steer.items]}
        try:
            prep = await self.service.prepare(body, local=self.cache)
        except APIError as exc:
            await self._fail_steers(turn.steers, rid, "successor_creation_failed", exc.message)
            return
        await self._run(prep, body, turn.stream_id)


def _required_input(call: dict[str, Any]) -> dict[str, Any]:
    """The stub of the output a call is owed (openai-python's `ResponseSteerRequiredInput`): its
    `call_id`, and a function's `name`."""
    stub = {"type": f"{call['type']}_output", "call_id": call["call_id"]}
    if call["type"] == "function_call":
        stub["name"] = call["name"]
    return stub


_STEER_KEYS = {"type", "previous_response_id", "input"}
_STEER_MESSAGE_KEYS = {"type", "role", "content"}


def _steer_items(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The steering input as input items; APIError(400) naming what is wrong."""
    extra = sorted(set(event) - _STEER_KEYS)
    if extra:
        raise APIError(400, f"Unknown parameter '{extra[0]}': response.steer accepts only 'previous_response_id' "
                            "and 'input'.", param=extra[0])
    target = event.get("previous_response_id")
    if not isinstance(target, str) or not target:
        raise APIError(400, "'previous_response_id' is required and must be a response id.",
                       param="previous_response_id")
    raw = event.get("input")
    if isinstance(raw, list):
        if not raw:
            raise APIError(400, "'input' must not be an empty array.", param="input")
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or item.get("type", "message") != "message" or item.get("role") != "user":
                raise APIError(400, f"'input[{i}]': steering accepts only user messages.", param=f"input[{i}]")
            extra = sorted(set(item) - _STEER_MESSAGE_KEYS)
            if extra:
                raise APIError(400, f"'input[{i}].{extra[0]}' is not allowed in steering input.",
                               param=f"input[{i}].{extra[0]}")
    elif not isinstance(raw, str) or not raw:
        raise APIError(400, "'input' must be a non-empty string or array of user messages.", param="input")
    items: list[dict[str, Any]] = parse_input(raw)
    for i, item in enumerate(items):
        for part in item.get("content", []):
            if part.get("type") not in ("input_text", "input_image", "input_file"):
                raise APIError(400, f"'input[{i}]': steering content must be text, images or files.",
                               param=f"input[{i}].content")
    return items

