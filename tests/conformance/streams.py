"""Builders of valid Responses event streams for tests (and mutation tests of others).

    events = build_stream(message("Hello there"), function_call("add", '{"a":1}'))
    events = build_stream(reasoning(summary=["Thinking"]), message("Hi"), terminal="incomplete")
    data = to_sse(events)                      # bytes: "event: <type>\\ndata: <json>\\n\\n" each

Every stream is exactly what the official API sends: response.created, response.in_progress,
per item output_item.added / its parts and deltas / .done events / output_item.done, then the
terminal event whose snapshot lists the done items, sequence numbers 0, 1, 2, …
Item builders return an `ItemSpec`; `build_stream` gives each its output_index. Mutate the
returned list freely (`renumber()` restores sequence numbers, `index_of()` finds events).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = [
    "ItemSpec",
    "assert_only",
    "build_stream",
    "code_interpreter_call",
    "custom_tool_call",
    "describe",
    "events_of_item",
    "function_call",
    "index_of",
    "message",
    "reasoning",
    "refusal",
    "renumber",
    "response_object",
    "rules_found",
    "split_text",
    "to_sse",
    "usage",
    "web_search_call",
]

Event = dict[str, Any]
RESPONSE_ID = "resp_test0001"
MODEL = "gpt-test-2026-01-01"
CREATED_AT = 1767225600


def split_text(text: str, n: int | None = None) -> list[str]:
    """Split text into deltas: word-ish pieces by default, or `n` near-equal pieces."""
    if not text:
        return []
    if n is not None:
        n = max(1, min(n, len(text)))
        size = -(-len(text) // n)
        return [text[i : i + size] for i in range(0, len(text), size)]
    out, cur = [], ""
    for ch in text:
        if ch == " " and cur:
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


@dataclass
class ItemSpec:
    """One output item: its final form and a function producing its events for an index."""

    final: dict[str, Any]
    make_events: Callable[[int], list[Event]] = field(repr=False)

    def events(self, output_index: int) -> list[Event]:
        return self.make_events(output_index)


def _added(oi: int, item: dict[str, Any]) -> Event:
    return {"type": "response.output_item.added", "output_index": oi, "item": item}


def _done(oi: int, item: dict[str, Any]) -> Event:
    return {"type": "response.output_item.done", "output_index": oi, "item": copy.deepcopy(item)}


def message(
    text: str = "Hello there!",
    *,
    chunks: Sequence[str] | None = None,
    item_id: str = "msg_test0001",
    phase: str | None = None,
    annotations: Sequence[dict[str, Any]] = (),
    status: str = "completed",
) -> ItemSpec:
    """An assistant message with one output_text part streamed as `chunks` (default: words)."""
    return _message([("output_text", text, chunks)], item_id=item_id, phase=phase, annotations=annotations, status=status)


def refusal(text: str = "I can't help with that.", *, item_id: str = "msg_refusal01", chunks: Sequence[str] | None = None) -> ItemSpec:
    """An assistant message whose only part is a refusal."""
    return _message([("refusal", text, chunks)], item_id=item_id)


def _message(
    parts: list[tuple[str, str, Sequence[str] | None]],
    *,
    item_id: str,
    phase: str | None = None,
    annotations: Sequence[dict[str, Any]] = (),
    status: str = "completed",
) -> ItemSpec:
    def part_obj(ptype: str, text: str) -> dict[str, Any]:
        if ptype == "refusal":
            return {"type": "refusal", "refusal": text}
        return {"type": "output_text", "annotations": list(annotations), "logprobs": [], "text": text}

    final: dict[str, Any] = {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": [part_obj(p, t) for p, t, _ in parts],
        "role": "assistant",
    }
    if phase is not None:
        final["phase"] = phase

    def make(oi: int) -> list[Event]:
        head = {k: v for k, v in final.items() if k != "content"}
        head["status"] = "in_progress"
        head["content"] = []
        evs = [_added(oi, head)]
        for ci, (ptype, text, chunks) in enumerate(parts):
            base = {"item_id": item_id, "output_index": oi, "content_index": ci}
            empty = part_obj(ptype, "")
            if ptype == "output_text":
                empty["annotations"] = []
            evs.append({"type": "response.content_part.added", **base, "part": empty})
            pieces = list(chunks) if chunks is not None else split_text(text)
            kind = "output_text" if ptype == "output_text" else "refusal"
            for piece in pieces:
                ev = {"type": f"response.{kind}.delta", **base, "delta": piece}
                if kind == "output_text":
                    ev["logprobs"] = []
                evs.append(ev)
            for ai, ann in enumerate(annotations if ptype == "output_text" else ()):
                evs.append({"type": "response.output_text.annotation.added", **base, "annotation_index": ai, "annotation": ann})
            if kind == "output_text":
                evs.append({"type": "response.output_text.done", **base, "text": text, "logprobs": []})
            else:
                evs.append({"type": "response.refusal.done", **base, "refusal": text})
            evs.append({"type": "response.content_part.done", **base, "part": part_obj(ptype, text)})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def reasoning(
    summary: Sequence[str] = (),
    *,
    text: Sequence[str] = (),
    item_id: str = "rs_test0001",
    encrypted_content: str | None = None,
) -> ItemSpec:
    """A reasoning item with summary parts and (optionally) raw reasoning_text content parts."""
    final: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": s} for s in summary]}
    if text:
        final["content"] = [{"type": "reasoning_text", "text": t} for t in text]
    if encrypted_content is not None:
        final["encrypted_content"] = encrypted_content

    def make(oi: int) -> list[Event]:
        head = dict(final, summary=[])
        if text:
            head["content"] = []
        evs = [_added(oi, head)]
        for si, s in enumerate(summary):
            base = {"item_id": item_id, "output_index": oi, "summary_index": si}
            evs.append({"type": "response.reasoning_summary_part.added", **base, "part": {"type": "summary_text", "text": ""}})
            for piece in split_text(s):
                evs.append({"type": "response.reasoning_summary_text.delta", **base, "delta": piece})
            evs.append({"type": "response.reasoning_summary_text.done", **base, "text": s})
            evs.append({"type": "response.reasoning_summary_part.done", **base, "part": {"type": "summary_text", "text": s}})
        for ci, t in enumerate(text):
            base = {"item_id": item_id, "output_index": oi, "content_index": ci}
            evs.append({"type": "response.content_part.added", **base, "part": {"type": "reasoning_text", "text": ""}})
            for piece in split_text(t):
                evs.append({"type": "response.reasoning_text.delta", **base, "delta": piece})
            evs.append({"type": "response.reasoning_text.done", **base, "text": t})
            evs.append({"type": "response.content_part.done", **base, "part": {"type": "reasoning_text", "text": t}})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def function_call(
    name: str = "get_weather",
    arguments: str = '{"city":"Paris"}',
    *,
    call_id: str = "call_test0001",
    item_id: str = "fc_test0001",
    chunks: Sequence[str] | None = None,
) -> ItemSpec:
    """A function call whose arguments are streamed as `chunks` (default: 3 pieces)."""
    final = {"id": item_id, "type": "function_call", "status": "completed", "arguments": arguments, "call_id": call_id, "name": name}

    def make(oi: int) -> list[Event]:
        evs = [_added(oi, dict(final, status="in_progress", arguments=""))]
        base = {"item_id": item_id, "output_index": oi}
        for piece in chunks if chunks is not None else split_text(arguments, 3):
            evs.append({"type": "response.function_call_arguments.delta", **base, "delta": piece})
        # `name`: required by the OpenAPI document (the live API omits it: a tolerated warning).
        evs.append({"type": "response.function_call_arguments.done", **base, "arguments": arguments, "name": name})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def custom_tool_call(
    name: str = "run_sql",
    input: str = "SELECT 1",
    *,
    call_id: str = "call_custom001",
    item_id: str = "ctc_test0001",
) -> ItemSpec:
    final = {"id": item_id, "type": "custom_tool_call", "status": "completed", "call_id": call_id, "input": input, "name": name}

    def make(oi: int) -> list[Event]:
        evs = [_added(oi, dict(final, status="in_progress", input=""))]
        base = {"item_id": item_id, "output_index": oi}
        for piece in split_text(input, 2):
            evs.append({"type": "response.custom_tool_call_input.delta", **base, "delta": piece})
        evs.append({"type": "response.custom_tool_call_input.done", **base, "input": input})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def web_search_call(query: str = "positive news today", *, item_id: str = "ws_test0001") -> ItemSpec:
    """A hosted web search: in_progress, searching, completed."""
    final = {"id": item_id, "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": query}}

    def make(oi: int) -> list[Event]:
        evs = [_added(oi, {"id": item_id, "type": "web_search_call", "status": "in_progress", "action": {"type": "search"}})]
        base = {"item_id": item_id, "output_index": oi}
        for step in ("in_progress", "searching", "completed"):
            evs.append({"type": f"response.web_search_call.{step}", **base})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def code_interpreter_call(code: str = "print(1+1)", *, item_id: str = "ci_test0001") -> ItemSpec:
    final = {"id": item_id, "type": "code_interpreter_call", "status": "completed", "code": code, "container_id": "cntr_test", "outputs": None}

    def make(oi: int) -> list[Event]:
        evs = [_added(oi, dict(final, status="in_progress", code=""))]
        base = {"item_id": item_id, "output_index": oi}
        evs.append({"type": "response.code_interpreter_call.in_progress", **base})
        for piece in split_text(code, 2):
            evs.append({"type": "response.code_interpreter_call_code.delta", **base, "delta": piece})
        evs.append({"type": "response.code_interpreter_call_code.done", **base, "code": code})
        evs.append({"type": "response.code_interpreter_call.interpreting", **base})
        evs.append({"type": "response.code_interpreter_call.completed", **base})
        evs.append(_done(oi, final))
        return evs

    return ItemSpec(final, make)


def usage(input_tokens: int = 12, output_tokens: int = 20, *, cached: int = 0, reasoning_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def response_object(status: str = "in_progress", output: list[Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A Response object as the official API sends it (all required keys present)."""
    resp: dict[str, Any] = {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": MODEL,
        "output": output if output is not None else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
        # The 2026 shape: what the Open Responses OpenAPI requires of every Response too.
        "completed_at": CREATED_AT + 2 if status == "completed" else None,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "top_logprobs": 0,
        "max_tool_calls": None,
        "service_tier": "default",
        "safety_identifier": None,
    }
    resp.update(overrides)
    return resp


def build_stream(
    *items: ItemSpec,
    terminal: str = "completed",
    queued: bool = False,
    usage_obj: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    error_form: str = "flat",
    response: dict[str, Any] | None = None,
) -> list[Event]:
    """A valid stream of events for `items` (output_index 0, 1, …) ending with `terminal`.

    terminal: "completed" | "incomplete" (reason max_output_tokens) | "failed" (an `error`
    event first, then response.failed) | None (no terminal event: a truncated stream).
    error_form: the `error` event's shape, "flat" (OpenAPI) or "nested" (live API, Open Responses).
    response: extra keys for every Response snapshot (e.g. tools, tool_choice).
    """
    extra = dict(response or {})
    evs: list[Event] = []
    first_status = "queued" if queued else "in_progress"
    evs.append({"type": "response.created", "response": response_object(first_status, **extra)})
    if queued:
        evs.append({"type": "response.queued", "response": response_object("queued", **extra)})
    evs.append({"type": "response.in_progress", "response": response_object("in_progress", **extra)})
    for oi, spec in enumerate(items):
        evs.extend(spec.events(oi))
    finals = [copy.deepcopy(s.final) for s in items]
    u = usage_obj if usage_obj is not None else usage()
    if terminal == "completed":
        evs.append({"type": "response.completed", "response": response_object("completed", finals, usage=u, **extra)})
    elif terminal == "incomplete":
        evs.append(
            {
                "type": "response.incomplete",
                "response": response_object(
                    "incomplete", finals, usage=u, incomplete_details={"reason": "max_output_tokens"}, **extra
                ),
            }
        )
    elif terminal == "failed":
        err = error or {"code": "server_error", "message": "The server had an error."}
        if error_form == "nested":
            evs.append({"type": "error", "error": {"type": "server_error", "code": err["code"], "message": err["message"], "param": None}})
        else:
            evs.append({"type": "error", "code": err["code"], "message": err["message"], "param": None})
        evs.append({"type": "response.failed", "response": response_object("failed", finals, error=err, **extra)})
    elif terminal is not None:
        raise ValueError(f"terminal must be completed, incomplete, failed or None, not {terminal!r}")
    return renumber(evs)


def renumber(events: Iterable[Event], start: int = 0) -> list[Event]:
    """Give dict events sequence numbers start, start+1, … in order (in place; returns the list)."""
    out = list(events)
    n = start
    for ev in out:
        if isinstance(ev, dict):
            ev["sequence_number"] = n
            n += 1
    return out


def index_of(events: Sequence[Any], etype: str, nth: int = 0, **match: Any) -> int:
    """Index of the `nth` event of type `etype` whose fields equal `match`."""
    seen = 0
    for i, ev in enumerate(events):
        if isinstance(ev, dict) and ev.get("type") == etype and all(ev.get(k) == v for k, v in match.items()):
            if seen == nth:
                return i
            seen += 1
    raise LookupError(f"no event #{nth} of type {etype!r} matching {match}")


def to_sse(events: Iterable[Any], *, done: bool = False, event_field: bool = True, crlf: bool = False) -> bytes:
    """Encode events as an SSE body the way the official API does (optionally with [DONE])."""
    nl = b"\r\n" if crlf else b"\n"
    out = bytearray()
    for ev in events:
        data = orjson.dumps(ev)
        if event_field and isinstance(ev, dict) and isinstance(ev.get("type"), str):
            out += b"event: " + ev["type"].encode() + nl
        out += b"data: " + data + nl + nl
    if done:
        out += b"data: [DONE]" + nl + nl
    return bytes(out)


# -- helpers for tests that check streams ------------------------------------------------------
def rules_found(result: Any, min_severity: str = "info") -> set[str]:
    """Rule ids of a CheckResult's findings at `min_severity` or above."""
    order = {"info": 0, "warning": 1, "error": 2}
    return {f.rule for f in result.findings if order[f.severity] >= order[min_severity]}


def events_of_item(events: Sequence[Any], output_index: int) -> list[int]:
    """Indexes of the events that carry `output_index` (added, sub-events, done)."""
    return [i for i, ev in enumerate(events) if isinstance(ev, dict) and ev.get("output_index") == output_index]


def describe(result: Any) -> str:
    return "\n".join(f"  {f.severity} {f.rule} @{f.event_index}: {f.message}" for f in result.findings) or "  (none)"


def assert_only(result: Any, *rule_ids: str) -> list[Any]:
    """Assert the findings carry exactly these rule ids; returns the findings of the first."""
    got = rules_found(result)
    assert got == set(rule_ids), f"expected exactly {sorted(rule_ids)}, got:\n{describe(result)}"
    return [f for f in result.findings if f.rule == rule_ids[0]] if rule_ids else []
