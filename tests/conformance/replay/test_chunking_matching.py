"""Replay building blocks: chunking never loses or reorders bytes; matching is stable under
transport-only differences, sensitive to meaning, FIFO per key, and respects auth classes."""

import json

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from conformance.replay.app import Replayer, ReplayOptions, truncated
from conformance.replay.chunking import CHUNKING_MODES, chunk, split_events
from conformance.replay.matching import (
    Recording,
    RecordingIndex,
    ReplayRequest,
    body_keys,
    classify_auth,
    normalise_path,
    normalise_request,
    request_hash,
)

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


def test_line_and_byte_modes():
    assert all(len(p) == 1 for p in chunk(STREAM, "byte"))
    lines = list(chunk(STREAM, "line"))
    assert lines[0] == b"event: response.created\n" and lines[2] == b"\n"


def test_random_mode_is_reproducible_per_seed():
    a = [len(p) for p in chunk(STREAM, "random", seed=7)]
    b = [len(p) for p in chunk(STREAM, "random", seed=7)]
    c = [len(p) for p in chunk(STREAM, "random", seed=8)]
    assert a == b
    assert a != c


@settings(deadline=None)
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
    exact_base, loose_base = body_keys(request=base)
    exact_noisy, loose_noisy = body_keys(json.dumps(noisy).encode())
    assert loose_base == loose_noisy and exact_base != exact_noisy  # exact keeps stream/store/nulls


def test_request_hash_changes_with_meaning():
    assert request_hash({"model": "m", "input": "hi"}) != request_hash({"model": "m", "input": "ho"})
    assert request_hash({"model": "m", "input": "hi"}) != request_hash(
        {"model": "m", "input": "hi", "metadata": {"k": "v"}}
    )


def test_non_json_and_empty_bodies_have_byte_keys():
    assert body_keys(b'{"model": ') == body_keys(b'{"model": ')
    assert body_keys(b'{"model": ')[0].startswith("raw:")
    assert body_keys(b"") == ("empty", "empty")
    assert body_keys(b"[1, 2]")[0].startswith("raw:")


def test_paths_are_relative_to_the_api_base():
    assert normalise_path("/v1/responses/r1/input_items") == "responses/r1/input_items"
    assert normalise_path("responses") == "responses"
    assert normalise_path("/openai/v1/responses?b=2&a=1", "/openai/v1") == "responses?a=1&b=2"


def test_auth_classes():
    assert classify_auth({}, None) == "none"
    assert classify_auth({"authorization": "Bearer anything"}, None) == "valid"
    assert classify_auth({"authorization": "Bearer k"}, "k") == "valid"
    assert classify_auth({"authorization": "Bearer j"}, "k") == "invalid"
    assert classify_auth({"api-key": "k"}, "k") == "valid"
    assert classify_auth({"authorization": "Bearer "}, "k") == "none"


def _req(method="POST", path="responses", body=b"", scenario=None, auth="valid"):
    return ReplayRequest(method, path, body, scenario, auth)


def test_index_matches_by_scenario_then_hash_and_names_the_closest():
    a = Recording("a", b"", "sse", request={"model": "m", "input": "hello there"}, scenario="plain",
                  sidecar={"recording": {}})
    b = Recording("b", b"", "sse", request={"model": "m", "input": "call the tool"})
    index = RecordingIndex([a, b])
    hello = json.dumps({"model": "m", "input": "hello there"}).encode()
    assert index.match(_req(body=hello, scenario="plain")) is a
    assert index.match(_req(body=b'{"model": "m", "input": "call the tool", "stream": true}')) is b
    assert index.match(_req(body=b'{"model": "m", "input": "call the tools"}')) is None
    assert index.closest(_req(body=b'{"model": "m", "input": "call the tools"}')) is b
    assert index.closest(_req(scenario="plan")) is a


def test_fifo_per_key_repeats_the_last():
    # delete-response: GET before DELETE (200), DELETE, GET after (404).
    get1 = Recording("s/00", b"{}", "json", status=200, scenario="s", method="GET", path="responses/r1", exchange=0,
                     sidecar={"recording": {}})
    delete = Recording("s/01", b"{}", "json", scenario="s", method="DELETE", path="responses/r1", exchange=1,
                       sidecar={"recording": {}})
    get2 = Recording("s/02", b"{}", "json", status=404, scenario="s", method="GET", path="responses/r1", exchange=2,
                     sidecar={"recording": {}})
    index = RecordingIndex([get1, delete, get2])
    got = [index.match(_req("GET", "responses/r1", scenario="s")) for _ in range(3)]
    assert got == [get1, get2, get2]
    assert index.match(_req("DELETE", "responses/r1", scenario="s")) is delete
    # Without the scenario header the request itself still finds them (own FIFO).
    assert index.match(_req("GET", "responses/r1")) is get1


def test_fixture_names_and_unique_suffixes_are_scenarios():
    text = Recording("positive/built/text", b"x", "sse")
    other = Recording("negative/item/text", b"y", "sse")
    calls = Recording("positive/built/function-call", b"z", "sse")
    index = RecordingIndex([text, other, calls])
    assert index.match(_req(scenario="positive/built/text")) is text
    assert index.match(_req(scenario="built/text")) is text
    assert index.match(_req(scenario="function-call")) is calls
    assert index.match(_req(scenario="text")) is None  # ambiguous suffix
    assert index.match(_req("GET", "responses/x", scenario="positive/built/text")) is None


def test_auth_class_decides_between_recordings_of_the_same_request():
    body = {"model": "m", "input": "hi"}
    ok = Recording("s/00", b"{}", "json", request=body, scenario="s", auth="valid", sidecar={"recording": {}})
    refused = Recording("s/01", b"{}", "json", status=401, request=body, scenario="s", auth="none",
                        sidecar={"recording": {}})
    index = RecordingIndex([ok, refused])
    raw = json.dumps(body).encode()
    assert index.match(_req(body=raw, scenario="s", auth="none"), strict_auth=True) is refused
    assert index.match(_req(body=raw, scenario="s", auth="valid"), strict_auth=True) is ok
    assert index.match(_req(body=raw, scenario="s", auth="invalid"), strict_auth=True) is None
    # Without a replay key any class may answer, the same class first.
    assert index.match(_req(body=raw, scenario="s", auth="invalid")) in (ok, refused)


def test_strict_replay_refuses_unknown_credentials_with_401():
    rec = Recording("s/00", b"{}", "json", request={"model": "m", "input": "hi"}, scenario="s", auth="valid",
                    sidecar={"recording": {}})
    replayer = Replayer([rec], ReplayOptions(api_key="k"))
    body = b'{"model": "m", "input": "hi"}'
    assert replayer.plan("POST", "/v1/responses", {"authorization": "Bearer k"}, body).status == 200
    refused = replayer.plan("POST", "/v1/responses", {"authorization": "Bearer nope"}, body)
    assert refused.status == 401 and json.loads(refused.body)["error"]["code"] == "invalid_api_key"
    assert replayer.plan("GET", "/v1/models", {}, b"").status == 401


def test_unknown_request_gets_an_openai_shaped_404_naming_the_closest():
    rec = Recording("s/00-post", b"{}", "json", request={"model": "m", "input": "hello"}, scenario="s",
                    sidecar={"recording": {}})
    plan = Replayer([rec]).plan("POST", "/v1/responses", {}, b'{"model": "m", "input": "hellp"}')
    error = json.loads(plan.body)["error"]
    assert plan.status == 404 and set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "recording_not_found" and "'s/00-post'" in error["message"]


def test_forced_status_and_non_stream_request_for_a_recorded_stream():
    body = (b'data: {"type":"response.created","response":{"id":"r","status":"in_progress"}}\n\n'
            b'data: {"type":"response.completed","response":{"id":"r","status":"completed","output":[]}}\n\n')
    rec = Recording("fx", body, "sse")
    plan = Replayer([rec]).plan("POST", "/v1/responses", {"x-conformance-scenario": "fx"}, b'{"stream": false}')
    assert not plan.stream and json.loads(plan.body)["id"] == "r"
    forced = Replayer([rec], ReplayOptions(status=503)).plan(
        "POST", "/v1/responses", {"x-conformance-scenario": "fx"}, b'{"stream": true}')
    assert forced.status == 503 and json.loads(forced.body)["error"]["type"] == "server_error"


def test_truncation_counts_events_not_keepalives():
    assert truncated(STREAM, 2) == STREAM[: STREAM.index(b"\r\r") + 2]
    assert truncated(STREAM, 0) == b""
    assert truncated(STREAM, None) == STREAM


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="chunking"):
        ReplayOptions(chunking="lines")
    with pytest.raises(ValueError, match="--status"):
        ReplayOptions(status=42)
    with pytest.raises(ValueError, match="--disconnect-after"):
        ReplayOptions(disconnect_after=-1)
