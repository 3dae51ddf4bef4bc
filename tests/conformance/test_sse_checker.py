"""SSEStreamChecker: bytes in, findings out. Every caller that checks raw SSE goes through it,
so the parser's anomalies (typed `SSEAnomaly` events) reach the framing rules whatever the
read size, including the ones only the end of the bytes reveals."""

from __future__ import annotations

import io
import json

import pytest

from conformance import check_sse
from conformance.checker import StreamChecker
from conformance.cli.check import check_input
from conformance.proxy.judge import ExchangeJudge
from conformance.sse import SSEParser
from conformance.sse_checker import SSEStreamChecker
from tests.conformance.streams import build_stream, message, to_sse

GOOD = to_sse(build_stream(message("hello there")))
# A data-less `event:` block after the first event, and bytes that are not UTF-8 in an
# unterminated last block: one anomaly found while reading, one only when the bytes end.
BROKEN = GOOD.replace(b"\n\n", b"\n\nevent: ping\n\n", 1) + b'data: {"x": "\xff'
WANT = {"framing.empty-event", "framing.invalid-utf8", "framing.unterminated"}


def _rules(findings) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in findings}


@pytest.mark.parametrize("size", [1, 5, 64, 100_000])
def test_every_read_size_gives_the_same_findings(size: int) -> None:
    sc = SSEStreamChecker(content_type="text/event-stream")
    for k in range(0, len(BROKEN), size):
        sc.feed(BROKEN[k : k + size])
    result = sc.finish()
    assert _rules(result.findings) >= WANT
    whole = SSEStreamChecker(content_type="text/event-stream")
    whole.feed(BROKEN)
    assert [f.to_dict() for f in whole.finish().findings] == [f.to_dict() for f in result.findings]
    assert sc.n_messages == whole.n_messages == GOOD.count(b"\n\n") + 1


def test_messages_alone_lose_the_anomalies_the_checker_keeps() -> None:
    # What callers did before: parser.feed + parser.close into feed_messages, concatenated.
    parser, checker = SSEParser(), StreamChecker()
    checker.feed_messages([*parser.feed(BROKEN), *parser.close()])
    assert not _rules(checker.finish().findings) & {"framing.empty-event", "framing.invalid-utf8"}
    sc = SSEStreamChecker()
    sc.feed(BROKEN)
    assert _rules(sc.finish().findings) >= WANT


def test_feed_returns_what_each_read_made_certain_and_close_is_idempotent() -> None:
    sc = SSEStreamChecker()
    cut = BROKEN.index(b"event: ping") + len(b"event: ping\n\n")
    assert _rules(sc.feed(BROKEN[:cut])) == {"framing.empty-event"}
    assert sc.messages and all(m.terminated for m in sc.messages)
    sc.feed(BROKEN[cut:])
    assert _rules(sc.close()) >= {"framing.invalid-utf8", "framing.unterminated"}
    assert [m.terminated for m in sc.messages] == [False]
    assert sc.close() == [] and sc.messages == []
    assert sc.finish() is sc.finish()
    with pytest.raises(RuntimeError):
        sc.feed(b"data: {}\n\n")


def test_check_sse_and_the_cli_go_through_it() -> None:
    assert _rules(check_sse(BROKEN).findings) >= WANT
    assert _rules(check_sse([BROKEN[:7], BROKEN[7:]]).findings) >= WANT
    case = check_input("broken.sse", io.BytesIO(BROKEN))
    assert _rules(case.findings) >= WANT


def test_the_proxy_judge_keeps_anomalies_found_at_the_end() -> None:
    judge = ExchangeJudge(name="0001 POST /responses", method="POST", path="/responses", status=200,
                          content_type="text/event-stream", request={"model": "m", "input": "x", "stream": True})
    for k in range(0, len(BROKEN), 50):
        judge.feed(BROKEN[k : k + 50])
    case = judge.finish()
    assert _rules(case.findings) >= WANT, json.dumps([f.rule for f in case.findings])
    assert case.event_count == GOOD.count(b"\n\n") + 1
