"""Generates the built fixtures of `fixtures/` (deterministic: rerunning gives identical bytes).

A stream builder shaped on the api.openai.com captures makes every valid stream; each negative
fixture is one of those with exactly one defect. `python scripts/make_fixtures.py [--check]`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
# 2026-01-01T00:00:00Z: fixed so regenerating the corpus is byte-identical.
DEFAULT_CREATED_AT = 1767225600

# What a request model name resolves to in the snapshots (the API echoes the dated snapshot).
RESOLVED_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-oss-120b": "gpt-oss-120b",
}


def chunks(text: str) -> list[str]:
    """Split text into token-like deltas (a word with its leading whitespace)."""
    parts = re.findall(r"\s*\S+|\s+$", text)
    return parts or [text]


def dumps(obj: Any) -> str:
    """Compact JSON as the live API sends it (non-ASCII kept as UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def to_sse(
    events: Iterable[Any],
    *,
    newline: str = "\n",
    event_lines: bool = True,
    done: bool = False,
) -> bytes:
    """Frame decoded events as SSE: `event: <type>` + `data: <json>` + blank line each."""
    out: list[str] = []
    for ev in events:
        lines = []
        if event_lines and isinstance(ev, dict) and isinstance(ev.get("type"), str):
            lines.append(f"event: {ev['type']}")
        lines.append(f"data: {dumps(ev)}")
        out.append(newline.join(lines) + newline + newline)
    if done:
        out.append("data: [DONE]" + newline + newline)
    return "".join(out).encode("utf-8")


def usage(
    input_tokens: int, output_tokens: int, *, reasoning: int = 0, cached: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


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
    created_at: int = DEFAULT_CREATED_AT
    background: bool = False
    events: list[Event] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)
    output_tokens: int = 0
    reasoning_tokens: int = 0
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
        return {
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

    def open(self, *, queued: bool = False) -> Stream:
        first = "queued" if queued else "in_progress"
        self.emit("response.created", response=self.snapshot(first))
        if queued:
            self.emit("response.queued", response=self.snapshot("queued"))
        self.emit("response.in_progress", response=self.snapshot("in_progress"))
        return self

    def final_usage(self, input_tokens: int = 42) -> dict[str, Any]:
        out = max(self.output_tokens, 1) + self.reasoning_tokens
        return usage(input_tokens, out, reasoning=self.reasoning_tokens)

    def complete(self, *, usage_: dict[str, Any] | None = None) -> Stream:
        self.emit(
            "response.completed",
            response=self.snapshot("completed", output=self.output, usage_=usage_ or self.final_usage()),
        )
        return self

    def incomplete(self, reason: str = "max_output_tokens", *, usage_: dict[str, Any] | None = None) -> Stream:
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

    def fail(self, code: str = "server_error", message: str = "The server had an error while processing your request. Sorry about that!") -> Stream:
        # The live API nests the error event's fields under "error" (PROTOCOL.md).
        self.emit("error", error={"type": code, "code": code, "message": message, "param": None})
        self.emit(
            "response.failed",
            response=self.snapshot("failed", output=self.output, error={"code": code, "message": message}),
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
    def message(self, *parts: Text | Refusal, phase: str | None = None, status: str = "completed") -> int:
        item_id = self.new_id("msg")
        head: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress", "content": []}
        if phase:
            head["phase"] = phase
        head["role"] = "assistant"
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        content = []
        for ci, part in enumerate(parts):
            where_ci = {**where, "content_index": ci}
            self.output_tokens += len(part.deltas)
            if isinstance(part, Refusal):
                self.emit("response.content_part.added", **where_ci, part={"type": "refusal", "refusal": ""})
                for d in part.deltas:
                    self.emit("response.refusal.delta", **where_ci, delta=d)
                self.emit("response.refusal.done", **where_ci, refusal=part.text)
                final = {"type": "refusal", "refusal": part.text}
                self.emit("response.content_part.done", **where_ci, part=final)
                content.append(final)
                continue
            self.emit(
                "response.content_part.added",
                **where_ci,
                part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
            )
            lps = _logprobs(part.deltas) if part.logprobs else [[] for _ in part.deltas]
            annotations: list[dict[str, Any]] = []
            for k, d in enumerate(part.deltas):
                self.emit("response.output_text.delta", **where_ci, delta=d, logprobs=lps[k])
                for after, ann in part.annotations:
                    if after == k:
                        self.emit(
                            "response.output_text.annotation.added",
                            **where_ci,
                            annotation_index=len(annotations),
                            annotation=ann,
                        )
                        annotations.append(ann)
            all_lp = [lp for group in lps for lp in group]
            self.emit("response.output_text.done", **where_ci, text=part.text, logprobs=all_lp)
            # As live: the part.done carries no logprobs, the done item carries them.
            self.emit(
                "response.content_part.done",
                **where_ci,
                part={"type": "output_text", "annotations": annotations, "logprobs": [], "text": part.text},
            )
            content.append({"type": "output_text", "annotations": annotations, "logprobs": all_lp, "text": part.text})
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
            text = "".join(deltas)
            self.reasoning_tokens += len(deltas)
            self.emit("response.reasoning_summary_part.added", **where, summary_index=si, part={"type": "summary_text", "text": ""})
            for d in deltas:
                self.emit("response.reasoning_summary_text.delta", **where, summary_index=si, delta=d)
            self.emit("response.reasoning_summary_text.done", **where, summary_index=si, text=text)
            self.emit("response.reasoning_summary_part.done", **where, summary_index=si, part={"type": "summary_text", "text": text})
            summary.append({"type": "summary_text", "text": text})
        content = []
        for ci, deltas in enumerate(texts):
            text = "".join(deltas)
            self.reasoning_tokens += len(deltas)
            self.emit("response.content_part.added", **where, content_index=ci, part={"type": "reasoning_text", "text": ""})
            for d in deltas:
                self.emit("response.reasoning_text.delta", **where, content_index=ci, delta=d)
            self.emit("response.reasoning_text.done", **where, content_index=ci, text=text)
            self.emit("response.content_part.done", **where, content_index=ci, part={"type": "reasoning_text", "text": text})
            content.append({"type": "reasoning_text", "text": text})
        done = {**head, "summary": summary}
        if texts:
            done["content"] = content
        if encrypted:
            done["encrypted_content"] = "gAAAAB" + hashlib.sha256(item_id.encode()).hexdigest()[::-1]
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
        head = {"id": item_id, "type": "web_search_call", "status": "in_progress", "action": {"type": "search"}}
        index = self._add(dict(head))
        where = {"output_index": index, "item_id": item_id}
        for phase in ("in_progress", "searching", "completed"):
            self.emit(f"response.web_search_call.{phase}", **where)
        return self._done(index, {**head, "status": "completed", "action": {"type": "search", "query": query}})

    def file_search(self, queries: Sequence[str]) -> int:
        item_id = self.new_id("fs")
        head = {"id": item_id, "type": "file_search_call", "status": "in_progress", "queries": [], "results": None}
        index = self._add(dict(head))
        where = {"item_id": item_id, "output_index": index}
        for phase in ("in_progress", "searching", "completed"):
            self.emit(f"response.file_search_call.{phase}", **where)
        return self._done(index, {**head, "status": "completed", "queries": list(queries)})

    def code_interpreter(self, deltas: Sequence[str], container_id: str = "cntr_6a1f00c0ffee") -> int:
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
        head = {"id": item_id, "type": "image_generation_call", "status": "in_progress", "result": None}
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
        return self._done(index, {**head, "status": "completed", "arguments": args, "output": output})


# ---- editing helpers for negative fixtures -------------------------------------------------
def find(events: Sequence[Event], type_: str, nth: int = 0, **match: Any) -> int:
    """Index of the nth event of `type_` whose fields equal `match` (nth=-1: the last)."""
    hits = [
        i
        for i, ev in enumerate(events)
        if ev.get("type") == type_ and all(ev.get(k) == v for k, v in match.items())
    ]
    if not hits:
        raise LookupError(f"no {type_} event with {match}")
    return hits[nth]


def renumber(events: list[Event], start: int = 0) -> list[Event]:
    """Give every event that has a sequence_number consecutive numbers from `start`."""
    n = start
    for ev in events:
        if isinstance(ev, dict) and "sequence_number" in ev:
            ev["sequence_number"] = n
            n += 1
    return events


def terminal(events: Sequence[Event]) -> dict[str, Any]:
    """The response snapshot of the last lifecycle terminal event."""
    for ev in reversed(events):
        if ev.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            return ev["response"]
    raise LookupError("no terminal event")


def snapshots(events: Sequence[Event]) -> list[dict[str, Any]]:
    return [ev["response"] for ev in events if isinstance(ev.get("response"), dict)]


# =============================================================================================
# The corpus
# =============================================================================================
import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
STREAMS = FIXTURES / "streams"
# The real captures are copied from here when it exists (it does not in CI: the copies in
# fixtures/streams/positive/openai-api/ are then left as they are).
SEED = Path(os.environ.get("FIXTURES_SEED", "/work/shared/fixtures-seed"))
GENERATOR = "scripts/make_fixtures.py"

Body = list[Any] | bytes | dict[str, Any]


@dataclass
class Spec:
    path: str  # under fixtures/streams/, without extension
    description: str
    build: Callable[[], Body]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()
    kind: str = "sse"
    profile: str | None = None
    request: dict[str, Any] | None = None
    content_type: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


SPECS: list[Spec] = []


def spec(path: str, description: str, **kw: Any) -> Callable[[Callable[[], Body]], Callable[[], Body]]:
    def deco(fn: Callable[[], Body]) -> Callable[[], Body]:
        prov = kw.pop("provenance", None) or {}
        features = kw.pop("features", ())
        base = {"source": "built", "generator": GENERATOR}
        if features:
            base["features"] = list(features)
        SPECS.append(Spec(path, description, fn, provenance={**base, **prov}, **kw))
        return fn

    return deco


def wild(*refs: str, notes: str) -> dict[str, Any]:
    """Provenance of a defect class seen in a public tracker (the stream is a reconstruction)."""
    urls = []
    for ref in refs:
        repo, _, num = ref.partition("#")
        if "/" in repo and num.isdigit():
            urls.append(f"https://github.com/{repo}/issues/{num}")
    prov: dict[str, Any] = {"source": "wild", "trackers": list(refs)}
    if urls:
        prov["urls"] = urls
    prov["reconstructed"] = True
    prov["notes"] = notes
    return prov


# ---- shared requests and texts -----------------------------------------------------------------
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "Local time in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
LOOSE_WEATHER_TOOL = {**WEATHER_TOOL, "strict": False}

HELLO = "Hello there! How can I assist you today?"
PARIS = "Paris is the capital of France. It sits on the Seine."


def req(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "input": "Say hello.", "stream": True}
    body.update(fields)
    return body


def text_stream(seed: str, text: str = HELLO, **kw: Any) -> Stream:
    """created → in_progress → one message → completed."""
    s = Stream(seed, **kw).open()
    s.message(Text(chunks(text)))
    return s.complete()


def weather_stream(seed: str, request: dict[str, Any], *, calls: Sequence[tuple[str, str]] = (("get_weather", '{"city":"Paris","unit":"c"}'),)) -> Stream:
    s = Stream(seed, request=request).open()
    for name, args in calls:
        s.function_call(name, [args[: len(args) // 2], args[len(args) // 2 :]])
    return s.complete()


# =============================================================================================
# Positive: built streams, one per event family. Each must give zero errors.
# =============================================================================================
P = "positive/built/"


@spec(P + "text", "One assistant message streamed as 8 text deltas.", features=["text"], request=req(instructions="You are a helpful assistant."))
def _p_text() -> Body:
    return text_stream("p-text", request=req(instructions="You are a helpful assistant.")).events


@spec(P + "multiple-messages", "Reasoning (encrypted, no summary), a commentary message and a final_answer message (gpt-5.5 phases).", features=["reasoning", "text", "multiple_messages", "phase"])
def _p_multi() -> Body:
    s = Stream("p-multi", model="gpt-5.5-2026-04-23").open()
    s.reasoning(encrypted=True)
    s.message(Text(chunks("Let me look that up.")), phase="commentary")
    s.message(Text(chunks("The tallest building in Paris is the Tour Montparnasse.")), phase="final_answer")
    return s.complete().events


@spec(P + "function-call", "One strict function call with its arguments in two deltas; request known.", features=["function_call"], request=req(input="Weather in Paris?", tools=[WEATHER_TOOL]))
def _p_fc() -> Body:
    return weather_stream("p-fc", req(input="Weather in Paris?", tools=[WEATHER_TOOL])).events


PARALLEL_REQ = req(input="Weather and time in Paris?", tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True)


@spec(P + "parallel-function-calls", "Two function calls in one response (parallel_tool_calls true).", features=["function_call", "parallel_function_calls"], request=PARALLEL_REQ)
def _p_parallel() -> Body:
    return weather_stream("p-par", PARALLEL_REQ, calls=[("get_weather", '{"city":"Paris","unit":"c"}'), ("get_time", '{"city":"Paris"}')]).events


@spec(P + "refusal", "A message whose only part is a refusal.", features=["refusal"])
def _p_refusal() -> Body:
    s = Stream("p-refusal").open()
    s.message(Refusal(chunks("I'm sorry, but I can't help with that request.")))
    return s.complete().events


REASONING_REQ = req(model="o4-mini", input="How do I cross the street?", reasoning={"effort": "medium", "summary": "detailed"})


@spec(P + "reasoning-summaries", "A reasoning item with two summary parts, then the answer.", features=["reasoning", "reasoning_summary", "text"], request=REASONING_REQ)
def _p_summaries() -> Body:
    s = Stream("p-summ", request=REASONING_REQ).open()
    s.reasoning(
        summaries=[chunks("**Crossing safely**\n\nThe user wants street-crossing advice."), chunks("**Listing steps**\n\nI will give short steps.")],
        encrypted=True,
    )
    s.message(Text(chunks("Stop at the curb, look both ways, and cross at a crosswalk when it is clear.")))
    return s.complete().events


@spec(P + "reasoning-text-gpt-oss", "Raw chain of thought as reasoning_text parts (gpt-oss style), then the answer.", features=["reasoning", "reasoning_text", "text"])
def _p_rtext() -> Body:
    s = Stream("p-rtext", model="gpt-oss-120b").open()
    s.reasoning(texts=[chunks("The user asks for 2+2. That is 4.")])
    s.message(Text(chunks("2 + 2 = 4.")))
    return s.complete().events


MAX16_REQ = req(input="Write a long story about a lighthouse.", max_output_tokens=16)


@spec(P + "incomplete-max-output-tokens", "Generation stops at max_output_tokens=16: the message is incomplete and so is the response.", features=["text", "incomplete"], request=MAX16_REQ)
def _p_incomplete() -> Body:
    s = Stream("p-incomplete", request=MAX16_REQ).open()
    s.message(Text(chunks("The lighthouse stood on a black rock at the edge of the world, and every night its keeper")), status="incomplete")
    return s.incomplete("max_output_tokens", usage_=usage(19, 16)).events


@spec(P + "failed-with-error", "One message completes, then an `error` event (nested, as live) and `response.failed`.", features=["text", "error", "failed"])
def _p_failed() -> Body:
    s = Stream("p-failed").open()
    s.message(Text(chunks("Working on it.")))
    return s.fail().events


def _url(title: str, url: str, start: int, end: int) -> dict[str, Any]:
    return {"type": "url_citation", "end_index": end, "start_index": start, "title": title, "url": url}


@spec(P + "annotations", "A web search, then a message with two url_citation annotations added mid-stream.", features=["web_search", "annotations", "text"], request=req(input="Any good news today?", tools=[{"type": "web_search"}]))
def _p_annotations() -> Body:
    s = Stream("p-ann", request=req(input="Any good news today?", tools=[{"type": "web_search"}])).open()
    s.web_search("good news today")
    text = "A reef recovered in Fiji (reefnews.org). Wolves returned to Colorado (wildnews.org)."
    deltas = chunks(text)
    s.message(
        Text(
            deltas,
            annotations=[
                (5, _url("Reef recovers", "https://reefnews.org/fiji?utm_source=openai", 26, 39)),
                (len(deltas) - 1, _url("Wolves return", "https://wildnews.org/co?utm_source=openai", 72, 85)),
            ],
        )
    )
    return s.complete().events


LOGPROBS_REQ = req(input="Capital of Minas Gerais?", top_logprobs=0, include=["message.output_text.logprobs"])


@spec(P + "logprobs", "Text deltas carrying token logprobs; the done item repeats them (part.done does not, as live).", features=["text", "logprobs"], request=LOGPROBS_REQ)
def _p_logprobs() -> Body:
    s = Stream("p-logprobs", request=LOGPROBS_REQ).open()
    s.message(Text(chunks("The capital of Minas Gerais is Belo Horizonte."), logprobs=True))
    return s.complete().events


@spec(P + "hosted-web-search", "web_search_call with in_progress/searching/completed, then the answer.", features=["web_search", "text"])
def _p_ws() -> Body:
    s = Stream("p-ws").open()
    s.web_search("weather Paris today")
    s.message(Text(chunks("It is sunny in Paris today, around 21°C.")))
    return s.complete().events


@spec(P + "hosted-file-search", "file_search_call, then a message with a file_citation annotation.", features=["file_search", "annotations", "text"])
def _p_fs() -> Body:
    s = Stream("p-fs").open()
    s.file_search(["favorite food of Travis", "Travis favorite food"])
    s.message(
        Text(
            chunks("Travis's favorite food is pizza."),
            annotations=[(4, {"type": "file_citation", "file_id": "file-NCKrwcbrD1Z2ucn4Mhe1yX", "filename": "foods.txt", "index": 31})],
        )
    )
    return s.complete().events


@spec(P + "hosted-code-interpreter", "code_interpreter_call with streamed code, interpreting, completed; then the answer.", features=["code_interpreter", "text"])
def _p_ci() -> Body:
    s = Stream("p-ci").open()
    s.code_interpreter(["import math\n", "math.factorial", "(5)"])
    s.message(Text(chunks("5! = 120.")))
    return s.complete().events


@spec(P + "hosted-image-generation", "image_generation_call with generating and two partial images.", features=["image_generation", "text"])
def _p_ig() -> Body:
    s = Stream("p-ig", model="gpt-4.1-2025-04-14").open()
    s.image_generation(partials=2)
    s.message(Text(chunks("Here is your red square.")))
    return s.complete().events


MCP_TOOLS = [{"annotations": {"read_only": True}, "description": "Roll dice.", "input_schema": {"type": "object", "properties": {"sides": {"type": "integer"}}, "required": ["sides"]}, "name": "roll"}]


@spec(P + "hosted-mcp", "mcp_list_tools, an mcp_call with streamed arguments, then the answer.", features=["mcp", "text"])
def _p_mcp() -> Body:
    s = Stream("p-mcp", model="gpt-5-mini-2025-08-07").open()
    s.mcp_list_tools("dmcp", MCP_TOOLS)
    s.mcp_call("dmcp", "roll", ['{"sides"', ":20}"], '{"result": 17}')
    s.message(Text(chunks("You rolled a 17.")))
    return s.complete().events


SQL_TOOL = {"type": "custom", "name": "run_sql", "description": "Run one read-only SQL query."}
CUSTOM_REQ = req(model="gpt-5", input="How many users signed up today?", tools=[SQL_TOOL])


@spec(P + "custom-tool-call", "A custom (free-form input) tool call with streamed input.", features=["custom_tool_call"], request=CUSTOM_REQ)
def _p_custom() -> Body:
    s = Stream("p-custom", request=CUSTOM_REQ).open()
    s.custom_tool_call("run_sql", ["SELECT count(*) ", "FROM users ", "WHERE created_at >= current_date"])
    return s.complete().events


@spec(P + "queued-background", "background=true: created with status queued, response.queued, then in_progress.", features=["queued", "background", "text"])
def _p_queued() -> Body:
    s = Stream("p-queued", background=True).open(queued=True)
    s.message(Text(chunks(HELLO)))
    return s.complete().events


@spec(P + "done-sentinel", "A text stream ending with `data: [DONE]` (allowed; reported as info).", features=["text", "done_sentinel"], infos=("framing.done-sentinel",))
def _p_done() -> Body:
    return to_sse(text_stream("p-done").events, done=True)


@spec(P + "done-sentinel-openresponses", "The same under profile openresponses, which requires the sentinel.", features=["text", "done_sentinel"], profile="openresponses")
def _p_done_or() -> Body:
    return to_sse(text_stream("p-done-or").events, done=True)


@spec(P + "crlf-line-endings", "Every line ends with CRLF.", features=["text", "crlf"])
def _p_crlf() -> Body:
    return to_sse(text_stream("p-crlf").events, newline="\r\n")


@spec(P + "cr-line-endings", "Every line ends with a lone CR (legal SSE).", features=["text", "cr"])
def _p_cr() -> Body:
    return to_sse(text_stream("p-cr").events, newline="\r")


def _with_comments(events: list[Event]) -> bytes:
    out = [b": connected\n\n"]
    for k, ev in enumerate(events):
        out.append(to_sse([ev]))
        if k % 3 == 1:
            out.append(b": keep-alive\n\n")
    return b"".join(out)


@spec(P + "comment-keepalives", "`: keep-alive` comment lines between events and before the first.", features=["text", "comments"])
def _p_comments() -> Body:
    return _with_comments(text_stream("p-comments").events)


@spec(P + "bom-retry-multiline-data", "A leading UTF-8 BOM, a `retry:` field, and pretty-printed JSON split across several `data:` lines.", features=["text", "bom", "retry", "multiline_data"])
def _p_multiline() -> Body:
    out = ["\ufeffretry: 3000\n\n"]
    for ev in text_stream("p-multiline").events:
        pretty = json.dumps(ev, ensure_ascii=False, indent=1)
        out.append(f"event: {ev['type']}\n" + "".join(f"data: {line}\n" for line in pretty.split("\n")) + "\n")
    return "".join(out).encode("utf-8")


@spec(P + "no-event-field", "Only `data:` lines, no `event:` field (the type is in the JSON).", features=["text"])
def _p_noevent() -> Body:
    return to_sse(text_stream("p-noevent").events, event_lines=False)


@spec(P + "non-stream-body", "A non-stream (stream=false) JSON body: the completed Response object.", features=["text", "non_stream"], kind="json", request={"model": "gpt-4o-mini", "input": "Say hello."})
def _p_json() -> Body:
    return terminal(text_stream("p-json", request={"model": "gpt-4o-mini", "input": "Say hello."}).events)


@spec(P + "non-stream-body-function-call", "A non-stream body holding reasoning and a function call.", features=["function_call", "reasoning", "non_stream"], kind="json")
def _p_json_fc() -> Body:
    s = Stream("p-json-fc", model="gpt-5-2025-08-07").open()
    s.reasoning(encrypted=True)
    s.function_call("get_weather", ['{"city":"Paris","unit":"c"}'])
    return terminal(s.complete().events)
