"""conformance.sse edge cases found unpinned by `nox -s mutation` (docs/mutation.md)."""

from __future__ import annotations

from conformance.sse import SSEParser
from tests.conformance.test_sse_anomalies import BOM, kinds


def test_a_comment_line_hides_nothing_after_it() -> None:
    # openai-python dispatches the ping block as an event with no data, comment or not.
    assert kinds(b": c\nevent: ping\n\ndata: 1\n\n") == [("empty-event", 0, 0, ": c\nevent: ping", "event")]
    # Behind a BOM the first line is hidden from openai-python; a comment there is that line.
    assert [k[0] for k in kinds(BOM + b": c\nevent: ping\n\n")] == ["bom", "empty-event"]


def test_anomalies_of_a_block_with_bad_bytes_keep_their_offsets_in_any_read() -> None:
    data = b"data: 1\n\n" + b"data: 2\n\n" + b"event: p\n: \xff\n\n"
    expected = [("invalid-utf8", 29, 2, ": \ufffd", "\\xff"), ("empty-event", 18, 2, "event: p\n: \ufffd", "event")]
    for cut in range(len(data) + 1):
        assert kinds(data[:cut], data[cut:]) == expected, cut


def test_a_long_lines_excerpt_shows_forty_characters_before_the_bad_byte() -> None:
    for before in (44, 45, 500):
        (found,) = kinds(b"data: " + b"y" * before + b"\xff" + b"z" * 500 + b"\n\n")
        assert found[3] == "…" + "y" * 40 + "\ufffd" + "z" * 37 + "…", before
    # Within the first half of the excerpt the line is quoted from its start.
    (found,) = kinds(b"data: " + b"y" * 30 + b"\xff" + b"z" * 500 + b"\n\n")
    assert found[3] == "data: " + "y" * 30 + "\ufffd" + "z" * 42 + "…"


def test_blank_lines_after_a_block_with_bad_bytes_keep_their_offsets() -> None:
    # Once an id was seen every extra blank line is an empty event for openai-python; its
    # offset is counted past a character of two bytes and a U+FFFD that stands for two.
    data = b"id: 7\ndata: 1\n\n" + b"data: \xc3\xa9\xe2\x80\n\n\n" + b"data: 2\n\n"
    expected = [("invalid-utf8", 23, 1, "data: \xe9\ufffd", "\\xe2\\x80"), ("empty-event", 27, 2, "", "id:7")]
    for cut in range(len(data) + 1):
        assert kinds(data[:cut], data[cut:]) == expected, cut


def test_a_clean_block_read_with_a_bad_one_keeps_its_offsets() -> None:
    # A read holding bad bytes is cut block by block; the clean blocks before the bad one
    # report at their own offsets, wherever the read began.
    data = b"data: 1\n\n" + b"data: 2\n\n" + b"event: p\n\n" + b"data: \xff\n\n"
    expected = [("empty-event", 18, 2, "event: p", "event"), ("invalid-utf8", 34, 2, "data: \ufffd", "\\xff")]
    for cut in range(len(data) + 1):
        assert kinds(data[:cut], data[cut:]) == expected, cut


def test_position_bookkeeping_of_crlf_reads_stays_bounded() -> None:
    # Reads with CRs keep their raw bytes only while the buffer may point into them: memory
    # stays bounded by one message however long a CRLF stream runs (offsets past 256 too).
    parser = SSEParser()
    for i in range(400):
        assert len(parser.feed(b"data: %d\r\n\r\n" % i)) == 1
        assert len(parser._mods) <= 1, i


def test_offsets_after_many_crlfs_split_between_reads() -> None:
    # One-byte reads split every CRLF: each LF dropped at a read's start shifts what follows.
    data = b"id: 1\r\n\r\ndata: x\r\n\r\n\r\ndata: \xff\r\n\r\n"
    expected = [("empty-event", 0, 0, "id: 1", "id:1"), ("empty-event", 20, 1, "", "id:1"),
                ("invalid-utf8", 28, 1, "data: \ufffd", "\\xff")]
    assert kinds(data) == expected
    assert kinds(*[bytes([b]) for b in data]) == expected
