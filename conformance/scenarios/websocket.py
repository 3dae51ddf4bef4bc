"""WebSocket mode (`/v1/responses` as a WebSocket) and `POST /responses/compact`.

Every Open Responses WebSocket and compaction test id is a scenario here under the same id, plus
steering, reconnecting, a long-lived socket and a client that leaves mid-response. Each socket
is recorded as a transcript and checked by the ws.* rules and the per-response rules. A target
that answers the upgrade (or /responses/compact) with 404/405 lacks the feature: skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from conformance.exchange import Expectation, invalid
from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import message_text, scenario

ESSAY = "Write a detailed 500-word essay about the history of lighthouses."
# The upgrade (or /responses/compact) of a server without the feature: no route (404), a route
# for other methods only (405), or a framework that refuses unrouted upgrades (403, 501).
MISSING = (403, 404, 405, 501)
# What a compaction request expects (recorded with it): 200, unless the target has no endpoint.
COMPACT = Expectation("valid", unless=MISSING)
TOOL = {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                       "additionalProperties": False}, "strict": True}


class _Sockets:
    """The sockets one scenario opens; each transcript is checked when the scenario ends."""

    def __init__(self, ctx: ScenarioContext) -> None:
        self.ctx = ctx
        self.opened: list[Any] = []

    def open(self) -> Any:
        from conformance.ws_session import RecordingSocket, UpgradeRefused

        target = self.ctx.client.target
        try:
            # The scenario header lets a replay of a recording pick this scenario's sockets.
            ws = RecordingSocket(target.base_url + "/responses", headers={**target.auth_headers(),
                                                                          **self.ctx._headers()},
                                 timeout=self.ctx.client.timeout)
        except UpgradeRefused as exc:
            if exc.status in MISSING:
                self.ctx.skip(f"the target has no WebSocket mode (the upgrade was answered {exc.status})")
            self.ctx.finding("http.status", f"WebSocket upgrade answered {exc.status}", excerpt=exc.body[:300].decode(
                "utf-8", "replace"))
            self.ctx.abort()
        except OSError as exc:
            self.ctx.finding("http.status", f"WebSocket upgrade failed: {type(exc).__name__}: {exc}")
            self.ctx.abort()
        self.opened.append(ws)
        return ws

    def judge(self) -> None:
        from conformance.transcript import TranscriptChecker

        for n, ws in enumerate(self.opened, 1):
            ws.close()
            checker = TranscriptChecker(self.ctx.profile)
            for record in ws.records:
                checker.feed(record)
            label = f"socket {n}" if len(self.opened) > 1 else "socket"
            self.ctx._adopt(checker.finish().findings, label)
            for observer in self.ctx.observers:  # `conformance record` keeps the transcript
                keep = getattr(observer, "observe_transcript", None)
                if keep is not None:
                    keep(self.ctx.scenario_id, ws.records)
        self.ctx.note("websocket_messages", sum(len(ws.records) for ws in self.opened))


async def _with_sockets(ctx: ScenarioContext, body: Callable[[ScenarioContext, _Sockets], None]) -> None:
    target = ctx.client.target
    if target.kind == "app":
        ctx.skip("an in-process app target has no WebSocket transport: run against a URL or the embedded server")
    try:
        import websockets  # noqa: F401
    except ImportError:
        ctx.skip("WebSocket scenarios need the 'websockets' package (the run extra)")
    sockets = _Sockets(ctx)
    try:
        await asyncio.to_thread(body, ctx, sockets)
    finally:
        await asyncio.to_thread(sockets.judge)


def _create(ctx: ScenarioContext, **fields: Any) -> dict[str, Any]:
    return {"type": "response.create", "model": ctx.model, **fields}


def _completed(ctx: ScenarioContext, events: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The terminal response of one answer, which must be a completed response with text."""
    last = events[-1] if events else {}
    if last.get("type") == "error":
        ctx.finding("http.status", f"{label}: answered with an error event", excerpt=str(last)[:300])
        ctx.abort()
    if last.get("type") != "response.completed":
        ctx.finding("http.status", f"{label}: no response.completed (last message: {last.get('type')!r})")
        ctx.abort()
    response: dict[str, Any] = last.get("response") or {}
    if not message_text(response).strip() and not [i for i in response.get("output") or []
                                                     if i.get("type") == "function_call"]:
        ctx.finding("http.output-missing", f"{label}: no message with output text")
    return response


def _error(ctx: ScenarioContext, events: list[dict[str, Any]], label: str, code: str | None = None) -> dict[str, Any]:
    """One `error` event answering a create (not a response), with the nested error shape."""
    last = events[-1] if events else {}
    if last.get("type") != "error" or any(e.get("type") == "response.created" for e in events):
        ctx.finding("http.bad-request", f"{label}: expected an error event, got {[e.get('type') for e in events][:5]}")
        ctx.abort()
    err = last.get("error")
    if not isinstance(err, dict) or not isinstance(err.get("message"), str) or not isinstance(err.get("type"), str):
        ctx.finding("http.error-shape", f"{label}: the error event lacks error.message / error.type",
                    excerpt=str(last)[:300])
    elif code is not None and err.get("code") != code:
        ctx.finding("http.bad-request", f"{label}: error code {err.get('code')!r}, expected {code!r}")
    return last


# ------------------------------------------------------------------ Open Responses ids

@scenario("websocket-response", "One response over a WebSocket", "websocket", "open-responses")
async def websocket_response(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ws.send(_create(ctx, input="Say hello in one short sentence."))
        _completed(ctx, ws.response(), "response")

    await _with_sockets(ctx, body)


@scenario("websocket-sequential-responses", "Three responses one after another on one socket", "websocket", "open-responses")
async def websocket_sequential(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ids = []
        for i in range(3):
            ws.send(_create(ctx, input=f"Say the number {i + 1} in words."))
            ids.append(_completed(ctx, ws.response(), f"response {i + 1}").get("id"))
        if len(set(ids)) != 3:
            ctx.finding("http.status", f"sequential responses share ids: {ids}")

    await _with_sockets(ctx, body)


def _continue(ctx: ScenarioContext, ws: Any, store: bool, label: str) -> tuple[str, dict[str, Any]]:
    ws.send(_create(ctx, input="My favourite colour is teal. Acknowledge briefly.", store=store))
    first = _completed(ctx, ws.response(), f"{label} first turn")
    ws.send(_create(ctx, input="What is my favourite colour?", store=store, previous_response_id=first["id"]))
    second = _completed(ctx, ws.response(), f"{label} continuation")
    if second.get("previous_response_id") != first["id"]:
        ctx.finding("http.previous-response", f"{label}: the continuation names previous_response_id "
                                              f"{second.get('previous_response_id')!r}, not {first['id']!r}")
    return first["id"], second


@scenario("websocket-continuation", "previous_response_id continues on the same socket (store: false)", "websocket", "open-responses")
async def websocket_continuation(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        _continue(ctx, sockets.open(), False, "store false")

    await _with_sockets(ctx, body)


@scenario("websocket-reconnect-store-false-recovery",
          "A store:false response is gone on a new socket; a new chain with full input recovers", "websocket", "open-responses")
async def websocket_reconnect_store_false(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        first = sockets.open()
        first.send(_create(ctx, input="Remember the word kumquat.", store=False))
        rid = _completed(ctx, first.response(), "first socket")["id"]
        first.close()
        second = sockets.open()
        second.send(_create(ctx, input="Which word?", store=False, previous_response_id=rid))
        _error(ctx, second.response(), "continuation on a new socket", "previous_response_not_found")
        second.send(_create(ctx, store=False, input=[{"role": "user", "content": "Remember the word kumquat."},
                                                     {"role": "user", "content": "Which word?"}]))
        _completed(ctx, second.response(), "recovery with the full input")

    await _with_sockets(ctx, body)


@scenario("websocket-previous-response-not-found", "An unknown previous_response_id is an error event; the "
          "socket stays usable", "websocket", "errors", "open-responses")
async def websocket_previous_not_found(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ws.send(_create(ctx, input="hi", previous_response_id="resp_does_not_exist_0000000000000000"))
        _error(ctx, ws.response(), "unknown previous response", "previous_response_not_found")
        ws.send(_create(ctx, input="Say hello in one short sentence."))
        _completed(ctx, ws.response(), "after the error")

    await _with_sockets(ctx, body)


@scenario("websocket-failed-continuation-evicts-cache",
          "A failed continuation evicts the store:false response it named", "websocket", "errors", "open-responses")
async def websocket_failed_continuation(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ws.send(_create(ctx, input="Remember the word kumquat.", store=False))
        rid = _completed(ctx, ws.response(), "first turn")["id"]
        ws.send(_create(ctx, input="Which word?", store=False, previous_response_id=rid, temperature=7))
        _error(ctx, ws.response(), "invalid continuation (temperature 7)")
        ws.send(_create(ctx, input="Which word?", store=False, previous_response_id=rid))
        _error(ctx, ws.response(), "continuation after the failure", "previous_response_not_found")

    await _with_sockets(ctx, body)


@scenario("websocket-compact-new-chain", "A compacted window starts a new chain on a WebSocket", "websocket",
          "compact", "open-responses")
async def websocket_compact_new_chain(ctx: ScenarioContext) -> None:
    window = [{"role": "user", "content": "My favourite colour is teal."},
              {"role": "assistant", "content": "Noted: teal."}]
    ex = await ctx.send("POST", "responses/compact", {"model": ctx.model, "input": window}, label="compact",
                        expect=COMPACT)
    if ex.status in MISSING:
        ctx.skip(f"the target has no /responses/compact (answered {ex.status})")
    ctx.judge_valid(ex, "compact")
    output = ex.body.get("output") if isinstance(ex.body, dict) else None
    if not isinstance(output, list) or not output or output[-1].get("type") != "compaction":
        ctx.finding("http.output-missing", "compact: the output does not end with a compaction item")
        ctx.abort()

    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ws.send(_create(ctx, input=[*output, {"role": "user", "content": "What is my favourite colour?"}]))
        _completed(ctx, ws.response(), "new chain from the compaction")

    await _with_sockets(ctx, body)


@scenario("compact-response", "POST /responses/compact returns a compaction item", "compact", "open-responses")
async def compact_response(ctx: ScenarioContext) -> None:
    window = [{"role": "user", "content": "Summarise our plan: buy apples, then bake a pie."},
              {"role": "assistant", "content": "Plan: apples, then pie."}]
    ex = await ctx.send("POST", "responses/compact", {"model": ctx.model, "input": window}, label="compact",
                        expect=COMPACT)
    if ex.status in MISSING:
        ctx.skip(f"the target has no /responses/compact (answered {ex.status})")
    ctx.judge_valid(ex, "compact")
    body = ex.body if isinstance(ex.body, dict) else {}
    problems = []
    if body.get("object") != "response.compaction":
        problems.append(f"object is {body.get('object')!r}, not 'response.compaction'")
    output: list[Any] = body["output"] if isinstance(body.get("output"), list) else []
    compactions = [i for i in output if isinstance(i, dict) and i.get("type") == "compaction"]
    if len(compactions) != 1 or not isinstance(compactions[0].get("encrypted_content"), str):
        problems.append("the output has no single compaction item with encrypted_content")
    if not isinstance(body.get("usage"), dict):
        problems.append("no usage")
    for problem in problems:
        ctx.finding("http.object-shape", f"compact: {problem}")


@scenario("compact-missing-model", "POST /responses/compact without model is a 400", "compact", "errors", "open-responses")
async def compact_missing_model(ctx: ScenarioContext) -> None:
    ex = await ctx.send("POST", "responses/compact", {"input": "hello"}, label="compact without model",
                        expect=invalid(unless=MISSING))
    if ex.status in MISSING and not (isinstance(ex.body, dict) and (ex.body.get("error") or {}).get("param")):
        ctx.skip(f"the target has no /responses/compact (answered {ex.status})")
    ctx.judge_error(ex)


# ------------------------------------------------------------------ beyond Open Responses

@scenario("compact-auto-stream", "context_management compaction: compaction item first, streamed with "
          "response.compaction.compacting, then a continuation", "compact", "stream")
async def compact_auto_stream(ctx: ScenarioContext) -> None:
    # A threshold of one token: whatever the prompt, the window is compacted.
    sx = await ctx.stream({"input": "My favourite colour is teal. Say OK.",
                           "context_management": [{"type": "compaction", "compact_threshold": 1}]})
    error = sx.body.get("error") if isinstance(sx.body, dict) else None
    if sx.status == 400 and isinstance(error, dict) and "context_management" in str(error.get("param") or ""):
        ctx.skip("the target has no automatic compaction (context_management was refused)")
    terminal = sx.terminal
    if terminal is None:
        ctx.abort()
    events = [e for e in sx.events if isinstance(e, dict)]
    compacting = [e for e in events if e.get("type") == "response.compaction.compacting"]
    output: list[Any] = terminal["output"] if isinstance(terminal.get("output"), list) else []
    kinds = [item.get("type") for item in output if isinstance(item, dict)]
    if "compaction" not in kinds:
        if not compacting:  # nothing of it at all: a target without the feature that ignores the field
            ctx.skip("the target has no automatic compaction (context_management had no effect)")
        ctx.finding("http.output-missing", "context_management: response.compaction.compacting streamed, "
                                           "but the output has no compaction item")
        ctx.abort()
    item = output[kinds.index("compaction")]
    if not isinstance(item.get("encrypted_content"), str) or not item["encrypted_content"]:
        ctx.finding("http.object-shape", "context_management: the compaction item has no encrypted_content")
    if not compacting:
        ctx.finding("http.output-missing", "context_management: no response.compaction.compacting event streamed")
    elif compacting[0].get("item_id") != item.get("id"):
        ctx.finding("http.object-shape", "response.compaction.compacting names another item than the compaction")
    if "message" in kinds and kinds.index("message") < kinds.index("compaction"):
        ctx.finding("http.object-shape", "context_management: the compaction item comes after the answer")
    nxt = await ctx.create({"input": "What is my favourite colour?", "previous_response_id": terminal.get("id")},
                           label="continuation after compaction")
    if nxt.response.get("status") != "completed":
        ctx.finding("http.object-shape", f"continuation after compaction ended {nxt.response.get('status')!r}")



@scenario("websocket-steer", "response.steer is answered once: accepted (then a successor) or failed",
          "websocket", "steer")
async def websocket_steer(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ws.send({"type": "response.steer", "previous_response_id": "resp_not_on_this_socket", "input": "hi"})
        failed = ws.until("response.steer.failed", "response.steer.accepted")
        if not failed or failed[-1].get("type") != "response.steer.failed":
            ctx.finding("http.bad-request", "steering an unknown response was not answered response.steer.failed")
        ws.send(_create(ctx, input=ESSAY))
        created = ws.until("response.created")
        if not created or created[-1].get("type") != "response.created":
            ctx.finding("http.status", "no response.created")
            ctx.abort()
        rid = created[-1]["response"]["id"]
        ws.send({"type": "response.steer", "previous_response_id": rid, "input": "Keep it to two sentences."})
        events = ws.response()
        answers = [e for e in events if e.get("type", "").startswith("response.steer.")]
        if not answers:  # the answer may follow the terminal event
            answers = ws.until("response.steer.accepted", "response.steer.failed")
        kind = answers[0].get("type") if answers else None
        if kind == "response.steer.accepted":
            successor = ws.response()
            first = successor[0] if successor else {}
            if first.get("type") != "response.created" or \
                    (first.get("response") or {}).get("previous_response_id") != rid:
                ctx.finding("http.previous-response", "accepted steering was not committed by a successor "
                                                      "response continuing the steered one")
            else:
                _completed(ctx, successor, "successor")
            ctx.note("steer", "accepted")
        elif kind == "response.steer.failed":
            code = (answers[0].get("error") or {}).get("code")
            ctx.note("steer", f"failed: {code}")  # the response ended first: a valid outcome
        else:
            ctx.finding("http.status", "steering a running response got no accepted/failed answer")

    await _with_sockets(ctx, body)


@scenario("websocket-reconnect", "A stored response continues from a new socket", "websocket", "state")
async def websocket_reconnect(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        first = sockets.open()
        first.send(_create(ctx, input="Remember the word kumquat.", store=True))
        rid = _completed(ctx, first.response(), "first socket")["id"]
        first.close()
        second = sockets.open()
        second.send(_create(ctx, input="Which word?", store=True, previous_response_id=rid))
        response = _completed(ctx, second.response(), "second socket")
        if response.get("previous_response_id") != rid:
            ctx.finding("http.previous-response", "the continuation on the new socket does not name its previous "
                                                  "response")

    await _with_sockets(ctx, body)


@scenario("websocket-ten-responses", "Ten sequential responses on one long-lived socket", "websocket", "slow")
async def websocket_ten(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        ws = sockets.open()
        ids = set()
        for i in range(10):
            ws.send(_create(ctx, input=f"Turn {i + 1}: say one word."))
            ids.add(_completed(ctx, ws.response(), f"turn {i + 1}").get("id"))
        if len(ids) != 10:
            ctx.finding("http.status", f"ten responses on one socket have {len(ids)} distinct ids")

    await _with_sockets(ctx, body)


@scenario("websocket-disconnect-mid-response", "A client leaves mid-response; a new socket works", "websocket",
          "robustness")
async def websocket_disconnect(ctx: ScenarioContext) -> None:
    def body(ctx: ScenarioContext, sockets: _Sockets) -> None:
        first = sockets.open()
        first.send(_create(ctx, input=ESSAY))
        first.until("response.output_text.delta", "response.completed")
        first.close()
        second = sockets.open()
        second.send(_create(ctx, input="Say hello in one short sentence."))
        _completed(ctx, second.response(), "after the disconnect")

    await _with_sockets(ctx, body)
