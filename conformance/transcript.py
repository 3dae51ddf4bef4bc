"""WebSocket transcripts: what one Responses WebSocket carried, checked like a stream.

A transcript is JSON lines, one record per WebSocket message or close, in the order they
happened (docs/websocket.md):

    {"dir": "client", "text": "{\"type\":\"response.create\",...}", "t": 0.0}
    {"dir": "server", "data": {"type": "response.created", ...}, "t": 0.012}
    {"dir": "close", "by": "server", "code": 1000, "reason": "", "t": 3.5}

`text` is the message exactly as sent (byte-faithful recordings use it); `data` is the same
message already decoded (handy for hand-written fixtures); `t` (seconds) is optional.

`TranscriptChecker` is sans-IO: `feed(record)` one record at a time, then `finish()`. Each
response on the socket (from `response.created` to its terminal event) goes through its own
`StreamChecker` (every per-response rule applies); the `ws.*` rules judge the socket as a whole.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance import registry
from conformance.checker import CheckResult, StreamChecker
from conformance.findings import Finding
from conformance.profiles import get_profile
from conformance.protocol import TERMINAL_TYPES

__all__ = ["TranscriptChecker", "TranscriptState", "check_transcript", "looks_like_transcript", "parse_record"]

DIRECTIONS = ("client", "server", "close")
STEER_ANSWERS = frozenset({"response.steer.accepted", "response.steer.failed"})
STEER_EVENTS = STEER_ANSWERS | {"response.steer.pending"}
# WebSocket-only envelope fields, not part of the event the per-response rules judge.
_ENVELOPE = ("stream_id",)


@dataclass
class TranscriptState:
    """What the socket has carried so far (read by the ws.* checks before a record applies)."""

    closed: bool = False
    closed_by: str | None = None
    running: str | None = None  # id of the response between its created and terminal events
    creates: int = 0  # response.create messages sent
    in_flight: int = 0  # creates and steers sent since the last server message
    answers: int = 0  # responses started or errors outside a response (one per create)
    steers: int = 0  # response.steer messages sent
    steer_answers: int = 0
    accepted: dict[str, Any] = field(default_factory=dict)  # steer id -> response id
    ended: set[str] = field(default_factory=set)  # responses that reached a terminal event
    next_seq: dict[str, int] = field(default_factory=dict)  # response id -> expected number


@dataclass
class Record:
    index: int
    dir: str
    message: Any  # the decoded message (None for a close or undecodable text)
    error: str | None = None  # why the record or its message is unreadable
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str | None:
        kind = self.message.get("type") if isinstance(self.message, dict) else None
        return kind if isinstance(kind, str) else None


class WSContext:
    """What a ws.* check may know besides the state."""

    __slots__ = ("hook", "index", "profile")

    def __init__(self, index: int | None, hook: str, profile: Any) -> None:
        self.index = index
        self.hook = hook
        self.profile = profile


def parse_record(raw: Any, index: int) -> Record:
    if not isinstance(raw, dict) or raw.get("dir") not in DIRECTIONS:
        return Record(index, "?", None, "a record must be an object with 'dir' client, server or close", {})
    if raw["dir"] == "close":
        return Record(index, "close", None, None, raw)
    if "text" in raw:
        text = raw["text"]
        if not isinstance(text, str):
            return Record(index, raw["dir"], None, "'text' must be a string", raw)
        try:
            return Record(index, raw["dir"], json.loads(text), None, raw)
        except ValueError as exc:
            return Record(index, raw["dir"], None, f"the message is not JSON ({exc})", raw)
    if "data" in raw:
        return Record(index, raw["dir"], raw["data"], None, raw)
    return Record(index, raw["dir"], None, "a message record needs 'text' or 'data'", raw)


def looks_like_transcript(head: bytes) -> bool:
    """Whether the first line of `head` is a transcript record."""
    first = head.lstrip().removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("dir") in DIRECTIONS and ("type" not in value)


class TranscriptChecker:
    def __init__(self, profile: str = "openai", *, max_per_rule: int = 20) -> None:
        registry.all_rules()
        self.profile = get_profile(profile)
        self.max_per_rule = max_per_rule
        self.state = TranscriptState()
        self._checks = {hook: [c for c in registry.all_checks() if hook in c.on] for hook in ("@ws", "@ws-finish")}
        self._findings: list[Finding] = []
        self._streams: dict[str, list[Any]] = {}  # response id -> [checker, first index, findings taken]
        self._index = 0
        self._result: CheckResult | None = None
        self.responses: list[CheckResult] = []

    # ------------------------------------------------------------------ input
    def feed(self, raw: Any) -> list[Finding]:
        """One transcript record (already decoded from its JSON line)."""
        record = parse_record(raw, self._index)
        self._index += 1
        before = len(self._findings)
        self._run(self._checks["@ws"], record, WSContext(record.index, "@ws", self.profile))
        self._apply(record)
        return self._findings[before:]

    def feed_line(self, line: bytes | str) -> list[Finding]:
        if not line.strip():
            return []
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raw = {"dir": "?", "error": str(exc)}
        return self.feed(raw)

    def finish(self) -> CheckResult:
        if self._result is not None:
            return self._result
        for rid in list(self._streams):
            # A response the client walked away from is not judged on how it (never) ended.
            self._end_stream(rid, judge_end=self.state.closed_by != "client")
        self._run(self._checks["@ws-finish"], None, WSContext(None, "@ws-finish", self.profile))
        counts: dict[str, int] = {}
        summary = {"error": 0, "warning": 0, "info": 0}
        for f in self._findings:
            counts[f.rule] = counts.get(f.rule, 0) + 1
            summary[f.severity] = summary.get(f.severity, 0) + 1
        self._result = CheckResult(findings=self._findings, event_count=self._index, summary=summary,
                                   counts_by_rule=counts, profile=self.profile.name)
        return self._result

    # ------------------------------------------------------------------ applying a record
    def _apply(self, record: Record) -> None:
        st = self.state
        kind = record.type
        if st.closed:
            return  # ws.after-close reports it; nothing after a close is part of a response
        if record.dir == "close":
            st.closed = True
            st.closed_by = record.raw.get("by") if isinstance(record.raw.get("by"), str) else None
            return
        if record.dir == "client":
            st.in_flight += 1
            if kind == "response.create":
                st.creates += 1
            elif kind == "response.steer":
                st.steers += 1
            return
        if record.dir != "server" or kind is None:
            return
        st.in_flight = 0
        ev = record.message
        if kind == "response.created":
            response = ev.get("response") if isinstance(ev.get("response"), dict) else {}
            rid = response.get("id")
            parent = response.get("previous_response_id")
            committed = [sid for sid, target in st.accepted.items() if target == parent and parent in st.ended]
            if committed:  # an automatic successor: it commits the steering input it continues with
                for sid in committed:
                    del st.accepted[sid]
            elif st.creates > st.answers:
                st.answers += 1
            st.running = rid if isinstance(rid, str) else "?"
            self._streams[st.running] = [StreamChecker(self.profile), record.index, 0, 0]
        if kind in STEER_EVENTS:
            steer = ev.get("steer") if isinstance(ev.get("steer"), dict) else {}
            target = steer.get("previous_response_id")
            if kind in STEER_ANSWERS and not (kind == "response.steer.failed" and steer.get("id") in st.accepted):
                st.steer_answers += 1
            if kind == "response.steer.accepted" and isinstance(steer.get("id"), str):
                st.accepted[steer["id"]] = target
            elif kind in ("response.steer.failed", "response.steer.pending") and steer.get("id") in st.accepted:
                st.accepted.pop(steer["id"])
            self._count(target, ev)
            if target in self._streams:
                self._streams[target][3] += 1  # a number the response's own events skip
            return
        rid = response_of(st, ev)
        if rid in self._streams and not is_socket_error(ev):
            self._count(rid, ev)
            entry = self._streams[rid]
            event = {k: v for k, v in ev.items() if k not in _ENVELOPE}
            seq = event.get("sequence_number")
            if entry[3] and isinstance(seq, int):
                event["sequence_number"] = seq - entry[3]  # ws.sequence judges the real numbers
            found = entry[0].feed(event)
            entry[2] += len(found)
            for f in found:
                self._findings.append(dataclasses.replace(f, event_index=record.index))
            if kind in TERMINAL_TYPES:
                st.ended.add(rid)
                if st.running == rid:
                    st.running = None
                self._end_stream(rid)
        elif kind == "error" and st.creates > st.answers:
            st.answers += 1

    def _count(self, rid: Any, ev: dict[str, Any]) -> None:
        seq = ev.get("sequence_number")
        if isinstance(rid, str) and isinstance(seq, int) and not isinstance(seq, bool):
            self.state.next_seq[rid] = seq + 1

    def _end_stream(self, rid: str, judge_end: bool = True) -> None:
        checker, first, taken, _notices = self._streams.pop(rid)
        result = checker.finish()
        for f in result.findings[taken:] if judge_end else ():
            self._findings.append(dataclasses.replace(f, event_index=first))
        self.responses.append(result)

    def _run(self, checks: Iterable[registry.Check], record: Record | None, ctx: WSContext) -> None:
        for c in checks:
            for hit in c.fn(self.state, record, ctx) or ():
                if not registry.enabled(c.rule_id):
                    continue
                message = hit if isinstance(hit, str) else hit.message
                self._findings.append(registry.make_finding(c.rule_id, message, profile=self.profile,
                                                            event_index=ctx.index))


def is_socket_error(ev: dict[str, Any]) -> bool:
    """An `error` about the socket or a client message (a message that is not JSON, an unknown
    client event, a full queue): openai-python's `ResponseWsError` gives it `status`, "the HTTP
    status code associated with a WebSocket protocol error", and no `sequence_number`, which
    only an error the response's stream emitted carries. It may come while a response runs,
    and is not one of that response's events."""
    return ev.get("type") == "error" and "status" in ev and not isinstance(ev.get("sequence_number"), int)


def response_of(state: TranscriptState, ev: dict[str, Any]) -> str | None:
    """The response a server event belongs to: the one its snapshot names, else the running one."""
    response = ev.get("response")
    rid = response.get("id") if isinstance(response, dict) else None
    return rid if isinstance(rid, str) else state.running


def check_transcript(lines: Iterable[bytes | str], profile: str = "openai") -> CheckResult:
    checker = TranscriptChecker(profile)
    for line in lines:
        checker.feed_line(line)
    return checker.finish()
