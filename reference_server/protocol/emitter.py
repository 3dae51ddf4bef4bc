"""Sans-IO translation of harmony messages into Responses output items.

`HarmonyToEvents` is told where harmony messages begin (channel, recipient), what text they
add, and where they end; it drives a `ResponseEventWriter` and returns the events. Mapping:

| harmony message                          | Responses output item                          |
|------------------------------------------|------------------------------------------------|
| channel `analysis`                       | `reasoning`, one `reasoning_text` content part |
|                                          | (after a `summary_text` part when summarising) |
| recipient of a known function tool       | `function_call` (+ `namespace` for a member of |
| (`functions.NAME`, `NAMESPACE.NAME`)     | a namespace tool), arguments streamed          |
| recipient of a known custom tool         | `custom_tool_call`, input streamed             |
| other recipient `functions.NAME`         | `function_call` named NAME                     |
| `browser.search` / `.open` / `.find`,    | `web_search_call` (action `search`/`open_page`/|
| when the request offers web search       | `find_in_page`), left open for the server to run |
| any other recipient (`browser.search`…)  | `function_call` named after the full recipient |
| channel `commentary`, no recipient       | `message`, `phase: "commentary"`               |
| channel `final` (or none)                | `message`, `phase: "final_answer"`             |

Reasoning summaries (`summary` set): the summary is the opening of the analysis text, cut by
`summary_end`. Its characters stream as `reasoning_summary_text.delta` while they arrive; once
the cut is known the summary part closes and a `reasoning_text` part opens with the whole
analysis so far, then streams on. The protocol puts summary parts before content parts, and
this keeps both streaming without holding text back.

With web search on, a browser call's JSON arguments are collected, not streamed: after its
message ends, `pending_browser` holds (output_index, function, arguments) for the server to run
and finish. Final text goes through a `CitationRewriter`: citation markers become
`url_citation` annotations, each announced right after the text it spans.

It knows nothing of tokens or of the openai_harmony package (harmony.py feeds it), nor of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..search.citations import CitationRewriter, Resolver
from .events import Event, ResponseEventWriter

ItemKind = Literal["reasoning", "function_call", "custom_tool_call", "message", "web_search"]
BROWSER_ACTIONS = {"search": "search", "open": "open_page", "find": "find_in_page"}

# Per `reasoning.summary` mode: (sentences, most characters). A summary ends after that many
# sentences, at the character bound (then "…" is added), or with the analysis message.
SUMMARY_LIMITS: dict[str, tuple[int, int]] = {"concise": (1, 200), "auto": (2, 400), "detailed": (4, 800)}
_SENTENCE_ENDS = ".!?"


@dataclass(frozen=True)
class CallTarget:
    """What a harmony recipient calls: a function or custom tool, maybe inside a namespace."""

    kind: Literal["function_call", "custom_tool_call"]
    name: str
    namespace: str | None = None


def summary_end(text: str, mode: str) -> tuple[int, bool] | None:
    """Where the summary of the analysis `text` ends (an index into it, and whether it was cut
    at the character bound), or None while more text could still extend it. A sentence ends at
    `.`, `!` or `?` followed by whitespace."""
    sentences, limit = SUMMARY_LIMITS.get(mode, SUMMARY_LIMITS["auto"])
    seen = 0
    for i, char in enumerate(text[:limit]):
        if char in _SENTENCE_ENDS and i + 1 < len(text) and text[i + 1].isspace():
            seen += 1
            if seen >= sentences:
                return i + 1, False
    return (limit, True) if len(text) > limit else None


def classify(channel: str | None, recipient: str | None,
             targets: Mapping[str, CallTarget] | None = None) -> tuple[ItemKind, Any]:
    """(item kind, CallTarget or message phase) for a harmony message header."""
    if recipient:
        target = (targets or {}).get(recipient)
        if target is None:
            name = recipient[len("functions."):] if recipient.startswith("functions.") else recipient
            target = CallTarget("function_call", name)
        return target.kind, target
    if channel == "analysis":
        return "reasoning", None
    if channel == "commentary":
        return "message", "commentary"
    return "message", "final_answer"


@dataclass
class _Open:
    index: int
    kind: ItemKind
    summary: str | None = None  # the reasoning text so far while its summary is still open
    summarised: int = 0  # characters of `summary` already sent as summary deltas
    browser_call: str | None = None  # a browser call: its function; `arguments` collects its JSON
    arguments: str = ""
    citations: CitationRewriter | None = None  # final text whose citation markers are rewritten


class HarmonyToEvents:
    """Harmony message boundaries in, Responses events out (see the module docstring).

    `targets` maps harmony recipients (`functions.NAME`, `NAMESPACE.NAME`) to the tools they
    call; `summary` is the request's `reasoning.summary` mode (None: no summaries)."""

    def __init__(self, writer: ResponseEventWriter, *, targets: Mapping[str, CallTarget] | None = None,
                 summary: str | None = None, citations: Resolver | None = None) -> None:
        self.writer = writer
        self._targets = dict(targets or {})
        self._summary_mode = summary
        # Set when the request offers web search: resolves the final text's citation markers.
        self._resolve = citations
        self.pending_browser: tuple[int, str, str] | None = None
        self._open: _Open | None = None
        self.function_calls = 0
        self.messages = 0

    @property
    def in_message(self) -> bool:
        return self._open is not None

    def begin_message(self, channel: str | None, recipient: str | None) -> list[Event]:
        if self._open is not None:
            raise ValueError("begin_message: the previous harmony message was not ended")
        w = self.writer
        function = recipient[len("browser."):] if recipient and recipient.startswith("browser.") else None
        if self._resolve is not None and function is not None:
            index, events = w.add_web_search_call({"type": BROWSER_ACTIONS.get(function, "search")})
            self._open = _Open(index, "web_search", browser_call=function)
            return events
        kind, detail = classify(channel, recipient, self._targets)
        summary: str | None = None
        citations: CitationRewriter | None = None
        if kind == "reasoning":
            index, events = w.add_reasoning()
            if self._summary_mode is not None:
                events += w.add_summary_part(index)
                summary = ""
            else:
                events += w.add_reasoning_text_part(index)
        elif kind in ("function_call", "custom_tool_call"):
            add = w.add_function_call if kind == "function_call" else w.add_custom_tool_call
            index, events = add(detail.name, namespace=detail.namespace)
            self.function_calls += 1
        else:
            index, events = w.add_message(phase="commentary" if detail == "commentary" else "final_answer")
            events += w.add_output_text_part(index)
            self.messages += 1
            if self._resolve is not None and detail != "commentary":
                citations = CitationRewriter(self._resolve)
        self._open = _Open(index, kind, summary, citations=citations)
        return events

    def content(self, delta: str) -> list[Event]:
        if self._open is None:
            raise ValueError("content: no harmony message is open")
        if not delta:
            return []
        index, kind = self._open.index, self._open.kind
        if kind == "reasoning":
            if self._open.summary is not None:
                return self._summarise(delta, final=False)
            return self.writer.reasoning_text_delta(index, delta)
        if kind == "function_call":
            return self.writer.arguments_delta(index, delta)
        if kind == "custom_tool_call":
            return self.writer.custom_input_delta(index, delta)
        if kind == "web_search":
            self._open.arguments += delta
            return []
        if self._open.citations is not None:
            return self._cited_text(index, *self._open.citations.feed(delta))
        return self.writer.text_delta(index, delta)

    def _cited_text(self, index: int, text: str, annotations: list[dict[str, Any]]) -> list[Event]:
        events = self.writer.text_delta(index, text) if text else []
        for annotation in annotations:
            events += self.writer.add_annotation(index, annotation)
        return events

    def _summarise(self, delta: str, *, final: bool) -> list[Event]:
        """Summary deltas for the new text; once the summary's end is known (or the message
        ended), close it and move the whole text so far into a reasoning_text part."""
        op = self._open
        assert op is not None and op.summary is not None and self._summary_mode is not None
        op.summary += delta
        text, w = op.summary, self.writer
        end = summary_end(text, self._summary_mode)
        cut = end[0] if end is not None else len(text)
        events: list[Event] = []
        if cut > op.summarised:
            events += w.summary_text_delta(op.index, text[op.summarised:cut])
            op.summarised = cut
        if end is None and not final:
            return events
        if end is not None and end[1]:
            events += w.summary_text_delta(op.index, "…")
        op.summary = None
        events += w.add_reasoning_text_part(op.index)  # closes the summary part first
        if text:
            events += w.reasoning_text_delta(op.index, text)
        return events

    def end_message(self) -> list[Event]:
        if self._open is None:
            raise ValueError("end_message: no harmony message is open")
        events: list[Event] = []
        op = self._open
        if op.kind == "web_search":
            # Left open: the server runs the call, then finishes the item with its action.
            assert op.browser_call is not None
            self.pending_browser = (op.index, op.browser_call, op.arguments)
            self._open = None
            return events
        if op.summary is not None:
            events += self._summarise("", final=True)
        if op.citations is not None:
            events += self._cited_text(op.index, *op.citations.finish())
        index, self._open = op.index, None
        return events + self.writer.close_item(index, "completed")

    # Terminal transitions: the writer closes whatever is still open.
    def complete(self, usage: Mapping[str, Any]) -> list[Event]:
        self._open = None
        return self.writer.complete(usage)

    def incomplete(self, reason: str, usage: Mapping[str, Any]) -> list[Event]:
        self._open = None
        return self.writer.incomplete(reason, usage)

    def fail(self, message: str, *, code: str = "server_error", usage: Mapping[str, Any] | None = None) -> list[Event]:
        self._open = None
        return self.writer.fail(message, code=code, usage=usage)

    def cancel(self) -> list[Event]:
        self._open = None
        return self.writer.cancel()
