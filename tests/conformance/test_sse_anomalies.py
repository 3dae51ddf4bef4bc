"""conformance.sse anomalies: valid SSE that openai-python's decoder reads differently.

Examples per kind, then properties: openai-python 3.54's own `SSEDecoder` run on generated
streams must dispatch exactly our messages plus one empty event per "empty-event" anomaly, it
must raise on bytes that are not UTF-8 exactly when we report them (at the same offset), and
no read size may change messages, anomalies or offsets.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.sse import SSEAnomaly, SSEMessage, SSEParser

BOM = b"\xef\xbb\xbf"
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(*chunks: bytes) -> tuple[list[SSEMessage], list[SSEAnomaly]]:
    parser = SSEParser()
    msgs: list[SSEMessage] = []
    found: list[SSEAnomaly] = []
    for c in [*chunks, None]:
        msgs += parser.feed(c) if c is not None else parser.close()
        found += parser.anomalies
    return msgs, found


def kinds(*chunks: bytes) -> list[tuple[str, int, int, str, str]]:
    return [(a.kind, a.offset, a.index, a.text, a.detail) for a in parse(*chunks)[1]]


# -- examples ---------------------------------------------------------------------------------


def test_plain_streams_have_no_anomalies_and_plain_lists() -> None:
    parser = SSEParser()
    out = parser.feed(b"event: a\ndata: 1\n\n: keep-alive\n\nid: 3\ndata: 2\n\n")
    assert type(out) is list and len(out) == 2 and parser.anomalies == ()
    assert type(parser.close()) is list and parser.anomalies == ()


def test_anomalies_are_typed_events_of_the_read_that_found_them() -> None:
    parser = SSEParser()
    batch = parser.feed(b"data: 1\n\nevent: ping\n\ndata: 2\n\n")
    assert type(batch) is list and [m.data for m in batch] == ["1", "2"]
    assert parser.anomalies == (SSEAnomaly("empty-event", 9, 1, "event: ping", "event"),)
    assert parser.feed(b"data: 3\n\n") == [SSEMessage(2, None, "3")]
    assert parser.anomalies == ()  # reported once: kept for one read only
    parser.feed(b"data: \xff")  # unterminated: found when close() flushes it
    assert parser.anomalies == ()
    assert [m.terminated for m in parser.close()] == [False]
    assert [a.kind for a in parser.anomalies] == ["invalid-utf8"]


@pytest.mark.parametrize(
    ("block", "why"),
    [(b"event: ping", "event"), (b"retry: 1000", "retry"), (b"retry: +5", "retry"), (b"event: a\nretry:  7", "event")],
)
def test_dataless_block_openai_python_dispatches(block: bytes, why: str) -> None:
    msgs, found = parse(b"data: 1\n\n" + block + b"\n\ndata: 2\n\n")
    assert [m.data for m in msgs] == ["1", "2"]  # WHATWG: nothing dispatched, as before
    assert [(a.kind, a.offset, a.index, a.detail) for a in found] == [("empty-event", 9, 1, why)]


@pytest.mark.parametrize("block", [b": ping", b"event:", b"event: a\nevent:", b"retry: soon", b"retry:", b"foo: bar", b"id:", b"id: a\x00b"])
def test_dataless_block_openai_python_ignores(block: bytes) -> None:
    assert kinds(b"data: 1\n\n" + block + b"\n\n\n\ndata: 2\n\n") == []


def test_every_blank_line_after_an_id() -> None:
    found = kinds(b"data: 0\n\nid: 7\ndata: 1\n\n\n: keep-alive\n\ndata: 2\n\n\n")
    assert found == [
        ("empty-event", 24, 2, "", "id:7"),  # the extra blank line after event 1
        ("empty-event", 25, 2, ": keep-alive", "id:7"),
        ("empty-event", 48, 3, "", "id:7"),
    ]
    # An empty id clears it (openai-python's check is truthiness).
    assert kinds(b"id: 7\ndata: 1\n\nid:\ndata: 2\n\n\n: ka\n\n") == []


def test_blank_lines_after_an_id_split_across_reads() -> None:
    data = b"id: 7\r\ndata: 1\r\n\r\n\r\n\r\n"
    whole = kinds(data)
    assert [(k, off) for k, off, *_ in whole] == [("empty-event", 18), ("empty-event", 20)]
    assert kinds(*(data[i : i + 1] for i in range(len(data)))) == whole


def test_bom_reports_the_first_line() -> None:
    assert kinds(BOM + b"data: {}\n\n") == [("bom", 0, 0, "data: {}", "")]
    assert kinds(BOM + b"event: x\r\ndata: {}\r\n\r\n") == [("bom", 0, 0, "event: x", "")]
    assert kinds(BOM + b"\ndata: {}\n\n") == [("bom", 0, 0, "", "")]
    assert kinds(BOM[:1], BOM[1:], b"data", b": {}\n\n") == [("bom", 0, 0, "data: {}", "")]
    assert kinds(BOM + b"data: unterminated") == [("bom", 0, 0, "data: unterminated", "")]
    long_line = b"data: " + b"x" * 1000
    (a,) = parse(BOM + long_line + b"\n\n")[1]
    assert len(a.text) == 80 and a.text.endswith("…")


def test_bom_hides_the_first_line_from_openai_python() -> None:
    # "\ufeffretry: 5" is an unknown field to openai-python: nothing to dispatch there...
    assert [a.kind for a in parse(BOM + b"retry: 5\n\ndata: 1\n\n")[1]] == ["bom"]
    # ...and a hidden id does not make it dispatch on blank lines.
    assert [a.kind for a in parse(BOM + b"id: 5\ndata: 1\n\n\n")[1]] == ["bom"]
    # The BOM alone on its line hides nothing: the retry block after it is dispatched.
    assert [a.kind for a in parse(BOM + b"\nretry: 5\n\n")[1]] == ["bom", "empty-event"]


def test_invalid_utf8_in_a_message_and_outside() -> None:
    msgs, found = parse(b'data: {"a":"x\xffy"}\n\n: \xe2\x82\n\ndata: 2\n\n')
    assert [m.data for m in msgs] == ['{"a":"x\ufffdy"}', "2"]  # WHATWG replacement, as before
    assert [(a.kind, a.offset, a.index, a.detail, a.in_message) for a in found] == [
        ("invalid-utf8", 13, 0, "\\xff", True),
        ("invalid-utf8", 21, 1, "\\xe2\\x82", False),
    ]
    assert found[0].text == 'data: {"a":"x\ufffdy"}'


def test_invalid_utf8_once_per_block_and_in_the_unterminated_rest() -> None:
    head = b"data: \xff\xff\ndata: \xc3\n\ndata: "
    found = parse(head + b"\xff")[1]
    assert [(a.offset, a.index, a.in_message) for a in found] == [(6, 0, True), (len(head), 1, True)]
    # A stream cut inside a BOM is not a BOM but bad bytes.
    assert kinds(BOM[:2]) == [("invalid-utf8", 0, 0, "\ufffd", "\\xef\\xbb")]


def test_long_line_excerpt_keeps_the_bad_byte_in_view() -> None:
    (a,) = parse(b"data: " + b"y" * 500 + b"\xff" + b"z" * 500 + b"\n\n")[1]
    assert a.offset == 506 and "\ufffd" in a.text and a.text.startswith("…") and len(a.text) <= 80


def test_offsets_count_received_bytes_with_cr_line_ends() -> None:
    for eol in (b"\r\n", b"\r"):
        data = BOM + eol.join([b"data: 1", b"", b"event: ping", b"", b": \xff", b"", b""])
        found = parse(data)[1]
        assert [a.kind for a in found] == ["bom", "empty-event", "invalid-utf8"]
        assert data[found[1].offset :].startswith(b"event: ping")
        assert data[found[2].offset :].startswith(b"\xff")


# -- properties -------------------------------------------------------------------------------

LINES = [
    "data: x", 'data: {"a":1}', "data", "data:", "data: é✓𝄞", "event: e", "event:", "event: ü", "id: 1", "id:",
    "id: a\x00b", "retry: 10", "retry: x", "retry: +5", "retry: 1_0", ": c", ":", "foo: bar", "", "", "",
]
EOLS = st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=1, max_size=3)
BAD = [b"\xff", b"\xe2\x82", b"\xc3", b"\xef\xbb", b"\xed\xa0\x80"]


def build(lines: list[str], eols: list[bytes], bom: bool = False) -> bytes:
    body = b"".join(line.encode() + eols[i % len(eols)] for i, line in enumerate(lines))
    return (BOM if bom else b"") + body


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def openai_datas(chunks: list[bytes]) -> list[str]:
    decoder = pytest.importorskip("openai._streaming").SSEDecoder()
    return [sse.data for sse in decoder.iter_bytes(iter(chunks))]


def predicted(msgs: list[SSEMessage], found: list[SSEAnomaly]) -> list[str]:
    """What openai-python should dispatch: our terminated messages, plus '' per empty-event."""
    empty = [a.index for a in found if a.kind == "empty-event"]
    out: list[str] = []
    for m in msgs:
        if m.terminated:  # openai-python drops a last event without its blank line
            out += [""] * sum(1 for i in empty if i == m.index)
            out.append(m.data)
    return out + [""] * sum(1 for i in empty if i >= len(msgs) or not msgs[i].terminated)


@SETTINGS
@given(lines=st.lists(st.sampled_from(LINES), max_size=30), eols=EOLS, bom=st.booleans(),
       cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_openai_python_dispatches_our_messages_plus_the_empty_events(
    lines: list[str], eols: list[bytes], bom: bool, cuts: list[int]
) -> None:
    data = build(lines, eols, bom)
    chunks = split_at(data, cuts)
    msgs, found = parse(*chunks)
    assert (msgs, found) == parse(data)
    if bom and lines and lines[0].startswith("data"):
        # openai-python loses that data line: what the "bom" anomaly says.
        assert found[0].kind == "bom" and found[0].text.startswith("data")
        return
    assert openai_datas(chunks) == predicted(msgs, found)
    for a in found:
        if a.kind == "empty-event":  # the offset points at the block, or at a blank line
            assert data[a.offset :].startswith(a.text.split("\n")[0].encode()) if a.text else data[a.offset] in b"\r\n"


@SETTINGS
@given(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=20), eols=EOLS, bom=st.booleans(),
       bad=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(BAD)), max_size=3),
       cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_invalid_utf8_reported_exactly_when_openai_python_raises(
    lines: list[str], eols: list[bytes], bom: bool, bad: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    data = build(lines, eols, bom)
    for pos, seq in bad:
        pos %= len(data) + 1
        data = data[:pos] + seq + data[pos:]
    chunks = split_at(data, cuts)
    msgs, found = parse(*chunks)
    assert (msgs, found) == parse(data)
    invalid = [a for a in found if a.kind == "invalid-utf8"]
    try:
        openai_datas(chunks)
        raised = False
    except UnicodeDecodeError:
        raised = True
    try:
        data.decode("utf-8")
        first = None
    except UnicodeDecodeError as e:
        first = e.start
    assert raised is bool(invalid) is (first is not None)
    if invalid:
        assert invalid[0].offset == first
    assert [a.index for a in found] == sorted(a.index for a in found)  # stream order


def test_one_byte_reads_of_a_megabyte_with_anomalies_stay_linear() -> None:
    import time

    from tests.conformance.test_sse import scanned_parser

    block = b"id: 1\ndata: " + b"x" * 60 + b"\n\n: keep-alive\n\n"
    stream = block * (1_000_000 // len(block))
    parser, buf = scanned_parser()
    start = time.perf_counter()
    found = 0
    for i in range(len(stream)):
        parser.feed(stream[i : i + 1])
        found += len(parser.anomalies)
    print(f"1 MB with anomalies in one-byte reads: {time.perf_counter() - start:.2f} s")
    assert found == len(stream) // len(block)
    assert parser._buf is buf and 0 < buf.scanned <= 4 * len(stream), buf.scanned
