"""lifecycle.*: created -> in_progress -> one terminal event, and snapshot identity."""

from __future__ import annotations

import copy

from conformance import check_events
from conformance.testing import assert_only, build_stream, index_of, message, renumber


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


# -- found by the client oracle (tests/conformance/test_client_oracle.py) ------------------------
def test_done_sentinel_before_the_terminal_event_is_no_terminal() -> None:
    """openai-python stops reading at [DONE]: a terminal event after it is never seen."""
    from conformance import check_sse
    from conformance.testing import to_sse

    evs = _evs()
    raw = to_sse(evs[:-1]) + b"data: [DONE]\n\n" + to_sse(evs[-1:])
    r = check_sse(raw)
    (f,) = [f for f in r.findings if f.rule == "lifecycle.no-terminal"]
    assert f.severity == "error" and f.event_index == len(evs) - 1
    assert f"before response.completed (event {len(evs)})" in f.message and "openai-python" in f.message
    assert {x.rule for x in r.errors()} == {"lifecycle.no-terminal"}
    # [DONE] after the terminal event is fine (info only)
    assert check_sse(to_sse(evs, done=True)).ok


def test_response_id_lost_counts_as_changed() -> None:
    """openai-python compares every lifecycle id with response.created's, None included."""
    for how in ("null", "absent"):
        evs = _evs()
        if how == "null":
            evs[-1]["response"]["id"] = None
        else:
            del evs[-1]["response"]["id"]
        r = check_events(evs)
        (f,) = [f for f in r.findings if f.rule == "lifecycle.response-id-changed"]
        assert f"response.id is {how} here but was 'resp_test0001'" in f.message
        assert f.event_index == len(evs) - 1 and f.breaks == ("openai-python>=3.54",)
    evs = _evs()
    del evs[1]["response"]
    r = check_events(evs)
    (f,) = [f for f in r.findings if f.rule == "lifecycle.response-id-changed"]
    assert "absent (no response object)" in f.message and f.event_index == 1


def test_first_lifecycle_id_absent_reported_once() -> None:
    evs = _evs()
    del evs[0]["response"]["id"]
    r = check_events(evs)
    changed = [f for f in r.findings if f.rule == "lifecycle.response-id-changed"]
    assert len(changed) == 1 and changed[0].event_index == 1 and "had none" in changed[0].message


def test_nested_error_without_failed_names_the_client() -> None:
    evs = _evs()
    evs.insert(-1, {"type": "error", "error": {"type": "server_error", "code": "x", "message": "boom", "param": None}})
    evs = renumber(evs)
    r = check_events(evs)
    (f,) = [f for f in r.findings if f.rule == "lifecycle.error-without-failed"]
    assert "nested under `error`" in f.message and "APIError" in f.message
    assert any(b.startswith("openai-python") for b in f.breaks)


def test_typeless_object_first_is_not_created() -> None:
    """openai-python takes a typeless object for an event: 'response.created before None'."""
    evs = _evs()
    r = check_events([{"heartbeat": True}, *evs])
    assert {f.rule for f in r.findings} == {"framing.not-an-event", "lifecycle.created-first"}
    (f,) = [f for f in r.findings if f.rule == "lifecycle.created-first"]
    assert f.event_index == 0 and "without a string `type`" in f.message
    # a non-object first (list, number) is framing.not-an-event's alone; so is a later heartbeat
    assert {f.rule for f in check_events([[1], *evs]).findings} == {"framing.not-an-event"}
    assert {f.rule for f in check_events([*evs[:3], {"heartbeat": True}, *evs[3:]]).findings} == {"framing.not-an-event"}
