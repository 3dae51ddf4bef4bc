"""Example tests of conformance.sse: one per WHATWG event-stream parsing edge case."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.sse import SSEMessage, SSEParser


def parse(*chunks: bytes) -> list[SSEMessage]:
    parser = SSEParser()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    return out


def datas(*chunks: bytes) -> list[str]:
    return [m.data for m in parse(*chunks)]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(eol: bytes) -> None:
    stream = eol.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    msgs = parse(stream)
    assert [(m.event, m.data, m.terminated) for m in msgs] == [
        ("a", "1", True),
        (None, "2\n3", True),
    ]
    assert [m.index for m in msgs] == [0, 1]


def test_mixed_line_endings_in_one_stream() -> None:
    assert datas(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r") == ["a\nb\nc", "d"]


def test_cr_then_lf_across_reads_is_one_line_end() -> None:
    # Were the split CRLF counted twice, the blank line would dispatch "a" on its own.
    assert datas(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]


def test_cr_then_lf_in_later_chunk_after_empty_chunks() -> None:
    assert datas(b"data: a\r", b"", b"\n", b"\r\n") == ["a"]


def test_two_crs_are_two_line_ends() -> None:
    assert datas(b"data: a\r\rdata: b\r\r") == ["a", "b"]


def test_leading_bom_is_dropped() -> None:
    msgs = parse(b"\xef\xbb\xbfevent: x\ndata: 1\n\n")
    assert [(m.event, m.data) for m in msgs] == [("x", "1")]


def test_bom_split_across_reads() -> None:
    msgs = parse(b"\xef", b"\xbb", b"\xbfdata: 1\n\n")
    assert [m.data for m in msgs] == ["1"]


def test_bom_only_at_start() -> None:
    # A second BOM is part of the field name, which then matches no field and is ignored.
    assert datas(b"\xef\xbb\xbf\xef\xbb\xbfdata: 1\n\ndata: 2\n\n") == ["2"]


def test_partial_bom_is_invalid_utf8_not_an_error() -> None:
    assert parse(b"\xef\xbb") == []
    # "\xef" then "data" is no BOM: the first field name starts with U+FFFD and is ignored.
    assert datas(b"\xef", b"data: x\n\ndata: y\n\n") == ["y"]


def test_comment_lines_ignored() -> None:
    assert datas(b": keep-alive\n:\ndata: x\n: mid\ndata: y\n\n: trailing\n\n") == ["x\ny"]


def test_comment_only_block_dispatches_nothing() -> None:
    assert parse(b": ping\n\n: ping\n\n") == []


def test_only_one_leading_space_stripped() -> None:
    assert datas(b"data:x\n\ndata:  x\n\ndata: \n\n") == ["x", " x", ""]


def test_field_without_colon() -> None:
    # `data` alone is an empty data line; the buffer is "\n", so the message is dispatched.
    assert datas(b"data\n\n") == [""]
    assert datas(b"data\ndata\n\n") == ["\n"]
    msgs = parse(b"event\ndata: 1\n\n")
    assert msgs[0].event == ""


def test_colon_inside_value_kept() -> None:
    assert datas(b'data: {"a": "b:c"}\n\n') == ['{"a": "b:c"}']


def test_event_without_data_not_dispatched_and_type_resets() -> None:
    msgs = parse(b"event: lonely\n\ndata: x\n\n")
    assert [(m.event, m.data) for m in msgs] == [(None, "x")]


def test_event_field_last_one_wins() -> None:
    assert parse(b"event: a\nevent: b\ndata: x\n\n")[0].event == "b"


def test_field_names_are_case_sensitive_and_unknown_ignored() -> None:
    assert datas(b"Data: no\nfoo: bar\ndata: yes\n\n") == ["yes"]


def test_retry_digits_only() -> None:
    msgs = parse(b"retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry:\ndata: c\n\n")
    assert [m.retry for m in msgs] == [1500, None, None]


def test_retry_only_block_sets_reconnection_time_without_dispatch() -> None:
    parser = SSEParser()
    assert parser.feed(b"retry: 3000\n\n") == []
    assert parser.reconnection_time == 3000


def test_id_field() -> None:
    parser = SSEParser()
    msgs = parser.feed(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [m.id for m in msgs] == ["7", None, ""]
    # The spec's last event id persists across messages; `msg.id` only says the field was used.
    assert parser.last_event_id == ""


def test_id_with_nul_ignored() -> None:
    msgs = parse(b"id: a\x00b\ndata: x\n\n")
    assert msgs[0].id is None


def test_utf8_split_across_reads() -> None:
    raw = 'data: {"t":"héllo ✓ 𝄞"}\n\n'.encode()
    msgs = parse(*(raw[i : i + 1] for i in range(len(raw))))
    assert msgs[0].data == '{"t":"héllo ✓ 𝄞"}'


def test_invalid_utf8_becomes_replacement_chars() -> None:
    msgs = parse(b"event: \xff\ndata: a\xe2\x82\ndata: \xc3\n\n")
    assert msgs[0].event == "\ufffd"
    assert msgs[0].data == "a\ufffd\n\ufffd"


def test_unterminated_last_message_flushed_at_close() -> None:
    msgs = parse(b"data: a\n\ndata: b")
    assert [(m.data, m.terminated) for m in msgs] == [("a", True), ("b", False)]
    msgs = parse(b"data: a\n\ndata: b\n")
    assert [(m.data, m.terminated) for m in msgs] == [("a", True), ("b", False)]
    msgs = parse(b"data: a\r\n\r\ndata: b\r")
    assert [(m.data, m.terminated) for m in msgs] == [("a", True), ("b", False)]


def test_close_without_pending_data() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\nevent: x\n") != []
    assert parser.close() == []
    assert parser.close() == []  # idempotent


def test_feed_after_close_is_a_programming_error() -> None:
    parser = SSEParser()
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed(b"data: x\n\n")


def test_done_sentinel() -> None:
    msgs = parse(b'data: {"type":"x"}\n\ndata: [DONE]\n\n')
    assert [m.is_done for m in msgs] == [False, True]
    assert not parse(b"data:  [DONE]\n\n")[0].is_done


def test_accepts_bytearray_and_memoryview() -> None:
    parser = SSEParser()
    out = parser.feed(bytearray(b"data: a\n\n")) + parser.feed(memoryview(b"data: b\n\n"))
    assert [m.data for m in out] == ["a", "b"]


def test_only_completed_messages_returned_per_feed() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\ndata: b\n") == [SSEMessage(0, None, "a")]
    assert parser.feed(b"\n") == [SSEMessage(1, None, "b")]


class ScannedBuffer(bytearray):
    """The parser's buffer, counting the bytes its searches and strips examine: linear parsing
    examines each received byte a bounded number of times, however the stream is cut."""

    scanned = 0

    def find(self, sub: Any, start: Any = None, *rest: Any) -> int:
        self.scanned += len(self) - (start or 0)
        return super().find(sub, *(() if start is None else (start,)), *rest)

    def rfind(self, sub: Any, start: Any = None, *rest: Any) -> int:
        self.scanned += len(self) - (start or 0)
        return super().rfind(sub, *(() if start is None else (start,)), *rest)

    def lstrip(self, chars: Any = None) -> bytearray:
        self.scanned += len(self)
        return super().lstrip(chars)


def scanned_parser() -> tuple[SSEParser, ScannedBuffer]:
    parser = SSEParser()
    buf = parser._buf = ScannedBuffer()
    return parser, buf


def test_one_byte_chunks_of_a_megabyte_are_linear() -> None:
    line = (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"'
        + b"x" * 60
        + b'"}\n\n'
    )
    stream = line * (1_000_000 // len(line))
    parser, buf = scanned_parser()
    feed = parser.feed
    start = time.perf_counter()
    count = 0
    for i in range(len(stream)):
        count += len(feed(stream[i : i + 1]))
    print(f"1 MB in one-byte reads: {time.perf_counter() - start:.2f} s")
    assert count == 1_000_000 // len(line)
    # Each byte is searched about twice (on arrival, and with the block it ends); a parser that
    # kept consumed bytes or searched from the start of the stream would examine ~N²/2 bytes.
    assert parser._buf is buf and 0 < buf.scanned <= 4 * len(stream), buf.scanned


def test_long_line_in_small_chunks_is_not_rescanned() -> None:
    # One 4 MB data line in 1 KB reads: searching the whole line on every read would examine
    # ~8 GB (4000 reads x 2 MB on average); a linear parser examines each byte about twice.
    body = b"data: " + b"y" * 4_000_000 + b"\n\n"
    parser, buf = scanned_parser()
    start = time.perf_counter()
    out: list[SSEMessage] = []
    for i in range(0, len(body), 1024):
        out.extend(parser.feed(body[i : i + 1024]))
    print(f"4 MB line in 1 KB reads: {time.perf_counter() - start:.2f} s")
    assert len(out) == 1 and len(out[0].data) == 4_000_000
    assert parser._buf is buf and 0 < buf.scanned <= 4 * len(body), buf.scanned
