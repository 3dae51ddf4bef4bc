"""Records the WebSocket transcript fixtures of `fixtures/websocket/` from the reference server.

Positive fixtures are sessions recorded as they happened; each negative fixture is one of them
with one defect put in by hand (named after the ws.* rule it breaks). Ids and timings differ on
every run, so rerunning rewrites the files: `python scripts/make_ws_fixtures.py`.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from conformance.ws_session import RecordingSocket
from reference_server import create_app
from reference_server.protocol.vocab import harmony_encoding
from reference_server.sources.backends import get_backend

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "websocket"
Records = list[dict[str, Any]]


def _serve(app: Any) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}/v1/responses"


def sequential(url: str) -> Records:
    with RecordingSocket(url) as ws:
        ws.send({"type": "response.create", "model": "m", "input": "Remember the word kumquat.", "store": False})
        rid = ws.response()[-1]["response"]["id"]
        ws.send({"type": "response.create", "model": "m", "input": "Which word?", "store": False,
                 "previous_response_id": rid})
        ws.response()
    return ws.records


def errors_then_response(url: str) -> Records:
    with RecordingSocket(url) as ws:
        ws.send({"type": "response.create", "input": "no model"})
        ws.response()
        ws.send({"type": "response.create", "model": "m", "input": "hi", "previous_response_id": "resp_gone"})
        ws.response()
        ws.send({"type": "response.create", "model": "m", "input": "now it works"})
        ws.response()
    return ws.records


def steered(url: str) -> Records:
    with RecordingSocket(url) as ws:
        ws.send({"type": "response.create", "model": "m", "input": "Write a long story about apples. " * 4})
        created = ws.recv()
        assert created is not None
        rid = created["response"]["id"]
        ws.send({"type": "response.steer", "previous_response_id": rid, "input": "Now talk about pears."})
        ws.response()  # the steered response
        ws.response()  # its automatic successor
    return ws.records


def steer_too_late(url: str) -> Records:
    with RecordingSocket(url) as ws:
        ws.send({"type": "response.create", "model": "m", "input": "short"})
        rid = ws.response()[-1]["response"]["id"]
        ws.send({"type": "response.steer", "previous_response_id": rid, "input": "too late"})
        ws.until("response.steer.failed")
    return ws.records


def client_leaves_mid_response(url: str) -> Records:
    ws = RecordingSocket(url)
    ws.send({"type": "response.create", "model": "m", "input": "Write a long story about apples. " * 4})
    ws.until("response.output_text.delta")
    ws.close()
    return ws.records


def _data(records: Records) -> Records:
    """Records with decoded messages (`data`), easier to edit than `text`."""
    out = []
    for r in records:
        r = dict(r)
        if "text" in r:
            r["data"] = json.loads(r.pop("text"))
        out.append(r)
    return out


def _index(records: Records, kind: str, nth: int = 0) -> int:
    hits = [i for i, r in enumerate(records) if r.get("data", {}).get("type") == kind]
    return hits[nth]


def overlapping(records: Records) -> Records:
    """The second response starts before the first one's terminal event."""
    recs = _data(records)
    first_done = _index(recs, "response.completed")
    second_create = [i for i, r in enumerate(recs) if r["dir"] == "client"][1]
    second_start = _index(recs, "response.created", 1)
    moved = recs[second_create:second_start + 1]
    rest = recs[:second_create] + recs[second_start + 1:]
    return rest[:first_done] + moved + rest[first_done:]


def unanswered(records: Records) -> Records:
    """The error answering the first create is missing."""
    recs = _data(records)
    del recs[_index(recs, "error")]
    return recs


def steer_answered_twice(records: Records) -> Records:
    """One response.steer, two response.steer.failed answers."""
    recs = _data(records)
    i = _index(recs, "response.steer.failed")
    again = copy.deepcopy(recs[i])
    again["data"]["sequence_number"] += 1
    recs.insert(i + 1, again)
    return recs


def steer_accepted_late(records: Records) -> Records:
    """Steering of a finished response is 'accepted' instead of failed."""
    recs = _data(records)
    i = _index(recs, "response.steer.failed")
    event = recs[i]["data"]
    recs[i]["data"] = {"type": "response.steer.accepted", "sequence_number": event["sequence_number"],
                       "steer": {"id": "steer_late", "previous_response_id": event["steer"]["previous_response_id"]}}
    return recs


def unreadable(records: Records) -> Records:
    """A server message that is not JSON."""
    recs = _data(records)
    recs.insert(_index(recs, "response.completed") + 1, {"dir": "server", "text": "{\"type\": \"response.", "t": 0.0})
    return recs


def after_close(records: Records) -> Records:
    recs = _data(records)
    extra = copy.deepcopy(next(r for r in reversed(recs) if r["dir"] == "server"))
    recs.append(extra)
    return recs


def numbered_across(records: Records) -> Records:
    """The second response's numbers continue the first's instead of starting at 0."""
    recs = _data(records)
    second = _index(recs, "response.created", 1)
    offset = recs[_index(recs, "response.completed")]["data"]["sequence_number"] + 1
    for r in recs[second:]:
        if r["dir"] == "server" and "sequence_number" in r["data"]:
            r["data"]["sequence_number"] += offset
    return recs


def failure_without_message(records: Records) -> Records:
    """The steering failure's error has no `message`."""
    recs = _data(records)
    del recs[_index(recs, "response.steer.failed")]["data"]["error"]["message"]
    return recs


POSITIVE: dict[str, tuple[Callable[[str], Records], str]] = {
    "sequential": (sequential, "Two responses on one socket; the second continues the first (store: false)."),
    "errors": (errors_then_response, "Two creates answered by error events (no model; unknown previous "
                                     "response), then a response on the same socket."),
    "steered": (steered, "Steering accepted while a response runs; an automatic successor commits it."),
    "steer-too-late": (steer_too_late, "Steering a finished response fails with response_already_completed."),
    "client-leaves": (client_leaves_mid_response, "The client closes the socket in the middle of a response."),
}
NEGATIVE: dict[str, tuple[str, Callable[[Records], Records], str, list[str]]] = {
    "one-at-a-time": ("sequential", overlapping, "A second response starts before the first ended.",
                      ["ws.one-at-a-time"]),
    "create-answered": ("errors", unanswered, "The first response.create is never answered.",
                        ["ws.create-answered"]),
    "steer-answered": ("steer-too-late", steer_answered_twice, "One response.steer is answered twice.",
                       ["ws.steer-answered"]),
    "steer-while-running": ("steer-too-late", steer_accepted_late,
                            "Steering of a finished response is accepted (and then never settled).",
                            ["ws.steer-while-running", "ws.steer-answered"]),
    "record": ("errors", unreadable, "A server message is cut off: not JSON.", ["ws.record"]),
    "after-close": ("client-leaves", after_close, "A server message is recorded after the close.",
                    ["ws.after-close"]),
    "event-schema": ("steer-too-late", failure_without_message,
                     "A response.steer.failed whose error has no message.", ["ws.event-schema"]),
    "sequence": ("sequential", numbered_across,
                 "The second response's sequence numbers continue the first's instead of starting at 0.",
                 ["ws.sequence"]),
}


def _write(name: str, records: Records, description: str, errors: list[str], source: str) -> None:
    path = OUT / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    sidecar = {"description": description, "kind": "ws-transcript",
               "provenance": {"source": source, "generator": "scripts/make_ws_fixtures.py"},
               "expected": {"errors": errors}}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")


def main() -> None:
    encoding = harmony_encoding()
    backend = get_backend("scripted", encoding=encoding, delay=0.01)
    server, url = _serve(create_app(backend=backend, encoding=encoding))
    try:
        recorded = {}
        for name, (record, description) in POSITIVE.items():
            recorded[name] = record(url)
            _write(f"positive/{name}", recorded[name], description, [], "recorded from the reference server")
        for name, (base, mutate, description, errors) in NEGATIVE.items():
            _write(f"negative/{name}", mutate(recorded[base]), description, errors,
                   f"positive/{base} with one defect")
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
