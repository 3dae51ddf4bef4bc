"""Broken converters for the tests: the reference proxy with one defect each, put between it
and the upstream as a small ASGI layer (what the proxy sends up is changed before the upstream
logs it; what the upstream answers is changed after it logged it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conformance.upstream.harness import reference_proxy

Body = dict[str, Any]


class DefectLayer:
    """ASGI: `request(body) -> body` on the way up, `frame(bytes) -> bytes | None` (None drops
    it) on every body chunk of the answer, `hide_errors`: an error status becomes a 200 stream
    that finishes normally with nothing in it."""

    def __init__(self, app: Any, *, request: Callable[[Body], Body] | None = None,
                 frame: Callable[[bytes], bytes | None] | None = None, hide_errors: bool = False) -> None:
        self.app, self.request, self.frame, self.hide_errors = app, request, frame, hide_errors

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].startswith("/_conformance"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if self.request:
            body = json.dumps(self.request(json.loads(body))).encode()
        sent = False

        async def receive_once() -> Any:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        hiding = False

        async def send_changed(message: Any) -> None:
            nonlocal hiding
            if message["type"] == "http.response.start" and self.hide_errors and message["status"] >= 400:
                hiding = True
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"text/event-stream")]})
                finish = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                          "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": "stop"}]}
                await send({"type": "http.response.body", "body": f"data: {json.dumps(finish)}\n\ndata: [DONE]\n\n".encode()})
                return
            if hiding:
                return
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]}
            if message["type"] == "http.response.body" and self.frame and message.get("body"):
                changed = self.frame(message["body"])
                if changed is None:
                    if not message.get("more_body"):
                        await send({"type": "http.response.body", "body": b""})
                    return
                message = {**message, "body": changed}
            await send(message)

        await self.app(scope, receive_once, send_changed)


def _cc_frame(fn: Callable[[Body], Body | None]) -> Callable[[bytes], bytes | None]:
    def frame(raw: bytes) -> bytes | None:
        text = raw.decode()
        if not text.startswith("data: {"):
            return raw
        chunk = fn(json.loads(text[6:]))
        return None if chunk is None else f"data: {json.dumps(chunk)}\n\n".encode()

    return frame


def _delta(chunk: Body) -> Body:
    return chunk["choices"][0]["delta"] if chunk.get("choices") else {}


def per_character_input(body: Body) -> Body:
    out = []
    for m in body["messages"]:
        if m["role"] == "user":
            text = m["content"] if isinstance(m["content"], str) else "".join(p.get("text", "") for p in m["content"])
            out += [{"role": "user", "content": ch} for ch in text]
        else:
            out.append(m)
    return {**body, "messages": out}


def drop_tool_choice(body: Body) -> Body:
    return {k: v for k, v in body.items() if k != "tool_choice"}


def lose_previous_turns(body: Body) -> Body:
    msgs = body["messages"]
    last_assistant = max((i for i, m in enumerate(msgs) if m["role"] == "assistant"), default=-1)
    keep = [m for m in msgs[: last_assistant + 1] if m["role"] == "system"] + msgs[last_assistant + 1 :]
    return {**body, "messages": keep}


def change_text(chunk: Body) -> Body:
    d = _delta(chunk)
    if d.get("content"):
        d["content"] = d["content"].upper()
    return chunk


def lose_second_call(chunk: Body) -> Body | None:
    calls = _delta(chunk).get("tool_calls") or []
    return None if any(c.get("index") == 1 for c in calls) else chunk


def swallow_reasoning(chunk: Body) -> Body | None:
    return None if _delta(chunk).get("reasoning_content") else chunk


def drop_usage(chunk: Body) -> Body | None:
    return None if chunk.get("usage") and not chunk.get("choices") else chunk


# defect name -> (layer options, the scenario that shows it, the one rule it must fail)
DEFECTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "per-character-input": ({"request": per_character_input}, "streaming-response", "upstream.request-messages"),
    "dropped-tool-choice": ({"request": drop_tool_choice}, "tool-choice-required", "upstream.request-tool-choice"),
    "lost-previous-turns": ({"request": lose_previous_turns}, "previous-response-id", "upstream.request-history"),
    "changed-text": ({"frame": _cc_frame(change_text)}, "streaming-response", "upstream.text-changed"),
    "lost-second-parallel-call": ({"frame": _cc_frame(lose_second_call)}, "parallel-tool-calls", "upstream.call-lost"),
    "swallowed-reasoning": ({"frame": _cc_frame(swallow_reasoning)}, "reasoning", "upstream.reasoning-dropped"),
    "usage-not-mapped": ({"frame": _cc_frame(drop_usage)}, "streaming-response", "upstream.usage-mismatch"),
    "upstream-500-answered-200": ({"hide_errors": True}, "upstream-http-error", "upstream.error-hidden"),
}


def drop_disable_parallel(body: Body) -> Body:
    choice = {k: v for k, v in (body.get("tool_choice") or {}).items() if k != "disable_parallel_tool_use"}
    return {**body, "tool_choice": choice}


def drop_web_search(body: Body) -> Body:
    """The web search tool (and the choice forcing it) not forwarded to Anthropic."""
    tools = [t for t in body.get("tools") or [] if not str(t.get("type")).startswith("web_search")]
    out = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
    return {**out, "tools": tools} if tools else out


def unforce_web_search(body: Body) -> Body:
    return {**body, "tool_choice": {"type": "auto"}}


# Defects whose scenario would also fail a model-behaviour rule (the wrong tool called, two calls
# although disabled): with the upstream known, only the proxy's rule remains.
CONSEQUENCES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "cc-dropped-tool-choice-wrong-tool": ("chat-completions", {"request": drop_tool_choice}, "tool-choice-function",
                                          "upstream.request-tool-choice"),
    "anthropic-dropped-disable-parallel": ("anthropic", {"request": drop_disable_parallel},
                                           "parallel-tool-calls-disabled", "upstream.request-parallel-calls"),
    "anthropic-dropped-web-search": ("anthropic", {"request": drop_web_search}, "web-search-forced",
                                     "upstream.request-tools"),
    "anthropic-forced-web-search-sent-as-auto": ("anthropic", {"request": unforce_web_search}, "web-search-forced",
                                                 "upstream.request-tool-choice"),
}


def broken_proxy(defect: str, kind: str = "chat-completions", options: dict[str, Any] | None = None
                 ) -> Callable[[str, httpx.AsyncBaseTransport], Any]:
    """A converter with `defect`: the reference proxy over a defect layer."""
    options = DEFECTS[defect][0] if options is None else options
    make = reference_proxy(kind)

    def build(url: str, transport: httpx.AsyncBaseTransport) -> Any:
        assert isinstance(transport, httpx.ASGITransport)
        layered = httpx.ASGITransport(app=DefectLayer(transport.app, **options))
        return make(url, layered)

    return build
