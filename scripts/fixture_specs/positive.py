"""Positive built fixtures: one valid stream per event family or legal framing; zero errors."""

from __future__ import annotations

import json

from conformance.testing.streams import (
    Event,
    Refusal,
    Stream,
    Text,
    chunks,
    terminal,
    to_sse,
    usage,
)
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    HELLO,
    LIGHTHOUSE,
    MAX16_REQ,
    PARALLEL_REQ,
    WEATHER_TOOL,
    Body,
    base_events,
    req,
    spec,
    text_stream,
    url_citation,
    weather_stream,
)

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
                (
                    5,
                    url_citation(
                        "Reef recovers", "https://reefnews.org/fiji?utm_source=openai", 25, 39
                    ),
                ),
                (
                    len(deltas) - 1,
                    url_citation(
                        "Wolves return", "https://wildnews.org/co?utm_source=openai", 69, 83
                    ),
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


COMPACTION_REQ = req(
    input="Go on with the story.",
    context_management=[{"type": "compaction", "compact_threshold": 1000}],
)


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
        s.emit(
            "response.apply_patch_call_operation_diff.delta",
            output_index=index,
            item_id=item["id"],
            delta=d,
        )
    s._done(
        index,
        {**item, "status": "completed", "diff": "--- a/x.py\n+++ b/x.py\n", "preview_ttl": 60},
    )
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


@spec(
    P + "pre-2025-no-sequence-numbers",
    "No event carries a sequence_number (a recording made before about April 2025), checked "
    "with the opt-in tolerance sequence-number-absent: one warning.",
    features=["text", "no_sequence_numbers"],
    tolerate=("sequence-number-absent",),
    warnings=("sequence.missing",),
)
def _p_no_seq() -> Body:
    events = base_events("p-no-seq")
    for ev in events:
        del ev["sequence_number"]
    return events
