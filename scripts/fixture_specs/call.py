"""Fixture specs of the `call.*` rules (tool calls against the request's tools and tool_choice)."""

from __future__ import annotations

from conformance.testing.streams import Stream, Text, usage
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    LOOSE_WEATHER_TOOL,
    PARALLEL_REQ,
    TIME_TOOL,
    WEATHER_TOOL,
    Body,
    N,
    W,
    req,
    spec,
    text_stream,
    weather_stream,
    wild,
)


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
