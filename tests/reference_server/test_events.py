"""ResponseEventWriter: numbering, done ordering, terminal closing, and refusal of illegal calls."""

from __future__ import annotations

from typing import Any

import pytest

from reference_server.protocol.events import ResponseEventWriter, make_usage, new_id
from reference_server.protocol.sse import encode_event, encode_stream

USAGE = make_usage(10, 5, reasoning_tokens=2, cached_tokens=3)


def writer(**kw: Any) -> ResponseEventWriter:
    return ResponseEventWriter({"model": "m", "metadata": {"k": "v"}}, **kw)


def check(events: list[dict[str, Any]], level: str = "warning") -> Any:
    import conformance

    result = conformance.check_events(events)
    assert not result.errors(level), result.findings
    return result


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_full_stream_numbering_and_order() -> None:
    w = writer()
    ev = w.start()
    i, e = w.add_reasoning()
    ev += e + w.add_summary_part(i) + w.summary_text_delta(i, "sum") + w.add_reasoning_text_part(i)
    ev += w.reasoning_text_delta(i, "think") + w.close_item(i)
    j, e = w.add_message("final_answer")
    ev += e + w.add_output_text_part(j) + w.text_delta(j, "Hel") + w.text_delta(j, "lo")
    ev += w.add_refusal_part(j) + w.refusal_delta(j, "no") + w.close_item(j)
    k, e = w.add_function_call("f", call_id="call_x")
    ev += e + w.arguments_delta(k, '{"a":') + w.arguments_delta(k, "1}")
    ev += w.complete(USAGE)
    assert [e["sequence_number"] for e in ev] == list(range(len(ev)))
    assert (i, j, k) == (0, 1, 2)
    assert types(ev)[-6:] == [
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed",
    ]
    # Opening the refusal part closed the text part first.
    t = types(ev)
    text_done = t.index("response.output_text.done")
    assert t[text_done + 1] == "response.content_part.done"
    assert t[text_done + 2] == "response.content_part.added" and t[text_done + 3] == "response.refusal.delta"
    done_items = [e["item"] for e in ev if e["type"] == "response.output_item.done"]
    final = ev[-1]["response"]
    assert final["output"] == done_items and final["usage"] == USAGE and final["status"] == "completed"
    assert done_items[1]["content"] == [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello"},
        {"type": "refusal", "refusal": "no"},
    ]
    assert done_items[0]["summary"] == [{"type": "summary_text", "text": "sum"}]
    args_done = next(e for e in ev if e["type"] == "response.function_call_arguments.done")
    assert args_done["arguments"] == '{"a":1}' and args_done["name"] == "f"
    check(ev)


def test_lifecycle_snapshots_are_empty_and_stable() -> None:
    w = writer()
    ev = w.start(queued=True)
    assert types(ev) == ["response.created", "response.queued", "response.in_progress"]
    assert [e["response"]["status"] for e in ev] == ["queued", "queued", "in_progress"]
    for e in ev:
        assert e["response"]["output"] == [] and e["response"]["usage"] is None
    ev += w.complete(USAGE)
    assert len({e["response"]["id"] for e in ev}) == 1
    assert len({e["response"]["created_at"] for e in ev}) == 1
    assert ev[-1]["response"]["metadata"] == {"k": "v"}
    check(ev)


def test_incomplete_closes_open_item_last() -> None:
    w = writer()
    ev = w.start()
    i, e = w.add_message()
    ev += e + w.add_output_text_part(i) + w.text_delta(i, "partial")
    ev += w.incomplete("max_output_tokens", USAGE)
    assert types(ev)[-4:] == ["response.output_text.done", "response.content_part.done",
                              "response.output_item.done", "response.incomplete"]
    final = ev[-1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][-1]["status"] == "incomplete"
    check(ev)


def test_fail_emits_error_then_failed_and_closes_items() -> None:
    w = writer()
    ev = w.start()
    i, e = w.add_function_call("f")
    ev += e + w.arguments_delta(i, "{")
    ev += w.fail("boom", code="server_error")
    assert types(ev)[2:] == ["response.output_item.added", "response.function_call_arguments.delta", "error",
                             "response.function_call_arguments.done", "response.output_item.done",
                             "response.failed"]
    error = ev[4]
    assert error == {"type": "error", "sequence_number": 4, "code": "server_error", "message": "boom",
                     "param": None}
    assert ev[-1]["response"]["error"] == {"code": "server_error", "message": "boom"}
    # What the failure cut short is closed `incomplete`, never passed off as `completed`.
    assert ev[-2]["item"]["status"] == "incomplete"
    assert ev[-1]["response"]["output"][-1]["status"] == "incomplete"
    # The cut-off arguments "{" are not JSON: a warning the checker rightly gives a failed call.
    check(ev, level="error")


def test_nested_error_style() -> None:
    w = writer(error_style="nested")
    ev = w.start() + w.fail("boom")
    assert ev[2]["error"] == {"type": "server_error", "code": "server_error", "message": "boom", "param": None}


def test_cancel_closes_items_without_terminal_event() -> None:
    w = writer()
    w.start()
    i, _ = w.add_message()
    w.add_output_text_part(i)
    ev = w.cancel()
    assert types(ev) == ["response.output_text.done", "response.content_part.done", "response.output_item.done"]
    snap = w.snapshot()
    assert snap["status"] == "cancelled" and snap["output"][0]["status"] == "incomplete"


@pytest.mark.parametrize(
    ("setup", "call", "fragment"),
    [
        (lambda w: None, lambda w: w.add_message(), "not allowed while the response is 'new'"),
        (lambda w: w.start(), lambda w: w.text_delta(0, "x"), "no output item has that index"),
        (lambda w: (w.start(), w.add_message()), lambda w: w.text_delta(0, "x"), "needs an open output_text part"),
        (lambda w: (w.start(), w.add_message(), w.add_output_text_part(0)),
         lambda w: w.reasoning_text_delta(0, "x"), "its open part is output_text"),
        (lambda w: (w.start(), w.add_message(), w.close_item(0)), lambda w: w.add_output_text_part(0),
         "already closed"),
        (lambda w: (w.start(), w.add_message()), lambda w: w.add_reasoning(), "item 0 is still open"),
        (lambda w: (w.start(), w.add_message()), lambda w: w.arguments_delta(0, "x"), "not a function_call"),
        (lambda w: (w.start(), w.add_reasoning()), lambda w: w.add_refusal_part(0), "cannot hold a refusal part"),
        (lambda w: (w.start(), w.add_reasoning(), w.add_reasoning_text_part(0)), lambda w: w.add_summary_part(0),
         "summary parts must precede"),
        (lambda w: (w.start(), w.complete(USAGE)), lambda w: w.complete(USAGE), "not allowed while the response is 'done'"),
        (lambda w: w.start(), lambda w: w.start(), "not allowed while the response is 'in_progress'"),
        (lambda w: (w.start(), w.add_message()), lambda w: w.close_item(0, "done"), "status must be"),
    ],
)
def test_illegal_calls_raise_precise_errors(setup: Any, call: Any, fragment: str) -> None:
    w = writer()
    setup(w)
    seq = w.next_sequence_number
    with pytest.raises(ValueError, match=fragment):
        call(w)
    assert w.next_sequence_number == seq  # a refused call emits nothing


def test_interleaving_is_opt_in() -> None:
    w = writer(allow_interleaving=True)
    ev = w.start()
    a, e1 = w.add_function_call("a")
    b, e2 = w.add_function_call("b")
    ev += e1 + e2 + w.arguments_delta(a, "{}") + w.arguments_delta(b, "{}") + w.complete(USAGE)
    assert [i["name"] for i in ev[-1]["response"]["output"]] == ["a", "b"]


def test_make_usage_validates() -> None:
    assert make_usage(3, 2)["total_tokens"] == 5
    with pytest.raises(ValueError):
        make_usage(3, 2, reasoning_tokens=3)
    with pytest.raises(ValueError):
        make_usage(3, 2, cached_tokens=4)
    with pytest.raises(ValueError):
        make_usage(-1, 2)


def test_ids_have_prefixes() -> None:
    assert new_id("resp").startswith("resp_") and len(new_id("resp")) == 53
    call = new_id("call")
    assert call.startswith("call_") and call[5:].isalnum()


def test_sse_encoding() -> None:
    assert encode_event({"type": "x", "t": "a\nb"}) == b'event: x\ndata: {"type":"x","t":"a\\nb"}\n\n'
    assert encode_stream([{"type": "x"}], done_sentinel=True).endswith(b"data: [DONE]\n\n")
    with pytest.raises(ValueError):
        encode_event({"no": "type"})
    with pytest.raises(ValueError):
        encode_event({"type": "a\nb"})
