"""Rule behaviour the per-family tests left unpinned, found by `nox -s mutation` on the rule
modules (docs/mutation.md): each test fails under at least one mutant that survived them."""

from __future__ import annotations

import copy
from typing import Any

from conformance import check_events, check_response, check_sse
from conformance.testing import (
    build_stream,
    custom_tool_call,
    function_call,
    message,
    response_object,
    to_sse,
    usage,
)


def findings(result: Any, rule: str) -> list[Any]:
    return [f for f in result.findings if f.rule == rule]


# ---- lifecycle ----------------------------------------------------------------------------------
def test_done_before_the_terminal_event_names_the_sentinels_event_index() -> None:
    evs = build_stream(message("Hello"))
    raw = to_sse(evs[:-1]) + b"data: [DONE]\n\n" + to_sse(evs[-1:])
    (f,) = findings(check_sse(raw), "lifecycle.no-terminal")
    assert f.message.startswith(f"data: [DONE] (event {len(evs) - 1}) came before response.completed")


# ---- call ---------------------------------------------------------------------------------------
def _final(spec: Any, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(spec.final), **changes}


def test_only_function_calls_arguments_are_parsed_as_json() -> None:
    # A custom tool call's payload is `input`; a stray `arguments` string on one is not judged.
    custom = _final(custom_tool_call(), arguments="not json")
    body = response_object("completed", [custom], usage=usage())
    assert not findings(check_response(body), "call.arguments-not-json")


def test_a_cut_short_call_does_not_hide_the_next_calls_bad_arguments() -> None:
    cut = _final(function_call(arguments='{"city": "Pa'), status="incomplete")
    bad = _final(function_call(arguments="{city}", call_id="call_2", item_id="fc_2"))
    body = response_object("incomplete", [cut, bad], usage=usage(),
                           incomplete_details={"reason": "max_output_tokens"})
    result = check_response(body)
    (f,) = findings(result, "call.truncated-arguments")
    assert f.output_index == 0
    (g,) = findings(result, "call.arguments-not-json")
    assert g.output_index == 1
