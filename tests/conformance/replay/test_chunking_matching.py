"""Replay building blocks: chunking never loses or reorders bytes; request matching is stable
under transport-only differences and sensitive to meaning."""

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from conformance.replay.chunking import CHUNKING_MODES, chunk, split_events
from conformance.replay.matching import RecordingIndex, Recording, normalise_request, request_hash

STREAM = (
    b'event: response.created\ndata: {"type":"response.created"}\n\n'
    b": keep-alive\r\n\r\n"
    b'data: {"type":"x"}\r\rdata: {"type":"y"}\n\ndata: tail-without-terminator'
)


@pytest.mark.parametrize("mode", CHUNKING_MODES)
def test_every_mode_preserves_the_bytes(mode):
    pieces = list(chunk(STREAM, mode, seed=3))
    assert b"".join(pieces) == STREAM
    assert all(pieces)


def test_event_mode_cuts_at_blank_lines_of_any_line_ending():
    events = split_events(STREAM)
    assert len(events) == 5
    assert events[0].endswith(b"\n\n")
    assert events[1] == b": keep-alive\r\n\r\n"
    assert events[2] == b'data: {"type":"x"}\r\r'
    assert events[-1] == b"data: tail-without-terminator"


def test_byte_mode_is_one_byte_per_write():
    assert all(len(p) == 1 for p in chunk(STREAM, "byte"))


def test_random_mode_is_reproducible_per_seed():
    a = [len(p) for p in chunk(STREAM, "random", seed=7)]
    b = [len(p) for p in chunk(STREAM, "random", seed=7)]
    c = [len(p) for p in chunk(STREAM, "random", seed=8)]
    assert a == b
    assert a != c


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(CHUNKING_MODES), st.integers(0, 10))
def test_chunking_round_trips_arbitrary_bytes(data, mode, seed):
    assert b"".join(chunk(data, mode, seed=seed)) == data


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown chunking mode 'lines'"):
        list(chunk(b"x", "lines"))


def test_request_hash_ignores_transport_fields_and_nulls():
    base = {"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f"}]}
    noisy = dict(base, stream=True, store=False, user="u", metadata={"conformance_scenario": "s"},
                 temperature=None)
    assert request_hash(base) == request_hash(noisy)
    assert normalise_request(noisy) == base


def test_request_hash_changes_with_meaning():
    assert request_hash({"model": "m", "input": "hi"}) != request_hash({"model": "m", "input": "ho"})
    assert request_hash({"model": "m", "input": "hi"}) != request_hash(
        {"model": "m", "input": "hi", "metadata": {"k": "v"}}
    )


def test_index_matches_by_scenario_then_hash_and_names_the_closest():
    a = Recording("a", b"", "sse", request={"model": "m", "input": "hello there"}, scenario="plain")
    b = Recording("b", b"", "sse", request={"model": "m", "input": "call the tool"})
    index = RecordingIndex([a, b])
    assert index.match(None, "plain") is a
    assert index.match({"model": "m", "input": "call the tool", "stream": True}, None) is b
    assert index.match({"model": "m", "input": "call the tools"}, None) is None
    assert index.closest({"model": "m", "input": "call the tools"}, None) is b
    assert index.closest(None, "plan") is a


def test_truncation_counts_events_not_keepalives():
    from conformance.replay.app import truncated

    assert truncated(STREAM, 2) == STREAM[: STREAM.index(b"\r\r") + 2]
    assert truncated(STREAM, 0) == b""
    assert truncated(STREAM, None) == STREAM
