"""Chat Completions stream chunks -> a correct Responses event stream (sans-IO).

Feed decoded `chat.completion.chunk` objects one at a time; get Responses events back.

Theory of operation
-------------------
A CC stream interleaves three kinds of output in one `delta`: reasoning (`reasoning_content` or
`reasoning`), text (`content`, `refusal`) and tool calls keyed by their CC `index`, whose
arguments may arrive split and even interleaved between calls. A Responses stream has one open
item at a time. So each piece goes to a *target* ("reasoning", "message" or a call index):

- a piece for the open item streams at once;
- a piece for another target switches items when the open one may end: always for reasoning
  and messages, for a call only once its arguments form a complete JSON value (a proper prefix
  of a serialized object never does); otherwise the piece waits in a per-target buffer, and the
  buffers are flushed in arrival order as soon as switching is possible;
- a call needs its name before it can be opened (the writer's `function_call` item has one).

CC has no ordering between a message's content and its tool calls, so this reordering keeps
the meaning. `finish_reason` plus usage (same chunk, or the usage-only chunk after it) end the
response: `length` -> incomplete/max_output_tokens, `content_filter` -> incomplete/content_filter,
anything else -> completed. `finish()` at `[DONE]`/EOF ends it too; `fail()` aborts it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Unpack

from reference_server.protocol.events import Event
from reference_server.sources.adapters.common import (
    ConversionError,
    as_int,
    is_complete_json,
    responses_usage,
)
from reference_server.sources.adapters.dialects import (
    chunk_usage,
    merge_usage,
    read_delta,
    usage_counts,
)
from reference_server.sources.adapters.output import (
    ConverterOptions,
    StreamConverter,
    UpstreamProtocolError,
)

log = logging.getLogger("reference_server.proxy")

Target = str | tuple[str, object]  # "reasoning" | "message" | ("call", key)

INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass
class _Call:
    name: str = ""
    call_id: str | None = None
    opened: bool = False
    args: str = ""  # arguments streamed so far
    checked_len: int = -1  # len(args) when `complete` was last computed
    complete: bool = False


@dataclass
class _Buffer:
    pieces: list[tuple[str, str]] = field(default_factory=list)  # (sub-kind, text)


class CCToResponsesStream(StreamConverter):
    """Converts one CC chunk stream: `start()`, `feed(chunk)` per chunk, `finish()` at `[DONE]` or
    EOF, `fail()` when it broke (buffered, unstreamed pieces are then dropped)."""

    eof_message = "The upstream stream ended without a finish_reason."

    def __init__(self, request: dict[str, Any], **options: Unpack[ConverterOptions]) -> None:
        super().__init__(request, **options)
        self._calls: dict[object, _Call] = {}
        self._pending: list[Target] = []
        self._buffers: dict[Target, _Buffer] = {}
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._unknown_seen: set[str] = set()
        self._encrypted: str | None = None  # OpenRouter reasoning.encrypted, for the reasoning item
        self._sources: list[dict[str, str]] = []  # Perplexity citations / search_results
        self.out.annotator = self._cite

    def _saw_end(self) -> bool:
        return self._finish_reason is not None

    # ------------------------------------------------------------------ chunk handling
    def _feed(self, chunk: Any) -> list[Event]:
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError("The upstream sent a chunk that is not a JSON object.")
        if chunk.get("error"):
            err = chunk["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            code = err.get("code") if isinstance(err, dict) else None
            return self.out.fail(f"Upstream error: {message or 'unknown error'}", str(code or "upstream_error"))
        events: list[Event] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            # Responses has no `n`: only the first choice is translated.
            if isinstance(choice, dict) and as_int(choice.get("index", 0)) == 0:
                events += self._choice(choice)
        if chunk.get("citations") or chunk.get("search_results"):
            self._sources = perplexity_sources(chunk)
        usage = chunk_usage(chunk)
        if usage is not None:
            self._usage = merge_usage(self._usage, usage)  # repeated usage is cumulative
            if self._finish_reason is not None:
                events += self._finalize()
        return events

    def _choice(self, choice: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        delta = choice.get("delta")
        if isinstance(delta, dict):
            read = read_delta(delta)  # every shape the dialect table knows
            for kind, text in read.pieces:
                events += self._route("reasoning" if kind == "reasoning" else "message", kind, text)
            for what, text in read.unknown:
                # No mapping: kept visible as reasoning (a note beside the answer), and logged.
                if what not in self._unknown_seen:
                    self._unknown_seen.add(what)
                    log.warning("upstream sent %s, which no dialect maps: kept as reasoning text", what)
                events += self._route("reasoning", "reasoning", text)
            if read.encrypted and self._current() == "reasoning":
                events += self.out.encrypted(read.encrypted)  # signs the open reasoning item
            elif read.encrypted:
                self._encrypted = (self._encrypted or "") + read.encrypted
            for ann in read.annotations or []:
                if (converted := url_citation(ann)) is not None:
                    self.out.annotate(converted)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict):
                    events += self._call_delta(call)
            if isinstance(delta.get("function_call"), dict):  # the legacy single-function form
                events += self._call_delta({"index": "function_call", **delta["function_call"]}, legacy=True)
        if choice.get("finish_reason") is not None and self._finish_reason is None:
            self._finish_reason = str(choice["finish_reason"])
        return events

    def _call_delta(self, call: dict[str, Any], legacy: bool = False) -> list[Event]:
        fn = call if legacy else (call.get("function") or {})
        key = call.get("index")
        known = self._calls.get(key) if isinstance(key, (int, str)) else None
        if known is not None and call.get("id") and known.call_id and call["id"] != known.call_id:
            # Parallel calls all sent with index 0 (Gemini compat, some Ollama builds): a new id
            # starts a new call.
            key = next((k for k, c in self._calls.items() if c.call_id == call["id"]), None)
            if key is None:
                key = ("id", call["id"])
        if not isinstance(key, (int, str, tuple)) or isinstance(key, bool):
            # Some servers omit `index`: identify the call by its id, else it continues the last.
            key = next((k for k, c in self._calls.items() if call.get("id") and c.call_id == call.get("id")), None)
            if key is None:
                key = len(self._calls) if call.get("id") or not self._calls else list(self._calls)[-1]
        state = self._calls.get(key)
        events: list[Event] = []
        name = str(fn["name"]) if isinstance(fn.get("name"), str) else ""
        if state is None:
            state = self._calls[key] = _Call(name=name, call_id=call.get("id") or None)
            events += self._route(("call", key), "args", "")  # announce it in arrival order
        elif name and not state.opened and name != state.name:
            state.name += name  # a name split over chunks (a repeated whole name is not)
            events += self._drain()
        args = fn.get("arguments")
        if isinstance(args, (dict, list)):
            args = json.dumps(args, separators=(",", ":"))
        if isinstance(args, str) and args:
            events += self._route(("call", key), "args", args)
        return events

    # ------------------------------------------------------------------ routing
    def _current(self) -> Target | None:
        if self.out.kind == "call":
            return ("call", self.out.call_key)
        return self.out.kind

    def _switchable(self) -> bool:
        if self.out.kind != "call":
            return True
        state = self._calls[self.out.call_key]
        if state.checked_len != len(state.args):  # parse only when the arguments grew
            state.checked_len, state.complete = len(state.args), is_complete_json(state.args)
        return state.complete

    def _route(self, target: Target, sub: str, text: str) -> list[Event]:
        if isinstance(target, tuple) and self._calls[target[1]].opened and not self.out.is_open_call(target[1]):
            if text.strip():
                raise UpstreamProtocolError(
                    f"The upstream sent more arguments for tool call {target[1]!r} after they had "
                    "formed a complete JSON value and the call was closed."
                )
            return []
        if target == self._current():
            events = self._emit(target, sub, text)
            if isinstance(target, tuple) and self._pending and self._switchable():
                events += self._drain()
            return events
        if target not in self._buffers:
            self._buffers[target] = _Buffer()
            self._pending.append(target)
        if text:
            self._buffers[target].pieces.append((sub, text))
        return self._drain()

    def _drain(self, force: bool = False) -> list[Event]:
        """Open buffered targets in arrival order while the open item may be left."""
        events: list[Event] = []
        while self._pending and (force or self._switchable()):
            target = self._pending[0]
            if isinstance(target, tuple):
                state = self._calls[target[1]]
                if not state.name:
                    if force:
                        raise UpstreamProtocolError(f"The upstream never named tool call {target[1]!r}.")
                    break
                events += self.out.open_call(target[1], state.name, state.call_id)
                state.opened = True
            self._pending.pop(0)
            for sub, text in self._buffers.pop(target).pieces:
                events += self._emit(target, sub, text)
        return events

    def _emit(self, target: Target, sub: str, text: str) -> list[Event]:
        if not text:
            return []
        if sub == "reasoning":
            events = self.out.reasoning(text)
            if self._encrypted:
                events += self.out.encrypted(self._encrypted)
                self._encrypted = None
            return events
        if sub == "text":
            return self.out.text(text)
        if sub == "refusal":
            return self.out.refusal(text)
        assert isinstance(target, tuple)
        self._calls[target[1]].args += text
        return self.out.arguments(text)

    # ------------------------------------------------------------------ terminal
    def _finalize(self) -> list[Event]:
        try:
            events = self._drain(force=True)
        except UpstreamProtocolError as exc:
            return self.out.fail(str(exc), "upstream_protocol_error")
        if self._encrypted:  # encrypted reasoning with no reasoning text: an item of its own
            events += self.out.encrypted(self._encrypted)
            self._encrypted = None
        usage = cc_usage_to_responses(self._usage)
        reason = INCOMPLETE_REASONS.get(self._finish_reason or "")
        if reason is not None:
            return events + self.out.incomplete(reason, usage)
        if self._finish_reason == "error":
            return events + self.out.fail("The upstream ended the completion with an error.", "upstream_error", usage)
        return events + self.out.complete(usage)


    def _cite(self, text: str) -> list[dict[str, Any]]:
        return citation_annotations(text, self._sources)


def cc_usage_to_responses(usage: Any) -> dict[str, Any]:
    """Responses usage from CC usage, read by the dialect table's conventions (output counts
    everything billed as output; absent usage counts as zero). Corrections are logged."""
    if not isinstance(usage, dict):
        usage = {}
    inp, out, cached, reasoning, note = usage_counts(usage)
    if note:
        log.warning("%s", note)
    return responses_usage(inp, out, cached_tokens=cached, reasoning_tokens=reasoning)


def url_citation(ann: dict[str, Any]) -> dict[str, Any] | None:
    """A CC `url_citation` annotation (OpenAI search models, OpenRouter) as a Responses one."""
    inner: dict[str, Any] = ann["url_citation"] if isinstance(ann.get("url_citation"), dict) else ann
    if not isinstance(inner.get("url"), str):
        return None
    return {"type": "url_citation", "url": inner["url"], "title": str(inner.get("title") or inner["url"]),
            "start_index": inner.get("start_index"), "end_index": inner.get("end_index")}


def perplexity_sources(chunk: dict[str, Any]) -> list[dict[str, str]]:
    """Perplexity's numbered sources: `search_results` (title, url) or bare `citations` URLs."""
    results = chunk.get("search_results")
    if isinstance(results, list) and results:
        return [{"url": str(r.get("url")), "title": str(r.get("title") or r.get("url"))}
                for r in results if isinstance(r, dict) and r.get("url")]
    return [{"url": str(u), "title": str(u)} for u in chunk.get("citations") or [] if isinstance(u, str)]


_MARKER = re.compile(r"\[(\d+)\]")


def citation_annotations(text: str, sources: list[dict[str, str]]) -> list[dict[str, Any]]:
    """`url_citation`s for numbered sources: each `[n]` marker in the text is annotated with the
    n-th source (its offsets); a source no marker cites is still listed, at the end of the text."""
    out: list[dict[str, Any]] = []
    cited: set[int] = set()
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= len(sources):
            cited.add(n)
            out.append({"type": "url_citation", **sources[n - 1], "start_index": m.start(), "end_index": m.end()})
    for n, src in enumerate(sources, 1):
        if n not in cited:
            out.append({"type": "url_citation", **src, "start_index": len(text), "end_index": len(text)})
    return out


__all__ = ["CCToResponsesStream", "ConversionError", "UpstreamProtocolError", "cc_usage_to_responses"]
