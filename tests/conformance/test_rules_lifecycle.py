"""lifecycle.*: created -> in_progress -> one terminal event, and snapshot identity."""

from __future__ import annotations

import copy

from conformance import check_events
from tests.conformance.streams import assert_only, build_stream, index_of, message, renumber


def _evs(**kw):
    return build_stream(message("Hello there"), **kw)


def test_created_first() -> None:
    evs = _evs()
    evs.insert(0, {"type": "codex.rate_limits", "limit": 1})
    r = check_events(renumber(evs))
    (f,) = assert_only(r, "lifecycle.created-first", "schema.unknown-event")[:1]
    assert f.event_index == 0 and f.breaks == ("openai-python",) and f.severity == "error"
    assert [x.severity for x in r.findings if x.rule == "schema.unknown-event"] == ["info"]


def test_created_missing_entirely() -> None:
    evs = renumber(_evs()[1:])
    (f,) = assert_only(check_events(evs), "lifecycle.created-first")
    assert "response.in_progress" in f.message


def test_in_progress_missing() -> None:
    evs = _evs()
    del evs[1]
    (f,) = assert_only(check_events(renumber(evs)), "lifecycle.in-progress-missing")
    assert f.event_index == 1 and f.severity == "warning"


def test_queued_may_sit_between() -> None:
    assert_only(check_events(_evs(queued=True)))


def test_no_terminal() -> None:
    r = check_events(_evs(terminal=None))
    (f,) = assert_only(r, "lifecycle.no-terminal")
    assert "codex" in f.breaks and f.event_index is None
    assert r.terminal_response is None


def test_empty_stream_has_no_terminal() -> None:
    from conformance import check_sse

    (f,) = assert_only(check_sse(b""), "lifecycle.no-terminal")
    assert "0 events" in f.message


def test_after_terminal() -> None:
    evs = _evs()
    evs.append(copy.deepcopy(evs[-1]))
    (f,) = assert_only(check_events(renumber(evs)), "lifecycle.after-terminal")
    assert f.event_index == len(evs) - 1 and "second terminal" in f.message


def test_status_mismatch_terminal_and_early() -> None:
    evs = _evs()
    evs[-1]["response"]["status"] = "in_progress"
    (f,) = assert_only(check_events(evs), "lifecycle.status-mismatch")
    assert f.event_index == len(evs) - 1
    evs = _evs()
    evs[0]["response"]["status"] = "completed"
    (f,) = assert_only(check_events(evs), "lifecycle.status-mismatch")
    assert f.event_index == 0


def test_response_id_changed() -> None:
    evs = _evs()
    evs[-1]["response"]["id"] = "resp_other"
    (f,) = assert_only(check_events(evs), "lifecycle.response-id-changed")
    assert "resp_other" in f.message and f.breaks


def test_created_at_and_model_changed() -> None:
    evs = _evs()
    evs[1]["response"]["created_at"] += 5
    (f,) = assert_only(check_events(evs), "lifecycle.created-at-changed")
    assert f.event_index == 1 and f.severity == "warning"
    evs = _evs()
    evs[-1]["response"]["model"] = "other-model"
    (f,) = assert_only(check_events(evs), "lifecycle.model-changed")
    assert f.severity == "warning"


def test_incomplete_details() -> None:
    evs = _evs(terminal="incomplete")
    evs[-1]["response"]["incomplete_details"] = None
    assert_only(check_events(evs), "lifecycle.incomplete-details")
    evs = _evs()
    evs[-1]["response"]["incomplete_details"] = {"reason": "max_output_tokens"}
    assert_only(check_events(evs), "lifecycle.incomplete-details")


def test_failed_error() -> None:
    evs = _evs(terminal="failed")
    evs[-1]["response"]["error"] = None
    (f,) = assert_only(check_events(evs), "lifecycle.failed-error")
    assert f.event_index == len(evs) - 1


def test_error_without_failed() -> None:
    evs = _evs()
    evs.insert(-1, {"type": "error", "code": "server_error", "message": "boom", "param": None})
    evs = renumber(evs)
    (f,) = assert_only(check_events(evs), "lifecycle.error-without-failed")
    assert f.event_index == index_of(evs, "error") and f.severity == "warning"
    evs[index_of(evs, "error")] = {"type": "error", "sequence_number": index_of(evs, "error"), "error": {"type": "server_error", "code": "x", "message": "boom", "param": None}}
    (f,) = assert_only(check_events(evs, profile="openresponses"), "lifecycle.error-without-failed")
    assert f.severity == "error"
    # an error at the very end, no terminal at all
    evs = _evs(terminal=None)
    evs.append({"type": "error", "code": "server_error", "message": "boom", "param": None})
    assert_only(check_events(renumber(evs)), "lifecycle.error-without-failed", "lifecycle.no-terminal")


def test_failed_stream_is_valid() -> None:
    assert_only(check_events(_evs(terminal="failed")))


def test_out_of_order() -> None:
    evs = _evs()
    evs.insert(3, copy.deepcopy(evs[0]))
    (f,) = assert_only(check_events(renumber(evs)), "lifecycle.out-of-order")
    assert f.event_index == 3 and "'in_progress'" in f.message and f.severity == "warning"
    evs = _evs()
    q = copy.deepcopy(evs[1])
    q["type"] = "response.queued"
    q["response"]["status"] = "queued"
    evs.insert(2, q)
    assert_only(check_events(renumber(evs)), "lifecycle.out-of-order")
