"""Scenarios about the connection itself: a client that hangs up mid-stream.

The server must survive it and answer the next request normally.
"""

from __future__ import annotations

from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import expect_text, scenario

ESSAY = "Write a detailed 500-word essay about the history of lighthouses."


@scenario("client-disconnect", "A client disconnects mid-stream; the next request succeeds", "stream", "robustness")
async def client_disconnect(ctx: ScenarioContext) -> None:
    await ctx.stream({"input": ESSAY}, label="dropped stream", drop_after=3)
    ex = await ctx.create({"input": "Say hello in one short sentence."}, label="after the disconnect")
    expect_text(ctx, ex.response, "after the disconnect")
