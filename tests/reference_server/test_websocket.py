"""WebSocket mode (`/v1/responses`) driven by openai-python 3.54's `responses.connect()` and, for
what the SDK hides (raw frames, close codes, the upgrade), by the `websockets` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect as ws_connect

from reference_server import create_app
from reference_server.core.settings import Settings

from .helpers import ServerThread, assert_conformant, serve, sse_events

KEY = "sk-test-ws"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding, settings=Settings(api_key=KEY))) as s:
        yield s


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=20)


def _until_done(conn: Any) -> list[Any]:
    """Events of one response (or one error) from an SDK connection."""
    events = []
    for event in conn:
        events.append(event)
        if event.type in TERMINAL or (event.type == "error" and event.sequence_number is None):
            return events
    raise AssertionError("the connection closed before the response finished")


def _raw_until(ws: Any, *types: str) -> list[dict[str, Any]]:
    out = []
    while True:
        event = json.loads(ws.recv(timeout=20))
        out.append(event)
        if event["type"] in types:
            return out


def _ws(server: ServerThread, key: str | None = KEY) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return ws_connect(server.url.replace("http", "ws") + "/v1/responses", additional_headers=headers)


def test_sequential_responses_and_continuation(client: openai.OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", input="Remember the word kumquat.")
        first = _until_done(conn)
        assert first[0].type == "response.created" and first[-1].type == "response.completed"
        assert [e.sequence_number for e in first] == list(range(len(first)))
        rid = first[-1].response.id
        conn.response.create(model="m", input="Which word?", previous_response_id=rid)
        second = _until_done(conn)
        assert second[-1].type == "response.completed"
        assert second[-1].response.previous_response_id == rid
        assert [e.sequence_number for e in second] == list(range(len(second)))
        # the continuation saw the first turn: its prompt is longer than the same input alone
        conn.response.create(model="m", input="Which word?")
        alone = _until_done(conn)[-1].response
        assert second[-1].response.usage.input_tokens > alone.usage.input_tokens


def test_store_false_continues_on_the_same_socket_only(client: openai.OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", input="Ephemeral", store=False)
        rid = _until_done(conn)[-1].response.id
        conn.response.create(model="m", input="Next", previous_response_id=rid, store=False)
        assert _until_done(conn)[-1].type == "response.completed"
    with client.responses.connect() as conn:  # a new socket lost the connection-local state
        conn.response.create(model="m", input="Next", previous_response_id=rid, store=False)
        [error] = _until_done(conn)
        assert error.type == "error" and error.error.code == "previous_response_not_found"
        assert error.status == 404
        # recovery: a new chain with the full context works on the same socket
        conn.response.create(model="m", input=[{"role": "user", "content": "Ephemeral"},
                                               {"role": "user", "content": "Next"}], store=False)
        assert _until_done(conn)[-1].type == "response.completed"


def test_failed_continuation_evicts_the_cached_response(client: openai.OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", input="Ephemeral", store=False)
        rid = _until_done(conn)[-1].response.id
        conn.response.create(model="m", input="x", previous_response_id=rid, store=False, temperature=7)
        [error] = _until_done(conn)
        assert error.type == "error" and error.error.param == "temperature"
        conn.response.create(model="m", input="x", previous_response_id=rid, store=False)
        [error] = _until_done(conn)
        assert error.error.code == "previous_response_not_found"


def test_bad_messages_are_error_events_and_the_socket_stays_open(server: ServerThread) -> None:
    with _ws(server) as ws:
        ws.send("{not json")
        assert _raw_until(ws, "error")[-1]["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"type": "response.dance"}))
        assert _raw_until(ws, "error")[-1]["error"]["code"] == "unknown_event_type"
        ws.send(json.dumps({"type": "response.create", "input": "no model"}))
        error = _raw_until(ws, "error")[-1]
        assert error["status"] == 400 and error["error"]["param"] == "model"
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi", "background": True}))
        assert _raw_until(ws, "error")[-1]["error"]["param"] == "background"
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "still here", "stream_id": "lane-1"}))
        events = _raw_until(ws, *TERMINAL)
        assert events[-1]["type"] == "response.completed"
        assert all(e["stream_id"] == "lane-1" for e in events)


def test_creates_queue_one_response_at_a_time(server: ServerThread) -> None:
    with _ws(server) as ws:
        for i in range(10):
            ws.send(json.dumps({"type": "response.create", "model": "m", "input": f"turn {i}"}))
        seen: list[str] = []
        open_id = None
        while len(seen) < 10:
            event = json.loads(ws.recv(timeout=20))
            if event["type"] == "response.created":
                assert open_id is None, "a response started while another was running"
                open_id = event["response"]["id"]
            if event["type"] in TERMINAL:
                assert event["response"]["id"] == open_id
                seen.append(open_id)
                open_id = None
        assert len(set(seen)) == 10


def test_upgrade_requires_the_api_key(server: ServerThread) -> None:
    with pytest.raises(InvalidStatus) as info:
        _ws(server, key="sk-wrong")
    assert info.value.response.status_code == 401
    assert json.loads(info.value.response.body)["error"]["code"] == "invalid_api_key"


def test_connection_limit_closes_cleanly(encoding: Any) -> None:
    settings = Settings(websocket_max_seconds=0.5)
    with serve(create_app(encoding=encoding, settings=settings)) as s, _ws(s, key=None) as ws:
        error = _raw_until(ws, "error")[-1]
        assert error["error"]["code"] == "websocket_connection_limit_reached"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=5)
        assert ws.close_code == 1000


@pytest.fixture(scope="module")
def slow_server(encoding: Any) -> Iterator[ServerThread]:
    from reference_server.sources.backends import get_backend

    backend = get_backend("scripted", encoding=encoding, delay=0.01)  # a response runs long enough to steer
    with serve(create_app(backend=backend, encoding=encoding)) as s:
        yield s


def _slow_client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=20)


def test_steer_is_accepted_and_committed_by_a_successor(slow_server: ServerThread) -> None:
    with _slow_client(slow_server).responses.connect() as conn:
        conn.response.create(model="m", input="Write a long story about apples. " * 4)
        created = next(iter(conn))
        assert created.type == "response.created"
        rid = created.response.id
        conn.response.steer(previous_response_id=rid, input="Now talk about pears.")
        events = []
        for event in conn:
            events.append(event)
            if event.type == "response.completed" and event.response.id != rid:
                break
        types = [e.type for e in events]
        [accepted] = [e for e in events if e.type == "response.steer.accepted"]
        assert accepted.steer.previous_response_id == rid and accepted.steer.id
        first_done = next(i for i, e in enumerate(events) if e.type == "response.completed")
        assert types.index("response.steer.accepted") < first_done
        successor = events[first_done + 1]
        assert successor.type == "response.created" and successor.response.previous_response_id == rid
        assert "response.steer.failed" not in types
        # the steer acknowledgement is numbered in the steered response's sequence
        own = [e.sequence_number for e in events[: first_done + 1]]
        assert own == list(range(1, len(own) + 1))
        # the successor inherited the settings and carries the steering input
        items = _slow_client(slow_server).responses.input_items.list(events[-1].response.id).data
        assert [c.text for c in items[0].content] == ["Now talk about pears."]


def test_steer_failures(slow_server: ServerThread) -> None:
    with _slow_client(slow_server).responses.connect() as conn:
        conn.response.steer(previous_response_id="resp_nope", input="hello")
        [failed] = _until_steer(conn)
        assert failed.type == "response.steer.failed" and failed.error.code == "response_not_found"
        assert failed.steer.input == "hello" and failed.steer.id is None
        conn.response.create(model="m", input="short")
        rid = _until_done(conn)[-1].response.id
        conn.response.steer(previous_response_id=rid, input="too late")
        [failed] = _until_steer(conn)
        assert failed.error.code == "response_already_completed"
        conn.send({"type": "response.steer", "previous_response_id": rid,
                   "input": [{"type": "message", "role": "system", "content": "obey"}]})
        [failed] = _until_steer(conn)
        assert failed.error.code == "invalid_input"


LOOKUP = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {
    "word": {"type": "string"}}, "required": ["word"], "additionalProperties": False}, "strict": True}


def test_steer_waits_for_tool_output_then_joins_the_explicit_continuation(slow_server: ServerThread) -> None:
    with _slow_client(slow_server).responses.connect() as conn:
        conn.response.create(model="m", input="Please lookup 'harmony'", tools=[LOOKUP], tool_choice="required")
        rid = next(iter(conn)).response.id
        for event in conn:  # steer once the call is under way: no boundary is left before it ends
            if event.type == "response.output_item.added" and event.item.type == "function_call":
                break
        conn.response.steer(previous_response_id=rid, input="Also mention pears.")
        events = []
        for event in conn:
            events.append(event)
            if event.type == "response.steer.pending":
                break
        done = next(e for e in events if e.type == "response.completed")
        call = next(i for i in done.response.output if i.type == "function_call")
        pending = events[-1]
        assert pending.reason == "waiting_for_required_input"
        assert [(r.type, r.call_id, r.name) for r in pending.required_input] == [
            ("function_call_output", call.call_id, "lookup")]
        conn.response.create(model="m", previous_response_id=rid, tools=[LOOKUP],
                             input=[{"type": "function_call_output", "call_id": call.call_id, "output": "found"}])
        final = _until_done(conn)[-1]
        assert final.type == "response.completed"
        items = _slow_client(slow_server).responses.input_items.list(final.response.id, order="asc").data
        assert items[0].type == "message" and items[0].content[0].text == "Also mention pears."
        assert items[1].type == "function_call_output"


def test_a_pending_steer_recorded_passes_the_checker(slow_server: ServerThread) -> None:
    """The same exchange on a recorded socket: the pending notice and its stubs fit their
    contract (ws.event-schema), and the socket breaks no other rule."""
    from conformance.transcript import check_transcript
    from conformance.ws_session import RecordingSocket

    with RecordingSocket(slow_server.url + "/v1/responses") as ws:
        ws.send({"type": "response.create", "model": "m", "input": "Please lookup 'harmony'", "tools": [LOOKUP],
                 "tool_choice": "required"})
        rid = ws.until("response.created")[-1]["response"]["id"]
        while ws.until("response.output_item.added")[-1]["item"]["type"] != "function_call":
            pass  # steer once the call is under way: no boundary is left before it ends
        ws.send({"type": "response.steer", "previous_response_id": rid, "input": "Also mention pears."})
        pending = ws.until("response.steer.pending")[-1]
        assert pending["type"] == "response.steer.pending", "the steering was not left pending"
        call_id = pending["required_input"][0]["call_id"]
        ws.send({"type": "response.create", "model": "m", "previous_response_id": rid, "tools": [LOOKUP],
                 "input": [{"type": "function_call_output", "call_id": call_id, "output": "found"}]})
        assert ws.response()[-1]["type"] == "response.completed"
    result = check_transcript(json.dumps(r) for r in ws.records)
    assert [str(f) for f in result.findings if f.severity != "info"] == []


def _until_steer(conn: Any) -> list[Any]:
    for event in conn:
        if event.type.startswith("response.steer."):
            return [event]
    raise AssertionError("no steering answer")


def test_a_response_failing_mid_stream_is_nested_error_then_failed(encoding: Any) -> None:
    from .faulty_backend import FaultyBackend

    app = create_app(backend=FaultyBackend(encoding, raise_at=4), encoding=encoding)
    with serve(app) as s, _ws(s, key=None) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hello"}))
        events = _raw_until(ws, *TERMINAL)
        assert events[-1]["type"] == "response.failed"
        [error] = [e for e in events if e["type"] == "error"]
        assert error["error"]["message"] and error["error"]["code"]  # nested, as the SDK's ResponseWsError
        assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_client_leaving_mid_response_stores_it_cancelled(slow_server: ServerThread) -> None:
    import time

    import httpx

    with _ws(slow_server, key=None) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "Write a long story. " * 4}))
        rid = _raw_until(ws, "response.created")[-1]["response"]["id"]
        _raw_until(ws, "response.output_text.delta")
    status = None
    # The server notices the close asynchronously; the bound is a hang guard (a loaded machine can
    # take seconds), not a time requirement.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{slow_server.url}/v1/responses/{rid}").json()["status"]
        if status != "in_progress":
            break
        time.sleep(0.05)
    assert status == "cancelled"
    with _ws(slow_server, key=None) as ws:  # and the server serves the next socket
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi"}))
        assert _raw_until(ws, *TERMINAL)[-1]["type"] == "response.completed"


def test_recorded_transcripts_pass_the_checker(slow_server: ServerThread) -> None:
    """The server's own sockets, recorded, break no ws.* or per-response rule."""
    from conformance.transcript import check_transcript
    from conformance.ws_session import RecordingSocket

    with RecordingSocket(slow_server.url + "/v1/responses") as ws:
        ws.send({"type": "response.create", "model": "m", "input": "Write a long story. " * 4})
        rid = ws.until("response.created")[-1]["response"]["id"]
        ws.send({"type": "response.steer", "previous_response_id": rid, "input": "Shorter."})
        ws.send({"type": "response.create", "model": "m", "input": "queued behind"})
        ws.response()
        ws.response()  # the successor
        ws.response()  # the queued create
        ws.send({"type": "nonsense"})
        ws.until("error")
    result = check_transcript(json.dumps(r) for r in ws.records)
    assert [str(f) for f in result.findings if f.severity != "info"] == []
    assert len({json.loads(r["text"]).get("response", {}).get("id") for r in ws.records
                if r["dir"] == "server" and "response.created" in r["text"]}) == 3


def test_a_bad_message_while_a_response_runs_is_answered_apart_from_it(slow_server: ServerThread) -> None:
    """The error answering a bad client message comes in the middle of the running response's
    events; the checker keeps it out of that response (no sequence or lifecycle finding)."""
    from conformance.transcript import check_transcript
    from conformance.ws_session import RecordingSocket

    with RecordingSocket(slow_server.url + "/v1/responses") as ws:
        ws.send({"type": "response.create", "model": "m", "input": "Write a long story. " * 4})
        ws.until("response.created")
        ws.send({"type": "response.dance"})
        events = ws.until("error", *TERMINAL)
        assert events[-1]["type"] == "error" and events[-1]["status"] == 400, "the response ended first"
        assert ws.response()[-1]["type"] == "response.completed"
    result = check_transcript(json.dumps(r) for r in ws.records)
    assert [str(f) for f in result.findings if f.severity != "info"] == []


def test_steering_races_keep_each_response_in_order(server: ServerThread) -> None:
    """Steering right after the create, on a fast backend, lands anywhere in the response's life
    (running, its terminal batch numbered but unsent, finished): every socket stays conformant."""
    from conformance.transcript import check_transcript
    from conformance.ws_session import RecordingSocket

    outcomes = set()
    with RecordingSocket(server.url + "/v1/responses", api_key=KEY) as ws:
        for _ in range(15):
            ws.send({"type": "response.create", "model": "m", "input": "Say hi."})
            rid = ws.until("response.created")[-1]["response"]["id"]
            ws.send({"type": "response.steer", "previous_response_id": rid, "input": "Shorter."})
            done = answer = None
            while done is None or answer is None:
                event = ws.recv()
                assert event is not None
                if event["type"] == "response.completed" and event["response"]["id"] == rid:
                    done = event
                elif event["type"].startswith("response.steer."):
                    answer = event["type"]
            outcomes.add(answer)
            if answer == "response.steer.accepted":
                assert ws.response()[-1]["type"] == "response.completed"  # the successor
    result = check_transcript(json.dumps(r) for r in ws.records)
    assert [str(f) for f in result.findings if f.severity != "info"] == []
    assert outcomes  # which outcomes occur depends on timing; both are valid


def test_steering_ends_the_response_at_the_next_item_boundary(slow_server: ServerThread) -> None:
    """With reasoning first, the response stops after the reasoning item (incomplete: steered)
    and the successor answers with the steering input."""
    with _slow_client(slow_server).responses.connect() as conn:
        conn.response.create(model="m", input="Think about apples, then write about them. " * 3,
                             reasoning={"effort": "high"})
        rid = next(iter(conn)).response.id
        conn.response.steer(previous_response_id=rid, input="Now talk about pears.")
        events = []
        for event in conn:
            events.append(event)
            if event.type == "response.completed" and event.response.id != rid:
                break
        steered = next(e for e in events if e.type in TERMINAL)
        assert steered.type == "response.incomplete"
        assert steered.response.incomplete_details.reason == "steered"
        assert [i.type for i in steered.response.output] == ["reasoning"]
        assert all(i.status != "in_progress" for i in steered.response.output)
        successor = events[events.index(steered) + 1]
        assert successor.type == "response.created" and successor.response.previous_response_id == rid
        stored = _slow_client(slow_server).responses.retrieve(rid)
        assert stored.status == "incomplete"


def test_automatic_compaction_on_a_socket_with_store_false(client: openai.OpenAI) -> None:
    compact = [{"type": "compaction", "compact_threshold": 1}]
    with client.responses.connect() as conn:
        conn.response.create(model="m", input="The secret word is kumquat.", store=False, context_management=compact)
        first = _until_done(conn)
        types = [e.type for e in first]
        assert types[2:5] == ["response.output_item.added", "response.compaction.compacting",
                              "response.output_item.done"]
        response = first[-1].response
        assert response.output[0].type == "compaction"
        # the connection-local conversation holds the item; a continuation expands it once
        conn.response.create(model="m", input="Which word?", previous_response_id=response.id, store=False)
        chained = _until_done(conn)[-1].response
        conn.response.create(model="m", input="The secret word is kumquat.", store=False)
        plain = _until_done(conn)[-1].response
        conn.response.create(model="m", input="Which word?", previous_response_id=plain.id, store=False)
        baseline = _until_done(conn)[-1].response
    assert chained.status == "completed"
    assert chained.usage.input_tokens == baseline.usage.input_tokens


def test_generate_false_prepares_a_response_to_continue(server: ServerThread) -> None:
    """`generate: false` (openai-python 3.54's ResponseCreate): the response is created and
    completed with no output and no output tokens; its id continues like any response's, from
    the store and from the socket, and the socket's transcript passes the checker."""
    from conformance.transcript import check_transcript
    from conformance.ws_session import RecordingSocket

    secret = "The secret word is kumquat."
    with RecordingSocket(server.url + "/v1/responses", api_key=KEY) as ws:
        ws.send({"type": "response.create", "model": "m", "input": secret, "generate": False})
        prepared = ws.response()
        assert [e["type"] for e in prepared] == ["response.created", "response.in_progress", "response.completed"]
        response = prepared[-1]["response"]
        assert response["status"] == "completed" and response["output"] == []
        assert response["usage"]["output_tokens"] == 0 and response["usage"]["input_tokens"] > 0
        ws.send({"type": "response.create", "model": "m", "input": "Which word?",
                 "previous_response_id": response["id"]})
        chained = ws.response()[-1]["response"]
        ws.send({"type": "response.create", "model": "m", "input": "Which word?"})
        alone = ws.response()[-1]["response"]
        ws.send({"type": "response.create", "model": "m", "input": secret, "generate": False, "store": False})
        ephemeral = ws.response()[-1]["response"]
        ws.send({"type": "response.create", "model": "m", "input": "Which word?", "store": False,
                 "previous_response_id": ephemeral["id"]})
        chained_locally = ws.response()[-1]["response"]
    assert chained["status"] == "completed" and chained["output"]
    # the continuation's prompt held the prepared input (and the prepared prompt was counted as input)
    assert chained["usage"]["input_tokens"] > max(alone["usage"]["input_tokens"], response["usage"]["input_tokens"])
    assert chained_locally["usage"]["input_tokens"] == chained["usage"]["input_tokens"]
    result = check_transcript(json.dumps(r) for r in ws.records)
    assert [str(f) for f in result.findings if f.severity != "info"] == []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=20) as http:
        stored = http.get(f"/v1/responses/{response['id']}").json()
        assert stored["status"] == "completed" and stored["output"] == []
        listed = http.get(f"/v1/responses/{response['id']}/input_items").json()["data"]
        assert listed[0]["content"][0]["text"] == secret
        # `generate` is WebSocket-only: POST /v1/responses refuses it, as the SDK's create params lack it
        refused = http.post("/v1/responses", json={"model": "m", "input": "x", "generate": False})
        assert refused.status_code == 400
        assert refused.json()["error"] == {"message": "Unknown parameter: 'generate'.", "type": "invalid_request_error",
                                           "param": "generate", "code": "unknown_parameter"}


def test_generate_must_be_a_boolean_and_true_generates(server: ServerThread) -> None:
    with _ws(server) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi", "generate": "no"}))
        error = _raw_until(ws, "error")[-1]
        assert error["status"] == 400 and error["error"] == {
            "type": "invalid_request_error", "code": "invalid_type", "param": "generate",
            "message": "Invalid type for 'generate': expected a boolean, but got a string instead."}
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": [{"role": "user", "content": "hi"}, {"type": "compaction_trigger"}],
                            "generate": False}))
        error = _raw_until(ws, "error")[-1]
        assert error["error"]["param"] == "generate" and error["error"]["code"] == "invalid_value"
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi", "generate": True}))
        done = _raw_until(ws, *TERMINAL)[-1]["response"]
        assert done["status"] == "completed" and done["output"] and done["usage"]["output_tokens"] > 0


def test_prompt_cache_prewarm_is_generate_false_over_http(server: ServerThread) -> None:
    """`prompt_cache_options.prewarm: true` "overrides the generate field to false" (the SDK):
    over HTTP too, the response completes with no output and its id continues."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=20) as http:
        body = {"model": "m", "input": "The secret word is kumquat.", "prompt_cache_options": {"prewarm": True}}
        prepared = http.post("/v1/responses", json=body).json()
        assert prepared["status"] == "completed" and prepared["output"] == []
        assert prepared["usage"]["output_tokens"] == 0
        assert prepared["prompt_cache_options"] == {"mode": "implicit", "ttl": "30m", "comparison_response_id": None}
        streamed = http.post("/v1/responses", json={**body, "stream": True}).content
        assert [e["type"] for e in sse_events(streamed)] == ["response.created", "response.in_progress",
                                                             "response.completed"]
        assert_conformant(streamed, request={**body, "stream": True})
        chained = http.post("/v1/responses", json={"model": "m", "input": "Which word?",
                                                   "previous_response_id": prepared["id"]}).json()
        alone = http.post("/v1/responses", json={"model": "m", "input": "Which word?"}).json()
        assert chained["output"] and chained["usage"]["input_tokens"] > alone["usage"]["input_tokens"]
        refused = http.post("/v1/responses", json={**body, "input": [{"role": "user", "content": "x"},
                                                                     {"type": "compaction_trigger"}]})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "prompt_cache_options.prewarm"
