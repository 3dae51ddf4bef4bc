"""framing.*: SSE-level defects, each alone in an otherwise valid stream."""

from __future__ import annotations

from conformance import check_sse
from conformance.checker import StreamChecker
from tests.conformance.streams import (
    assert_only,
    build_stream,
    index_of,
    message,
    to_sse,
    web_search_call,
)

EVENTS = build_stream(web_search_call(), message("Hello there"))
# An event whose loss changes nothing else: a hosted tool's progress event.
LOSABLE = index_of(EVENTS, "response.web_search_call.searching")
GOOD = to_sse(EVENTS)
N = len(EVENTS)


def _blocks(data: bytes) -> list[bytes]:
    return [b + b"\n\n" for b in data.split(b"\n\n") if b]


def _with_block(i: int, block: bytes) -> bytes:
    blocks = _blocks(GOOD)
    blocks[i] = block
    return b"".join(blocks)


def test_valid_stream_has_no_findings() -> None:
    assert_only(check_sse(GOOD, content_type="text/event-stream; charset=utf-8"))


def test_content_type() -> None:
    (f,) = assert_only(check_sse(GOOD, content_type="application/json"), "framing.content-type")
    assert f.severity == "error" and "application/json" in f.message
    assert_only(check_sse(GOOD, content_type=None))  # unknown header: not checked
    c = StreamChecker()
    assert [x.rule for x in c.feed_content_type(None)] == ["framing.content-type"]


def test_invalid_json() -> None:
    data = _with_block(LOSABLE, b"event: response.web_search_call.searching\ndata: {\"type\": oops\n\n")
    (f,) = assert_only(check_sse(data), "framing.invalid-json")
    assert f.event_index == LOSABLE and "oops" in (f.excerpt or "")
    # openai-python json-decodes every data line and raises (client oracle finding)
    assert f.breaks == ("openai-python (JSONDecodeError)",)


def test_invalid_json_inserted() -> None:
    blocks = _blocks(GOOD)
    blocks.insert(5, b"data: {\n\n")
    (f,) = assert_only(check_sse(b"".join(blocks)), "framing.invalid-json")
    assert f.event_index == 5


def test_not_an_event() -> None:
    for payload in (b"[1, 2]", b'{"no_type": 1}', b'{"type": 5}', b"null"):
        data = _with_block(LOSABLE, b"data: " + payload + b"\n\n")
        (f,) = assert_only(check_sse(data), "framing.not-an-event")
        assert f.event_index == LOSABLE


def test_event_name_mismatch() -> None:
    i = index_of(EVENTS, "response.output_text.delta")
    blocks = _blocks(GOOD)
    blocks[i] = blocks[i].replace(b"event: response.output_text.delta", b"event: response.text.delta", 1)
    (f,) = assert_only(check_sse(b"".join(blocks)), "framing.event-name-mismatch")
    assert f.event_index == i and f.output_index == 1 and f.content_index == 0


def test_missing_event_field_only_matters_for_openresponses() -> None:
    data = to_sse(EVENTS, event_field=False, done=True)
    assert_only(check_sse(data, profile="openai"), "framing.done-sentinel")
    r = check_sse(data, profile="openresponses")
    assert_only(r, "framing.event-name-mismatch")
    assert len(r.findings) == N


def test_unterminated() -> None:
    (f,) = assert_only(check_sse(GOOD[:-1]), "framing.unterminated")
    assert f.severity == "warning" and f.event_index == N - 1


def test_id_field_reported_once() -> None:
    blocks = [b"id: %d\n" % i + b for i, b in enumerate(_blocks(GOOD))]
    (f,) = assert_only(check_sse(b"".join(blocks)), "framing.id-field")
    assert f.severity == "info" and f.event_index == 0


def test_done_sentinel_by_profile() -> None:
    with_done = to_sse(EVENTS, done=True)
    (f,) = assert_only(check_sse(with_done), "framing.done-sentinel")
    assert f.severity == "info" and f.event_index == N
    assert_only(check_sse(with_done, profile="openresponses"))
    (f,) = assert_only(check_sse(GOOD, profile="openresponses"), "framing.done-sentinel")
    assert f.severity == "error"


def test_split_reads_and_crlf_are_not_violations() -> None:
    data = to_sse(EVENTS, crlf=True)
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    r = check_sse(chunks)
    assert_only(r)
    assert r.event_count == N
