"""What every upstream stream converter needs: `OutputBuilder` keeps one open output item at a
time over `ResponseEventWriter`, `StreamConverter` is the start/feed/finish/fail life cycle.

Converters say "this is reasoning text / answer text / refusal text / a call's arguments"; the
builder opens, switches and closes items and parts so the writer's grammar always holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypedDict

from reference_server.protocol.events import Event, ResponseEventWriter, new_id
from reference_server.sources.adapters import writer_extras
from reference_server.sources.adapters.common import response_fields

log = logging.getLogger("reference_server.proxy")

Kind = Literal["reasoning", "message", "call"]

# Codes `response.error.code` may carry (OpenAPI enum) that an upstream failure can map to.
RESPONSE_ERROR_CODES = frozenset({"server_error", "rate_limit_exceeded", "invalid_prompt"})
# Upstream codes that mean "slow down" (OpenAI, Anthropic, HTTP status names).
RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded", "rate_limit_error", "overloaded_error", "429",
                              "insufficient_quota"})


class OutputBuilder:
    """Routes pieces of upstream output into the writer's items.

    The current item stays open until something of another kind arrives (or `close()`), so a
    terminal `incomplete` can still mark the last item incomplete.
    """

    def __init__(
        self,
        fields: Mapping[str, Any],
        *,
        id_factory: Callable[[str], str] = new_id,
        clock: Callable[[], float] | None = None,
        writer: ResponseEventWriter | None = None,
    ) -> None:
        if writer is not None:
            # The caller's writer (proxy mode: the service's, already started and stored).
            self.writer = writer
        else:
            kwargs: dict[str, Any] = {"id_factory": id_factory}
            if clock is not None:
                kwargs["clock"] = clock
            self.writer = ResponseEventWriter(fields, **kwargs)
        self.kind: Kind | None = None  # kind of the open item
        self.index: int | None = None  # its output_index
        self.part: str | None = None  # kind of the open part of a message/reasoning item
        self.call_key: object = None  # the converter's key of the open call
        # Annotations for the open output_text part, emitted when it closes; a None offset means
        # "the whole part" (Anthropic cites a text block as a whole).
        self.pending_annotations: list[dict[str, Any]] = []
        # Annotations computed from a finished output_text part's text (Perplexity's markers).
        self.annotator: Callable[[str], list[dict[str, Any]]] | None = None
        self.pending_encrypted: str | None = None  # for the open reasoning item

    @property
    def finished(self) -> bool:
        return self.writer.phase == "done"

    def start(self) -> list[Event]:
        """`created` + `in_progress`, unless the writer's owner has started it already."""
        if self.writer.phase != "new":
            return []
        return self.writer.start()

    # ------------------------------------------------------------------ content
    def reasoning(self, text: str) -> list[Event]:
        """Reasoning text; an empty `text` only opens the reasoning_text part (a signed thinking
        block whose text the upstream omitted still has a part, so it replays as thinking)."""
        events = self._ensure("reasoning")
        assert self.index is not None
        if self.part != "reasoning_text":
            events += self.writer.add_reasoning_text_part(self.index)
            self.part = "reasoning_text"
        return events + (self.writer.reasoning_text_delta(self.index, text) if text else [])

    def text(self, text: str, *, new_part: bool = False) -> list[Event]:
        """Answer text; `new_part` starts a new output_text part in the same message."""
        events = self._ensure("message")
        assert self.index is not None
        if self.part != "output_text" or new_part:
            events += self._end_part()
            events += self.writer.add_output_text_part(self.index)
            self.part = "output_text"
        return events + self.writer.text_delta(self.index, text)

    def empty_text_part(self) -> list[Event]:
        """A new output_text part with no text (a cited text block that streamed none), so its
        annotations have a part to belong to."""
        events = self._ensure("message")
        assert self.index is not None
        events += self._end_part()
        self.part = "output_text"
        return events + self.writer.add_output_text_part(self.index)

    def refusal(self, text: str) -> list[Event]:
        events = self._ensure("message")
        assert self.index is not None
        if self.part != "refusal":
            events += self._end_part()
            events += self.writer.add_refusal_part(self.index)
            self.part = "refusal"
        return events + self.writer.refusal_delta(self.index, text)

    def open_call(self, key: object, name: str, call_id: str | None) -> list[Event]:
        """Close the open item and open a function_call item known to the caller as `key`."""
        events = self.close()
        self.index, added = self.writer.add_function_call(name, call_id)
        self.kind, self.part, self.call_key = "call", None, key
        return events + added

    def arguments(self, text: str) -> list[Event]:
        if self.kind != "call" or self.index is None:
            raise ValueError("arguments(): no function_call item is open")
        return self.writer.arguments_delta(self.index, text)

    def is_open_call(self, key: object) -> bool:
        return self.kind == "call" and self.call_key == key

    def close(self) -> list[Event]:
        """Close the open item (completed); no-op when none is open."""
        if self.index is None:
            return []
        events = self._end_part()
        events += self.writer.close_item(self.index, "completed")
        self.kind = self.index = self.part = self.call_key = None
        return events

    def annotate(self, annotation: dict[str, Any]) -> None:
        """An annotation of the open (or next) output_text part, emitted when the part ends."""
        self.pending_annotations.append(annotation)

    def encrypted(self, value: str) -> list[Event]:
        """`encrypted_content` for the current reasoning item (one is opened when none is)."""
        events = self._ensure("reasoning")
        self.pending_encrypted = (self.pending_encrypted or "") + value
        return events

    def web_search(self, action: dict[str, Any]) -> list[Event]:
        """A finished web_search_call item (the upstream searched server-side)."""
        events = self.close()
        return events + writer_extras.add_web_search_call(self.writer, action)

    def fallback(self, what: str, text: str) -> list[Event]:
        """Upstream content with no Responses equivalent: kept visible as its own output_text part
        (`[what] text`) and logged, never dropped."""
        log.warning("upstream sent %s, which has no Responses equivalent: kept as message text", what)
        return self.text(f"[{what}]\n{text}", new_part=True)

    # ------------------------------------------------------------------ terminal
    def complete(self, usage: Mapping[str, Any]) -> list[Event]:
        events = self._end_part()
        self._forget()
        return events + self.writer.complete(usage)

    def incomplete(self, reason: str, usage: Mapping[str, Any]) -> list[Event]:
        events = self._end_part()
        self._forget()
        return events + self.writer.incomplete(reason, usage)

    def fail(self, message: str, code: str, usage: Mapping[str, Any] | None = None) -> list[Event]:
        """`error` + `response.failed`. `response.error.code` has a closed enum: an upstream's own
        code is kept in the message and mapped to `rate_limit_exceeded` or `server_error`."""
        if code not in RESPONSE_ERROR_CODES:
            message = f"{message} (upstream code: {code})"
            code = "rate_limit_exceeded" if code in RATE_LIMIT_CODES else "server_error"
        if self.kind == "reasoning" and self.index is not None and self.pending_encrypted is not None:
            writer_extras.set_encrypted_content(self.writer, self.index, self.pending_encrypted)
        self.pending_annotations, self.pending_encrypted = [], None
        self._forget()
        return self.writer.fail(message, code=code, usage=usage)

    def abort(self, message: str) -> list[Event]:
        """`fail` for a conversion bug: best effort, never raises (the stream may already be over)."""
        try:
            return self.fail(message, "server_error")
        except ValueError:
            return []

    def snapshot(self) -> dict[str, Any]:
        return self.writer.snapshot()

    # ------------------------------------------------------------------ internals
    def _end_part(self) -> list[Event]:
        """What must happen before the open part or item closes: its annotations, its
        encrypted_content."""
        events: list[Event] = []
        if self.index is None:
            return events
        if self.kind == "reasoning" and self.pending_encrypted is not None:
            writer_extras.set_encrypted_content(self.writer, self.index, self.pending_encrypted)
            self.pending_encrypted = None
        if self.part != "output_text":
            return events
        text = self.writer.item(self.index)["content"][-1]["text"]
        annotations = list(self.annotator(text)) if self.annotator else []
        for ann in self.pending_annotations:
            ann = dict(ann)
            if ann.get("start_index") is None:
                ann["start_index"], ann["end_index"] = 0, len(text)
            annotations.append(ann)
        self.pending_annotations = []
        for ann in annotations:
            events += writer_extras.add_annotation(self.writer, self.index, ann)
        return events

    def _ensure(self, kind: Kind) -> list[Event]:
        if self.kind == kind:
            return []
        events = self.close()
        if kind == "reasoning":
            self.index, added = self.writer.add_reasoning()
        else:
            self.index, added = self.writer.add_message()
        self.kind, self.part = kind, None
        return events + added

    def _forget(self) -> None:
        # The writer's terminal methods close whatever is open themselves.
        self.kind = self.index = self.part = self.call_key = None


class ConverterOptions(TypedDict, total=False):
    """What a `StreamConverter` subclass passes on to `StreamConverter.__init__`."""

    id_factory: Callable[[str], str]
    clock: Callable[[], float] | None
    writer: ResponseEventWriter | None


class UpstreamProtocolError(Exception):
    """The upstream stream broke its own protocol in a way that loses data."""


class StreamConverter:
    """One upstream stream in, one Responses event stream out (sans-IO). `start()`, then
    `feed(item)` per decoded upstream chunk or event, then `finish()` when the upstream stream
    ended (or `fail()` when it broke); `final_response()` once it is over. Every method returns
    Responses events, and does nothing once the response has ended.

    Subclasses implement `_feed(item)` (may raise `UpstreamProtocolError`), `_saw_end()` (did the
    upstream send its own end: a finish reason, a stop reason) and `_finalize()`, and set
    `eof_message`; `_usage_so_far()` gives a failure its usage when the upstream reported some.
    """

    eof_message = "The upstream stream ended early."

    def __init__(
        self,
        request: dict[str, Any],
        *,
        id_factory: Callable[[str], str] = new_id,
        clock: Callable[[], float] | None = None,
        writer: ResponseEventWriter | None = None,
    ) -> None:
        # `writer`: write into this (started) writer instead of one built from `request`.
        self.out = OutputBuilder(response_fields(request), id_factory=id_factory, clock=clock, writer=writer)

    @property
    def done(self) -> bool:
        return self.out.finished

    def start(self) -> list[Event]:
        return self.out.start()

    def feed(self, item: Any) -> list[Event]:
        """One decoded upstream chunk or event; what comes after the terminal event is ignored."""
        events = self.start()
        if self.done:
            return events
        try:
            return events + self._feed(item)
        except UpstreamProtocolError as exc:
            return events + self.out.fail(str(exc), "upstream_protocol_error")
        except ValueError as exc:  # the writer refused a step: never leave the stream half-open
            return events + self.out.abort(f"The upstream stream could not be converted: {exc}")

    def finish(self) -> list[Event]:
        """The upstream stream ended (`[DONE]` or EOF). Without its own end it was cut off."""
        events = self.start()
        if self.done:
            return events
        if not self._saw_end():
            return events + self.out.fail(self.eof_message, "upstream_disconnected")
        return events + self._finalize()

    def fail(self, message: str, code: str = "upstream_error") -> list[Event]:
        """Abort: the upstream failed, disconnected or stalled. The open item is closed
        incomplete; then `error` + `response.failed`."""
        events = self.start()
        if self.done:
            return events
        return events + self.out.fail(message, code, self._usage_so_far())

    def final_response(self) -> dict[str, Any] | None:
        """The terminal Response object, once the stream has ended."""
        return self.out.snapshot() if self.done else None

    # ------------------------------------------------------------------ for subclasses
    def _feed(self, item: Any) -> list[Event]:
        raise NotImplementedError

    def _saw_end(self) -> bool:
        raise NotImplementedError

    def _finalize(self) -> list[Event]:
        raise NotImplementedError

    def _usage_so_far(self) -> dict[str, Any] | None:
        return None
