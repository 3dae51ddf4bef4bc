"""Fixture specs of the `usage.*` rules (token counts present, consistent, within the cap)."""

from __future__ import annotations

from conformance.testing.streams import Stream, Text, chunks, terminal, usage
from scripts.fixture_specs.common import LIGHTHOUSE, MAX16_REQ, Body, N, W, base_events, spec, wild


@spec(N + "usage/missing", "response.completed with `usage: null`.", errors=("usage.missing",))
def _n_usage_missing() -> Body:
    ev = base_events("n-usage-missing")
    terminal(ev)["usage"] = None
    return ev


@spec(
    N + "usage/total", "total_tokens is not input_tokens + output_tokens.", errors=("usage.total",)
)
def _n_usage_total() -> Body:
    ev = base_events("n-usage-total")
    terminal(ev)["usage"]["total_tokens"] += 1
    return ev


@spec(
    N + "usage/invalid",
    "output_tokens is negative (total still adds up).",
    errors=("usage.invalid",),
)
def _n_usage_invalid() -> Body:
    ev = base_events("n-usage-invalid")
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
    ev = base_events("n-usage-details")
    u = terminal(ev)["usage"]
    del u["input_tokens_details"], u["output_tokens_details"]
    return ev


@spec(
    N + "usage/details-exceed",
    "reasoning_tokens larger than output_tokens.",
    errors=("usage.details-exceed",),
)
def _n_usage_exceed() -> Body:
    ev = base_events("n-usage-exceed")
    u = terminal(ev)["usage"]
    u["output_tokens_details"]["reasoning_tokens"] = u["output_tokens"] + 5
    return ev


@spec(
    N + "usage/early",
    "Non-null usage already on response.created / in_progress (info).",
    infos=("usage.early",),
)
def _n_usage_early() -> Body:
    ev = base_events("n-usage-early")
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


@spec(
    N + "usage/total-non-stream",
    "A non-stream body whose usage total does not add up.",
    errors=("usage.total",),
    kind="json",
)
def _n_json_total() -> Body:
    body = terminal(base_events("n-json-total"))
    body["usage"]["total_tokens"] = 1
    return body


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
    ev = base_events("w-usage-no-details")
    u = terminal(ev)["usage"]
    terminal(ev)["usage"] = {
        "input_tokens": u["input_tokens"],
        "output_tokens": u["output_tokens"],
        "total_tokens": u["total_tokens"],
    }
    return ev
