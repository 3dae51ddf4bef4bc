"""Fixture specs of the `request.*` rules (the Response echoes the request it was made from)."""

from __future__ import annotations

from conformance.testing.streams import Stream, Text, chunks, usage
from scripts.fixture_specs.common import (
    GPT_OSS,
    LIGHTHOUSE,
    MAX16_REQ,
    Body,
    N,
    W,
    base_events,
    req,
    spec,
    wild,
)

ECHO_REQ = req(instructions="Answer in one sentence.", temperature=0.2)


@spec(
    N + "request/echo",
    "The request's instructions and temperature are not echoed (null / default in every snapshot).",
    warnings=("request.echo",),
    request=ECHO_REQ,
)
def _n_echo() -> Body:
    ev = base_events("n-echo", request=req())
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
