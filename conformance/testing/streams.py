"""Builders of valid Responses API event streams, for the fixture corpus, tests and benchmarks.

Two styles over the same primitives, both giving exactly what the official API sends
(response.created, response.in_progress, per item output_item.added / its parts and deltas /
.done events / output_item.done, then a terminal event whose snapshot lists the done items):

    s = Stream("my-seed", request={"model": "gpt-4o-mini", "input": "Hi"}).open()
    s.message(Text(chunks("Hello there!")))          # ids derived from the seed: deterministic
    events = s.complete().events

    events = build_stream(message("Hello there"), function_call("add", '{"a":1}'))
    data = to_sse(events, done=True)                 # bytes: "event: <type>\ndata: <json>\n\n" each

`long_text_stream(n)` yields a large valid stream one event at a time (benchmarks). Mutate the
events freely to make a defect: `renumber()` restores sequence numbers, `index_of()` finds an
event, `terminal()` / `snapshots()` reach the Response snapshots. Standard library only.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CREATED_AT",
    "DEFAULT_MODEL",
    "RESOLVED_MODELS",
    "ItemSpec",
    "Refusal",
    "Stream",
    "Text",
    "build_stream",
    "chunks",
    "code_interpreter_call",
    "custom_tool_call",
    "dumps",
    "events_of_item",
    "function_call",
    "index_of",
    "long_text_stream",
    "message",
    "reasoning",
    "refusal",
    "renumber",
    "response_object",
    "snapshots",
    "split_text",
    "terminal",
    "to_sse",
    "usage",
    "web_search_call",
]

Event = dict[str, Any]

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
# 2026-01-01T00:00:00Z: fixed so a rebuilt stream is byte-identical.
CREATED_AT = 1767225600
TERMINAL_TYPES = ("response.completed", "response.incomplete", "response.failed")

# What a request model name resolves to in the snapshots (the API echoes the dated snapshot).
RESOLVED_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-oss-120b": "gpt-oss-120b",
}


# ---- text and framing -----------------------------------------------------------------------
def chunks(text: str) -> list[str]:
    """Split text into token-like deltas (a word with its leading whitespace)."""
    parts = re.findall(r"\s*\S+|\s+$", text)
    return parts or [text]


def split_text(text: str, n: int | None = None) -> list[str]:
    """Split text into deltas: each space starts a new piece, or `n` near-equal pieces."""
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


def dumps(obj: Any) -> str:
    """Compact JSON as the live API sends it (non-ASCII kept as UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def to_sse(
    events: Iterable[Any],
    *,
    done: bool = False,
    event_field: bool = True,
    newline: str = "\n",
) -> bytes:
    """Frame events as SSE the way the official API does: `event: <type>` (unless
    `event_field` is false) + `data: <json>` + blank line each, then `data: [DONE]` if `done`."""
    out: list[str] = []
    for ev in events:
        lines = []
        if event_field and isinstance(ev, dict) and isinstance(ev.get("type"), str):
            lines.append(f"event: {ev['type']}")
        lines.append(f"data: {dumps(ev)}")
        out.append(newline.join(lines) + newline + newline)
    if done:
        out.append("data: [DONE]" + newline + newline)
    return "".join(out).encode("utf-8")


def usage(
    input_tokens: int = 12, output_tokens: int = 20, *, reasoning_tokens: int = 0, cached: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


# ---- the events of one part, shared by both styles ---------------------------------------------
# `emit(type, **fields)` appends one event; `where` holds item_id, output_index and the part's
# content_index / summary_index. Each returns the part as the done item holds it.
Emit = Callable[..., Any]


def _output_text_part(
    emit: Emit,
    where: dict[str, Any],
    deltas: Sequence[str],
    text: str,
    annotations: Sequence[tuple[int, dict[str, Any]]] = (),
    logprobs: list[list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """An output_text part; each annotation is announced right after delta number `after` (or
    after the last one when `after` is out of range)."""
    emit(
        "response.content_part.added",
        **where,
        part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
    )
    lps = logprobs if logprobs is not None else [[] for _ in deltas]
    announced: list[dict[str, Any]] = []

    def announce(ann: dict[str, Any]) -> None:
        emit(
            "response.output_text.annotation.added",
            **where,
            annotation_index=len(announced),
            annotation=ann,
        )
        announced.append(ann)

    for k, d in enumerate(deltas):
        emit("response.output_text.delta", **where, delta=d, logprobs=lps[k])
        for after, ann in annotations:
            if after == k:
                announce(ann)
    for after, ann in annotations:
        if not 0 <= after < len(deltas):
            announce(ann)
    all_lp = [lp for group in lps for lp in group]
    emit("response.output_text.done", **where, text=text, logprobs=all_lp)
    # As live: the part.done carries no logprobs, the done item carries them.
    emit(
        "response.content_part.done",
        **where,
        part={"type": "output_text", "annotations": announced, "logprobs": [], "text": text},
    )
    return {"type": "output_text", "annotations": announced, "logprobs": all_lp, "text": text}


def _refusal_part(emit: Emit, where: dict[str, Any], deltas: Sequence[str], text: str) -> dict[str, Any]:
    emit("response.content_part.added", **where, part={"type": "refusal", "refusal": ""})
    for d in deltas:
        emit("response.refusal.delta", **where, delta=d)
    emit("response.refusal.done", **where, refusal=text)
    final = {"type": "refusal", "refusal": text}
    emit("response.content_part.done", **where, part=final)
    return final


def _summary_part(emit: Emit, where: dict[str, Any], deltas: Sequence[str], text: str) -> dict[str, Any]:
    emit("response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""})
    for d in deltas:
        emit("response.reasoning_summary_text.delta", **where, delta=d)
    emit("response.reasoning_summary_text.done", **where, text=text)
    emit("response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": text})
    return {"type": "summary_text", "text": text}


def _reasoning_text_part(
    emit: Emit, where: dict[str, Any], deltas: Sequence[str], text: str
) -> dict[str, Any]:
    emit("response.content_part.added", **where, part={"type": "reasoning_text", "text": ""})
    for d in deltas:
        emit("response.reasoning_text.delta", **where, delta=d)
    emit("response.reasoning_text.done", **where, text=text)
    emit("response.content_part.done", **where, part={"type": "reasoning_text", "text": text})
    return {"type": "reasoning_text", "text": text}


# ---- the recorder: one response, item by item, ids derived from a seed -----------------------
@dataclass
class Text:
    """An `output_text` part: deltas, optional annotations (emitted after delta k), logprobs."""

    deltas: Sequence[str]
    annotations: Sequence[tuple[int, dict[str, Any]]] = ()
    logprobs: bool = False

    @property
    def text(self) -> str:
        return "".join(self.deltas)


@dataclass
class Refusal:
    deltas: Sequence[str]

    @property
    def text(self) -> str:
        return "".join(self.deltas)


def _logprobs(deltas: Sequence[str]) -> list[list[dict[str, Any]]]:
    out = []
    for k, d in enumerate(deltas):
        lp = -round(0.0173 * ((k * 7) % 11), 6)
        out.append(
            [{"bytes": list(d.encode("utf-8")), "logprob": lp, "token": d, "top_logprobs": []}]
        )
    return out


@dataclass
class Stream:
    """Accumulates the events of one response; item helpers emit added → body → done."""

    seed: str
    model: str = DEFAULT_MODEL
    request: dict[str, Any] | None = None
    created_at: int = CREATED_AT
    background: bool = False
    events: list[Event] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)
    output_tokens: int = 0
    reasoning_tokens: int = 0
    # The 2026 Response shape (PROTOCOL.md "Live Response shape"): completed_at, the penalties
    # and safety_identifier too, as the Open Responses OpenAPI requires of every Response.
    full_shape: bool = False
    _n: int = 0

    def __post_init__(self) -> None:
        if self.request and "model" in self.request:
            self.model = RESOLVED_MODELS.get(self.request["model"], self.request["model"])
        self.response_id = self.new_id("resp")

    # ---- basics -------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        self._n += 1
        digest = hashlib.sha256(f"{self.seed}/{self._n}".encode()).hexdigest()
        return f"{prefix}_{digest[:48]}"

    def new_call_id(self) -> str:
        self._n += 1
        digest = hashlib.sha256(f"{self.seed}/call/{self._n}".encode()).hexdigest()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "call_" + "".join(alphabet[int(digest[i : i + 2], 16) % 62] for i in range(0, 48, 2))

    def emit(self, type_: str, **fields: Any) -> Event:
        ev: Event = {"type": type_, "sequence_number": len(self.events), **fields}
        self.events.append(ev)
        return ev

    def snapshot(
        self,
        status: str,
        *,
        output: list[dict[str, Any]] | None = None,
        usage_: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        incomplete_reason: str | None = None,
    ) -> dict[str, Any]:
        req = self.request or {}
        out = {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": self.background,
            "error": error,
            "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
            "instructions": req.get("instructions"),
            "max_output_tokens": req.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": self.model,
            "output": json.loads(dumps(output or [])),
            "parallel_tool_calls": req.get("parallel_tool_calls", True),
            "previous_response_id": req.get("previous_response_id"),
            "reasoning": req.get("reasoning", {"effort": None, "summary": None}),
            "service_tier": "default" if status not in ("in_progress", "queued") else "auto",
            "store": req.get("store", True),
            "temperature": req.get("temperature", 1.0),
            "text": req.get("text", {"format": {"type": "text"}, "verbosity": "medium"}),
            "tool_choice": req.get("tool_choice", "auto"),
            "tools": req.get("tools", []),
            "top_logprobs": req.get("top_logprobs", 0),
            "top_p": req.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage_,
            "user": None,
            "metadata": req.get("metadata", {}),
        }
        if self.full_shape:
            out["completed_at"] = self.created_at + 2 if status == "completed" else None
            out["presence_penalty"] = req.get("presence_penalty", 0.0)
            out["frequency_penalty"] = req.get("frequency_penalty", 0.0)
            out["safety_identifier"] = None
        return out

    def open(self, *, queued: bool = False) -> Stream:
        first = "queued" if queued else "in_progress"
        self.emit("response.created", response=self.snapshot(first))
        if queued:
            self.emit("response.queued", response=self.snapshot("queued"))
        self.emit("response.in_progress", response=self.snapshot("in_progress"))
        return self

    def final_usage(self, input_tokens: int = 42) -> dict[str, Any]:
        out = max(self.output_tokens, 1) + self.reasoning_tokens
        return usage(input_tokens, out, reasoning_tokens=self.reasoning_tokens)

    def complete(self, *, usage_: dict[str, Any] | None = None) -> Stream:
        self.emit(
            "response.completed",
            response=self.snapshot(
                "completed", output=self.output, usage_=usage_ or self.final_usage()
            ),
        )
        return self

    def incomplete(
        self, reason: str = "max_output_tokens", *, usage_: dict[str, Any] | None = None
    ) -> Stream:
        self.emit(
            "response.incomplete",
            response=self.snapshot(
                "incomplete",
                output=self.output,
                usage_=usage_ or self.final_usage(),
                incomplete_reason=reason,
            ),
        )
        return self

    def fail(
        self,
        code: str = "server_error",
        message: str = "The server had an error while processing your request. Sorry about that!",
    ) -> Stream:
        # The live API nests the error event's fields under "error" (PROTOCOL.md).
        self.emit("error", error={"type": code, "code": code, "message": message, "param": None})
        self.emit(
            "response.failed",
            response=self.snapshot(
                "failed", output=self.output, error={"code": code, "message": message}
            ),
        )
        return self

    def _add(self, item: dict[str, Any]) -> int:
        index = len(self.output)
        self.output.append(item)  # placeholder until done
        self.emit("response.output_item.added", output_index=index, item=item)
        return index

    def _done(self, index: int, item: dict[str, Any]) -> int:
        self.output[index] = item
        self.emit("response.output_item.done", output_index=index, item=item)
        return index

    # ---- items ------------------------------------------------------------------------------
    def message(
        self, *parts: Text | Refusal, phase: str | None = None, status: str = "completed"
    ) -> int:
        item_id = self.new_id("msg")
        head: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "content": [],
        }
        if phase:
            head["phase"] = phase
        head["role"] = "assistant"
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        content: list[dict[str, Any]] = []
        for ci, part in enumerate(parts):
            where_ci = {**where, "content_index": ci}
            self.output_tokens += len(part.deltas)
            if isinstance(part, Refusal):
                content.append(_refusal_part(self.emit, where_ci, part.deltas, part.text))
            else:
                lps = _logprobs(part.deltas) if part.logprobs else None
                content.append(
                    _output_text_part(
                        self.emit, where_ci, part.deltas, part.text, part.annotations, lps
                    )
                )
        done = {**head, "status": status, "content": content}
        return self._done(index, done)

    def reasoning(
        self,
        summaries: Sequence[Sequence[str]] = (),
        texts: Sequence[Sequence[str]] = (),
        *,
        encrypted: bool = False,
    ) -> int:
        """Summary parts (o-series style) and/or raw reasoning_text parts (gpt-oss style)."""
        item_id = self.new_id("rs")
        head: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
        if texts:
            head["content"] = []
        if encrypted:
            head["encrypted_content"] = "gAAAAB" + hashlib.sha256(item_id.encode()).hexdigest()
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        summary = []
        for si, deltas in enumerate(summaries):
            self.reasoning_tokens += len(deltas)
            where_si = {**where, "summary_index": si}
            summary.append(_summary_part(self.emit, where_si, deltas, "".join(deltas)))
        content = []
        for ci, deltas in enumerate(texts):
            self.reasoning_tokens += len(deltas)
            where_ci = {**where, "content_index": ci}
            content.append(_reasoning_text_part(self.emit, where_ci, deltas, "".join(deltas)))
        done = {**head, "summary": summary}
        if texts:
            done["content"] = content
        if encrypted:
            done["encrypted_content"] = (
                "gAAAAB" + hashlib.sha256(item_id.encode()).hexdigest()[::-1]
            )
        return self._done(index, done)

    def function_call(self, name: str, deltas: Sequence[str], *, call_id: str | None = None) -> int:
        item_id = self.new_id("fc")
        head = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id or self.new_call_id(),
            "name": name,
        }
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        self.output_tokens += len(deltas)
        for d in deltas:
            self.emit("response.function_call_arguments.delta", **where, delta=d)
        args = "".join(deltas)
        self.emit("response.function_call_arguments.done", **where, arguments=args)
        return self._done(index, {**head, "status": "completed", "arguments": args})

    def custom_tool_call(self, name: str, deltas: Sequence[str]) -> int:
        item_id = self.new_id("ctc")
        head = {
            "id": item_id,
            "type": "custom_tool_call",
            "status": "in_progress",
            "call_id": self.new_call_id(),
            "input": "",
            "name": name,
        }
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        self.output_tokens += len(deltas)
        for d in deltas:
            self.emit("response.custom_tool_call_input.delta", **where, delta=d)
        text = "".join(deltas)
        self.emit("response.custom_tool_call_input.done", **where, input=text)
        return self._done(index, {**head, "status": "completed", "input": text})

    def web_search(self, query: str) -> int:
        item_id = self.new_id("ws")
        head = {
            "id": item_id,
            "type": "web_search_call",
            "status": "in_progress",
            "action": {"type": "search"},
        }
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        for phase in ("in_progress", "searching", "completed"):
            self.emit(f"response.web_search_call.{phase}", **where)
        return self._done(
            index, {**head, "status": "completed", "action": {"type": "search", "query": query}}
        )

    def compaction(self) -> int:
        """Automatic compaction (`context_management`): the item whole, with `compacting` between."""
        item_id = self.new_id("cmp")
        digest = hashlib.sha256(f"{self.seed}/sealed".encode()).hexdigest()
        item = {"id": item_id, "type": "compaction", "encrypted_content": "gAAAAAB" + digest * 2}
        index = self._add(dict(item))
        self.emit("response.compaction.compacting", output_index=index, item_id=item_id)
        return self._done(index, item)

    def file_search(self, queries: Sequence[str]) -> int:
        item_id = self.new_id("fs")
        head: dict[str, Any] = {
            "id": item_id,
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [],
            "results": None,
        }
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        for phase in ("in_progress", "searching", "completed"):
            self.emit(f"response.file_search_call.{phase}", **where)
        return self._done(index, {**head, "status": "completed", "queries": list(queries)})

    def code_interpreter(
        self, deltas: Sequence[str], container_id: str = "cntr_6a1f00c0ffee"
    ) -> int:
        item_id = self.new_id("ci")
        head = {
            "id": item_id,
            "type": "code_interpreter_call",
            "status": "in_progress",
            "code": "",
            "container_id": container_id,
            "outputs": None,
        }
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        self.emit("response.code_interpreter_call.in_progress", **where)
        self.output_tokens += len(deltas)
        for d in deltas:
            self.emit("response.code_interpreter_call_code.delta", **where, delta=d)
        code = "".join(deltas)
        self.emit("response.code_interpreter_call_code.done", **where, code=code)
        self.emit("response.code_interpreter_call.interpreting", **where)
        self.emit("response.code_interpreter_call.completed", **where)
        return self._done(index, {**head, "status": "completed", "code": code})

    def image_generation(self, partials: int = 2) -> int:
        item_id = self.new_id("ig")
        head = {
            "id": item_id,
            "type": "image_generation_call",
            "status": "in_progress",
            "result": None,
        }
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        self.emit("response.image_generation_call.in_progress", **where)
        self.emit("response.image_generation_call.generating", **where)
        # A 1x1 PNG, base64: real partial images are larger but the shape is the same.
        png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        for k in range(partials):
            self.emit(
                "response.image_generation_call.partial_image",
                **where,
                partial_image_index=k,
                partial_image_b64=png,
                background="opaque",
                output_format="png",
                quality="low",
                size="1024x1024",
            )
        self.emit("response.image_generation_call.completed", **where)
        done = {
            **head,
            "status": "completed",
            "background": "opaque",
            "output_format": "png",
            "quality": "low",
            "result": png,
            "revised_prompt": "A small red square on a white background",
            "size": "1024x1024",
        }
        return self._done(index, done)

    def mcp_list_tools(self, server_label: str, tools: list[dict[str, Any]]) -> int:
        item_id = self.new_id("mcpl")
        head = {"id": item_id, "type": "mcp_list_tools", "server_label": server_label, "tools": []}
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        self.emit("response.mcp_list_tools.in_progress", **where)
        self.emit("response.mcp_list_tools.completed", **where)
        return self._done(index, {**head, "tools": tools})

    def mcp_call(self, server_label: str, name: str, deltas: Sequence[str], output: str) -> int:
        item_id = self.new_id("mcp")
        head = {
            "id": item_id,
            "type": "mcp_call",
            "status": "in_progress",
            "approval_request_id": None,
            "arguments": "",
            "error": None,
            "name": name,
            "output": None,
            "server_label": server_label,
        }
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        self.emit("response.mcp_call.in_progress", **where)
        for d in deltas:
            self.emit("response.mcp_call_arguments.delta", **where, delta=d)
        args = "".join(deltas)
        self.emit("response.mcp_call_arguments.done", **where, arguments=args)
        self.emit("response.mcp_call.completed", **where)
        return self._done(
            index, {**head, "status": "completed", "arguments": args, "output": output}
        )


# ---- editing a built stream -------------------------------------------------------------------
def index_of(events: Sequence[Any], etype: str, nth: int = 0, **match: Any) -> int:
    """Index of the `nth` event (-1: the last) of type `etype` whose fields equal `match`."""
    hits = [
        i
        for i, ev in enumerate(events)
        if isinstance(ev, dict) and ev.get("type") == etype and all(ev.get(k) == v for k, v in match.items())
    ]
    if not -len(hits) <= nth < len(hits):
        raise LookupError(f"no event #{nth} of type {etype!r} matching {match}")
    return hits[nth]


def renumber(events: Iterable[Any], start: int = 0, *, keep_unnumbered: bool = False) -> list[Any]:
    """Give the dict events sequence numbers start, start+1, … in order (in place; returns the
    list). `keep_unnumbered`: events without a sequence_number are skipped and stay without."""
    out = events if isinstance(events, list) else list(events)
    n = start
    for ev in out:
        if isinstance(ev, dict) and (not keep_unnumbered or "sequence_number" in ev):
            ev["sequence_number"] = n
            n += 1
    return out


def terminal(events: Sequence[Event]) -> dict[str, Any]:
    """The response snapshot of the last lifecycle terminal event."""
    for ev in reversed(events):
        if ev.get("type") in TERMINAL_TYPES:
            return ev["response"]
    raise LookupError("no terminal event")


def snapshots(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Every Response snapshot of the stream, in order (to edit them all alike)."""
    return [ev["response"] for ev in events if isinstance(ev.get("response"), dict)]


def events_of_item(events: Sequence[Any], output_index: int) -> list[int]:
    """Indexes of the events that carry `output_index` (added, sub-events, done)."""
    return [i for i, ev in enumerate(events) if isinstance(ev, dict) and ev.get("output_index") == output_index]


# ---- the composer: items as values, placed by build_stream -------------------------------------
TEST_RESPONSE_ID = "resp_test0001"
TEST_MODEL = "gpt-test-2026-01-01"


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


def _collector(events: list[Event]) -> Emit:
    """An `emit` that appends to `events` (build_stream numbers them afterwards)."""

    def emit(type_: str, **fields: Any) -> Event:
        ev: Event = {"type": type_, **fields}
        events.append(ev)
        return ev

    return emit


def _item_spec(head: dict[str, Any], body: Callable[[Emit, int], dict[str, Any]]) -> ItemSpec:
    """output_item.added with `head`, the events `body(emit, output_index)` emits, then
    output_item.done with the item it returns; `final` is that done item."""

    def make(oi: int) -> list[Event]:
        events: list[Event] = []
        emit = _collector(events)
        emit("response.output_item.added", output_index=oi, item=dict(head))
        done = body(emit, oi)
        emit("response.output_item.done", output_index=oi, item=copy.deepcopy(done))
        return events

    return ItemSpec(make(0)[-1]["item"], make)


def _message(
    parts: list[tuple[str, str, Sequence[str] | None]],
    *,
    item_id: str,
    phase: str | None = None,
    annotations: Sequence[dict[str, Any]] = (),
    status: str = "completed",
) -> ItemSpec:
    head: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    if phase is not None:
        head["phase"] = phase

    def body(emit: Emit, oi: int) -> dict[str, Any]:
        content = []
        for ci, (ptype, text, chunks) in enumerate(parts):
            where = {"item_id": item_id, "output_index": oi, "content_index": ci}
            pieces = list(chunks) if chunks is not None else split_text(text)
            if ptype == "refusal":
                content.append(_refusal_part(emit, where, pieces, text))
            else:
                after = [(len(pieces) - 1, ann) for ann in annotations]
                content.append(_output_text_part(emit, where, pieces, text, after))
        return {**head, "status": status, "content": content}

    return _item_spec(head, body)


def reasoning(
    summary: Sequence[str] = (),
    *,
    text: Sequence[str] = (),
    item_id: str = "rs_test0001",
    encrypted_content: str | None = None,
) -> ItemSpec:
    """A reasoning item with summary parts and (optionally) raw reasoning_text content parts."""
    head: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
    if text:
        head["content"] = []
    if encrypted_content is not None:
        head["encrypted_content"] = encrypted_content

    def body(emit: Emit, oi: int) -> dict[str, Any]:
        where = {"item_id": item_id, "output_index": oi}
        done = dict(head)
        done["summary"] = [
            _summary_part(emit, {**where, "summary_index": si}, split_text(s), s) for si, s in enumerate(summary)
        ]
        if text:
            done["content"] = [
                _reasoning_text_part(emit, {**where, "content_index": ci}, split_text(t), t) for ci, t in enumerate(text)
            ]
        return done

    return _item_spec(head, body)


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


def response_object(status: str = "in_progress", output: list[Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A Response object as the official API sends it (all required keys present)."""
    resp: dict[str, Any] = {
        "id": TEST_RESPONSE_ID,
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": TEST_MODEL,
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


# ---- a large stream, one event at a time ----------------------------------------------------------
BENCH_WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", "\n")


def long_text_stream(n_events: int = 100_000, n_messages: int = 8) -> Iterator[Event]:
    """A valid completed stream of exactly `n_events` events: `n_messages` messages whose text
    deltas (with `obfuscation`, as live) share the rest. Yielded lazily: nothing is kept but the
    done items."""
    fixed = 3 + 5 * n_messages  # created, in_progress, completed + 5 framing events per item
    deltas = n_events - fixed
    if deltas < n_messages:
        raise ValueError(f"need at least {fixed + n_messages} events for {n_messages} messages")
    seq = 0
    head: dict[str, Any] = {"id": "resp_bench" + "0" * 43, "model": "gpt-4o-2024-08-06", "store": False,
            "text": {"format": {"type": "text"}, "verbosity": "medium"}}

    def ev(payload: Event) -> Event:
        nonlocal seq
        payload["sequence_number"] = seq
        seq += 1
        return payload

    yield ev({"type": "response.created", "response": response_object("in_progress", **head)})
    yield ev({"type": "response.in_progress", "response": response_object("in_progress", **head)})
    done_items = []
    output_tokens = 0
    for i in range(n_messages):
        item_id = f"msg_bench{i:040d}"
        base = {"item_id": item_id, "output_index": i, "content_index": 0}
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        yield ev({"type": "response.output_item.added", "output_index": i, "item": item})
        empty_part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield ev({"type": "response.content_part.added", **base, "part": empty_part})
        count = deltas // n_messages + (1 if i < deltas % n_messages else 0)
        pieces = []
        for k in range(count):
            word = BENCH_WORDS[k % len(BENCH_WORDS)]
            pieces.append(word)
            yield ev({"type": "response.output_text.delta", **base, "delta": word, "logprobs": [],
                      "obfuscation": "x" * (10 - len(word) % 10)})
        output_tokens += count
        text = "".join(pieces)
        yield ev({"type": "response.output_text.done", **base, "text": text, "logprobs": []})
        part: dict[str, Any] = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        yield ev({"type": "response.content_part.done", **base, "part": part})
        item = dict(item, status="completed", content=[part])
        done_items.append(item)
        yield ev({"type": "response.output_item.done", "output_index": i, "item": item})
    final_usage = usage(25, output_tokens)
    final_usage["input_tokens_details"]["cache_write_tokens"] = 0  # as 2026 captures carry it
    yield ev({"type": "response.completed",
              "response": response_object("completed", done_items, usage=final_usage, **head)})
