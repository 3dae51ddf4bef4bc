"""sequence.*: sequence_number presence, order, steps and start."""

from __future__ import annotations

from conformance import check_events
from conformance.testing import assert_only, build_stream, message, renumber


def _evs():
    return build_stream(message("one two three four"))


def test_missing_one() -> None:
    evs = _evs()
    del evs[5]["sequence_number"]
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert f.event_index == 5 and f.sequence_number is None and f.severity == "error"


def test_not_an_integer() -> None:
    evs = _evs()
    evs[5]["sequence_number"] = "5"
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert "not an integer" in f.message


def test_missing_everywhere_is_one_error_naming_the_opt_in() -> None:
    evs = _evs()
    for ev in evs:
        del ev["sequence_number"]
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert f.severity == "error" and f.event_index == 0
    assert "--tolerate sequence-number-absent" in f.message


def test_missing_everywhere_is_one_warning_when_tolerated() -> None:
    evs = _evs()
    for ev in evs:
        del ev["sequence_number"]
    result = check_events(evs, profile="openai[tolerate=sequence-number-absent]")
    (f,) = assert_only(result, "sequence.missing")
    assert f.severity == "warning" and f.event_index == 0
    assert "[tolerated: sequence-number-absent]" in f.message
    assert result.profile == "openai[tolerate=sequence-number-absent]"


def test_the_tolerance_changes_nothing_for_a_stream_with_numbers() -> None:
    evs = _evs()
    del evs[3]["sequence_number"]
    (f,) = assert_only(check_events(evs, profile="openai[tolerate=sequence-number-absent]"), "sequence.missing")
    assert f.severity == "error"


def test_missing_before_the_first_numbered_event() -> None:
    evs = _evs()
    del evs[0]["sequence_number"]
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert f.severity == "error" and f.event_index == 0


def test_not_increasing() -> None:
    evs = _evs()
    evs[5]["sequence_number"], evs[6]["sequence_number"] = 6, 5
    r = check_events(evs)
    fs = assert_only(r, "sequence.not-increasing", "sequence.gap")
    assert [f.event_index for f in fs] == [6]
    assert [f.event_index for f in r.findings if f.rule == "sequence.gap"] == [5]


def test_repeated_number() -> None:
    evs = _evs()
    evs[6]["sequence_number"] = 5
    renumber(evs[7:], start=6)
    (f,) = assert_only(check_events(evs), "sequence.not-increasing")
    assert f.event_index == 6 and f.sequence_number == 5


def test_gap() -> None:
    evs = _evs()
    renumber(evs[4:], start=10)
    (f,) = assert_only(check_events(evs), "sequence.gap")
    assert f.event_index == 4 and f.severity == "warning" and "3 to 10" in f.message


def test_start() -> None:
    evs = renumber(_evs(), start=1)
    (f,) = assert_only(check_events(evs), "sequence.start")
    assert f.event_index == 0 and f.sequence_number == 1
