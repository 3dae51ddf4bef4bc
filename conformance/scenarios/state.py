"""Scenarios about stored responses: previous_response_id, store, GET, DELETE, input_items.

Each creates its own responses, so they run concurrently without interfering.
"""

from __future__ import annotations

from typing import Any

from conformance.exchange import VALID
from conformance.runner.context import ScenarioContext, excerpt
from conformance.scenarios.base import expect_text, first_difference, message_text, scenario

HELLO = "Say hello in one short sentence."
UNKNOWN_ID = "resp_conformance0000000000000000000000unknown"


@scenario("previous-response-id", "A second turn continues a stored response via previous_response_id", "state", "stream")
async def previous_response_id(ctx: ScenarioContext) -> None:
    first = await ctx.create(
        {"input": "Remember the code word PELICAN. Reply with just OK.", "store": True}, label="turn 1"
    )
    first_id = first.response.get("id")
    second = await ctx.stream(
        {"input": "What was the code word? Answer with the word only.", "previous_response_id": first_id},
        label="turn 2",
    )
    terminal = second.terminal or {}
    if terminal.get("previous_response_id") != first_id:
        ctx.finding(
            "http.previous-response",
            f"turn 2 names previous_response_id {terminal.get('previous_response_id')!r}, expected {first_id!r}",
        )
    expect_text(ctx, terminal, "turn 2")
    # Whether the model recalls the word is the model's business, not the protocol's: noted only.
    ctx.note("remembered_code_word", "PELICAN" in message_text(terminal).upper())


@scenario("previous-response-id-unknown", "An unknown previous_response_id is rejected (404 or 400)", "state", "errors")
async def previous_response_id_unknown(ctx: ScenarioContext) -> None:
    await ctx.expect_error(ctx.request(input=HELLO, previous_response_id=UNKNOWN_ID), statuses=(404, 400))


@scenario("store-false", "A response created with store:false cannot be retrieved (404)", "state")
async def store_false(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": HELLO, "store": False})
    await ctx.expect_error(method="GET", path=f"responses/{ex.response.get('id')}", statuses=(404,), label="GET after store:false")


@scenario("get-stored-response", "GET /responses/{id} equals the streamed terminal snapshot", "state", "stream")
async def get_stored_response(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": HELLO, "store": True})
    terminal: dict[str, Any] = sx.terminal or {}
    got = await ctx.get_json(f"responses/{terminal.get('id')}", check=True)
    diff = first_difference(terminal, got.response)
    if diff:
        where, streamed, stored = diff
        ctx.finding(
            "http.stored-mismatch",
            f"GET differs from the terminal snapshot at {where}: streamed {excerpt(streamed, 80)}, stored {excerpt(stored, 80)}",
        )


@scenario("get-response-unknown", "GET of an unknown response id is 404 with the error shape", "state", "errors")
async def get_response_unknown(ctx: ScenarioContext) -> None:
    await ctx.expect_error(method="GET", path=f"responses/{UNKNOWN_ID}", statuses=(404,))


@scenario("delete-response", "DELETE a stored response; it is gone afterwards", "state")
async def delete_response(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": HELLO, "store": True})
    rid = ex.response.get("id")
    deleted = await ctx.send("DELETE", f"responses/{rid}", expect=VALID)
    ctx.judge_valid(deleted, require=True)  # the status, and the deleted object (http.object-shape)
    await ctx.expect_error(method="GET", path=f"responses/{rid}", statuses=(404,), label="GET after DELETE")


@scenario("input-items", "GET /responses/{id}/input_items lists the request's input", "state")
async def input_items(ctx: ScenarioContext) -> None:
    marker = "Reply with the single word BANANA."
    ex = await ctx.create({"input": [{"role": "user", "content": marker}], "store": True})
    listed = await ctx.get_json(f"responses/{ex.response.get('id')}/input_items")
    body = listed.response
    problems = []
    if body.get("object") != "list":
        problems.append(f"object is {body.get('object')!r}, expected 'list'")
    data = body.get("data")
    if not isinstance(data, list):
        problems.append("`data` is not a list")
        data = []
    for key in ("first_id", "last_id", "has_more"):
        if key not in body:
            problems.append(f"`{key}` is missing")
    if not any(marker in excerpt(item, 10_000) for item in data):
        problems.append("no listed item holds the input message")
    if problems:
        ctx.finding("http.object-shape", f"input_items: {'; '.join(problems)}", excerpt=excerpt(body))
