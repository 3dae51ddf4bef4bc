"""Fuzzing: arbitrary bytes, JSON values and event-like dicts never make the parser or the
checker raise; they always end in a result (findings), whatever arrives.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conformance
from conformance.checker import StreamChecker
from conformance.sse import SSEParser

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EVENT_TYPES = sorted(
    {
        "response.created",
        "response.in_progress",
        "response.queued",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.output_text.annotation.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.web_search_call.searching",
        "response.mcp_call_arguments.delta",
        "response.code_interpreter_call_code.done",
        "response.image_generation_call.partial_image",
        "acme.custom",
        "response.unknown_thing",
        "",
    }
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
# Values the checker indexes into: ints (indexes), strings (ids), dicts/lists (items, parts).
field_values = st.one_of(
    st.integers(-2, 4),
    st.text(max_size=6),
    st.none(),
    json_values,
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=4),
            "type": st.sampled_from(["message", "function_call", "reasoning", "x"]),
        },
        optional={
            "status": json_scalars,
            "content": json_values,
            "call_id": json_scalars,
            "summary": json_values,
        },
    ),
)
FIELDS = [
    "sequence_number",
    "output_index",
    "content_index",
    "summary_index",
    "item_id",
    "delta",
    "text",
    "arguments",
    "part",
    "item",
    "response",
    "annotation",
    "annotation_index",
    "error",
    "refusal",
    "input",
    "code",
    "logprobs",
]

response_like = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["resp_1", "resp_2", ""]),
        "status": st.sampled_from(
            ["in_progress", "completed", "failed", "incomplete", "queued", "bogus"]
        ),
    },
    optional={
        "output": st.one_of(st.none(), st.lists(field_values, max_size=3)),
        "usage": st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(
                    [
                        "input_tokens",
                        "output_tokens",
                        "total_tokens",
                        "input_tokens_details",
                        "output_tokens_details",
                    ]
                ),
                field_values,
                max_size=5,
            ),
        ),
        "error": field_values,
        "incomplete_details": field_values,
        "created_at": field_values,
        "model": field_values,
    },
)


@st.composite
def event_like(draw: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"type": draw(st.sampled_from(EVENT_TYPES))}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        ev[name] = draw(response_like if name == "response" else field_values)
    return ev


def _finish_ok(checker: StreamChecker) -> None:
    result = checker.finish()
    assert isinstance(result.findings, list)
    for f in result.findings:
        assert f.rule and f.severity in ("error", "warning", "info")


@FUZZ
@given(st.binary(max_size=2048), st.lists(st.integers(1, 64), max_size=20))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    parser = SSEParser()
    pos, msgs = 0, []
    for c in cuts:
        msgs += parser.feed(data[pos : pos + c])
        pos += c
    msgs += parser.feed(data[pos:]) + parser.close()
    assert all(isinstance(m.data, str) for m in msgs)
    result = conformance.check_sse(data)
    assert isinstance(result.findings, list)


@FUZZ
@given(
    st.lists(
        st.one_of(st.text(max_size=40), json_values.map(json.dumps), event_like().map(json.dumps)),
        max_size=12,
    ),
    st.sampled_from(["openai", "openresponses", "lenient"]),
)
def test_sse_framed_garbage_never_raises(payloads: list[str], profile: str) -> None:
    raw = "".join(
        f"event: {p[:10]}\ndata: {p.replace(chr(10), ' ').replace(chr(13), ' ')}\n\n"
        for p in payloads
    ).encode("utf-8", "replace")
    result = conformance.check_sse(raw, profile=profile, content_type="text/plain")
    assert isinstance(result.findings, list)


@FUZZ
@given(st.lists(json_values, max_size=10))
def test_arbitrary_json_values_into_feed_never_raise(values: list[Any]) -> None:
    checker = StreamChecker()
    for v in values:
        assert isinstance(checker.feed(v), list)
    _finish_ok(checker)


@FUZZ
@given(st.lists(event_like(), max_size=25), st.sampled_from(["openai", "openresponses", "lenient"]))
def test_event_like_dicts_into_feed_never_raise(events: list[dict[str, Any]], profile: str) -> None:
    checker = StreamChecker(profile=profile)
    for ev in events:
        assert isinstance(checker.feed(ev), list)
    _finish_ok(checker)


@FUZZ
@given(st.lists(event_like(), max_size=15), json_values)
def test_request_aware_checks_never_raise_on_odd_requests(
    events: list[dict[str, Any]], request: Any
) -> None:
    req = (
        request
        if isinstance(request, dict)
        else {
            "tools": request,
            "tool_choice": request,
            "max_output_tokens": request,
            "parallel_tool_calls": request,
        }
    )
    result = conformance.check_events(events, request=req)
    assert isinstance(result.findings, list)


@FUZZ
@given(json_values)
def test_check_response_on_arbitrary_bodies_never_raises(body: Any) -> None:
    result = conformance.check_response(body)
    assert isinstance(result.findings, list)
    if not isinstance(body, dict):
        assert not result.ok


@FUZZ
@given(st.data())
def test_corrupted_valid_stream_never_raises(data: Any) -> None:
    """A valid stream with random values put at random places (type confusion everywhere)."""
    events = _valid_events()
    n = data.draw(st.integers(1, 6))
    for _ in range(n):
        ev = events[data.draw(st.integers(0, len(events) - 1))]
        path_target: Any = ev
        # Walk down a few levels to a random container, then replace one of its values.
        for _depth in range(data.draw(st.integers(0, 3))):
            children = [
                v
                for v in (path_target.values() if isinstance(path_target, dict) else path_target)
                if isinstance(v, (dict, list)) and v
            ]
            if not children:
                break
            path_target = data.draw(st.sampled_from(children))
        if isinstance(path_target, dict) and path_target:
            key = data.draw(st.sampled_from(sorted(path_target)))
            path_target[key] = data.draw(field_values)
        elif isinstance(path_target, list) and path_target:
            path_target[data.draw(st.integers(0, len(path_target) - 1))] = data.draw(field_values)
    checker = StreamChecker()
    for ev in events:
        checker.feed(ev)
    _finish_ok(checker)


_VALID: list[str] = []


def _valid_events() -> list[dict[str, Any]]:
    if not _VALID:
        from conformance.fixture_corpus import load_fixtures

        fx = next(f for f in load_fixtures() if f.name == "positive/built/reasoning-summaries")
        parser = SSEParser()
        _VALID.extend(m.data for m in parser.feed(fx.body()) + parser.close())
    return [json.loads(d) for d in _VALID]
