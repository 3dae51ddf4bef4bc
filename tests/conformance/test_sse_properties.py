"""Property tests of conformance.sse: chunking never changes the result; arbitrary bytes never raise.

Generated streams come from a model (messages → bytes with random line ends, BOM, comments,
unknown fields), so the parser is compared with the model, not only with itself.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.resources import fixtures_dir
from conformance.sse import SSEMessage, SSEParser
from tests.paths import SEED


def _fixture_files() -> list[Path]:
    try:
        found = sorted(fixtures_dir().rglob("*.sse"))
    except FileNotFoundError:
        found = []
    if not found and SEED.is_dir():
        found = sorted(SEED.glob("*.sse"))
    return found


FIXTURES = _fixture_files()
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_chunks(chunks: list[bytes]) -> list[SSEMessage]:
    parser = SSEParser()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


# -- real streams ---------------------------------------------------------------------------


def test_fixture_corpus_found() -> None:
    assert FIXTURES, "no .sse fixtures found (fixtures/ and the seed folder are both empty)"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_one_byte_reads_equal_one_read(path: Path) -> None:
    data = path.read_bytes()
    whole = parse_chunks([data])
    assert whole, "a fixture stream yields messages"
    step = 1 if len(data) <= 256_000 else 7
    assert parse_chunks([data[i : i + step] for i in range(0, len(data), step)]) == whole


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=0), max_size=60), crlf=st.booleans())
def test_fixture_any_chunking_equals_one_read(path: Path, cuts: list[int], crlf: bool) -> None:
    data = path.read_bytes()
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert parse_chunks(split_at(data, cuts)) == parse_chunks([data])


# -- generated streams ----------------------------------------------------------------------

# Field values: no line breaks (they would end the line), any other unicode, NUL excluded from ids.
_value = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12
)
_id_value = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=8
)
_eol = st.sampled_from([b"\n", b"\r\n", b"\r"])


@dataclass
class Block:
    data: list[str]
    event: str | None
    id: str | None
    retry: int | None
    comments: list[str]
    unknown: bool


_block = st.builds(
    Block,
    data=st.lists(_value, max_size=4),
    event=st.none() | _value,
    id=st.none() | _id_value,
    retry=st.none() | st.integers(min_value=0, max_value=10**9),
    comments=st.lists(_value, max_size=2),
    unknown=st.booleans(),
)


def _field(name: str, value: str, tight: bool) -> bytes:
    # "name:value" only when that cannot strip a space that belongs to the value.
    sep = ":" if tight and not value.startswith(" ") else ": "
    return f"{name}{sep}{value}".encode()


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[SSEMessage]]:
    blocks = draw(st.lists(_block, max_size=8))
    bom = draw(st.booleans())
    terminate_last = draw(st.booleans())
    out = bytearray(b"\xef\xbb\xbf" if bom else b"")
    expected: list[SSEMessage] = []
    for n, block in enumerate(blocks):
        lines: list[bytes] = [b":" + c.encode() for c in block.comments]
        if block.event is not None:
            lines.append(_field("event", block.event, draw(st.booleans())))
        if block.id is not None:
            lines.append(_field("id", block.id, draw(st.booleans())))
        if block.retry is not None:
            lines.append(f"retry: {block.retry}".encode())
        if block.unknown:
            lines.append(b"x-vendor: ignored")
        # Shuffle the other fields among the data lines: the spec does not care about field
        # order, so neither may the parser (data lines keep their relative order).
        lines = list(draw(st.permutations(lines)))
        floor = 0
        for value in block.data:
            bare = value == "" and draw(st.booleans())
            line = b"data" if bare else _field("data", value, draw(st.booleans()))
            floor = draw(st.integers(min_value=floor, max_value=len(lines)))
            lines.insert(floor, line)
            floor += 1  # the next data line goes after this one
        last = n == len(blocks) - 1
        ends = [draw(_eol) for _ in range(len(lines) + (not last or terminate_last))]
        for i in range(len(ends)):
            before = ends[i - 1] if i else (out[-1:] if not lines else b"")
            if before == b"\r" and ends[i].startswith(b"\n"):
                ends[i] = b"\r"  # CR then LF would be one line end (CRLF), not two
        for line, end in zip(lines, ends, strict=False):
            out += line + end
        if len(ends) > len(lines):
            out += ends[-1]
        if block.data:
            expected.append(
                SSEMessage(
                    index=len(expected),
                    event=block.event,
                    data="\n".join(block.data),
                    id=block.id,
                    retry=block.retry,
                    terminated=not last or terminate_last,
                )
            )
    # A stream ending in CR followed by nothing is still one line end; nothing to add.
    return bytes(out), expected


@SETTINGS
@given(stream=streams(), cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_generated_stream_matches_model_under_any_chunking(
    stream: tuple[bytes, list[SSEMessage]], cuts: list[int]
) -> None:
    data, expected = stream
    assert parse_chunks([data]) == expected
    assert parse_chunks(split_at(data, cuts)) == expected


@SETTINGS
@given(stream=streams())
def test_generated_stream_one_byte_reads(stream: tuple[bytes, list[SSEMessage]]) -> None:
    data, expected = stream
    assert parse_chunks([data[i : i + 1] for i in range(len(data))]) == expected


# -- fuzz -----------------------------------------------------------------------------------

_noisy_bytes = st.lists(
    st.sampled_from(
        [
            b"\r",
            b"\n",
            b"\r\n",
            b":",
            b" ",
            b"data",
            b"event",
            b"id",
            b"retry",
            b"\x00",
            b"\xef\xbb\xbf",
            b"\xff",
            b"\xe2\x82",
            b"7",
        ]
    )
    | st.binary(max_size=6),
    max_size=40,
).map(b"".join)


@SETTINGS
@given(
    data=st.binary(max_size=300) | _noisy_bytes,
    cuts=st.lists(st.integers(min_value=0), max_size=20),
)
def test_arbitrary_bytes_never_raise_and_chunking_is_irrelevant(
    data: bytes, cuts: list[int]
) -> None:
    whole = parse_chunks([data])
    assert parse_chunks(split_at(data, cuts)) == whole
    assert [m.index for m in whole] == list(range(len(whole)))
    for msg in whole:
        assert isinstance(msg.data, str)
        assert msg.retry is None or msg.retry >= 0
    # Only the last message may lack its blank line.
    assert all(m.terminated for m in whole[:-1])


@pytest.mark.parametrize("path", FIXTURES[:20], ids=lambda p: p.name)
def test_general_path_equals_fast_path(path: Path) -> None:
    # A comment line in every block forces the general field rules instead of the fast path.
    data = path.read_bytes().replace(b"\r\n", b"\n")
    assert b"\n: keep-alive\n" not in data
    slow = data.replace(b"\ndata:", b"\n: keep-alive\ndata:")
    if slow.startswith(b"data:") or slow.startswith(b"event:"):
        slow = b": first\n" + slow
    fast_msgs = parse_chunks([data])
    slow_msgs = parse_chunks([slow])
    assert slow_msgs == fast_msgs and fast_msgs
