"""Whole conversations: many turns chained by previous_response_id, tool round trips included.

A server can pass every one-request scenario and still stop answering on a conversation's fourth
turn (a cache that breaks once the context grows, a store that loses items). These scenarios
keep going long enough to cross such boundaries, and check every turn.
"""

from __future__ import annotations

from typing import Any

from conformance.runner.context import ScenarioContext, excerpt
from conformance.scenarios.base import expect_calls, expect_text, function_calls, scenario
from conformance.scenarios.tools import WEATHER

TURNS = 10
TOOL_TURNS = (1, 4, 7)  # these turns call get_weather and answer its output: a round trip each
CITIES = ("Paris", "Lima", "Oslo", "Cairo", "Perth", "Quito", "Seoul", "Dakar", "Hanoi", "Bergen")

# About 350 tokens a turn, so the ten turns (plus the answers and tool outputs) pass 4000 tokens.
NOTES = (
    "Here are my travel notes for {city}, leg {n} of the trip. I arrive by train early in the "
    "morning and want to walk from the station to the old town, stopping at the market, the "
    "river embankment and a bookshop someone recommended. I will carry a small bag only. "
    "Lunch should be somewhere quiet where I can write postcards; the afternoon is for a "
    "museum if it rains and a long walk along the water if it does not. In the evening I meet "
    "two friends who have lived in {city} for years and know which bakery opens first. "
)


def _user_text(n: int) -> str:
    city = CITIES[n % len(CITIES)]
    notes = "".join(NOTES.format(city=city, n=f"{n + 1}.{part}") for part in range(1, 5))
    return f"{notes}Reply with two short sentences about leg {n + 1}."


def _check_turn(ctx: ScenarioContext, response: dict[str, Any] | None, label: str, previous: str | None) -> None:
    response = response or {}
    status = response.get("status")
    if status not in ("completed", "incomplete"):
        ctx.finding("http.status", f"{label}: the response ended {status!r}",
                    excerpt=excerpt(response.get("error") or response, 200))
    if previous is not None and response.get("previous_response_id") != previous:
        ctx.finding("http.previous-response",
                    f"{label}: names previous_response_id {response.get('previous_response_id')!r}, "
                    f"expected {previous!r}")


@scenario("long-conversation",
          "Ten turns via previous_response_id with tool round trips, past 4000 tokens; every turn checked",
          "state", "tools", "stream", "long")
async def long_conversation(ctx: ScenarioContext) -> None:
    """Alternates streamed and non-stream turns; each continues the previous response. Input
    tokens must grow turn after turn (a server that dropped the stored conversation would not).
    Turns 2, 5 and 8 must call get_weather (`tool_choice: required`) and answer its output."""
    previous: str | None = None
    inputs: list[int] = []
    for n in range(TURNS):
        label = f"turn {n + 1}"
        body: dict[str, Any] = {"input": _user_text(n), "store": True, "max_output_tokens": 200}
        if previous is not None:
            body["previous_response_id"] = previous
        tool_turn = n in TOOL_TURNS
        # Every turn offers the tool, as agent clients do (some upstreams refuse a history with
        # tool calls when no tools are defined); the text turns forbid calling it.
        body |= {"tools": [WEATHER], "tool_choice": "required" if tool_turn else "none"}
        response = await _send(ctx, body, label, streamed=n % 2 == 0)
        _check_turn(ctx, response, label, previous)
        _count_input(ctx, response, label, inputs)
        previous = (response or {}).get("id")
        if tool_turn:
            calls = expect_calls(ctx, response, names={"get_weather"}, label=label)
            if not calls:
                return
            outputs = [{"type": "function_call_output", "call_id": c.get("call_id"),
                        "output": f'{{"city": "{CITIES[n]}", "temperature_c": {12 + i}, "sky": "clear"}}'}
                       for i, c in enumerate(calls)]
            label = f"turn {n + 1} (tool output)"
            answer = await _send(ctx, {"input": outputs, "previous_response_id": previous, "tools": [WEATHER],
                                       "max_output_tokens": 200}, label, streamed=n % 2 == 1)
            _check_turn(ctx, answer, label, previous)
            _count_input(ctx, answer, label, inputs)
            if not function_calls(answer):
                expect_text(ctx, answer, label)
            previous = (answer or {}).get("id")
        else:
            expect_text(ctx, response, label)
        if previous is None:
            return
    ctx.note("input_tokens_per_request", inputs)


async def _send(ctx: ScenarioContext, body: dict[str, Any], label: str, *, streamed: bool) -> dict[str, Any] | None:
    if streamed:
        return (await ctx.stream(body, label=label)).terminal
    return (await ctx.create(body, label=label)).response


def _count_input(ctx: ScenarioContext, response: dict[str, Any] | None, label: str, inputs: list[int]) -> None:
    usage = (response or {}).get("usage")
    tokens = usage.get("input_tokens") if isinstance(usage, dict) else None
    if not isinstance(tokens, int):
        return  # a missing usage is the checker's to report
    if inputs and tokens <= inputs[-1]:
        ctx.finding("http.previous-response",
                    f"{label}: {tokens} input tokens, not more than the request before ({inputs[-1]}): "
                    "the stored conversation was not continued")
    inputs.append(tokens)
