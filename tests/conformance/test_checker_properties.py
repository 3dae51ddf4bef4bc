"""Property tests: the checker never raises, whatever arrives and in whatever order, and its
delta fast path never changes a verdict."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import check_sse
from conformance.checker import StreamChecker
from conformance.state import SUB_EVENTS
from conformance.testing import (
    build_stream,
    code_interpreter_call,
    custom_tool_call,
    function_call,
    message,
    reasoning,
    refusal,
    web_search_call,
)

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
# orjson (hence to_sse) encodes 64-bit integers only
json64 = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
KEYS = ["type", "sequence_number", "output_index", "content_index", "summary_index", "item_id", "delta", "text", "item", "part", "response", "arguments"]
event_types = st.sampled_from([*SUB_EVENTS, "response.created", "response.in_progress", "response.completed", "response.failed", "response.output_item.added", "response.output_item.done", "error", "acme.x"])
eventish = st.builds(
    lambda t, kv: {"type": t, **kv},
    event_types,
    st.dictionaries(st.sampled_from(KEYS[1:]), json_values | st.integers(0, 3), max_size=6),
)

BASE = build_stream(
    reasoning(["think"], text=["raw"]),
    message("hello there world"),
    function_call(),
    custom_tool_call(),
    web_search_call(),
    code_interpreter_call(),
    refusal(),
)


def _run(events, fast: bool = True, profile: str = "openai"):
    c = StreamChecker(profile, request={"tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}], "tool_choice": "required", "parallel_tool_calls": False, "max_output_tokens": 16, "model": "m"}, fast_path=fast)
    for ev in events:
        c.feed(ev)
    return c.finish()


@SETTINGS
@given(st.lists(json_values | eventish, max_size=25), st.sampled_from(["openai", "openresponses", "lenient"]))
def test_arbitrary_json_never_raises(values, profile) -> None:
    r = _run(values, profile=profile)
    assert r.event_count == len(values)
    for f in r.findings:
        assert f.severity in ("error", "warning", "info") and f.rule and f.message


@SETTINGS
@given(st.data())
def test_any_order_never_raises_and_fast_path_agrees(data) -> None:
    evs = copy.deepcopy(BASE)
    ops = data.draw(st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "move", "poke"]), st.integers(0, 10**6), st.integers(0, 10**6)), max_size=6))
    for op, a, b in ops:
        i, j = a % len(evs), b % len(evs)
        if op == "drop" and len(evs) > 1:
            del evs[i]
        elif op == "dup":
            evs.insert(j, copy.deepcopy(evs[i]))
        elif op == "swap":
            evs[i], evs[j] = evs[j], evs[i]
        elif op == "move":
            evs.insert(j, evs.pop(i))
        elif op == "poke":
            key = KEYS[b % len(KEYS)]
            evs[i] = dict(evs[i], **{key: data.draw(json_values | st.integers(0, 3))})
    fast = _run(copy.deepcopy(evs), fast=True)
    slow = _run(copy.deepcopy(evs), fast=False)
    assert [f.to_dict() for f in fast.findings] == [f.to_dict() for f in slow.findings]


@SETTINGS
@given(st.binary(max_size=300), st.integers(1, 50))
def test_arbitrary_bytes_never_raise(blob, size) -> None:
    chunks = [blob[i : i + size] for i in range(0, len(blob), size)]
    r = check_sse(chunks, content_type="text/plain")
    assert "framing.content-type" in {f.rule for f in r.findings}


def _sse_variants(data: bytes):
    """Findings of one SSE body through the three paths: check_sse (batched tight loop),
    feed_message one by one, and feed_message with the fast path off."""
    from conformance.sse import SSEParser

    p = SSEParser()
    msgs = p.feed(data) + p.close()
    out = [[f.to_dict() for f in check_sse(data).findings]]
    for fast in (True, False):
        c = StreamChecker(fast_path=fast)
        for m in msgs:
            c.feed_message(m)
        out.append([f.to_dict() for f in c.finish().findings])
    return out


@SETTINGS
@given(st.data())
def test_sse_paths_agree_on_mutated_streams(data) -> None:
    from conformance.testing import to_sse

    evs = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(0, 4))):
        i = data.draw(st.integers(0, len(evs) - 1))
        key = data.draw(st.sampled_from(KEYS))
        evs[i] = dict(evs[i], **{key: data.draw(json64 | st.integers(0, 3))})
    raw = to_sse(evs)
    blocks = raw.split(b"\n\n")
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(blocks) - 1))
        blocks[i] = data.draw(st.sampled_from([b"id: 1\n", b": ping\n", b"event: x\n", b""])) + blocks[i]
    raw = b"\n\n".join(blocks)
    a, b, c = _sse_variants(raw)
    assert a == b == c


def test_batched_loop_takes_the_fast_way() -> None:
    from conformance.sse import SSEParser
    from conformance.testing import to_sse

    data = to_sse(build_stream(message("x" * 3000, chunks=["x"] * 3000)))
    p = SSEParser()
    msgs = p.feed(data) + p.close()
    c = StreamChecker()
    calls = []
    real = c.feed_message
    c.feed_message = lambda m: calls.append(m) or real(m)  # type: ignore[method-assign]
    assert c.feed_messages(msgs) == []
    assert len(calls) < 20 and c.finish().ok and c.state.n_events == len(msgs)
