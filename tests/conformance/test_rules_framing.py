"""framing.*: SSE-level defects, each alone in an otherwise valid stream."""

from __future__ import annotations

from conformance import check_sse
from conformance.checker import StreamChecker
from conformance.testing import (
    assert_only,
    build_stream,
    index_of,
    message,
    rules_found,
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
    data = to_sse(EVENTS, newline="\r\n")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    r = check_sse(chunks)
    assert_only(r)
    assert r.event_count == N


# -- valid SSE openai-python's own decoder misreads: the parser's anomalies --------------------------
def _insert(i: int, block: bytes) -> bytes:
    blocks = _blocks(GOOD)
    blocks.insert(i, block)
    return b"".join(blocks)


def test_empty_event_for_a_dataless_block() -> None:
    data = _insert(4, b"event: ping\n\n")
    (f,) = assert_only(check_sse(data), "framing.empty-event")
    assert f.severity == "error" and f.event_index == 4 and f.excerpt == "event: ping"
    assert f"at byte {data.index(b'event: ping')}, after event 3" in f.message
    assert "`event:` field" in f.message and "JSONDecodeError" in f.message
    assert f.breaks and f.breaks[0].startswith("openai-python")


def test_empty_event_before_the_first_event_and_at_the_end() -> None:
    r = check_sse(b"retry: 10\n\n" + GOOD + b"event: ping\n\n")
    found = assert_only(r, "framing.empty-event")
    assert [f.event_index for f in found] == [0, N]
    assert "before the first event" in found[0].message and "`retry:` field" in found[0].message
    assert f"after event {N - 1}" in found[1].message


def test_empty_event_for_every_blank_line_once_an_id_was_seen() -> None:
    blocks = _blocks(GOOD)
    blocks[2] = b"id: 42\n" + blocks[2]
    blocks[5] = blocks[5] + b"\n"  # an extra blank line
    blocks.insert(7, b": keep-alive\n\n")  # a comment-only block
    data = b"".join(blocks)
    r = check_sse(data)
    found = assert_only(r, "framing.empty-event", "framing.id-field")
    assert [f.event_index for f in found] == [6, 7]
    assert "extra blank line" in found[0].message and "'42'" in found[0].message
    assert f"at byte {data.index(blocks[5]) + len(blocks[5]) - 1}," in found[0].message
    assert "': keep-alive'" in found[1].message and "`id:` field was seen before" in found[1].message
    # Without the id, the same blank line and keep-alive are harmless.
    blocks[2] = _blocks(GOOD)[2]
    assert_only(check_sse(b"".join(blocks)))


def test_harmless_dataless_blocks_are_not_reported() -> None:
    for block in (b": keep-alive\n\n", b"event:\n\n", b"retry: soon\n\n", b"x-vendor: 1\n\n", b"id:\n: ka\n\n"):
        assert_only(check_sse(_insert(3, block)))


def test_bom() -> None:
    no_event_lines = to_sse(EVENTS, event_field=False)
    (f,) = assert_only(check_sse(b"\xef\xbb\xbf" + no_event_lines), "framing.bom")
    assert f.severity == "warning" and f.event_index == 0
    assert "'\\ufeffdata'" in f.message and "never sees the first event" in f.message
    (f,) = assert_only(check_sse(b"\xef\xbb\xbf" + GOOD), "framing.bom")
    assert "'\\ufeffevent'" in f.message and "harmless" in f.message
    # Split across reads, and with CRLF: the same finding.
    crlf = b"\xef\xbb\xbf" + to_sse(EVENTS, newline="\r\n")
    (g,) = assert_only(check_sse([crlf[:1], crlf[1:2], crlf[2:5], crlf[5:]]), "framing.bom")
    assert g.message == f.message


def test_bom_hides_a_retry_line_from_openai_python() -> None:
    # openai-python reads "\ufeffretry: 5" as an unknown field: no empty event follows.
    (f,) = assert_only(check_sse(b"\xef\xbb\xbfretry: 5\n\n" + GOOD), "framing.bom")
    assert "`retry:` field is lost" in f.message


def test_invalid_utf8() -> None:
    i = index_of(EVENTS, "response.output_text.delta")
    blocks = _blocks(GOOD)
    blocks[i] = blocks[i].replace(b'"delta":"', b'"delta":"\xff', 1)  # the delta gains U+FFFD...
    blocks = [b.replace(b"Hello", b"\xffHello", 1) if k > i else b for k, b in enumerate(blocks)]  # ...and so does the rest
    data = b"".join(blocks)
    r = check_sse(data)
    found = assert_only(r, "framing.invalid-utf8")
    assert found[0].severity == "error" and found[0].event_index == i
    at = data.index(b"\xff")
    assert f"(\\xff) at byte {at}, in event {i}" in found[0].message
    assert "UnicodeDecodeError" in found[0].message and "\ufffd" in (found[0].excerpt or "")
    assert len(found) == r.counts_by_rule["framing.invalid-utf8"] >= 4  # once per block holding bad bytes


def test_invalid_utf8_outside_any_event_and_at_the_cut() -> None:
    (f,) = assert_only(check_sse(_insert(2, b": \xe2\x82 keep-alive\n\n")), "framing.invalid-utf8")
    assert f.event_index == 2 and "(\\xe2\\x82)" in f.message and "after event 1" in f.message
    # A stream cut inside a character: the unterminated last line still holds bad bytes.
    r = check_sse(GOOD + b"data: {\"x\":\"\xc3")
    assert rules_found(r) >= {"framing.invalid-utf8", "framing.unterminated"}
    assert next(f for f in r.findings if f.rule == "framing.invalid-utf8").event_index == N


def test_anomalies_are_judged_in_stream_order_between_messages() -> None:
    from conformance.sse import SSEParser

    data = _insert(3, b"event: ping\n\n")
    checker = StreamChecker()
    parser = SSEParser()
    batch = parser.feed(data)
    assert [a.kind for a in parser.anomalies] == ["empty-event"]
    checker.feed_messages(batch, parser.anomalies)
    checker.feed_messages(parser.close(), parser.anomalies)
    r = checker.finish()
    assert [f.rule for f in r.findings] == ["framing.empty-event"] and r.event_count == N
    # Same verdict whatever the read size.
    for size in (1, 7, 300):
        chunks = [data[k : k + size] for k in range(0, len(data), size)]
        assert [(f.rule, f.event_index, f.message) for f in check_sse(chunks).findings] == [
            (f.rule, f.event_index, f.message) for f in r.findings
        ]
