"""Scenarios about function tools: calls, tool_choice variants, parallel calls, round trips.

The checker already judges calls against the request (call.* rules); these add what a
scenario demands on top (a call must happen when it is forced).
"""

from __future__ import annotations

from typing import Any

from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import expect_calls, expect_text, function_calls, scenario


def _tool(name: str, description: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }


WEATHER = _tool("get_weather", "Current weather for a city.")
TIME = _tool("get_time", "Current local time in a city.")
ASK_WEATHER = "What is the weather in Paris right now? Use the get_weather tool."
ASK_BOTH = "What is the weather in Paris and in Tokyo? Call get_weather once for each city."


@scenario("tool-calling", "A function tool is called (not streamed)", "tools", "open-responses")
async def tool_calling(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": ASK_WEATHER, "tools": [WEATHER]})
    expect_calls(ctx, ex.response, names={"get_weather"})


@scenario("tool-calling-stream", "A function tool is called, arguments streamed", "tools", "stream")
async def tool_calling_stream(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": ASK_WEATHER, "tools": [WEATHER]})
    expect_calls(ctx, sx.terminal, names={"get_weather"})


@scenario("tool-choice-required", "tool_choice \"required\" forces a call", "tools", "stream")
async def tool_choice_required(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": "Tell me about Paris.", "tools": [WEATHER, TIME], "tool_choice": "required"})
    expect_calls(ctx, sx.terminal)


@scenario("tool-choice-none", "tool_choice \"none\" forbids calls", "tools", "stream")
async def tool_choice_none(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": ASK_WEATHER, "tools": [WEATHER], "tool_choice": "none"})
    # call.tool-choice (checker) reports a call; here: the answer must be text instead.
    expect_text(ctx, sx.terminal)


@scenario("tool-choice-function", "A named function in tool_choice is the one called", "tools", "stream")
async def tool_choice_function(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {"input": ASK_WEATHER, "tools": [WEATHER, TIME], "tool_choice": {"type": "function", "name": "get_time"}}
    )
    expect_calls(ctx, sx.terminal, names={"get_time"})


@scenario("tool-choice-allowed-tools", "tool_choice allowed_tools (mode required) narrows the callable tools", "tools", "stream")
async def tool_choice_allowed_tools(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {
            "input": ASK_WEATHER,
            "tools": [WEATHER, TIME],
            "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]},
        }
    )
    expect_calls(ctx, sx.terminal, names={"get_time"})


@scenario("parallel-tool-calls", "Several calls in one response, distinct call_ids", "tools", "parallel", "stream")
async def parallel_tool_calls(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {"input": ASK_BOTH, "tools": [WEATHER], "tool_choice": "required", "parallel_tool_calls": True}
    )
    # One call is allowed (a model may choose to call once); call.call-id catches shared ids.
    expect_calls(ctx, sx.terminal, names={"get_weather"})


@scenario("parallel-tool-calls-disabled", "parallel_tool_calls false: at most one call", "tools", "stream")
async def parallel_tool_calls_disabled(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {"input": ASK_BOTH, "tools": [WEATHER], "tool_choice": "required", "parallel_tool_calls": False}
    )
    # call.parallel (checker) reports a second call.
    expect_calls(ctx, sx.terminal, names={"get_weather"})


@scenario("function-call-output", "Round trip: the call's function_call_output is answered", "tools", "stream")
async def function_call_output(ctx: ScenarioContext) -> None:
    first = await ctx.create(
        {"input": ASK_WEATHER, "tools": [WEATHER], "tool_choice": "required"}, label="turn 1 (call)"
    )
    calls = expect_calls(ctx, first.response, label="turn 1 (call)")
    if not calls:
        return
    call = calls[0]
    replay = {k: call[k] for k in ("type", "call_id", "name", "arguments") if k in call}
    second = await ctx.stream(
        {
            "input": [
                {"role": "user", "content": ASK_WEATHER},
                replay,
                {"type": "function_call_output", "call_id": call.get("call_id"), "output": '{"temperature_c": 21, "sky": "clear"}'},
            ],
            "tools": [WEATHER],
        },
        label="turn 2 (answer)",
    )
    if not function_calls(second.terminal):
        expect_text(ctx, second.terminal, "turn 2 (answer)")
