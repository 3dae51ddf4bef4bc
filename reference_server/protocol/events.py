"""A sans-IO builder of correct Responses streaming events (no harmony, no HTTP).

`ResponseEventWriter` owns the Response object of one generation and hands out the events of
its stream in protocol order; it refuses (ValueError) any call that would make the stream wrong.

Theory of operation
-------------------
The stream grammar (see PROTOCOL.md) is::

    created [queued] in_progress item* terminal
    item := output_item.added  <parts or arguments>  output_item.done

The writer keeps one state variable for the response (`_phase`: new → created → [queued] →
in_progress → done), and for each
output item an `_Item` record holding the item dict as it will appear in `output_item.done`,
plus the index of its currently open part (if any). Every public method:

1. checks that the call is legal in the current state (else ValueError naming the call, the
   item and the state),
2. mutates the item dicts (so the terminal snapshot is, by construction, the done items),
3. returns the events it produced, already numbered (`sequence_number` 0, 1, 2, … no gaps).

Items are opened by `add_message` / `add_reasoning` / `add_function_call` /
`add_custom_tool_call` / `add_web_search_call`, which return
`(output_index, events)`. Parts are opened by `add_*_part(i)` (an open part of the same item is
closed first), filled by the `*_delta(i, text)` methods (which always target the item's open
part), and closed by `close_part(i)` or `close_item(i)`. `close_item` emits every pending done
event in grammar order. Terminal methods (`complete`, `incomplete`, `fail`) close what is open.
By default only one item may be open at a time (the official API never interleaves items);
`allow_interleaving=True` lifts that.
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Event = dict[str, Any]
ItemStatus = Literal["completed", "incomplete"]

_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An OpenAI-style id: `resp_`, `msg_`, `rs_`, `fc_` + 48 hex digits; `call_` + 24 alnum."""
    if prefix == "call":
        return "call_" + "".join(secrets.choice(_ALNUM) for _ in range(24))
    return f"{prefix}_{secrets.token_hex(24)}"


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _clone(value: Any) -> Any:
    """A deep copy of a JSON tree: dicts, lists and scalars are copied here, anything else by
    `copy.deepcopy`. Every lifecycle event, snapshot and done item is a copy of the Response
    or an item, and `copy.deepcopy`'s memo and dispatch cost four times this on such trees
    (a snapshot of a one-message response: 20 us against 5 us)."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _SCALARS else _clone(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _SCALARS else _clone(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


_NO_PUNCTUATION = str.maketrans("-_", "xq")

# Live deltas are padded with random letters and digits to this many characters (delta plus
# `obfuscation`; longer deltas get an empty string), so their sizes do not reveal the tokens.
OBFUSCATION_TARGET = 16


class _PadSource:
    """Random letters and digits for `obfuscation`, drawn from the OS in 3 kB batches: one
    `secrets.token_urlsafe` per delta was a system call and a base64 encoding per token."""

    _BATCH = 3072  # random bytes: 4096 URL-safe base64 characters

    def __init__(self) -> None:
        self._chars = ""
        self._at = 0

    def take(self, n: int) -> str:
        if self._at + n > len(self._chars):
            # '-' and '_' become letters: the padding must hide sizes, not be uniformly distributed.
            self._chars = secrets.token_urlsafe(self._BATCH).translate(_NO_PUNCTUATION)
            self._at = 0
        start = self._at
        self._at = start + n
        return self._chars[start:self._at]


_PADDING = _PadSource()


def obfuscate(event: Event) -> Event:
    """Add the live API's `obfuscation` field to a delta event (in place; others unchanged)."""
    delta = event.get("delta")
    if isinstance(delta, str) and event.get("type", "").endswith(".delta"):
        pad = OBFUSCATION_TARGET - len(delta)
        event["obfuscation"] = _PADDING.take(pad) if pad > 0 else ""
    return event


def make_usage(
    input_tokens: int,
    output_tokens: int,
    *,
    reasoning_tokens: int = 0,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    """A Response `usage` object with every detail present and a consistent total."""
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("reasoning_tokens", reasoning_tokens),
        ("cached_tokens", cached_tokens),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"make_usage: {name} must be a non-negative int, got {value!r}")
    if reasoning_tokens > output_tokens:
        raise ValueError(f"make_usage: reasoning_tokens {reasoning_tokens} > output_tokens {output_tokens}")
    if cached_tokens > input_tokens:
        raise ValueError(f"make_usage: cached_tokens {cached_tokens} > input_tokens {input_tokens}")
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def zero_tool_usage() -> dict[str, Any]:
    """The live API's `tool_usage` when no hosted tool ran: every family present, all zeros."""
    return {
        "image_gen": {"input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                      "output_tokens": 0, "total_tokens": 0},
        "web_search": {"num_requests": 0},
    }


# The Response fields in the order the official API sends them, with the defaults it reports
# when a request does not set them. Passed-in fields override these.
RESPONSE_DEFAULTS: dict[str, Any] = {
    "id": None,
    "object": "response",
    "created_at": None,
    "status": "in_progress",
    "background": False,
    "completed_at": None,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "model": None,
    "moderation": None,
    "output": [],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "prompt_cache_key": None,
    "prompt_cache_retention": None,
    "reasoning": {"effort": None, "summary": None},
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [],
    "tool_usage": None,  # filled in by the constructor: a fresh zero count per response
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": None,
    "user": None,
    "metadata": {},
}

_PART_TYPES_BY_ITEM: dict[str, frozenset[str]] = {
    "message": frozenset({"output_text", "refusal"}),
    "reasoning": frozenset({"reasoning_text", "summary_text"}),
    "function_call": frozenset(),
    "custom_tool_call": frozenset(),
    "web_search_call": frozenset(),
}


@dataclass
class _Item:
    index: int
    item: dict[str, Any]  # exactly what output_item.done will carry
    open: bool = True
    open_part: int | None = None  # index into content (or summary) of the open part
    open_part_kind: str | None = None  # "output_text" | "refusal" | "reasoning_text" | "summary_text"
    searching: bool = False  # a web_search_call between `.searching` and its end
    action: dict[str, Any] | None = None  # a web_search_call's action, known before it ends

    @property
    def id(self) -> str:
        return str(self.item["id"])

    @property
    def type(self) -> str:
        return str(self.item["type"])


class ResponseEventWriter:
    """Builds the event stream of one response. See the module docstring for the model.

    `fields` are the base Response fields: `model` (required), optionally `id`, `created_at`
    and every echoed request field (`instructions`, `tools`, `tool_choice`, `metadata`, …).
    `error_style="nested"` emits the Open Responses `error` event (`{type, error: {...}}`)
    instead of the documented flat one (`{type, code, message, param}`).
    """

    def __init__(
        self,
        fields: Mapping[str, Any],
        *,
        error_style: Literal["flat", "nested"] = "flat",
        allow_interleaving: bool = False,
        id_factory: Callable[[str], str] = new_id,
        clock: Callable[[], float] = time.time,
        seal_reasoning: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        if not fields.get("model"):
            raise ValueError("ResponseEventWriter: fields must include a non-empty 'model'")
        if error_style not in ("flat", "nested"):
            raise ValueError(f"ResponseEventWriter: error_style must be 'flat' or 'nested', not {error_style!r}")
        self._new_id = id_factory
        self._clock = clock
        # Set when the request includes `reasoning.encrypted_content`: reasoning items then carry
        # their text sealed by this function, on `output_item.added` and again (complete) on done.
        self._seal = seal_reasoning
        self._error_style = error_style
        self._allow_interleaving = allow_interleaving
        response = _clone(RESPONSE_DEFAULTS)
        response["tool_usage"] = zero_tool_usage()
        response.update(_clone(dict(fields)))
        if not response.get("id"):
            response["id"] = id_factory("resp")
        if response.get("created_at") is None:
            response["created_at"] = int(clock())
        # Lifecycle snapshots always start empty, whatever the caller passed.
        response.update(status="in_progress", output=[], usage=None, error=None,
                        incomplete_details=None, completed_at=None)
        self._response = response
        self._items: list[_Item] = []
        self._phase = "new"
        self._seq = 0

    # ------------------------------------------------------------------ inspection
    @property
    def response_id(self) -> str:
        return str(self._response["id"])

    @property
    def phase(self) -> str:
        """"new", "created", "queued", "in_progress" or "done"."""
        return self._phase

    @property
    def next_sequence_number(self) -> int:
        return self._seq

    @property
    def open_items(self) -> list[int]:
        return [it.index for it in self._items if it.open]

    def item(self, output_index: int) -> dict[str, Any]:
        """A copy of the item at `output_index` as it stands now."""
        return _clone(self._get(output_index, "item").item)

    def snapshot(self) -> dict[str, Any]:
        """The current Response object (a deep copy)."""
        return _clone(self._response)

    # ------------------------------------------------------------------ lifecycle
    def start(self, queued: bool = False) -> list[Event]:
        """`response.created` [`response.queued`] `response.in_progress`."""
        self._require("start", "new")
        events = self.created(queued=queued)
        if queued:
            events += self.queued()
        events += self.in_progress()
        return events

    def created(self, queued: bool = False) -> list[Event]:
        """`response.created` alone (status `queued` when the response waits for a worker)."""
        self._require("created", "new")
        self._response["status"] = "queued" if queued else "in_progress"
        self._phase = "created"
        return [self._lifecycle("response.created")]

    def queued(self) -> list[Event]:
        self._require("queued", "created")
        if self._response["status"] != "queued":
            raise ValueError("queued(): the response was created with queued=False")
        self._phase = "queued"
        return [self._lifecycle("response.queued")]

    def in_progress(self) -> list[Event]:
        self._require("in_progress", "created", "queued")
        self._response["status"] = "in_progress"
        self._phase = "in_progress"
        return [self._lifecycle("response.in_progress")]

    # ------------------------------------------------------------------ items
    def add_message(
        self, phase: Literal["commentary", "final_answer"] | None = None
    ) -> tuple[int, list[Event]]:
        """Open an assistant message item; returns (output_index, [output_item.added])."""
        item: dict[str, Any] = {
            "id": self._new_id("msg"),
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        if phase is not None:
            if phase not in ("commentary", "final_answer"):
                raise ValueError(f"add_message: phase must be 'commentary' or 'final_answer', not {phase!r}")
            item["phase"] = phase
        return self._add_item("add_message", item)

    def add_reasoning(self) -> tuple[int, list[Event]]:
        """Open a reasoning item; returns (output_index, [output_item.added])."""
        item: dict[str, Any] = {"id": self._new_id("rs"), "type": "reasoning"}
        if self._seal is not None:
            item["encrypted_content"] = None
        item.update(summary=[], content=[], status="in_progress")
        if self._seal is not None:
            item["encrypted_content"] = self._seal(item)
        return self._add_item("add_reasoning", item)

    def add_function_call(
        self, name: str, call_id: str | None = None, namespace: str | None = None
    ) -> tuple[int, list[Event]]:
        """Open a function_call item (of a namespace tool's member when `namespace` is given);
        returns (output_index, [output_item.added])."""
        return self._add_call("add_function_call", "function_call", name, call_id, namespace)

    def add_custom_tool_call(
        self, name: str, call_id: str | None = None, namespace: str | None = None
    ) -> tuple[int, list[Event]]:
        """Open a custom_tool_call item (free-form `input`, streamed with `custom_input_delta`);
        returns (output_index, [output_item.added])."""
        return self._add_call("add_custom_tool_call", "custom_tool_call", name, call_id, namespace)

    def _add_call(self, call: str, kind: str, name: str, call_id: str | None,
                  namespace: str | None) -> tuple[int, list[Event]]:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{call}: name must be a non-empty string")
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise ValueError(f"{call}: namespace must be a non-empty string or None")
        body = "arguments" if kind == "function_call" else "input"
        item: dict[str, Any] = {
            "id": self._new_id("fc" if kind == "function_call" else "ctc"),
            "type": kind,
            "status": "in_progress",
            body: "",
            "call_id": call_id or self._new_id("call"),
            "name": name,
        }
        if namespace is not None:
            item["namespace"] = namespace
        return self._add_item(call, item)

    def add_web_search_call(self, action: Mapping[str, Any] | None = None) -> tuple[int, list[Event]]:
        """Open a web_search_call item and announce it in progress: returns (output_index,
        [output_item.added, web_search_call.in_progress]). The added item's action holds only
        its `type`, as live; `action`, when known, is what the item carries if it is cut short."""
        kind = str((action or {}).get("type") or "search")
        index, events = self._add_item("add_web_search_call", {
            "id": self._new_id("ws"), "type": "web_search_call", "status": "in_progress",
            "action": {"type": kind}})
        self._items[index].action = _clone(dict(action)) if action is not None else None
        events.append(self._ev("response.web_search_call.in_progress", output_index=index,
                               item_id=self._items[index].id))
        return index, events

    def add_compaction(self, encrypted_content: str) -> tuple[int, list[Event]]:
        """A `compaction` item made by automatic compaction, whole in one go: `output_item.added`,
        `compaction.compacting`, `output_item.done`. The item has no status, so it never stays
        open for a cancellation to close."""
        if not isinstance(encrypted_content, str) or not encrypted_content:
            raise ValueError("add_compaction(): encrypted_content must be a non-empty string")
        item = {"id": self._new_id("cmp"), "type": "compaction", "encrypted_content": encrypted_content}
        index, events = self._add_item("add_compaction", item)
        it = self._items[index]
        it.open = False
        self._response["output"].append(_clone(item))
        events.append(self._ev("response.compaction.compacting", output_index=index, item_id=it.id))
        events.append(self._ev("response.output_item.done", output_index=index, item=_clone(item)))
        return index, events

    def web_search_searching(self, output_index: int) -> list[Event]:
        """`web_search_call.searching`: the search (or page fetch) is running."""
        it = self._web_search(output_index, "web_search_searching")
        if it.searching:
            raise ValueError(f"web_search_searching({output_index}): already searching")
        it.searching = True
        return [self._ev("response.web_search_call.searching", output_index=it.index, item_id=it.id)]

    def finish_web_search_call(self, output_index: int, action: Mapping[str, Any],
                               status: Literal["completed", "failed"] = "completed") -> list[Event]:
        """[`web_search_call.completed`] + `output_item.done` with the `action`; a failed call
        ends without `.completed`. A completed `search` counts in `tool_usage.web_search`."""
        it = self._web_search(output_index, "finish_web_search_call")
        if not it.searching:
            raise ValueError(f"finish_web_search_call({output_index}): call web_search_searching first")
        if status not in ("completed", "failed"):
            raise ValueError(f"finish_web_search_call({output_index}): status must be 'completed' or 'failed'")
        if not isinstance(action, Mapping) or action.get("type") not in ("search", "open_page", "find_in_page"):
            raise ValueError(f"finish_web_search_call({output_index}): action needs a type "
                             "'search', 'open_page' or 'find_in_page'")
        it.searching = False
        events: list[Event] = []
        if status == "completed":
            events.append(self._ev("response.web_search_call.completed", output_index=it.index, item_id=it.id))
        if action["type"] == "search" and status == "completed":
            usage = self._response.get("tool_usage")
            if not isinstance(usage, dict):  # a base Response may say null: a count starts at zero
                usage = self._response["tool_usage"] = zero_tool_usage()
            usage.setdefault("web_search", {"num_requests": 0})["num_requests"] += 1
        it.item["status"] = status
        it.item["action"] = _clone(dict(action))
        it.open = False
        self._response["output"].append(_clone(it.item))
        events.append(self._ev("response.output_item.done", output_index=it.index, item=_clone(it.item)))
        return events

    def _web_search(self, output_index: int, call: str) -> _Item:
        it = self._get_open(output_index, call)
        if it.type != "web_search_call":
            raise ValueError(f"{call}({output_index}): item is a {it.type}, not a web_search_call")
        return it

    # ------------------------------------------------------------------ parts
    def add_output_text_part(self, output_index: int) -> list[Event]:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        return self._add_part("add_output_text_part", output_index, "output_text", part)

    def add_refusal_part(self, output_index: int) -> list[Event]:
        return self._add_part("add_refusal_part", output_index, "refusal", {"type": "refusal", "refusal": ""})

    def add_reasoning_text_part(self, output_index: int) -> list[Event]:
        part = {"type": "reasoning_text", "text": ""}
        return self._add_part("add_reasoning_text_part", output_index, "reasoning_text", part)

    def add_summary_part(self, output_index: int) -> list[Event]:
        it = self._get(output_index, "add_summary_part")
        if it.type == "reasoning" and it.item["content"]:
            raise ValueError(
                f"add_summary_part({output_index}): summary parts must precede reasoning_text parts"
            )
        part = {"type": "summary_text", "text": ""}
        return self._add_part("add_summary_part", output_index, "summary_text", part)

    def text_delta(self, output_index: int, text: str) -> list[Event]:
        it, part, ci = self._open_part_of("text_delta", output_index, "output_text", text)
        part["text"] += text
        return [self._ev("response.output_text.delta", item_id=it.id, output_index=it.index,
                         content_index=ci, delta=text, logprobs=[])]

    def add_annotation(self, output_index: int, annotation: Mapping[str, Any]) -> list[Event]:
        """`output_text.annotation.added` on the item's open output_text part, numbered from 0
        in the part. A `url_citation` must point into the text already streamed."""
        it, part, ci = self._open_part_of("add_annotation", output_index, "output_text", "")
        ann = _clone(dict(annotation))
        if ann.get("type") == "url_citation":
            start, end = ann.get("start_index"), ann.get("end_index")
            if type(start) is not int or type(end) is not int or not 0 <= start <= end <= len(part["text"]):
                raise ValueError(f"add_annotation({output_index}): url_citation [{start!r}, {end!r}) is not "
                                 f"within the {len(part['text'])} characters streamed so far")
            if not isinstance(ann.get("url"), str) or not ann["url"]:
                raise ValueError(f"add_annotation({output_index}): url_citation needs a non-empty url")
        part["annotations"].append(ann)
        return [self._ev("response.output_text.annotation.added", item_id=it.id, output_index=it.index,
                         content_index=ci, annotation_index=len(part["annotations"]) - 1,
                         annotation=_clone(ann))]

    def add_logprobs(self, output_index: int, entries: list[dict[str, Any]]) -> None:
        """Record token logprobs (`{token, logprob, bytes, top_logprobs}`) on the item's open
        output_text part; `output_text.done` and the part then carry them. No event of its own:
        the caller puts the same entries on the delta they belong to."""
        _it, part, _ci = self._open_part_of("add_logprobs", output_index, "output_text", "")
        part["logprobs"].extend(_clone(entries))

    def refusal_delta(self, output_index: int, text: str) -> list[Event]:
        it, part, ci = self._open_part_of("refusal_delta", output_index, "refusal", text)
        part["refusal"] += text
        return [self._ev("response.refusal.delta", item_id=it.id, output_index=it.index,
                         content_index=ci, delta=text)]

    def reasoning_text_delta(self, output_index: int, text: str) -> list[Event]:
        it, part, ci = self._open_part_of("reasoning_text_delta", output_index, "reasoning_text", text)
        part["text"] += text
        return [self._ev("response.reasoning_text.delta", item_id=it.id, output_index=it.index,
                         content_index=ci, delta=text)]

    def summary_text_delta(self, output_index: int, text: str) -> list[Event]:
        it, part, si = self._open_part_of("summary_text_delta", output_index, "summary_text", text)
        part["text"] += text
        return [self._ev("response.reasoning_summary_text.delta", item_id=it.id,
                         output_index=it.index, summary_index=si, delta=text)]

    def arguments_delta(self, output_index: int, text: str) -> list[Event]:
        it = self._get_open(output_index, "arguments_delta")
        if it.type != "function_call":
            raise ValueError(f"arguments_delta({output_index}): item is a {it.type}, not a function_call")
        self._check_text("arguments_delta", text)
        it.item["arguments"] += text
        return [self._ev("response.function_call_arguments.delta", item_id=it.id,
                         output_index=it.index, delta=text)]

    def custom_input_delta(self, output_index: int, text: str) -> list[Event]:
        it = self._get_open(output_index, "custom_input_delta")
        if it.type != "custom_tool_call":
            raise ValueError(f"custom_input_delta({output_index}): item is a {it.type}, not a custom_tool_call")
        self._check_text("custom_input_delta", text)
        it.item["input"] += text
        return [self._ev("response.custom_tool_call_input.delta", item_id=it.id,
                         output_index=it.index, delta=text)]

    def close_part(self, output_index: int) -> list[Event]:
        """Close the item's open part (text done + part done); no-op when none is open."""
        it = self._get_open(output_index, "close_part")
        return self._close_part(it)

    def close_item(self, output_index: int, status: ItemStatus = "completed") -> list[Event]:
        """Emit every pending done event of the item, then `output_item.done` with `status`."""
        if status not in ("completed", "incomplete"):
            raise ValueError(f"close_item({output_index}): status must be 'completed' or 'incomplete', not {status!r}")
        it = self._get_open(output_index, "close_item")
        if it.type == "web_search_call":
            # Cut short: a search that did not finish has failed (its statuses have no
            # `incomplete`); it still carries the action it was running.
            events = self.web_search_searching(output_index) if not it.searching else []
            return events + self.finish_web_search_call(
                output_index, it.action or {"type": "search"}, status="failed")
        events = self._close_part(it)
        if it.type == "function_call":
            events.append(self._ev("response.function_call_arguments.done", item_id=it.id,
                                   output_index=it.index, name=it.item["name"],
                                   arguments=it.item["arguments"]))
        elif it.type == "custom_tool_call":
            events.append(self._ev("response.custom_tool_call_input.done", item_id=it.id,
                                   output_index=it.index, input=it.item["input"]))
        if it.type == "reasoning" and self._seal is not None:
            it.item["encrypted_content"] = self._seal(it.item)
        it.item["status"] = status
        it.open = False
        self._response["output"].append(_clone(it.item))
        events.append(self._ev("response.output_item.done", output_index=it.index,
                               item=_clone(it.item)))
        return events

    # ------------------------------------------------------------------ terminal
    def complete(self, usage: Mapping[str, Any] | None) -> list[Event]:
        """Close open items (completed) and emit `response.completed`."""
        self._require("complete", "in_progress")
        events: list[Event] = []
        for index in self.open_items:
            events += self.close_item(index, "completed")
        return events + self._terminal("response.completed", "completed", usage)

    def incomplete(self, reason: str, usage: Mapping[str, Any] | None) -> list[Event]:
        """Close open items as `incomplete` and emit `response.incomplete` with `reason`."""
        self._require("incomplete", "in_progress")
        if not isinstance(reason, str) or not reason:
            raise ValueError("incomplete: reason must be a non-empty string, e.g. 'max_output_tokens'")
        open_items = self.open_items
        if open_items and any(not it.open for it in self._items if it.index > min(open_items)):
            # An incomplete item must be the last one: a completed item after it would lie.
            raise ValueError("incomplete: an open item precedes a closed one; it cannot be marked incomplete")
        events: list[Event] = []
        for index in open_items:
            events += self.close_item(index, "incomplete")
        self._response["incomplete_details"] = {"reason": reason}
        return events + self._terminal("response.incomplete", "incomplete", usage)

    def fail(
        self,
        message: str,
        *,
        code: str = "server_error",
        param: str | None = None,
        usage: Mapping[str, Any] | None = None,
    ) -> list[Event]:
        """An `error` event, open items closed, then `response.failed`.

        Open items are closed `incomplete`: what was cut short must not look finished (a
        client would run a truncated tool call). The writer keeps at most one item open at a
        time, so the incomplete item is the last one."""
        self._require("fail", "in_progress")
        if not message:
            raise ValueError("fail: message must be non-empty")
        if self._error_style == "nested":
            err = self._ev("error", error={"type": code, "code": code, "message": message, "param": param})
        else:
            err = self._ev("error", code=code, message=message, param=param)
        events = [err]
        for index in self.open_items:
            events += self.close_item(index, "incomplete")
        self._response["error"] = {"code": code, "message": message}
        return events + self._terminal("response.failed", "failed", usage)

    def cancel(self) -> list[Event]:
        """Stop here: open items closed `incomplete`, status `cancelled`. The protocol has no
        `response.cancelled` event, so only the items' done events are returned; the stream of a
        cancelled response ends without a terminal event (clients learn it from GET)."""
        self._require("cancel", "created", "queued", "in_progress")
        events: list[Event] = []
        if self._phase == "in_progress":
            for index in self.open_items:
                events += self.close_item(index, "incomplete")
        self._response["status"] = "cancelled"
        self._phase = "done"
        return events

    def notice(self, type_: str, **fields: Any) -> Event:
        """An event about this response that is not part of its output (a WebSocket steering
        acknowledgement), numbered in the response's sequence so a client sees one order."""
        return self._ev(type_, **fields)

    # ------------------------------------------------------------------ internals
    def _require(self, call: str, *phases: str) -> None:
        if self._phase not in phases:
            raise ValueError(
                f"{call}(): not allowed while the response is {self._phase!r} (allowed in: {', '.join(phases)})"
            )

    def _ev(self, type_: str, **fields: Any) -> Event:
        event: Event = {"type": type_, "sequence_number": self._seq}
        event.update(fields)
        self._seq += 1
        return event

    def _lifecycle(self, type_: str) -> Event:
        return self._ev(type_, response=_clone(self._response))

    def _terminal(self, type_: str, status: str, usage: Mapping[str, Any] | None) -> list[Event]:
        self._response["status"] = status
        self._response["usage"] = _clone(dict(usage)) if usage is not None else None
        if status == "completed":
            # Never before created_at, whatever the clock did meanwhile.
            self._response["completed_at"] = max(int(self._clock()), int(self._response["created_at"]))
        self._phase = "done"
        return [self._lifecycle(type_)]

    def _add_item(self, call: str, item: dict[str, Any]) -> tuple[int, list[Event]]:
        self._require(call, "in_progress")
        if not self._allow_interleaving and self.open_items:
            raise ValueError(
                f"{call}(): item {self.open_items[0]} is still open; close_item({self.open_items[0]}) first"
            )
        it = _Item(index=len(self._items), item=item)
        self._items.append(it)
        added = _clone(item)
        return it.index, [self._ev("response.output_item.added", output_index=it.index, item=added)]

    def _get(self, output_index: int, call: str) -> _Item:
        if isinstance(output_index, bool) or not isinstance(output_index, int) or not 0 <= output_index < len(self._items):
            raise ValueError(f"{call}({output_index!r}): no output item has that index ({len(self._items)} added)")
        return self._items[output_index]

    def _get_open(self, output_index: int, call: str) -> _Item:
        self._require(call, "in_progress")
        it = self._get(output_index, call)
        if not it.open:
            raise ValueError(f"{call}({output_index}): the {it.type} item {it.id} is already closed")
        return it

    @staticmethod
    def _check_text(call: str, text: str) -> None:
        if not isinstance(text, str):
            raise ValueError(f"{call}: text must be a str, got {type(text).__name__}")

    def _add_part(self, call: str, output_index: int, kind: str, part: dict[str, Any]) -> list[Event]:
        it = self._get_open(output_index, call)
        if kind not in _PART_TYPES_BY_ITEM[it.type]:
            raise ValueError(f"{call}({output_index}): a {it.type} item cannot hold a {kind} part")
        events = self._close_part(it)
        container = it.item["summary" if kind == "summary_text" else "content"]
        container.append(part)
        index = len(container) - 1
        it.open_part, it.open_part_kind = index, kind
        if kind == "summary_text":
            events.append(self._ev("response.reasoning_summary_part.added", item_id=it.id,
                                   output_index=it.index, summary_index=index, part=_clone(part)))
        else:
            events.append(self._ev("response.content_part.added", item_id=it.id,
                                   output_index=it.index, content_index=index, part=_clone(part)))
        return events

    def _open_part_of(self, call: str, output_index: int, kind: str, text: str) -> tuple[_Item, dict[str, Any], int]:
        self._check_text(call, text)
        it = self._get_open(output_index, call)
        if it.open_part is None or it.open_part_kind != kind:
            have = f"its open part is {it.open_part_kind}" if it.open_part is not None else "it has no open part"
            raise ValueError(f"{call}({output_index}): needs an open {kind} part, but {have}")
        container = it.item["summary" if kind == "summary_text" else "content"]
        return it, container[it.open_part], it.open_part

    def _close_part(self, it: _Item) -> list[Event]:
        if it.open_part is None:
            return []
        kind, index = it.open_part_kind, it.open_part
        it.open_part = it.open_part_kind = None
        common = {"item_id": it.id, "output_index": it.index}
        if kind == "summary_text":
            part = it.item["summary"][index]
            return [
                self._ev("response.reasoning_summary_text.done", **common, summary_index=index, text=part["text"]),
                self._ev("response.reasoning_summary_part.done", **common, summary_index=index,
                         part=_clone(part)),
            ]
        part = it.item["content"][index]
        if kind == "output_text":
            done = self._ev("response.output_text.done", **common, content_index=index,
                            text=part["text"], logprobs=_clone(part["logprobs"]))
        elif kind == "refusal":
            done = self._ev("response.refusal.done", **common, content_index=index, refusal=part["refusal"])
        else:
            done = self._ev("response.reasoning_text.done", **common, content_index=index, text=part["text"])
        return [done, self._ev("response.content_part.done", **common, content_index=index,
                               part=_clone(part))]
