"""Generates the built fixtures of `fixtures/` (deterministic: rerunning gives identical bytes).

A stream builder shaped on the api.openai.com captures makes every valid stream; each negative
fixture is one of those with exactly one defect. `python scripts/make_fixtures.py [--check]`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.testing.streams import (
    Event,
    Refusal,
    Stream,
    Text,
    chunks,
    dumps,
    snapshots,
    terminal,
    to_sse,
    usage,
)
from conformance.testing.streams import index_of as find
from conformance.testing.streams import renumber as _renumber


def renumber(events: list[Event], start: int = 0) -> list[Event]:
    """Renumber the events that have a sequence_number; those without stay without."""
    return _renumber(events, start, keep_unnumbered=True)


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
SEED = Path(os.environ.get("FIXTURES_SEED", ROOT.parent / "shared" / "fixtures-seed"))
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
    tolerate: tuple[str, ...] = ()
    target_kind: str | None = None
    request: dict[str, Any] | None = None
    content_type: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


SPECS: list[Spec] = []


def spec(
    path: str, description: str, **kw: Any
) -> Callable[[Callable[[], Body]], Callable[[], Body]]:
    def deco(fn: Callable[[], Body]) -> Callable[[], Body]:
        prov = kw.pop("provenance", None) or {}
        features = kw.pop("features", ())
        base: dict[str, Any] = {"source": "built", "generator": GENERATOR}
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
        elif ref.startswith("openai/gpt-oss"):
            urls.append("https://github.com/openai/gpt-oss")
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
# Sixteen tokens of a longer story: what a server had streamed when max_output_tokens=16 hit.
LIGHTHOUSE = "The lighthouse stood on a black rock at the edge of the world, and every night its keeper"
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


def weather_stream(
    seed: str,
    request: dict[str, Any],
    *,
    calls: Sequence[tuple[str, str]] = (("get_weather", '{"city":"Paris","unit":"c"}'),),
) -> Stream:
    s = Stream(seed, request=request).open()
    for name, args in calls:
        s.function_call(name, [args[: len(args) // 2], args[len(args) // 2 :]])
    return s.complete()


# =============================================================================================
# Positive: built streams, one per event family. Each must give zero errors.
# =============================================================================================
P = "positive/built/"


@spec(
    P + "text",
    "One assistant message streamed as 8 text deltas.",
    features=["text"],
    request=req(instructions="You are a helpful assistant."),
)
def _p_text() -> Body:
    return text_stream("p-text", request=req(instructions="You are a helpful assistant.")).events


@spec(
    P + "multiple-messages",
    "Reasoning (encrypted, no summary), a commentary message and a final_answer message (gpt-5.5 phases).",
    features=["reasoning", "text", "multiple_messages", "phase"],
)
def _p_multi() -> Body:
    s = Stream("p-multi", model="gpt-5.5-2026-04-23").open()
    s.reasoning(encrypted=True)
    s.message(Text(chunks("Let me look that up.")), phase="commentary")
    s.message(
        Text(chunks("The tallest building in Paris is the Tour Montparnasse.")),
        phase="final_answer",
    )
    return s.complete().events


@spec(
    P + "function-call",
    "One strict function call with its arguments in two deltas; request known.",
    features=["function_call"],
    request=req(input="Weather in Paris?", tools=[WEATHER_TOOL]),
)
def _p_fc() -> Body:
    return weather_stream("p-fc", req(input="Weather in Paris?", tools=[WEATHER_TOOL])).events


PARALLEL_REQ = req(
    input="Weather and time in Paris?", tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True
)


@spec(
    P + "parallel-function-calls",
    "Two function calls in one response (parallel_tool_calls true).",
    features=["function_call", "parallel_function_calls"],
    request=PARALLEL_REQ,
)
def _p_parallel() -> Body:
    return weather_stream(
        "p-par",
        PARALLEL_REQ,
        calls=[("get_weather", '{"city":"Paris","unit":"c"}'), ("get_time", '{"city":"Paris"}')],
    ).events


@spec(P + "refusal", "A message whose only part is a refusal.", features=["refusal"])
def _p_refusal() -> Body:
    s = Stream("p-refusal").open()
    s.message(Refusal(chunks("I'm sorry, but I can't help with that request.")))
    return s.complete().events


REASONING_REQ = req(
    model="o4-mini",
    input="How do I cross the street?",
    reasoning={"effort": "medium", "summary": "detailed"},
)


@spec(
    P + "reasoning-summaries",
    "A reasoning item with two summary parts, then the answer.",
    features=["reasoning", "reasoning_summary", "text"],
    request=REASONING_REQ,
)
def _p_summaries() -> Body:
    s = Stream("p-summ", request=REASONING_REQ).open()
    s.reasoning(
        summaries=[
            chunks("**Crossing safely**\n\nThe user wants street-crossing advice."),
            chunks("**Listing steps**\n\nI will give short steps."),
        ],
        encrypted=True,
    )
    s.message(
        Text(chunks("Stop at the curb, look both ways, and cross at a crosswalk when it is clear."))
    )
    return s.complete().events


@spec(
    P + "reasoning-text-gpt-oss",
    "Raw chain of thought as reasoning_text parts (gpt-oss style), then the answer.",
    features=["reasoning", "reasoning_text", "text"],
)
def _p_rtext() -> Body:
    s = Stream("p-rtext", model="gpt-oss-120b").open()
    s.reasoning(texts=[chunks("The user asks for 2+2. That is 4.")])
    s.message(Text(chunks("2 + 2 = 4.")))
    return s.complete().events


MAX16_REQ = req(input="Write a long story about a lighthouse.", max_output_tokens=16)


@spec(
    P + "incomplete-max-output-tokens",
    "Generation stops at max_output_tokens=16: the message is incomplete and so is the response.",
    features=["text", "incomplete"],
    request=MAX16_REQ,
)
def _p_incomplete() -> Body:
    s = Stream("p-incomplete", request=MAX16_REQ).open()
    s.message(Text(chunks(LIGHTHOUSE)), status="incomplete")
    return s.incomplete("max_output_tokens", usage_=usage(19, 16)).events


@spec(
    P + "failed-with-error",
    "One message completes, then an `error` event (nested, as live) and `response.failed`.",
    features=["text", "error", "failed"],
)
def _p_failed() -> Body:
    s = Stream("p-failed").open()
    s.message(Text(chunks("Working on it.")))
    return s.fail().events


def _url(title: str, url: str, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "end_index": end,
        "start_index": start,
        "title": title,
        "url": url,
    }


@spec(
    P + "annotations",
    "A web search, then a message with two url_citation annotations added mid-stream.",
    features=["web_search", "annotations", "text"],
    request=req(input="Any good news today?", tools=[{"type": "web_search"}]),
)
def _p_annotations() -> Body:
    s = Stream(
        "p-ann", request=req(input="Any good news today?", tools=[{"type": "web_search"}])
    ).open()
    s.web_search("good news today")
    text = "A reef recovered in Fiji (reefnews.org). Wolves returned to Colorado (wildnews.org)."
    deltas = chunks(text)
    s.message(
        Text(
            deltas,
            annotations=[
                (5, _url("Reef recovers", "https://reefnews.org/fiji?utm_source=openai", 25, 39)),
                (
                    len(deltas) - 1,
                    _url("Wolves return", "https://wildnews.org/co?utm_source=openai", 69, 83),
                ),
            ],
        )
    )
    return s.complete().events


LOGPROBS_REQ = req(
    input="Capital of Minas Gerais?", top_logprobs=0, include=["message.output_text.logprobs"]
)


@spec(
    P + "logprobs",
    "Text deltas carrying token logprobs; the done item repeats them (part.done does not, as live).",
    features=["text", "logprobs"],
    request=LOGPROBS_REQ,
)
def _p_logprobs() -> Body:
    s = Stream("p-logprobs", request=LOGPROBS_REQ).open()
    s.message(Text(chunks("The capital of Minas Gerais is Belo Horizonte."), logprobs=True))
    return s.complete().events


@spec(
    P + "hosted-web-search",
    "web_search_call with in_progress/searching/completed, then the answer.",
    features=["web_search", "text"],
)
def _p_ws() -> Body:
    s = Stream("p-ws").open()
    s.web_search("weather Paris today")
    s.message(Text(chunks("It is sunny in Paris today, around 21°C.")))
    return s.complete().events


COMPACTION_REQ = req(input="Go on with the story.",
                     context_management=[{"type": "compaction", "compact_threshold": 1000}])


@spec(
    P + "auto-compaction",
    "Automatic compaction under context_management: a compaction item first (added, "
    "compaction.compacting, done), then the answer.",
    features=["compaction", "text"],
    request=COMPACTION_REQ,
)
def _p_compaction() -> Body:
    s = Stream("p-compaction", request=COMPACTION_REQ).open()
    s.compaction()
    s.message(Text(chunks("The keeper climbed the stairs again.")))
    return s.complete().events


@spec(
    P + "hosted-file-search",
    "file_search_call, then a message with a file_citation annotation.",
    features=["file_search", "annotations", "text"],
)
def _p_fs() -> Body:
    s = Stream("p-fs").open()
    s.file_search(["favorite food of Travis", "Travis favorite food"])
    s.message(
        Text(
            chunks("Travis's favorite food is pizza."),
            annotations=[
                (
                    4,
                    {
                        "type": "file_citation",
                        "file_id": "file-NCKrwcbrD1Z2ucn4Mhe1yX",
                        "filename": "foods.txt",
                        "index": 31,
                    },
                )
            ],
        )
    )
    return s.complete().events


@spec(
    P + "hosted-code-interpreter",
    "code_interpreter_call with streamed code, interpreting, completed; then the answer.",
    features=["code_interpreter", "text"],
)
def _p_ci() -> Body:
    s = Stream("p-ci").open()
    s.code_interpreter(["import math\n", "math.factorial", "(5)"])
    s.message(Text(chunks("5! = 120.")))
    return s.complete().events


@spec(
    P + "hosted-image-generation",
    "image_generation_call with generating and two partial images.",
    features=["image_generation", "text"],
)
def _p_ig() -> Body:
    s = Stream("p-ig", model="gpt-4.1-2025-04-14").open()
    s.image_generation(partials=2)
    s.message(Text(chunks("Here is your red square.")))
    return s.complete().events


MCP_TOOLS = [
    {
        "annotations": {"read_only": True},
        "description": "Roll dice.",
        "input_schema": {
            "type": "object",
            "properties": {"sides": {"type": "integer"}},
            "required": ["sides"],
        },
        "name": "roll",
    }
]


@spec(
    P + "hosted-mcp",
    "mcp_list_tools, an mcp_call with streamed arguments, then the answer.",
    features=["mcp", "text"],
)
def _p_mcp() -> Body:
    s = Stream("p-mcp", model="gpt-5-mini-2025-08-07").open()
    s.mcp_list_tools("dmcp", MCP_TOOLS)
    s.mcp_call("dmcp", "roll", ['{"sides"', ":20}"], '{"result": 17}')
    s.message(Text(chunks("You rolled a 17.")))
    return s.complete().events


SQL_TOOL = {"type": "custom", "name": "run_sql", "description": "Run one read-only SQL query."}
CUSTOM_REQ = req(model="gpt-5", input="How many users signed up today?", tools=[SQL_TOOL])


@spec(
    P + "custom-tool-call",
    "A custom (free-form input) tool call with streamed input.",
    features=["custom_tool_call"],
    request=CUSTOM_REQ,
)
def _p_custom() -> Body:
    s = Stream("p-custom", request=CUSTOM_REQ).open()
    s.custom_tool_call(
        "run_sql", ["SELECT count(*) ", "FROM users ", "WHERE created_at >= current_date"]
    )
    return s.complete().events


@spec(
    P + "queued-background",
    "background=true: created with status queued, response.queued, then in_progress.",
    features=["queued", "background", "text"],
)
def _p_queued() -> Body:
    s = Stream("p-queued", background=True).open(queued=True)
    s.message(Text(chunks(HELLO)))
    return s.complete().events


@spec(
    P + "done-sentinel",
    "A text stream ending with `data: [DONE]` (allowed; reported as info).",
    features=["text", "done_sentinel"],
    infos=("framing.done-sentinel",),
)
def _p_done() -> Body:
    return to_sse(text_stream("p-done").events, done=True)


@spec(
    P + "done-sentinel-openresponses",
    "The same under profile openresponses, which requires the sentinel.",
    features=["text", "done_sentinel"],
    profile="openresponses",
)
def _p_done_or() -> Body:
    return to_sse(text_stream("p-done-or", full_shape=True).events, done=True)


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


@spec(
    P + "comment-keepalives",
    "`: keep-alive` comment lines between events and before the first.",
    features=["text", "comments"],
)
def _p_comments() -> Body:
    return _with_comments(text_stream("p-comments").events)


@spec(
    P + "bom-retry-multiline-data",
    "A leading UTF-8 BOM, a `retry:` field, and pretty-printed JSON split across several `data:` lines. "
    "The BOM is a warning: openai-python ignores the line it starts (here the `retry:`, harmlessly).",
    warnings=("framing.bom",),
    features=["text", "bom", "retry", "multiline_data"],
)
def _p_multiline() -> Body:
    out = ["\ufeffretry: 3000\n\n"]
    for ev in text_stream("p-multiline").events:
        pretty = json.dumps(ev, ensure_ascii=False, indent=1)
        out.append(
            f"event: {ev['type']}\n"
            + "".join(f"data: {line}\n" for line in pretty.split("\n"))
            + "\n"
        )
    return "".join(out).encode("utf-8")


@spec(
    P + "no-event-field",
    "Only `data:` lines, no `event:` field (the type is in the JSON).",
    features=["text"],
)
def _p_noevent() -> Body:
    return to_sse(text_stream("p-noevent").events, event_field=False)


@spec(
    P + "non-stream-body",
    "A non-stream (stream=false) JSON body: the completed Response object.",
    features=["text", "non_stream"],
    kind="json",
    request={"model": "gpt-4o-mini", "input": "Say hello."},
)
def _p_json() -> Body:
    return terminal(
        text_stream("p-json", request={"model": "gpt-4o-mini", "input": "Say hello."}).events
    )


@spec(
    P + "non-stream-body-function-call",
    "A non-stream body holding reasoning and a function call.",
    features=["function_call", "reasoning", "non_stream"],
    kind="json",
)
def _p_json_fc() -> Body:
    s = Stream("p-json-fc", model="gpt-5-2025-08-07").open()
    s.reasoning(encrypted=True)
    s.function_call("get_weather", ['{"city":"Paris","unit":"c"}'])
    return terminal(s.complete().events)


# =============================================================================================
# Negative: one defect each. The directory names the rule family, the file the rule slug.
# =============================================================================================
N = "negative/"


_BOM = "\ufeff".encode()


def _base(seed: str, **kw: Any) -> list[Event]:
    return text_stream(seed, **kw).events


def _two_items(seed: str) -> Stream:
    """A message then a function call: enough structure for index and identity defects."""
    s = Stream(seed, request=None).open()
    s.message(Text(chunks("Let me check the weather.")))
    s.function_call("get_weather", ['{"city":', '"Paris","unit":"c"}'])
    return s.complete()


def _frame(
    events: list[Event], replace: dict[int, str] | None = None, insert: dict[int, str] | None = None
) -> bytes:
    """SSE for `events`, with raw replacement/inserted message text at given event indexes."""
    out = []
    for i, ev in enumerate(events):
        if insert and i in insert:
            out.append(insert[i].encode())
        out.append(replace[i].encode() if replace and i in replace else to_sse([ev]))
    return b"".join(out)


# ---- framing --------------------------------------------------------------------------------------
@spec(
    N + "framing/content-type",
    "A correct stream served as application/json.",
    errors=("framing.content-type",),
    content_type="application/json",
)
def _n_ctype() -> Body:
    return _base("n-ctype")


@spec(
    N + "framing/invalid-json",
    "A keep-alive sent as a Python dict repr (single quotes) between two deltas.",
    errors=("framing.invalid-json",),
)
def _n_invalid_json() -> Body:
    ev = _base("n-invalid-json")
    return _frame(ev, insert={6: "data: {'type': 'keepalive'}\n\n"})


@spec(
    N + "framing/not-an-event",
    "A heartbeat JSON object without `type` between two deltas.",
    errors=("framing.not-an-event",),
)
def _n_not_event() -> Body:
    ev = _base("n-not-event")
    return _frame(ev, insert={6: 'data: {"heartbeat":true}\n\n'})


@spec(
    N + "framing/event-name-mismatch",
    "`response.output_text.done` sent under `event: response.output_text.delta`.",
    errors=("framing.event-name-mismatch",),
)
def _n_name_mismatch() -> Body:
    ev = _base("n-name")
    i = find(ev, "response.output_text.done")
    return _frame(ev, replace={i: f"event: response.output_text.delta\ndata: {dumps(ev[i])}\n\n"})


@spec(
    N + "framing/unterminated",
    "The final `response.completed` is not followed by a blank line (the connection closed right after it).",
    warnings=("framing.unterminated",),
)
def _n_unterminated() -> Body:
    return to_sse(_base("n-unterminated"))[:-1]


@spec(
    N + "framing/id-field",
    "Every event carries an `id:` field (reported as info).",
    infos=("framing.id-field",),
)
def _n_id() -> Body:
    ev = _base("n-id")
    return b"".join(f"id: {i}\n".encode() + to_sse([e]) for i, e in enumerate(ev))


@spec(
    N + "framing/empty-event",
    "An `event: ping` keep-alive block without `data:` between two deltas: WHATWG dispatches nothing, "
    "openai-python 3.54 dispatches an event with empty data and raises JSONDecodeError.",
    errors=("framing.empty-event",),
)
def _n_empty_event() -> Body:
    ev = _base("n-empty-event")
    return _frame(ev, insert={6: "event: ping\n\n"})


@spec(
    N + "framing/empty-event-after-id",
    "Every event carries an `id:` and a `: ping` comment block follows each: once an id was "
    "seen, openai-python 3.54 dispatches every blank line (it never resets the last event id).",
    errors=("framing.empty-event",),
    infos=("framing.id-field",),
)
def _n_empty_event_id() -> Body:
    ev = _base("n-empty-event-id")
    return b"".join(f"id: {i}\n".encode() + to_sse([e]) + b": ping\n\n" for i, e in enumerate(ev))


@spec(
    N + "framing/bom",
    "A leading UTF-8 BOM and no `event:` lines: openai-python 3.54 does not strip the BOM, reads the "
    "first line as the field `\\ufeffdata` and loses response.created.",
    warnings=("framing.bom",),
)
def _n_bom() -> Body:
    return _BOM + to_sse(_base("n-bom"), event_field=False)


@spec(
    N + "framing/invalid-utf8",
    "The text is encoded as Latin-1, not UTF-8: `é` and `î` are single bytes (0xE9, 0xEE) in the "
    "deltas, the done events and the snapshot. openai-python 3.54 raises UnicodeDecodeError.",
    errors=("framing.invalid-utf8",),
)
def _n_invalid_utf8() -> Body:
    raw = to_sse(text_stream("n-invalid-utf8", "Un café, s'il vous plaît.").events)
    return raw.replace("é".encode(), b"\xe9").replace("î".encode(), b"\xee")


@spec(
    N + "framing/done-sentinel-missing-openresponses",
    "Profile openresponses requires the terminal `data: [DONE]`; this stream has none.",
    errors=("framing.done-sentinel",),
    profile="openresponses",
)
def _n_done_missing() -> Body:
    return _base("n-done-missing", full_shape=True)


# ---- schema -----------------------------------------------------------------------------------------
@spec(
    N + "schema/event",
    "A text delta whose `logprobs` is an object instead of an array.",
    errors=("schema.event",),
)
def _n_schema_event() -> Body:
    ev = _base("n-schema-event")
    ev[find(ev, "response.output_text.delta", 2)]["logprobs"] = {}
    return ev


@spec(
    N + "schema/unknown-event",
    "An event type in no catalogue (not vendor-prefixed) between two deltas.",
    warnings=("schema.unknown-event",),
)
def _n_unknown() -> Body:
    ev = _base("n-unknown")
    ev.insert(
        6, {"type": "response.output_text.highlight", "sequence_number": 0, "color": "yellow"}
    )
    return renumber(ev)


@spec(
    N + "schema/unknown-event-vendor",
    "A vendor-prefixed event type (`acme.trace`) mid-stream: info only.",
    infos=("schema.unknown-event",),
)
def _n_unknown_vendor() -> Body:
    ev = _base("n-unknown-vendor")
    ev.insert(6, {"type": "acme.trace", "sequence_number": 0, "span": "decode"})
    return renumber(ev)


@spec(
    N + "schema/response",
    'Every lifecycle snapshot has `parallel_tool_calls` as the string "true".',
    errors=("schema.response",),
)
def _n_schema_response() -> Body:
    ev = _base("n-schema-response")
    for snap in snapshots(ev):
        snap["parallel_tool_calls"] = "true"
    return ev


@spec(
    N + "schema/item",
    "A function_call item whose `name` is a number, in added, done and the terminal output alike.",
    errors=("schema.item",),
)
def _n_schema_item() -> Body:
    ev = weather_stream("n-schema-item", req(tools=[WEATHER_TOOL])).events
    for e in ev:
        if e["type"].startswith("response.output_item."):
            e["item"]["name"] = 7
    terminal(ev)["output"][0]["name"] = 7
    return ev


# ---- sequence ---------------------------------------------------------------------------------------
@spec(
    N + "sequence/missing",
    "One delta has no `sequence_number` (the others stay consecutive).",
    errors=("sequence.missing",),
)
def _n_seq_missing() -> Body:
    ev = _base("n-seq-missing")
    del ev[find(ev, "response.output_text.delta", 1)]["sequence_number"]
    return renumber(ev)


@spec(
    N + "sequence/not-increasing",
    "Two consecutive events carry the same sequence_number.",
    errors=("sequence.not-increasing",),
)
def _n_seq_dup() -> Body:
    ev = _base("n-seq-dup")
    i = find(ev, "response.output_text.delta", 3)
    renumber(ev[i:], start=ev[i - 1]["sequence_number"])
    return ev


@spec(
    N + "sequence/gap",
    "sequence_number skips one value after the second delta.",
    warnings=("sequence.gap",),
)
def _n_seq_gap() -> Body:
    ev = _base("n-seq-gap")
    i = find(ev, "response.output_text.delta", 2)
    renumber(ev[i:], start=ev[i]["sequence_number"] + 1)
    return ev


@spec(N + "sequence/start", "sequence_number starts at 1.", warnings=("sequence.start",))
def _n_seq_start() -> Body:
    return renumber(_base("n-seq-start"), start=1)


# ---- lifecycle --------------------------------------------------------------------------------------
@spec(
    N + "lifecycle/created-first",
    "No `response.created`: the stream opens with `response.in_progress`.",
    errors=("lifecycle.created-first",),
)
def _n_created_first() -> Body:
    ev = _base("n-created-first")
    del ev[0]
    return renumber(ev)


@spec(
    N + "lifecycle/in-progress-missing",
    "No `response.in_progress` after `response.created`.",
    warnings=("lifecycle.in-progress-missing",),
)
def _n_in_progress_missing() -> Body:
    ev = _base("n-ip-missing")
    del ev[1]
    return renumber(ev)


@spec(
    N + "lifecycle/no-terminal",
    "The stream ends after the last output_item.done: no completed/incomplete/failed.",
    errors=("lifecycle.no-terminal",),
)
def _n_no_terminal() -> Body:
    return _base("n-no-terminal")[:-1]


@spec(
    N + "lifecycle/after-terminal",
    "`response.completed` is sent twice.",
    errors=("lifecycle.after-terminal",),
)
def _n_after_terminal() -> Body:
    ev = _base("n-after-terminal")
    ev.append(json.loads(dumps(ev[-1])))
    return renumber(ev)


@spec(
    N + "lifecycle/status-mismatch",
    '`response.completed` whose response.status is still "in_progress".',
    errors=("lifecycle.status-mismatch",),
)
def _n_status_mismatch() -> Body:
    ev = _base("n-status")
    terminal(ev)["status"] = "in_progress"
    return ev


@spec(
    N + "lifecycle/status-mismatch-created",
    '`response.created` snapshot with status "completed".',
    errors=("lifecycle.status-mismatch",),
)
def _n_status_created() -> Body:
    ev = _base("n-status-created")
    ev[0]["response"]["status"] = "completed"
    return ev


@spec(
    N + "lifecycle/response-id-changed",
    "`response.in_progress` carries a different response id than created/completed.",
    errors=("lifecycle.response-id-changed",),
)
def _n_id_changed() -> Body:
    ev = _base("n-id-changed")
    ev[1]["response"]["id"] = "resp_" + "0" * 48
    return ev


@spec(
    N + "lifecycle/out-of-order",
    "`response.created` is sent a second time after `response.in_progress`.",
    warnings=("lifecycle.out-of-order",),
)
def _n_out_of_order() -> Body:
    ev = _base("n-out-of-order")
    ev.insert(2, json.loads(dumps(ev[0])))
    return renumber(ev)


@spec(
    N + "lifecycle/created-at-changed",
    "`created_at` on the terminal snapshot differs from the created one.",
    warnings=("lifecycle.created-at-changed",),
)
def _n_created_at() -> Body:
    ev = _base("n-created-at")
    terminal(ev)["created_at"] += 3
    return ev


@spec(
    N + "lifecycle/model-changed",
    "The terminal snapshot names another model than created/in_progress.",
    warnings=("lifecycle.model-changed",),
)
def _n_model_changed() -> Body:
    ev = _base("n-model")
    terminal(ev)["model"] = "gpt-4o-2024-08-06"
    return ev


@spec(
    N + "lifecycle/incomplete-details",
    "`response.incomplete` with `incomplete_details: null`.",
    errors=("lifecycle.incomplete-details",),
)
def _n_incomplete_details() -> Body:
    s = Stream("n-incomplete-details").open()
    s.message(Text(chunks("The lighthouse stood on a black rock")), status="incomplete")
    ev = s.incomplete().events
    terminal(ev)["incomplete_details"] = None
    return ev


@spec(
    N + "lifecycle/incomplete-details-on-completed",
    "`response.completed` with a non-null `incomplete_details`.",
    errors=("lifecycle.incomplete-details",),
)
def _n_incomplete_details_completed() -> Body:
    ev = _base("n-incomplete-details-c")
    terminal(ev)["incomplete_details"] = {"reason": "max_output_tokens"}
    return ev


@spec(
    N + "lifecycle/failed-error",
    "`response.failed` whose response.error is null (no error event either).",
    errors=("lifecycle.failed-error",),
)
def _n_failed_error() -> Body:
    ev = Stream("n-failed-error").open().fail().events
    del ev[2]
    terminal(ev)["error"] = None
    return renumber(ev)


@spec(
    N + "lifecycle/error-without-failed",
    "An `error` event followed by `response.completed` instead of `response.failed`.",
    warnings=("lifecycle.error-without-failed",),
)
def _n_error_without_failed() -> Body:
    s = Stream("n-error-wo-failed").open()
    s.message(Text(chunks(HELLO)))
    s.emit(
        "error",
        error={
            "type": "server_error",
            "code": "server_error",
            "message": "Upstream hiccup.",
            "param": None,
        },
    )
    return s.complete().events


@spec(
    N + "lifecycle/error-without-failed-openresponses",
    "Same defect under profile openresponses, where it is an error (flat error event as that spec nests it).",
    errors=("lifecycle.error-without-failed",),
    profile="openresponses",
)
def _n_error_without_failed_or() -> Body:
    s = Stream("n-error-wo-failed-or", full_shape=True).open()
    s.message(Text(chunks(HELLO)))
    s.emit(
        "error",
        error={
            "type": "server_error",
            "code": "server_error",
            "message": "Upstream hiccup.",
            "param": None,
        },
    )
    return to_sse(s.complete().events, done=True)


# ---- item ---------------------------------------------------------------------------------------------
def _set_index(ev: list[Event], old: int, new: int) -> list[Event]:
    for e in ev:
        if e.get("output_index") == old:
            e["output_index"] = new
    return ev


@spec(
    N + "item/index-not-contiguous",
    "The second item is announced at output_index 2 (1 is skipped); all its events agree.",
    errors=("item.index-not-contiguous",),
)
def _n_index_gap() -> Body:
    return _set_index(_two_items("n-index-gap").events, 1, 2)


@spec(
    N + "item/duplicate-index",
    "output_item.added is sent twice for the same message at output_index 0 (a retried write).",
    errors=("item.duplicate-index",),
)
def _n_dup_index() -> Body:
    ev = _base("n-dup-index")
    i = find(ev, "response.output_item.added")
    ev.insert(i + 1, json.loads(dumps(ev[i])))
    return renumber(ev)


@spec(
    N + "item/unknown-index",
    "A web_search_call.searching event names output_index 3, never announced.",
    errors=("item.unknown-index",),
)
def _n_unknown_index() -> Body:
    s = Stream("n-unknown-index").open()
    s.web_search("paris weather")
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    stray = json.loads(dumps(ev[find(ev, "response.web_search_call.searching")]))
    stray["output_index"] = 3
    stray["item_id"] = "ws_" + "3" * 48
    ev.insert(find(ev, "response.output_text.delta"), stray)
    return renumber(ev)


@spec(
    N + "item/compacting-on-message",
    "`response.compaction.compacting` names the message item: it is only for compaction items.",
    errors=("item.wrong-event-for-type",),
)
def _n_compacting_on_message() -> Body:
    s = Stream("n-compacting-on-message").open()
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    added = ev[find(ev, "response.output_item.added")]
    stray = {"type": "response.compaction.compacting", "sequence_number": 0,
             "output_index": added["output_index"], "item_id": added["item"]["id"]}
    ev.insert(find(ev, "response.output_item.added") + 1, stray)
    return renumber(ev)


@spec(
    N + "item/after-done",
    "`web_search_call.completed` arrives after the item's output_item.done.",
    errors=("item.after-done",),
)
def _n_after_done() -> Body:
    s = Stream("n-after-done").open()
    s.web_search("paris weather")
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    late = ev.pop(find(ev, "response.web_search_call.completed"))
    ev.insert(find(ev, "response.output_item.done", output_index=0) + 1, late)
    return renumber(ev)


@spec(
    N + "item/not-closed",
    "The function call (last item) never gets output_item.done; the terminal output omits it.",
    errors=("item.not-closed",),
)
def _n_not_closed() -> Body:
    ev = _two_items("n-not-closed").events
    del ev[find(ev, "response.output_item.done", output_index=1)]
    del terminal(ev)["output"][1]
    return renumber(ev)


@spec(
    N + "item/done-without-added",
    "output_item.done for a function call at index 1 that was never announced.",
    errors=("item.done-without-added",),
)
def _n_done_without_added() -> Body:
    ev = _two_items("n-done-wo-added").events
    i = find(ev, "response.output_item.added", output_index=1)
    j = find(ev, "response.output_item.done", output_index=1)
    ev = ev[:i] + ev[j:]
    return renumber(ev)


@spec(
    N + "item/identity-changed",
    "The done message carries another id than the added one (sub-events use the added id).",
    errors=("item.identity-changed",),
)
def _n_identity() -> Body:
    ev = _base("n-identity")
    new = "msg_" + "f" * 48
    ev[find(ev, "response.output_item.done")]["item"]["id"] = new
    terminal(ev)["output"][0]["id"] = new
    return ev


@spec(
    N + "item/identity-changed-call-id",
    "The done function call carries another call_id than the added one.",
    errors=("item.identity-changed",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_identity_call() -> Body:
    ev = weather_stream("n-identity-call", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.output_item.done")]["item"]["call_id"] = "call_changed"
    terminal(ev)["output"][0]["call_id"] = "call_changed"
    return ev


@spec(
    N + "item/id-mismatch",
    "One text delta names another item_id than the message at its output_index.",
    errors=("item.id-mismatch",),
)
def _n_id_mismatch() -> Body:
    ev = _base("n-id-mismatch")
    ev[find(ev, "response.output_text.delta", 2)]["item_id"] = "msg_" + "a" * 48
    return ev


@spec(
    N + "item/wrong-event-for-type",
    "A `web_search_call.searching` event aimed at the open message item.",
    errors=("item.wrong-event-for-type",),
)
def _n_wrong_event_hosted() -> Body:
    ev = _base("n-wrong-event-hosted")
    d = ev[find(ev, "response.output_text.delta", 1)]
    ev.insert(
        find(ev, "response.output_text.delta", 2),
        {
            "type": "response.web_search_call.searching",
            "sequence_number": 0,
            "output_index": d["output_index"],
            "item_id": d["item_id"],
        },
    )
    return renumber(ev)


@spec(
    N + "item/wrong-event-for-type-arguments-delta",
    "An empty `function_call_arguments.delta` aimed at a message item (openai-python raises AssertionError).",
    errors=("item.wrong-event-for-type",),
)
def _n_wrong_event() -> Body:
    ev = _base("n-wrong-event")
    d = ev[find(ev, "response.output_text.delta", 1)]
    ev.insert(
        find(ev, "response.output_text.delta", 2),
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 0,
            "item_id": d["item_id"],
            "output_index": d["output_index"],
            "delta": "",
        },
    )
    return renumber(ev)


@spec(
    N + "item/status",
    'The done message has status "in_progress" (terminal output agrees).',
    errors=("item.status",),
)
def _n_status() -> Body:
    ev = _base("n-item-status")
    ev[find(ev, "response.output_item.done")]["item"]["status"] = "in_progress"
    terminal(ev)["output"][0]["status"] = "in_progress"
    return ev


@spec(
    N + "item/status-added",
    'A function call announced with status "completed" in output_item.added.',
    errors=("item.status",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_status_added() -> Body:
    ev = weather_stream("n-item-status-added", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.output_item.added")]["item"]["status"] = "completed"
    return ev


@spec(
    N + "item/incomplete-not-last",
    "An incomplete message followed by a completed function call in an incomplete response.",
    errors=("item.incomplete-not-last",),
    request=req(tools=[WEATHER_TOOL], max_output_tokens=16),
)
def _n_incomplete_not_last() -> Body:
    s = Stream(
        "n-incomplete-not-last", request=req(tools=[WEATHER_TOOL], max_output_tokens=16)
    ).open()
    s.message(Text(chunks("Let me check")), status="incomplete")
    s.function_call("get_weather", ['{"city":"Paris","unit":"c"}'])
    return s.incomplete("max_output_tokens", usage_=usage(30, 16)).events


@spec(
    N + "item/interleaved",
    "Two function calls whose argument deltas interleave (both items open at once).",
    warnings=("item.interleaved",),
    request=PARALLEL_REQ,
)
def _n_interleaved() -> Body:
    ev = weather_stream(
        "n-interleaved",
        PARALLEL_REQ,
        calls=[("get_weather", '{"city":"Paris","unit":"c"}'), ("get_time", '{"city":"Paris"}')],
    ).events
    # Reorder the item events as: added0 added1 delta0 delta1 delta0 delta1 done0 done1 item-done0 item-done1.
    items = [e for e in ev if "output_index" in e]
    rest_head = [e for e in ev[:2]]
    by = {
        0: [e for e in items if e["output_index"] == 0],
        1: [e for e in items if e["output_index"] == 1],
    }
    mixed = [x for pair in zip(by[0], by[1], strict=True) for x in pair]
    return renumber([*rest_head, *mixed, ev[-1]])


# ---- part -----------------------------------------------------------------------------------------------
@spec(
    N + "part/not-added",
    "Text deltas and done with no `content_part.added` before them.",
    errors=("part.not-added",),
)
def _n_part_not_added() -> Body:
    ev = _base("n-part-not-added")
    del ev[find(ev, "response.content_part.added")]
    return renumber(ev)


@spec(
    N + "part/index-not-contiguous",
    "The message's second text part uses content_index 2 (1 is skipped) everywhere.",
    errors=("part.index-not-contiguous",),
)
def _n_part_gap() -> Body:
    s = Stream("n-part-gap").open()
    s.message(Text(chunks("First part.")), Text(chunks("Second part.")))
    ev = s.complete().events
    for e in ev:
        if e.get("content_index") == 1:
            e["content_index"] = 2
    return ev


@spec(
    N + "part/not-closed",
    "No `content_part.done` before the message's output_item.done.",
    errors=("part.not-closed",),
)
def _n_part_not_closed() -> Body:
    ev = _base("n-part-not-closed")
    del ev[find(ev, "response.content_part.done")]
    return renumber(ev)


@spec(
    N + "part/after-done",
    "An empty text delta after the part's `content_part.done`.",
    errors=("part.after-done",),
)
def _n_part_after_done() -> Body:
    ev = _base("n-part-after-done")
    d = json.loads(dumps(ev[find(ev, "response.output_text.delta")]))
    d["delta"] = ""
    ev.insert(find(ev, "response.content_part.done") + 1, d)
    return renumber(ev)


@spec(
    N + "part/type-mismatch",
    "`refusal.delta`/`refusal.done` into a part announced as output_text.",
    errors=("part.type-mismatch",),
)
def _n_part_type() -> Body:
    s = Stream("n-part-type").open()
    s.message(Refusal(chunks("I can't help with that.")))
    ev = s.complete().events
    ev[find(ev, "response.content_part.added")]["part"] = {
        "type": "output_text",
        "annotations": [],
        "logprobs": [],
        "text": "",
    }
    return ev


# ---- accumulation --------------------------------------------------------------------------------------
@spec(
    N + "accumulation/delta-vs-done",
    "One delta has a character changed: the deltas no longer add up to output_text.done.",
    errors=("accumulation.delta-vs-done",),
)
def _n_delta_vs_done() -> Body:
    ev = _base("n-delta-vs-done")
    ev[find(ev, "response.output_text.delta", 1)]["delta"] = " thera"
    return ev


@spec(
    N + "accumulation/delta-vs-done-arguments",
    "Function-call argument deltas that do not add up to arguments.done.",
    errors=("accumulation.delta-vs-done",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_args_vs_done() -> Body:
    ev = weather_stream("n-args-vs-done", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.function_call_arguments.delta")]["delta"] = '{"city":"Lyon",'
    return ev


@spec(
    N + "accumulation/done-vs-part",
    'content_part.done (and the item) say "...today!" while output_text.done and the deltas say "...today?".',
    errors=("accumulation.done-vs-part",),
)
def _n_done_vs_part() -> Body:
    ev = _base("n-done-vs-part")
    other = HELLO[:-1] + "!"
    ev[find(ev, "response.content_part.done")]["part"]["text"] = other
    ev[find(ev, "response.output_item.done")]["item"]["content"][0]["text"] = other
    terminal(ev)["output"][0]["content"][0]["text"] = other
    return ev


@spec(
    N + "accumulation/part-vs-item",
    "The done item's text differs from content_part.done (terminal output follows the item).",
    errors=("accumulation.part-vs-item",),
)
def _n_part_vs_item() -> Body:
    ev = _base("n-part-vs-item")
    other = HELLO + " "
    ev[find(ev, "response.output_item.done")]["item"]["content"][0]["text"] = other
    terminal(ev)["output"][0]["content"][0]["text"] = other
    return ev


@spec(
    N + "accumulation/done-missing",
    "Text deltas, then content_part.done without any output_text.done.",
    errors=("accumulation.done-missing",),
)
def _n_done_missing_text() -> Body:
    ev = _base("n-done-missing")
    del ev[find(ev, "response.output_text.done")]
    return renumber(ev)


# ---- call -------------------------------------------------------------------------------------------------
@spec(
    N + "call/arguments-not-json",
    "A (non-strict) function call whose final arguments are truncated JSON.",
    warnings=("call.arguments-not-json",),
)
def _n_args_not_json() -> Body:
    s = Stream("n-args-not-json").open()
    s.function_call("get_weather", ['{"city":', '"Paris"'])
    return s.complete().events


@spec(
    N + "call/call-id",
    "Two function calls share one call_id.",
    errors=("call.call-id",),
    request=PARALLEL_REQ,
)
def _n_call_id() -> Body:
    s = Stream("n-call-id", request=PARALLEL_REQ).open()
    s.function_call(
        "get_weather", ['{"city":"Paris","unit":"c"}'], call_id="call_dup0000000000000000000"
    )
    s.function_call("get_time", ['{"city":"Paris"}'], call_id="call_dup0000000000000000000")
    return s.complete().events


@spec(
    N + "call/unknown-tool",
    "The model calls `get_time`, which the request does not offer.",
    errors=("call.unknown-tool",),
    request=req(input="Weather in Paris?", tools=[WEATHER_TOOL]),
)
def _n_unknown_tool() -> Body:
    return weather_stream(
        "n-unknown-tool",
        req(input="Weather in Paris?", tools=[WEATHER_TOOL]),
        calls=[("get_time", '{"city":"Paris"}')],
    ).events


@spec(
    N + "call/tool-choice",
    'tool_choice "required" but the response is a plain message.',
    errors=("call.tool-choice",),
    request=req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
)
def _n_tool_choice() -> Body:
    return text_stream(
        "n-tool-choice",
        "I think it is sunny.",
        request=req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
    ).events


@spec(
    N + "call/tool-choice-forced-name",
    "tool_choice forces get_weather; the model calls get_time.",
    errors=("call.tool-choice",),
    request=req(
        input="Weather in Paris?",
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "name": "get_weather"},
    ),
)
def _n_tool_choice_forced() -> Body:
    r = req(
        input="Weather in Paris?",
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "name": "get_weather"},
    )
    return weather_stream(
        "n-tool-choice-forced", r, calls=[("get_time", '{"city":"Paris"}')]
    ).events


NOPAR_REQ = req(
    input="Weather and time in Paris?", tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=False
)


@spec(
    N + "call/parallel",
    "Two calls although parallel_tool_calls is false.",
    errors=("call.parallel",),
    request=NOPAR_REQ,
)
def _n_parallel() -> Body:
    return weather_stream(
        "n-parallel",
        NOPAR_REQ,
        calls=[("get_weather", '{"city":"Paris","unit":"c"}'), ("get_time", '{"city":"Paris"}')],
    ).events


LOOSE_REQ = req(input="Weather in Paris?", tools=[LOOSE_WEATHER_TOOL])


@spec(
    N + "call/arguments-schema",
    "Arguments miss the required `unit` of a non-strict tool (a warning).",
    warnings=("call.arguments-schema",),
    request=LOOSE_REQ,
)
def _n_args_schema() -> Body:
    return weather_stream(
        "n-args-schema", LOOSE_REQ, calls=[("get_weather", '{"city":"Paris"}')]
    ).events


STRICT_REQ = req(input="Weather in Paris?", tools=[WEATHER_TOOL])


@spec(
    N + "call/arguments-schema-strict",
    "Arguments give `unit` outside its enum for a strict tool (an error).",
    errors=("call.arguments-schema",),
    request=STRICT_REQ,
)
def _n_args_schema_strict() -> Body:
    return weather_stream(
        "n-args-schema-strict",
        STRICT_REQ,
        calls=[("get_weather", '{"city":"Paris","unit":"kelvin"}')],
    ).events


# ---- output --------------------------------------------------------------------------------------------
@spec(
    N + "output/mismatch",
    "The terminal output's message text differs from the output_item.done item.",
    errors=("output.mismatch",),
)
def _n_output_mismatch() -> Body:
    ev = _base("n-output-mismatch")
    terminal(ev)["output"][0]["content"][0]["text"] = "Hello!"
    return ev


@spec(N + "output/null", "response.completed with `output: null`.", warnings=("output.null",))
def _n_output_null() -> Body:
    ev = _base("n-output-null")
    terminal(ev)["output"] = None
    return ev


# ---- usage ----------------------------------------------------------------------------------------------
@spec(N + "usage/missing", "response.completed with `usage: null`.", errors=("usage.missing",))
def _n_usage_missing() -> Body:
    ev = _base("n-usage-missing")
    terminal(ev)["usage"] = None
    return ev


@spec(
    N + "usage/total", "total_tokens is not input_tokens + output_tokens.", errors=("usage.total",)
)
def _n_usage_total() -> Body:
    ev = _base("n-usage-total")
    terminal(ev)["usage"]["total_tokens"] += 1
    return ev


@spec(
    N + "usage/invalid",
    "output_tokens is negative (total still adds up).",
    errors=("usage.invalid",),
)
def _n_usage_invalid() -> Body:
    ev = _base("n-usage-invalid")
    u = terminal(ev)["usage"]
    u["output_tokens"] = -8
    u["total_tokens"] = u["input_tokens"] - 8
    return ev


@spec(
    N + "usage/details-missing",
    "usage without input_tokens_details / output_tokens_details.",
    warnings=("usage.details-missing",),
)
def _n_usage_details() -> Body:
    ev = _base("n-usage-details")
    u = terminal(ev)["usage"]
    del u["input_tokens_details"], u["output_tokens_details"]
    return ev


@spec(
    N + "usage/details-exceed",
    "reasoning_tokens larger than output_tokens.",
    errors=("usage.details-exceed",),
)
def _n_usage_exceed() -> Body:
    ev = _base("n-usage-exceed")
    u = terminal(ev)["usage"]
    u["output_tokens_details"]["reasoning_tokens"] = u["output_tokens"] + 5
    return ev


@spec(
    N + "usage/early",
    "Non-null usage already on response.created / in_progress (info).",
    infos=("usage.early",),
)
def _n_usage_early() -> Body:
    ev = _base("n-usage-early")
    for e in ev[:2]:
        e["response"]["usage"] = usage(42, 0)
    return ev


@spec(
    N + "usage/max-output-tokens",
    "output_tokens 17 although the request capped max_output_tokens at 16 (response correctly incomplete).",
    errors=("usage.max-output-tokens",),
    request=MAX16_REQ,
)
def _n_usage_max() -> Body:
    s = Stream("n-usage-max", request=MAX16_REQ).open()
    s.message(Text(chunks(LIGHTHOUSE)), status="incomplete")
    return s.incomplete("max_output_tokens", usage_=usage(19, 17)).events


# ---- request --------------------------------------------------------------------------------------------
ECHO_REQ = req(instructions="Answer in one sentence.", temperature=0.2)


@spec(
    N + "request/echo",
    "The request's instructions and temperature are not echoed (null / default in every snapshot).",
    warnings=("request.echo",),
    request=ECHO_REQ,
)
def _n_echo() -> Body:
    ev = _base("n-echo", request=req())
    return ev


@spec(
    N + "request/max-output-tokens",
    "output_tokens reached max_output_tokens=16 but the response is `completed`.",
    errors=("request.max-output-tokens",),
    request=MAX16_REQ,
)
def _n_request_max() -> Body:
    s = Stream("n-request-max", request=MAX16_REQ).open()
    s.message(Text(chunks(LIGHTHOUSE)))
    return s.complete(usage_=usage(19, 16)).events


# ---- non-stream bodies -------------------------------------------------------------------------------
@spec(
    N + "usage/total-non-stream",
    "A non-stream body whose usage total does not add up.",
    errors=("usage.total",),
    kind="json",
)
def _n_json_total() -> Body:
    body = terminal(_base("n-json-total"))
    body["usage"]["total_tokens"] = 1
    return body


# =============================================================================================
# Defect classes seen in the wild (PROTOCOL.md), named after the behaviour, not the product.
# =============================================================================================
W = "negative/wild/"


@spec(
    W + "last-message-never-closed",
    "The last message streams its deltas, then response.completed: no output_text.done, content_part.done or output_item.done (the terminal output has the full message).",
    errors=("item.not-closed", "accumulation.done-missing"),
    provenance=wild(
        "vllm-project/vllm#37071", notes="Done events never sent for the last message."
    ),
)
def _w_last_never_closed() -> Body:
    s = Stream("w-last-never-closed").open()
    s.message(Text(chunks("Here is the weather.")))
    s.message(Text(chunks("It is sunny in Paris.")))
    ev = s.complete().events
    for t in (
        "response.output_item.done",
        "response.content_part.done",
        "response.output_text.done",
    ):
        del ev[find(ev, t, -1)]
    return renumber(ev)


@spec(
    W + "tool-call-markup-as-text",
    'The model\'s tool call arrives as `<tool_call>` markup inside output text; the request said tool_choice "required", so no call is a violation.',
    errors=("call.tool-choice",),
    request=req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
    provenance=wild(
        "vllm-project/vllm#36435",
        notes="Tool-call markup streamed as output text instead of a function_call item. Only detectable when the request forces a call.",
    ),
)
def _w_markup() -> Body:
    r = req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required")
    s = Stream("w-markup", request=r).open()
    s.message(
        Text(
            [
                '<tool_call>\n{"name": "get_weather", ',
                '"arguments": {"city": "Paris", "unit": "c"}}',
                "\n</tool_call>",
            ]
        )
    )
    return s.complete().events


@spec(
    W + "output-index-changes-between-delta-and-done",
    "Text deltas at output_index 0, their output_text.done at output_index 1.",
    errors=("item.unknown-index", "accumulation.done-missing"),
    provenance=wild(
        "vllm-project/vllm#23927",
        notes="output_index differs between the delta events and the done event of the same part.",
    ),
)
def _w_index_changes() -> Body:
    ev = _base("w-index-changes")
    ev[find(ev, "response.output_text.done")]["output_index"] = 1
    return ev


@spec(
    W + "empty-item-id",
    'Every text delta carries `item_id: ""`.',
    errors=("item.id-mismatch",),
    provenance=wild("vllm-project/vllm#23927", notes="Empty item_id on delta events."),
)
def _w_empty_item_id() -> Body:
    ev = _base("w-empty-item-id")
    for e in ev:
        if e["type"] == "response.output_text.delta":
            e["item_id"] = ""
    return ev


@spec(
    W + "completed-output-empty-although-text-streamed",
    "A message is streamed and closed, but response.completed has `output: []`.",
    errors=("output.mismatch",),
    provenance=wild(
        "vllm-project/vllm#30223", notes="completed.output empty although text was streamed."
    ),
)
def _w_output_empty() -> Body:
    ev = _base("w-output-empty")
    terminal(ev)["output"] = []
    return ev


@spec(
    W + "ids-differ-in-completed-output",
    "The terminal output gives the function call another id and call_id than the streamed item.",
    errors=("output.mismatch",),
    request=req(tools=[WEATHER_TOOL]),
    provenance=wild(
        "vllm-project/vllm#56285",
        notes="ids/call_ids in completed.output differ from the streamed ones.",
    ),
)
def _w_ids_differ() -> Body:
    ev = weather_stream("w-ids-differ", req(tools=[WEATHER_TOOL])).events
    out = terminal(ev)["output"][0]
    out["id"] = "fc_" + "9" * 48
    out["call_id"] = "call_regenerated000000000000"
    return ev


@spec(
    W + "function-call-arguments-done-missing",
    "Argument deltas, then output_item.done with no function_call_arguments.done.",
    errors=("accumulation.done-missing",),
    request=req(tools=[WEATHER_TOOL]),
    provenance=wild(
        "vllm-project/vllm#56285", notes="Missing response.function_call_arguments.done."
    ),
)
def _w_args_done_missing() -> Body:
    ev = weather_stream("w-args-done-missing", req(tools=[WEATHER_TOOL])).events
    del ev[find(ev, "response.function_call_arguments.done")]
    return renumber(ev)


@spec(
    W + "output-index-starts-at-1",
    "The only item is announced (and addressed) at output_index 1.",
    errors=("item.index-not-contiguous",),
    provenance=wild(
        "sgl-project/sglang#12644",
        notes="output_index starting at 1; openai-python <= 3.3 indexes output as a list and fails.",
    ),
)
def _w_index_from_1() -> Body:
    return _set_index(_base("w-index-from-1"), 0, 1)


@spec(
    W + "snapshots-without-created-at-and-model",
    "response.created / in_progress snapshots lack `created_at` and `model`.",
    errors=("schema.response",),
    provenance=wild(
        "ggml-org/llama.cpp#21174", notes="Lifecycle snapshots without created_at/model."
    ),
)
def _w_snapshots_bare() -> Body:
    ev = _base("w-snapshots-bare")
    for e in ev[:2]:
        del e["response"]["created_at"], e["response"]["model"]
    return ev


@spec(
    W + "sequence-number-restarts-per-item",
    "sequence_number restarts at 0 for the message's events (per-item counters).",
    errors=("sequence.not-increasing",),
    provenance=wild(
        "ggml-org/llama.cpp#24957", "BerriAI/litellm#28899", notes="Non-monotonic sequence_number."
    ),
)
def _w_seq_restart() -> Body:
    ev = _base("w-seq-restart")
    renumber(ev[2:-1], start=0)
    ev[-1]["sequence_number"] = ev[-2]["sequence_number"] + 1
    return ev


@spec(
    W + "usage-without-details",
    "usage has only input_tokens, output_tokens, total_tokens.",
    warnings=("usage.details-missing",),
    provenance=wild(
        "ggml-org/llama.cpp#22659",
        "openai/gpt-oss (gpt_oss/responses_api reference server)",
        notes="usage without input_tokens_details / output_tokens_details; seen in llama.cpp and in gpt-oss's reference server.",
    ),
)
def _w_usage_no_details() -> Body:
    ev = _base("w-usage-no-details")
    u = terminal(ev)["usage"]
    terminal(ev)["usage"] = {
        "input_tokens": u["input_tokens"],
        "output_tokens": u["output_tokens"],
        "total_tokens": u["total_tokens"],
    }
    return ev


@spec(
    W + "events-without-output-index-and-content-index",
    "Text deltas and output_text.done carry item_id but no output_index / content_index.",
    errors=("schema.event",),
    provenance=wild("lemonade#3607", notes="Events without output_index/content_index."),
)
def _w_no_indexes() -> Body:
    ev = _base("w-no-indexes")
    for e in ev:
        if e["type"] in ("response.output_text.delta", "response.output_text.done"):
            del e["output_index"], e["content_index"]
    return ev


@spec(
    W + "content-part-added-never-sent",
    "Text deltas/done and content_part.done, but no content_part.added (IndexError in openai-python).",
    errors=("part.not-added",),
    provenance=wild(
        "BerriAI/litellm#24445", "hermes gateway", notes="content_part.added never sent."
    ),
)
def _w_part_added_never() -> Body:
    ev = _base("w-part-added-never")
    del ev[find(ev, "response.content_part.added")]
    return renumber(ev)


@spec(
    W + "content-events-for-unannounced-item",
    "Content events and output_item.done for an item never announced by output_item.added.",
    errors=("item.unknown-index", "item.done-without-added"),
    provenance=wild("BerriAI/litellm#36375", notes="Content events for unannounced items."),
)
def _w_unannounced() -> Body:
    ev = _base("w-unannounced")
    del ev[find(ev, "response.output_item.added")]
    return renumber(ev)


@spec(
    W + "shared-output-index",
    "A reasoning item and the message both use output_index 0: the message's events then address the closed reasoning item.",
    errors=("item.duplicate-index",),
    provenance=wild("BerriAI/litellm#36375", notes="Two items share one output_index."),
)
def _w_shared_index() -> Body:
    s = Stream("w-shared-index", model="o4-mini-2025-04-16").open()
    s.reasoning(summaries=[chunks("**Greeting**\n\nSay hello.")])
    s.message(Text(chunks(HELLO)))
    return _set_index(s.complete().events, 1, 0)


@spec(
    W + "item-id-changes-per-delta",
    "Every text delta carries a fresh item_id.",
    errors=("item.id-mismatch",),
    provenance=wild("BerriAI/litellm#36375", notes="Item ids changing per delta."),
)
def _w_id_per_delta() -> Body:
    ev = _base("w-id-per-delta")
    for k, e in enumerate(x for x in ev if x["type"] == "response.output_text.delta"):
        e["item_id"] = f"msg_{k:048x}"
    return ev


@spec(
    W + "stream-closes-without-terminal",
    "The connection closes mid-message: no done events, no terminal event.",
    errors=("lifecycle.no-terminal",),
    provenance=wild(
        "moeru-ai/airi#2593",
        notes="Seen from OpenRouter: the stream closes without response.completed; Codex fails with 'stream closed before response.completed'.",
    ),
)
def _w_no_terminal() -> Body:
    ev = _base("w-no-terminal")
    return ev[: find(ev, "response.output_text.delta", 4)]


@spec(
    W + "done-events-then-more-deltas",
    "After the first delta the server sends output_text.done, content_part.done and output_item.done, then keeps streaming deltas.",
    errors=("item.after-done",),
    provenance=wild(
        "OmniRoute#13693", notes="Done events sent after the first delta, then more deltas."
    ),
)
def _w_done_then_deltas() -> Body:
    s = Stream("w-done-then-deltas").open()
    deltas = chunks(HELLO)
    s.message(Text(deltas[:1]))
    ev = s.events
    item = ev[-1]
    for d in deltas[1:]:
        s.emit(
            "response.output_text.delta",
            item_id=item["item"]["id"],
            output_index=0,
            content_index=0,
            delta=d,
            logprobs=[],
        )
    return s.complete().events


@spec(
    W + "vendor-event-before-created",
    "A vendor-prefixed rate-limit event precedes response.created.",
    errors=("lifecycle.created-first",),
    provenance=wild(
        "codex-lb#473",
        notes="A vendor event before response.created; openai-python raises when the first event is not response.created.",
    ),
)
def _w_vendor_first() -> Body:
    ev = _base("w-vendor-first")
    ev.insert(
        0,
        {
            "type": "codex.rate_limits",
            "sequence_number": 0,
            "rate_limits": {"primary": {"used_percent": 12.0, "window_minutes": 300}},
        },
    )
    return renumber(ev)


@spec(
    W + "only-created-text-done-completed",
    "Only response.created → response.output_text.done → response.completed: no in_progress, items, parts or deltas.",
    errors=("item.unknown-index", "output.mismatch"),
    warnings=("lifecycle.in-progress-missing",),
    provenance=wild(
        "gemini-web2api#57",
        notes="A converter that emits only created, output_text.done and completed.",
    ),
)
def _w_only_done() -> Body:
    ev = _base("w-only-done")
    keep = [
        e
        for e in ev
        if e["type"] in ("response.created", "response.output_text.done", "response.completed")
    ]
    return renumber(keep)


# ---- verdicts on traffic the suite has never seen: one fixture per protocol fact -----------------
@spec(
    P + "web-search-action-late",
    "A web_search_call announced without `action` (a partial item, as the live API sends it); "
    "the action arrives with output_item.done.",
    features=["web_search", "partial_item"],
)
def _p_ws_late() -> Body:
    s = Stream("p-ws-late").open()
    index = s.web_search("lighthouse keepers 1900")
    added = s.events[find(s.events, "response.output_item.added", output_index=index)]
    del added["item"]["action"]
    s.message(Text(chunks("Lighthouse keepers lived at the light.")))
    return s.complete().events


PROGRAM_CALLER = {"type": "program", "caller_id": "prg_5a1c0e7b2d9f4c6a8e3b1d0f7a9c2e4b"}


@spec(
    P + "program-function-call-in-progress",
    "A function call made by a program (`caller.type: program`) stays `in_progress` at "
    "output_item.done and in the terminal snapshot, as the live API sends it.",
    features=["function_call", "program_caller"],
)
def _p_program_call() -> Body:
    s = Stream("p-program-call").open()
    index = s.function_call("get_time", ['{"city":', '"Oslo"}'])
    for ev in s.events:
        if ev.get("output_index") == index and "item" in ev:
            ev["item"]["caller"] = dict(PROGRAM_CALLER)
    done = s.events[find(s.events, "response.output_item.done", output_index=index)]
    done["item"]["status"] = "in_progress"
    s.output[index] = done["item"]
    s.message(Text(chunks("Asking the clock.")))
    return s.complete().events


@spec(
    P + "forward-compat-unknowns",
    "What a newer API sends and openai-python 3.54 does not know: a new event type between "
    "events, a new output item type, a new field, a new value of an open-ended enum. Each is "
    "one warning naming the contract version, never an error.",
    features=["text", "forward_compat"],
    warnings=("schema.unknown-event", "schema.item", "schema.response"),
)
def _p_forward_compat() -> Body:
    s = Stream("p-forward-compat").open()
    s.message(Text(chunks("Patching the file now.")))
    item = {"id": s.new_id("pcx"), "type": "patch_preview", "status": "in_progress", "diff": ""}
    index = s._add(dict(item))
    for d in ("--- a/x.py\n", "+++ b/x.py\n"):
        s.emit("response.apply_patch_call_operation_diff.delta", output_index=index, item_id=item["id"], delta=d)
    s._done(index, {**item, "status": "completed", "diff": "--- a/x.py\n+++ b/x.py\n", "preview_ttl": 60})
    events = s.complete().events
    events[-1]["response"]["service_tier"] = "ultraflex"
    events[-1]["response"]["reasoning_trace_id"] = "rt_0001"
    return events


@spec(
    P + "max-output-tokens-finished-early",
    "max_output_tokens=64 and the answer finishes in 12 tokens: `completed` is right "
    "(request.max-output-tokens judges what happened, not what was asked).",
    features=["text", "max_output_tokens"],
    request=req(input="Say hello.", max_output_tokens=64),
)
def _p_max_early() -> Body:
    s = Stream("p-max-early", request=req(input="Say hello.", max_output_tokens=64)).open()
    s.message(Text(chunks(HELLO)))
    return s.complete(usage_=usage(11, 12)).events


NO_SEQ_NOTE = "Built as a recording from before about April 2025 looks: no sequence_number on any event."


@spec(
    P + "pre-2025-no-sequence-numbers",
    "No event carries a sequence_number (a recording made before about April 2025), checked "
    "with the opt-in tolerance sequence-number-absent: one warning.",
    features=["text", "no_sequence_numbers"],
    tolerate=("sequence-number-absent",),
    warnings=("sequence.missing",),
)
def _p_no_seq() -> Body:
    events = _base("p-no-seq")
    for ev in events:
        del ev["sequence_number"]
    return events


@spec(
    N + "sequence/absent-everywhere",
    "No event carries a sequence_number and no tolerance is named: every current server must "
    "send them (openai-python's event types require them).",
    errors=("sequence.missing",),
)
def _n_no_seq() -> Body:
    events = _base("n-no-seq")
    for ev in events:
        del ev["sequence_number"]
    return events


@spec(
    N + "schema/tolerated-warnings-over-the-cap",
    "30 text deltas without `logprobs` (a tolerated deviation: a warning each): the summary "
    "of those over the per-rule cap stays a warning, and they fold into one headline.",
    warnings=("schema.event",),
)
def _n_tolerated_over_cap() -> Body:
    s = Stream("n-tolerated-over-cap").open()
    words = " ".join(f"w{i}" for i in range(30))
    s.message(Text(chunks(words)))
    events = s.complete().events
    for ev in events:
        if ev["type"] == "response.output_text.delta":
            del ev["logprobs"]
    return events


TORCH_REQ = req(input="Weather in Paris?", tools=[WEATHER_TOOL], max_output_tokens=16)


@spec(
    N + "call/truncated-arguments",
    "max_output_tokens cuts a strict function call mid-arguments: the item is `incomplete` in an "
    "`incomplete` response and its arguments are not JSON. Correct (the reference server's "
    "torch backend does this under load); a warning, since a client must not run the call.",
    warnings=("call.truncated-arguments",),
    request=TORCH_REQ,
)
def _n_truncated_args() -> Body:
    s = Stream("n-truncated-args", request=TORCH_REQ).open()
    index = s.function_call("get_weather", ['{"city":', '"Par'])
    done = s.events[find(s.events, "response.output_item.done", output_index=index)]
    done["item"]["status"] = "incomplete"
    s.output[index] = done["item"]
    return s.incomplete("max_output_tokens", usage_=usage(40, 16)).events


@spec(
    N + "call/tool-choice-proxy",
    'Against a proxy (target_kind proxy): tool_choice "required" but the model answered in '
    "text. The suite cannot see the upstream, so this model-behaviour finding is a warning "
    'about "the model behind this server".',
    warnings=("call.tool-choice",),
    target_kind="proxy",
    request=req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
)
def _n_tool_choice_proxy() -> Body:
    return text_stream(
        "n-tool-choice-proxy",
        "I think it is sunny.",
        request=req(input="Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
    ).events


@spec(
    N + "accumulation/unannounced-deltas-vs-snapshot",
    "A proxy streams text deltas for an item it never announced (no output_item.added/done); "
    "the deltas spell the answer but the terminal snapshot says something else.",
    errors=("item.unknown-index", "accumulation.delta-vs-done", "output.mismatch"),
)
def _n_orphan_deltas() -> Body:
    s = Stream("n-orphan-deltas").open()
    s.message(Text(chunks("Hello from the upstream.")))
    events = [
        ev
        for ev in s.complete().events
        if ev["type"] not in (
            "response.output_item.added", "response.content_part.added", "response.output_text.done",
            "response.content_part.done", "response.output_item.done",
        )
    ]
    events[-1]["response"]["output"][0]["content"][0]["text"] = "(No update)"
    return renumber(events)


@spec(
    N + "item/truncated-completed",
    "max_output_tokens cuts the answer (response `incomplete`, reason max_output_tokens) but the "
    "message is marked `completed`: a client would take the truncated text as whole.",
    errors=("item.truncated-completed",),
    request=MAX16_REQ,
)
def _n_truncated_completed() -> Body:
    s = Stream("n-truncated-completed", request=MAX16_REQ).open()
    s.message(Text(chunks(LIGHTHOUSE)))
    return s.incomplete("max_output_tokens", usage_=usage(19, 16)).events


@spec(
    N + "lifecycle/completed-at-null",
    "A completed response whose `completed_at` is null (the live API sets it exactly when the "
    "status is completed).",
    errors=("lifecycle.completed-at",),
)
def _n_completed_at() -> Body:
    events = text_stream("n-completed-at", full_shape=True).events
    events[-1]["response"]["completed_at"] = None
    return events


@spec(
    N + "schema/openresponses-penalties-missing",
    "Under profile openresponses: Response snapshots without `presence_penalty` and "
    "`frequency_penalty`, two of the 31 fields the Open Responses OpenAPI (2026-04-24) requires.",
    errors=("schema.response",),
    profile="openresponses",
)
def _n_or_penalties() -> Body:
    events = text_stream("n-or-penalties", full_shape=True).events
    for resp in snapshots(events):
        del resp["presence_penalty"], resp["frequency_penalty"]
    return to_sse(events, done=True)


# ---- gpt-oss's own reference server (openai/gpt-oss, gpt_oss/responses_api) -------------------------
GPT_OSS = "openai/gpt-oss (gpt_oss/responses_api reference server)"


@spec(
    W + "output-index-off-by-one-between-added-and-done",
    "The message is added at output_index 0 but its output_item.done says 1.",
    errors=("item.done-without-added", "item.not-closed"),
    provenance=wild(
        GPT_OSS, notes="output_index off by one between output_item.added and output_item.done."
    ),
)
def _w_off_by_one() -> Body:
    ev = _base("w-off-by-one", model="gpt-oss-120b")
    ev[find(ev, "response.output_item.done")]["output_index"] = 1
    return ev


@spec(
    W + "function-call-only-output-item-done",
    "A function call that appears only as output_item.done: no added, no argument events.",
    errors=("item.done-without-added",),
    request=req(model="gpt-oss-120b", tools=[WEATHER_TOOL]),
    provenance=wild(GPT_OSS, notes="Function calls sent with only output_item.done."),
)
def _w_fc_only_done() -> Body:
    ev = weather_stream("w-fc-only-done", req(model="gpt-oss-120b", tools=[WEATHER_TOOL])).events
    ev = [
        e
        for e in ev
        if e["type"]
        not in (
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
        )
    ]
    return renumber(ev)


@spec(
    W + "null-item-status",
    "The message item's status is null in added, done and the terminal output (the item schema rejects it; item.status leaves non-strings to the schema).",
    errors=("schema.item",),
    provenance=wild(GPT_OSS, notes="Items with a null status."),
)
def _w_null_status() -> Body:
    ev = _base("w-null-status", model="gpt-oss-120b")
    for e in ev:
        if e["type"].startswith("response.output_item."):
            e["item"]["status"] = None
    terminal(ev)["output"][0]["status"] = None
    return ev


@spec(
    W + "created-at-changing",
    "created_at increases with every lifecycle snapshot.",
    warnings=("lifecycle.created-at-changed",),
    provenance=wild(GPT_OSS, notes="created_at recomputed for each snapshot."),
)
def _w_created_at_changing() -> Body:
    ev = _base("w-created-at-changing", model="gpt-oss-120b")
    for k, snap in enumerate(snapshots(ev)):
        snap["created_at"] += k
    return ev


@spec(
    W + "max-output-tokens-ends-completed",
    "Generation is cut at max_output_tokens=16 but the stream ends with response.completed.",
    errors=("request.max-output-tokens",),
    request=req(
        model="gpt-oss-120b", input="Write a long story about a lighthouse.", max_output_tokens=16
    ),
    provenance=wild(
        GPT_OSS, notes="max_output_tokens reached yet the response is completed, not incomplete."
    ),
)
def _w_max_completed() -> Body:
    r = req(
        model="gpt-oss-120b", input="Write a long story about a lighthouse.", max_output_tokens=16
    )
    s = Stream("w-max-completed", request=r).open()
    s.message(Text(chunks(LIGHTHOUSE)))
    return s.complete(usage_=usage(19, 16)).events


@spec(
    W + "validation-error-as-detail-body",
    'FastAPI\'s 422 validation body `{"detail": [...]}` where an OpenAI error or a Response was expected, checked as a non-stream body.',
    errors=("schema.response",),
    kind="json",
    provenance=wild(
        GPT_OSS,
        notes='FastAPI\'s 422 {"detail": ...} instead of an OpenAI error body. A live run reports it as http.error-shape; offline, the body is not a Response.',
    ),
)
def _w_detail_body() -> Body:
    return {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "input"],
                "msg": "Field required",
                "input": {"model": "gpt-oss-120b"},
            }
        ]
    }


# =============================================================================================
# Real captures (copied byte for byte) and writing the corpus
# =============================================================================================
CAPTURES = "positive/openai-api/"
# The two gpt-oss captures have no seed sidecar; their provenance is the seed README's.
GPT_OSS_CAPTURES: dict[str, dict[str, Any]] = {
    "basic-text-with-reasoning": {
        "path": "tests-data/basic-event-stream.txt",
        "features": ["reasoning", "text"],
        "notes": "Reasoning item (empty summary), message with 10 text deltas, usage.",
    },
    "web-search-with-citations": {
        "path": "tests-data/web-search-event-stream.txt",
        "features": ["web_search", "annotations", "text"],
        "notes": "web_search_call items with in_progress/searching/completed, message with url_citation annotations, 172 text deltas.",
    },
}


def _stream_model(raw: bytes) -> str | None:
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("data:") and '"response.created"' in line:
            try:
                return json.loads(line[5:])["response"]["model"]
            except (ValueError, KeyError, TypeError):
                return None
    return None


def capture_sidecar(name: str, raw: bytes, meta: dict[str, Any] | None) -> dict[str, Any]:
    if meta is not None:
        prov = {"source": "capture", "provider": meta.get("provider", "openai-api")}
        prov.update(
            {
                k: meta[k]
                for k in ("repo", "path", "commit", "model", "features", "reconstructed", "notes")
                if k in meta
            }
        )
        description = f"Real api.openai.com stream ({', '.join(meta.get('features', []))}), recorded in {meta['repo']}."
    else:
        extra = GPT_OSS_CAPTURES[name]
        prov = {
            "source": "capture",
            "provider": "openai-api",
            "repo": "openai/gpt-oss",
            "path": extra["path"],
            "commit": None,
            "license": "Apache-2.0",
            "model": _stream_model(raw),
            "features": extra["features"],
            "reconstructed": False,
            "notes": "Published in the test data of the openai/gpt-oss repository (July 2025). "
            + extra["notes"],
        }
        description = f"Real api.openai.com stream ({', '.join(extra['features'])}), published by openai/gpt-oss."
    return {
        "description": description,
        "provenance": prov,
        "kind": "sse",
        "expected": {"errors": []},
    }


def _load_feature_specs() -> None:
    """Fixture specs of single features kept in their own modules next to this one."""
    import importlib.util

    for name in ("fixtures_web_search",):
        module_spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(name + ".py"))
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        module.register(globals())


_load_feature_specs()


def sidecar(sp: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": sp.description,
        "provenance": sp.provenance,
        "kind": sp.kind,
    }
    if sp.profile:
        out["profile"] = sp.profile
    if sp.tolerate:
        out["tolerate"] = list(sp.tolerate)
    if sp.target_kind:
        out["target_kind"] = sp.target_kind
    if sp.request is not None:
        out["request"] = sp.request
    if sp.content_type is not None:
        out["content_type"] = sp.content_type
    expected: dict[str, Any] = {"errors": sorted(sp.errors)}
    if sp.warnings:
        expected["warnings"] = sorted(sp.warnings)
    if sp.infos:
        expected["infos"] = sorted(sp.infos)
    out["expected"] = expected
    return out


def _json_file(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def body_bytes(sp: Spec) -> bytes:
    body = sp.build()
    if sp.kind == "json":
        return _json_file(body)
    if isinstance(body, bytes):
        return body
    return to_sse(body)


def generate() -> dict[str, bytes]:
    """Every generated file, keyed by its path relative to fixtures/streams/."""
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    for sp in SPECS:
        if sp.path in seen:
            raise SystemExit(f"duplicate fixture path {sp.path}")
        seen.add(sp.path)
        ext = ".body.json" if sp.kind == "json" else ".sse"
        files[sp.path + ext] = body_bytes(sp)
        files[sp.path + ".json"] = _json_file(sidecar(sp))
    seed_dir = SEED / "openai-api"
    if seed_dir.is_dir():
        for sse in sorted(seed_dir.glob("*.sse")):
            raw = sse.read_bytes()
            meta_path = sse.with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
            files[CAPTURES + sse.name] = raw
            files[CAPTURES + sse.stem + ".json"] = _json_file(capture_sidecar(sse.stem, raw, meta))
    else:
        # No seed here (CI): the committed copies are the source of truth.
        for f in sorted((STREAMS / CAPTURES).glob("*")):
            files[CAPTURES + f.name] = f.read_bytes()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if fixtures/ differs from what would be generated",
    )
    args = parser.parse_args(argv)
    files = generate()
    on_disk = (
        {str(p.relative_to(STREAMS)): p for p in STREAMS.rglob("*") if p.is_file()}
        if STREAMS.exists()
        else {}
    )
    if args.check:
        stale = sorted(k for k in files if k not in on_disk or on_disk[k].read_bytes() != files[k])
        extra = sorted(k for k in on_disk if k not in files)
        for k in stale:
            print(f"differs or missing: fixtures/streams/{k}")
        for k in extra:
            print(f"not generated: fixtures/streams/{k}")
        return 1 if stale or extra else 0
    if STREAMS.exists():
        shutil.rmtree(STREAMS)
    for rel, data in sorted(files.items()):
        path = STREAMS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    n_neg = sum(1 for sp in SPECS if sp.path.startswith(N))
    print(
        f"wrote {len(files)} files: {len(SPECS) - n_neg} built positive, {n_neg} negative fixtures, "
        f"{sum(1 for k in files if k.startswith(CAPTURES) and k.endswith('.sse'))} captures"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
