"""conformance.testing: every builder gives a stream the checker accepts, the editing helpers do
what they say, and the package stays out of the checker's imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance import check_events, check_sse
from conformance.testing import (
    Refusal,
    Stream,
    Text,
    assert_only,
    build_stream,
    chunks,
    code_interpreter_call,
    custom_tool_call,
    function_call,
    index_of,
    long_text_stream,
    message,
    reasoning,
    refusal,
    renumber,
    rules_found,
    snapshots,
    terminal,
    to_sse,
    web_search_call,
)

COMPOSED = [
    message("Hello there"),
    refusal(),
    reasoning(["Thinking it over"], text=["raw thoughts"]),
    function_call(),
    custom_tool_call(),
    web_search_call(),
    code_interpreter_call(),
]


@pytest.mark.parametrize("item", COMPOSED, ids=lambda i: i.final["type"])
@pytest.mark.parametrize("end", ["completed", "failed"])
def test_each_composed_item_is_a_valid_stream(item, end: str) -> None:
    # Each item alone: ids repeat across the builders' defaults, so one per stream.
    events = build_stream(item, terminal=end, error_form="nested")
    assert not rules_found(check_events(events, profile="openresponses"), "error")


def test_an_incomplete_stream_ends_with_its_cut_item() -> None:
    cut = build_stream(reasoning(["Hm"]), message("Once upon", status="incomplete"), terminal="incomplete")
    assert_only(check_events(cut))
    # The composer does not mark the last item cut by itself: a completed one is a defect.
    assert_only(check_events(build_stream(message("The end."), terminal="incomplete")), "item.truncated-completed")


def test_every_recorded_item_kind_is_a_valid_stream() -> None:
    s = Stream("testing-streams", request={"model": "gpt-4o-mini", "input": "Hi"}).open()
    s.reasoning([chunks("Let me think.")], encrypted=True)
    s.message(Text(chunks("Hello there!"), logprobs=True), Refusal(chunks("No.")))
    s.function_call("get_weather", ['{"city":', '"Paris"}'])
    s.custom_tool_call("run_sql", ["SELECT ", "1"])
    s.web_search("news")
    s.file_search(["reef"])
    s.code_interpreter(["print(", "1)"])
    s.image_generation()
    s.mcp_list_tools("docs", [{"name": "search", "input_schema": {"type": "object"}}])
    s.mcp_call("docs", "search", ['{"q":', '"x"}'], "found")
    events = s.complete().events
    result = check_sse(to_sse(events))
    # The one warning: function_call_arguments.done without `name`, as the live API sends it.
    assert rules_found(result, "warning") == {"schema.event"}, result.findings
    assert s.model == "gpt-4o-mini-2024-07-18"
    assert terminal(events)["output"] == s.output and len(s.output) == 10


def test_recorded_streams_are_deterministic_per_seed() -> None:
    def build(seed: str) -> bytes:
        s = Stream(seed).open()
        s.function_call("f", ["{}"])
        return to_sse(s.complete().events)

    assert build("a") == build("a")
    assert build("a") != build("b")


@pytest.mark.parametrize("n_messages", [1, 3])
def test_long_text_stream_has_exactly_n_events_and_no_finding(n_messages: int) -> None:
    events = list(long_text_stream(97, n_messages))
    assert len(events) == 97
    assert [e["sequence_number"] for e in events] == list(range(97))
    assert not check_sse(to_sse(events)).findings
    with pytest.raises(ValueError, match="need at least"):
        list(long_text_stream(3 + 5 * n_messages, n_messages))


def test_to_sse_framing() -> None:
    ev = [{"type": "x", "v": "é"}]
    assert to_sse(ev) == 'event: x\ndata: {"type":"x","v":"é"}\n\n'.encode()
    assert to_sse(ev, event_field=False, done=True, newline="\r\n") == (
        'data: {"type":"x","v":"é"}\r\n\r\ndata: [DONE]\r\n\r\n'.encode()
    )


def test_index_of_and_renumber() -> None:
    events = build_stream(message("a b c"))
    assert index_of(events, "response.output_text.delta", -1) == index_of(events, "response.output_text.delta", 2)
    with pytest.raises(LookupError):
        index_of(events, "response.output_text.delta", 3)
    with pytest.raises(LookupError):
        index_of(events, "response.output_text.delta", output_index=1)
    del events[1]["sequence_number"]
    renumber(events, 5, keep_unnumbered=True)
    assert "sequence_number" not in events[1]
    assert [e["sequence_number"] for e in events[:3:2]] == [5, 6]
    renumber(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert len(snapshots(events)) == 3


def test_the_checker_does_not_import_the_testing_helpers() -> None:
    code = (
        "import sys, conformance, conformance.checker, conformance.cli; "
        "import conformance.testing; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'reference_server'))"
    )
    probe = "import sys, conformance, conformance.checker; print('conformance.testing' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
