"""Scenarios about generating text: prompts, roles, multi-turn, images, limits, formats.

Requests are data at the top of each scenario; the model is added by the context.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import expect_text, message_text, scenario, shape_difference

HELLO = "Say hello in one short sentence."
ESSAY = "Write a detailed 500-word essay about the history of lighthouses."


def _png(rgb: tuple[int, int, int], size: int = 16) -> str:
    """A solid-colour PNG as a data URL (built here: no image files, nothing downloaded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * size
    raw = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(raw).decode()


RED_SQUARE = _png((220, 30, 30))


@scenario("basic-response", "Plain text answer, not streamed", "core", "text", "open-responses")
async def basic_response(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": HELLO})
    expect_text(ctx, ex.response)


@scenario("streaming-response", "Plain text answer, streamed as text deltas", "core", "text", "stream", "open-responses")
async def streaming_response(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": HELLO})
    if expect_text(ctx, sx.terminal) and "response.output_text.delta" not in sx.types():
        ctx.finding("http.output-missing", "the answer's text was not streamed as response.output_text.delta events")


@scenario("system-prompt", "A system message in the input", "core", "text", "stream", "open-responses")
async def system_prompt(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {
            "input": [
                {"role": "system", "content": "You are a terse assistant. Answer in at most ten words."},
                {"role": "user", "content": HELLO},
            ]
        }
    )
    expect_text(ctx, sx.terminal)


@scenario("instructions", "The `instructions` field (echoed in the response)", "core", "text")
async def instructions(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"instructions": "Answer in at most ten words.", "input": HELLO})
    expect_text(ctx, ex.response)


@scenario("developer-message", "A developer message with typed input_text content", "core", "text", "stream")
async def developer_message(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {
            "input": [
                {
                    "type": "message",
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "Answer in at most ten words."}],
                },
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": HELLO}]},
            ]
        }
    )
    expect_text(ctx, sx.terminal)


@scenario("multi-turn", "A conversation replayed as input messages", "core", "text", "open-responses")
async def multi_turn(ctx: ScenarioContext) -> None:
    ex = await ctx.create(
        {
            "input": [
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Nice to meet you, Ada."},
                {"role": "user", "content": "What is my name?"},
            ]
        }
    )
    expect_text(ctx, ex.response)


@scenario("assistant-phase", "Assistant messages with `phase` in the input", "core", "text", "stream", "phase", "open-responses")
async def assistant_phase(ctx: ScenarioContext) -> None:
    def said(text: str, phase: str) -> dict[str, Any]:
        return {
            "type": "message",
            "role": "assistant",
            "phase": phase,
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }

    sx = await ctx.stream(
        {
            "input": [
                {"role": "user", "content": "What is 2 + 2?"},
                said("I will add the numbers.", "commentary"),
                said("2 + 2 = 4.", "final_answer"),
                {"role": "user", "content": "And 3 + 3?"},
            ]
        }
    )
    expect_text(ctx, sx.terminal)


@scenario("image-input", "An image (data URL) in the user message", "vision", "open-responses")
async def image_input(ctx: ScenarioContext) -> None:
    ex = await ctx.create(
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What colour is this image? One word."},
                        {"type": "input_image", "image_url": RED_SQUARE, "detail": "low"},
                    ],
                }
            ]
        }
    )
    expect_text(ctx, ex.response)


@scenario("null-optional-fields", "Explicit nulls for optional fields are treated as absent", "core", "text")
async def null_optional_fields(ctx: ScenarioContext) -> None:
    nulls = ("instructions", "metadata", "tools", "max_output_tokens", "temperature", "top_p", "previous_response_id")
    ex = await ctx.create({"input": HELLO, **dict.fromkeys(nulls)})
    expect_text(ctx, ex.response)


@scenario("metadata", "Request metadata is stored and echoed", "core", "text")
async def metadata(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": HELLO, "metadata": {"suite": "responses-conformance", "case": "metadata"}})
    expect_text(ctx, ex.response)


@scenario("max-output-tokens", "max_output_tokens 16: a response the limit cuts ends `incomplete` (reason max_output_tokens)", "core", "limits", "stream")
async def max_output_tokens(ctx: ScenarioContext) -> None:
    # The stream is checked with the request known: request.max-output-tokens fires when usage
    # shows the limit was reached and the response is not `incomplete` / `max_output_tokens`.
    # A model that answers a 500-word essay prompt in fewer tokens has done nothing wrong.
    await ctx.stream({"input": ESSAY, "max_output_tokens": 16})


@scenario("reasoning", "reasoning.effort streams a reasoning item", "reasoning", "stream")
async def reasoning(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": "How many letters r are in 'strawberry'?", "reasoning": {"effort": "low"}})
    added = [
        e for e in sx.events if e.get("type") == "response.output_item.added" and (e.get("item") or {}).get("type") == "reasoning"
    ]
    if not added:
        ctx.finding("http.output-missing", "reasoning.effort was requested but no reasoning item was streamed")
    expect_text(ctx, sx.terminal)


CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


@scenario("structured-output", "text.format json_schema: the output parses and validates", "structured", "stream")
async def structured_output(ctx: ScenarioContext) -> None:
    sx = await ctx.stream(
        {
            "input": "Name the largest city of Japan and its population.",
            "text": {"format": {"type": "json_schema", "name": "city_info", "schema": CITY_SCHEMA, "strict": True}},
        }
    )
    text = message_text(sx.terminal)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        ctx.finding("http.structured-output", f"the output text is not JSON ({exc})", excerpt=text[:200])
        return
    errors = sorted(Draft202012Validator(CITY_SCHEMA).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        pointer = "/" + "/".join(str(p) for p in first.path)
        ctx.finding("http.structured-output", f"the output does not validate at {pointer}: {first.message}", excerpt=text[:200])


@scenario("stream-vs-nonstream", "The same request streamed and not streamed has the same structure", "core", "stream")
async def stream_vs_nonstream(ctx: ScenarioContext) -> None:
    request = {"input": HELLO, "metadata": {"case": "stream-vs-nonstream"}}
    ex = await ctx.create(request, label="not streamed")
    sx = await ctx.stream(request, label="streamed")
    diff = shape_difference(ex.response, sx.terminal)
    if diff:
        ctx.finding("http.stream-vs-nonstream", f"the non-stream body and the streamed terminal snapshot differ: {diff}")
