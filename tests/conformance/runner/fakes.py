"""Hand-written Responses API fakes for the runner tests: a small correct Starlette app whose
stream can be broken on purpose (one defect per flag). Never imports the reference server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-model-1"
TEXT = "Hello there! How can I help you today?"
_ids = itertools.count(1)


@dataclass
class Defects:
    drop_content_part_added: bool = False
    output_index_offset: int = 0
    no_terminal: bool = False
    bad_request_style: str = "openai"  # "openai" | "fastapi-422" | "500"
    hang_stream_after: int | None = None  # events sent before the stream hangs forever
    crash_stream_after: int | None = None  # events sent before the app raises mid-stream
    api_key: str | None = None
    leak_key: bool = False  # echo the Authorization header into error bodies and the text


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}, status
    )


def _snapshot(rid: str, req: dict[str, Any], status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1752774614,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": req.get("model", MODEL),
        "output": output,
        "parallel_tool_calls": req.get("parallel_tool_calls", True) is not False,
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": req.get("store", True) is not False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": req.get("tool_choice") or "auto",
        "tools": req.get("tools") or [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": req.get("metadata") or {},
    }


def text_events(req: dict[str, Any], d: Defects, leak: str | None = None) -> list[dict[str, Any]]:
    """A correct text-answer stream, then the configured defects applied."""
    text = TEXT if leak is None else f"{TEXT} Your key: {leak}"
    n = next(_ids)
    rid, mid = f"resp_fake{n:08d}", f"msg_fake{n:08d}"
    oi = 0 + d.output_index_offset
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    done_part = {**part, "text": text}
    item = {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    done_item = {**item, "status": "completed", "content": [done_part]}
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 22,
    }
    loc = {"item_id": mid, "output_index": oi, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _snapshot(rid, req, "in_progress", [], None)},
        {"type": "response.in_progress", "response": _snapshot(rid, req, "in_progress", [], None)},
        {"type": "response.output_item.added", "output_index": oi, "item": item},
        {"type": "response.content_part.added", **loc, "part": part},
    ]
    for word in text.split(" "):
        piece = word if not events[-1]["type"].endswith("delta") else " " + word
        events.append({"type": "response.output_text.delta", **loc, "delta": piece, "logprobs": []})
    events += [
        {"type": "response.output_text.done", **loc, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **loc, "part": done_part},
        {"type": "response.output_item.done", "output_index": oi, "item": done_item},
        {"type": "response.completed", "response": _snapshot(rid, req, "completed", [done_item], usage)},
    ]
    if d.drop_content_part_added:
        events = [e for e in events if e["type"] != "response.content_part.added"]
    if d.no_terminal:
        events = events[:-1]
    for seq, e in enumerate(events):
        e["sequence_number"] = seq
    return events


def sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def make_app(defects: Defects | None = None) -> Starlette:
    d = defects or Defects()
    stored: dict[str, dict[str, Any]] = {}

    current: dict[str, Request] = {}  # the request being answered (for the leaky defect)

    def bad(status: int, message: str, param: str | None = None) -> Response:
        if d.leak_key and "request" in current:
            message += f" (you sent {current['request'].headers.get('authorization')})"
        if d.bad_request_style == "500":
            return Response("Internal Server Error", 500, media_type="text/plain")
        if d.bad_request_style == "fastapi-422":
            return JSONResponse({"detail": [{"loc": ["body", param or ""], "msg": message, "type": "value_error"}]}, 422)
        return _error(status, message, param)

    def authorized(request: Request) -> bool:
        return d.api_key is None or request.headers.get("authorization") == f"Bearer {d.api_key}"

    async def models(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "tests"}]})

    def validate(req: Any) -> Response | None:
        if not isinstance(req, dict):
            return bad(400, "body must be a JSON object")
        if not isinstance(req.get("model"), str):
            return bad(400, "Missing required parameter: 'model'.", "model")
        if not isinstance(req.get("input"), str | list):
            return bad(400, "Invalid type for 'input'.", "input")
        meta = req.get("metadata")
        if isinstance(meta, dict) and (len(meta) > 16 or any(len(k) > 64 or len(str(v)) > 512 for k, v in meta.items())):
            return bad(400, "metadata over its limits", "metadata")
        mot = req.get("max_output_tokens")
        if isinstance(mot, int) and mot < 16:
            return bad(400, "max_output_tokens below minimum value 16", "max_output_tokens")
        choice = req.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            names = {t.get("name") for t in req.get("tools") or []}
            if choice.get("name") not in names:
                return bad(400, "tool_choice names an unknown function", "tool_choice")
        prev = req.get("previous_response_id")
        if prev is not None and prev not in stored:
            return _error(404, f"Previous response with id '{prev}' not found.", "previous_response_id")
        return None

    async def create(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        current["request"] = request
        try:
            req = json.loads(await request.body())
        except ValueError:
            return bad(400, "We could not parse the JSON body of your request.")
        problem = validate(req)
        if problem is not None:
            return problem
        events = text_events(req, d, leak=request.headers.get("authorization") if d.leak_key else None)
        final = events[-1].get("response") if events[-1]["type"] == "response.completed" else None
        if final is not None and final["store"]:
            stored[final["id"]] = final
        if not req.get("stream"):
            return JSONResponse(final)

        async def body() -> AsyncIterator[bytes]:
            for i, event in enumerate(events):
                if d.hang_stream_after is not None and i >= d.hang_stream_after:
                    await asyncio.sleep(3600)
                if d.crash_stream_after is not None and i >= d.crash_stream_after:
                    raise RuntimeError("the fake crashes mid-stream on purpose")
                yield sse(event)

        return StreamingResponse(body(), media_type="text/event-stream")

    async def get_response(request: Request) -> Response:
        rid = request.path_params["rid"]
        if rid not in stored:
            return _error(404, f"Response with id '{rid}' not found.")
        return JSONResponse(stored[rid])

    async def delete_response(request: Request) -> Response:
        rid = request.path_params["rid"]
        if stored.pop(rid, None) is None:
            return _error(404, f"Response with id '{rid}' not found.")
        return JSONResponse({"id": rid, "object": "response.deleted", "deleted": True})

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/responses", create, methods=["POST"]),
            Route("/v1/responses/{rid}", get_response, methods=["GET"]),
            Route("/v1/responses/{rid}", delete_response, methods=["DELETE"]),
        ]
    )


# Module-level apps for `--app tests.conformance.runner.fakes:NAME`.
good_app = make_app()
no_content_part_app = make_app(Defects(drop_content_part_added=True))
index_off_by_one_app = make_app(Defects(output_index_offset=1))
server_error_app = make_app(Defects(bad_request_style="500"))
fastapi_422_app = make_app(Defects(bad_request_style="fastapi-422"))
no_terminal_app = make_app(Defects(no_terminal=True))
hanging_app = make_app(Defects(hang_stream_after=3))
crashing_app = make_app(Defects(crash_stream_after=4))
LEAK_KEY = "sk-leaky-0123456789abcdef"
leaky_app = make_app(Defects(api_key=LEAK_KEY, leak_key=True, bad_request_style="fastapi-422"))


def _no_models_app() -> Starlette:
    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": []})

    return Starlette(routes=[Route("/v1/models", models)])


no_models_app = _no_models_app()
