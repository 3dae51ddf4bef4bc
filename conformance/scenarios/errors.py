"""Scenarios sending invalid requests: each must get a 4xx with the OpenAI error shape, never 5xx.

Auth scenarios run only when the target requires a key (otherwise skipped, with the reason).
"""

from __future__ import annotations

from conformance.exchange import invalid
from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import scenario
from conformance.scenarios.tools import WEATHER

HELLO = "Say hello in one short sentence."

# A target that accepts these does not check keys at all: the scenario is skipped, not failed.
ACCEPTED = (200, 201, 202, 204)

@scenario("error-missing-model", "A request without `model` gets 400", "errors")
async def missing_model(ctx: ScenarioContext) -> None:
    await ctx.expect_error({"input": HELLO})


@scenario("error-wrong-input-type", "`input` of the wrong type gets 400", "errors")
async def wrong_input_type(ctx: ScenarioContext) -> None:
    await ctx.expect_error(ctx.request(input=42))


@scenario("error-invalid-json", "A body that is not JSON gets 400", "errors")
async def invalid_json(ctx: ScenarioContext) -> None:
    await ctx.expect_error(raw=b'{"model": "x", "input": ')


@scenario("error-unknown-tool-choice", "tool_choice naming an undeclared function gets 400", "errors", "tools")
async def unknown_tool_choice(ctx: ScenarioContext) -> None:
    await ctx.expect_error(
        ctx.request(input=HELLO, tools=[WEATHER], tool_choice={"type": "function", "name": "no_such_tool"})
    )


@scenario("error-metadata-limits", "metadata over its limits (17 pairs, 65-char key, 513-char value) gets 400", "errors")
async def metadata_limits(ctx: ScenarioContext) -> None:
    cases = {
        "17 pairs": {f"k{i}": "v" for i in range(17)},
        "a 65-character key": {"k" * 65: "v"},
        "a 513-character value": {"k": "v" * 513},
    }
    for what, metadata in cases.items():
        await ctx.expect_error(ctx.request(input=HELLO, metadata=metadata), label=f"metadata with {what}")


@scenario("error-max-output-tokens-minimum", "max_output_tokens below 16 gets 400", "errors", "limits")
async def max_output_tokens_minimum(ctx: ScenarioContext) -> None:
    await ctx.expect_error(ctx.request(input=HELLO, max_output_tokens=8))


@scenario("error-missing-api-key", "A request without an API key gets 401", "errors", "auth")
async def missing_api_key(ctx: ScenarioContext) -> None:
    if not ctx.has_api_key:
        ctx.skip("no API key configured (--api-key), so whether the target requires one is unknown")
    ex = await ctx.send("POST", "responses", ctx.request(input=HELLO, max_output_tokens=16), auth=False, label="no API key",
                        expect=invalid((401,), unless=ACCEPTED))
    if 200 <= ex.status < 300:
        ctx.skip("the target answered a request without an API key: it does not require one")
    ctx.judge_error(ex, (401,))


@scenario("error-wrong-api-key", "A request with a wrong API key gets 401", "errors", "auth")
async def wrong_api_key(ctx: ScenarioContext) -> None:
    if not ctx.has_api_key:
        ctx.skip("no API key configured (--api-key), so whether the target requires one is unknown")
    ex = await ctx.send(
        "POST", "responses", ctx.request(input=HELLO, max_output_tokens=16), auth="sk-conformance-wrong-key", label="wrong API key",
        expect=invalid((401,), unless=ACCEPTED),
    )
    if 200 <= ex.status < 300:
        ctx.skip("the target answered a request with a wrong API key: it does not check keys")
    ctx.judge_error(ex, (401,))
