"""The checker as a whole: public API, registry, profiles, real captures, result object."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import conformance
from conformance import check_events, check_sse, registry
from conformance.checker import CheckResult, StreamChecker
from conformance.findings import Finding
from conformance.profiles import PROFILE_NAMES, get_profile
from conformance.state import ITEM_TYPE_EVENTS, RESPONSE_GRAMMAR, SUB_EVENTS
from conformance.testing import (
    assert_only,
    build_stream,
    function_call,
    index_of,
    message,
    reasoning,
    renumber,
    to_sse,
)
from tests.paths import CAPTURES, RULES_MD, SEED, require_shared

# The catalogue's ids (RULES.md); ids are a public interface and must never disappear.
CATALOGUE = ["framing.content-type", "framing.invalid-json", "framing.not-an-event", "framing.event-name-mismatch", "framing.unterminated", "framing.id-field", "framing.done-sentinel", "schema.event", "schema.unknown-event", "schema.response", "schema.item", "sequence.missing", "sequence.not-increasing", "sequence.gap", "sequence.start", "lifecycle.created-first", "lifecycle.in-progress-missing", "lifecycle.no-terminal", "lifecycle.after-terminal", "lifecycle.status-mismatch", "lifecycle.response-id-changed", "lifecycle.created-at-changed", "lifecycle.model-changed", "lifecycle.incomplete-details", "lifecycle.failed-error", "lifecycle.error-without-failed", "item.index-not-contiguous", "item.duplicate-index", "item.unknown-index", "item.after-done", "item.not-closed", "item.done-without-added", "item.identity-changed", "item.id-mismatch", "item.wrong-event-for-type", "item.status", "item.incomplete-not-last", "item.interleaved", "part.not-added", "part.index-not-contiguous", "part.not-closed", "part.after-done", "part.type-mismatch", "accumulation.delta-vs-done", "accumulation.done-vs-part", "accumulation.part-vs-item", "accumulation.done-missing", "call.arguments-not-json", "call.call-id", "call.unknown-tool", "call.tool-choice", "call.parallel", "call.arguments-schema", "output.mismatch", "output.null", "usage.missing", "usage.total", "usage.invalid", "usage.details-missing", "usage.details-exceed", "usage.early", "usage.max-output-tokens", "request.echo", "request.max-output-tokens", "http.status", "http.server-error", "http.error-shape", "http.bad-request", "http.content-type", "http.stream-vs-nonstream", "http.stored-mismatch", "http.timeout", "client.openai-python"]


def _seed_captures() -> list[Path]:
    for d in (CAPTURES, SEED):
        files = sorted(d.glob("*.sse")) if d.is_dir() else []
        if files:
            return files
    pytest.fail("no real captures: neither fixtures/streams/positive/openai-api/ nor ../shared/fixtures-seed/ exists")


SEEDS = _seed_captures()


# -- public API -------------------------------------------------------------------------------
def test_import_is_cheap() -> None:
    code = "import conformance, sys; print(sorted(m for m in sys.modules if m.startswith('conformance')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['conformance']"


def test_public_names() -> None:
    assert conformance.StreamChecker is StreamChecker
    assert conformance.CheckResult is CheckResult
    assert conformance.Finding is Finding
    with pytest.raises(AttributeError):
        conformance.nope  # noqa: B018


def test_result_fields() -> None:
    evs = build_stream(message("hi there"))
    r = check_sse(to_sse(evs, done=True))
    assert r.ok and r.event_count == len(evs) and r.saw_done
    assert r.response_id == "resp_test0001" and r.terminal_response == evs[-1]["response"]
    assert r.summary == {"error": 0, "warning": 0, "info": 1}
    assert [f.rule for f in r.errors("info")] == ["framing.done-sentinel"] and r.errors() == []


def test_feed_returns_findings_as_they_happen() -> None:
    evs = build_stream(message("a b"))
    evs[3]["sequence_number"] = 30
    c = StreamChecker()
    per_event = [[f.rule for f in c.feed(ev)] for ev in evs]
    assert per_event[3] == ["sequence.gap"] and per_event[4] == ["sequence.not-increasing"]
    r = c.finish()
    assert c.finish() is r
    assert {f.rule for f in r.findings} == {"sequence.gap", "sequence.not-increasing"}


def test_findings_are_capped_per_rule() -> None:
    evs = build_stream(message("a" * 60, chunks=["a"] * 60))
    for ev in evs:
        if ev["type"] == "response.output_text.delta":
            ev["item_id"] = "wrong"
    r = check_events(evs)
    fs = [f for f in r.findings if f.rule == "item.id-mismatch"]
    assert len(fs) == 21 and "40 more" in fs[-1].message
    assert r.counts_by_rule["item.id-mismatch"] == 60 and r.summary["error"] == 60


def test_finding_location_and_metadata() -> None:
    evs = build_stream(reasoning(["x y"]), message("a b"))
    i = index_of(evs, "response.output_text.delta")
    del evs[index_of(evs, "response.content_part.added", output_index=1)]
    evs = renumber(evs)
    f = assert_only(check_events(evs), "part.not-added")[0]
    assert (f.event_index, f.sequence_number, f.output_index, f.content_index) == (i - 1, i - 1, 1, 0)
    assert f.excerpt and f.excerpt.startswith('{"type":"response.output_text.delta"')
    assert f.spec and f.breaks == ("openai-python (IndexError)",)
    assert f.to_dict()["rule"] == "part.not-added"


# -- registry ---------------------------------------------------------------------------------
def test_registry_has_the_whole_catalogue() -> None:
    ids = [r.id for r in registry.all_rules()]
    assert len(ids) == len(set(ids))
    assert set(CATALOGUE) <= set(ids)
    for r in registry.all_rules():
        assert r.severity in ("error", "warning", "info") and r.title and r.family == r.id.split(".")[0]
        assert r.checks or r.external, f"{r.id} has no logic and no external owner"


def test_registry_has_every_rule_of_the_shared_catalogue() -> None:
    listed = re.findall(r"^\| (\w+\.[a-z0-9-]+) \|", require_shared(RULES_MD).read_text(), re.M)
    assert listed and set(listed) <= set(registry.rule_ids())


def test_breaks_metadata() -> None:
    assert registry.get_rule("lifecycle.no-terminal").breaks[:2] == ("codex", "openai-agents")
    assert registry.get_rule("part.not-added").breaks
    assert registry.get_rule("sequence.gap").breaks == ()


def test_make_finding_for_external_rules() -> None:
    f = registry.make_finding("http.server-error", "500 on POST /v1/responses", event_index=None)
    assert f.severity == "error" and f.rule == "http.server-error"
    f = registry.make_finding("client.openai-python", "RuntimeError", profile="lenient", event_index=3)
    assert f.breaks == ("openai-python",) and f.severity == "error" and f.event_index == 3
    assert registry.make_finding("http.stream-vs-nonstream", "x", profile="openresponses").severity == "warning"
    with pytest.raises(KeyError):
        registry.get_rule("nope.nope")
    with pytest.raises(TypeError):
        registry.make_finding("http.status", "x", line=3)


def test_user_rule_runs_and_disables_the_fast_path() -> None:
    seen: list[str] = []

    @registry.rule("custom.no-bang", severity="warning", title="no '!' in deltas", on=("response.output_text.delta",))
    def no_bang(st, ev, ctx):
        seen.append(ev["delta"])
        if "!" in ev["delta"]:
            yield f"delta {ev['delta']!r} shouts"

    try:
        r = check_events(build_stream(message("hi there!")))
        (f,) = assert_only(r, "custom.no-bang")
        assert f.severity == "warning" and seen == ["hi", " there!"]
    finally:
        registry.unregister("custom.no-bang")
    assert_only(check_events(build_stream(message("hi there!"))))


# -- profiles ---------------------------------------------------------------------------------
def test_profiles() -> None:
    assert set(PROFILE_NAMES) == {"openai", "openresponses", "lenient"}
    with pytest.raises(ValueError, match="choose one of"):
        get_profile("strict")
    openai, oresp, lenient = (get_profile(n) for n in ("openai", "openresponses", "lenient"))
    assert openai.severity_for(registry.get_rule("framing.done-sentinel")) == "info"
    assert oresp.severity_for(registry.get_rule("framing.done-sentinel")) == "error"
    assert oresp.severity_for(registry.get_rule("lifecycle.error-without-failed")) == "error"
    # lenient: client-breaking and data-losing errors stay errors, the rest become warnings
    assert lenient.severity_for(registry.get_rule("lifecycle.created-first")) == "error"
    assert lenient.severity_for(registry.get_rule("accumulation.delta-vs-done")) == "error"
    assert lenient.severity_for(registry.get_rule("sequence.not-increasing")) == "warning"
    assert lenient.severity_for(registry.get_rule("lifecycle.status-mismatch")) == "warning"
    assert lenient.severity_for(registry.get_rule("sequence.gap")) == "warning"
    for rid in CATALOGUE:
        assert lenient.severity_for(registry.get_rule(rid)) in ("error", "warning", "info")


def test_lenient_changes_findings() -> None:
    evs = build_stream(message("a b"))
    evs[-1]["response"]["status"] = "in_progress"
    (f,) = assert_only(check_events(evs, profile="lenient"), "lifecycle.status-mismatch")
    assert f.severity == "warning"
    assert check_events(evs, profile="lenient").ok and not check_events(evs).ok


# -- real captures ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_real_captures_have_no_errors(path: Path) -> None:
    data = path.read_bytes()
    for profile in ("openai", "lenient"):
        r = check_sse(data, profile=profile)
        assert r.errors() == [], [f"{f.rule}: {f.message}" for f in r.errors()]
        assert r.terminal_response is not None and r.event_count > 3
    slow = StreamChecker(fast_path=False)
    fast = StreamChecker()
    from conformance.sse import SSEParser

    p = SSEParser()
    msgs = p.feed(data) + p.close()
    for m in msgs:
        slow.feed_message(m)
        fast.feed_message(m)
    assert [f.to_dict() for f in slow.finish().findings] == [f.to_dict() for f in fast.finish().findings]


def test_there_are_fourteen_captures() -> None:
    assert len(SEEDS) >= 14


# -- grammar tables ---------------------------------------------------------------------------
def test_response_grammar_is_closed() -> None:
    for state, moves in RESPONSE_GRAMMAR.items():
        for target in moves.values():
            assert target in RESPONSE_GRAMMAR, (state, target)
    # every state but start is reachable from start
    seen, todo = {"start"}, ["start"]
    while todo:
        for t in RESPONSE_GRAMMAR[todo.pop()].values():
            if t not in seen:
                seen.add(t)
                todo.append(t)
    assert seen == set(RESPONSE_GRAMMAR)


def test_item_type_events_is_the_inverse_of_sub_events() -> None:
    for itype, etypes in ITEM_TYPE_EVENTS.items():
        for etype in etypes:
            assert itype in SUB_EVENTS[etype].item_types
    assert "response.output_text.delta" in ITEM_TYPE_EVENTS["message"]
    assert ITEM_TYPE_EVENTS["function_call"] == (
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
    )


def test_render_grammar_script() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "render_grammar.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert "stateDiagram-v2" in out
    for state in RESPONSE_GRAMMAR:
        assert state in out
    assert "response.function_call_arguments.delta" in out
    # The documentation's diagrams are generated from the same tables (h11 style): they must match.
    page = (Path(__file__).resolve().parents[2] / "docs" / "grammar.md").read_text(encoding="utf-8")
    assert page.endswith(out), "docs/grammar.md is stale: replace it from the marker comment down with scripts/render_grammar.py's output"


def test_valid_builder_streams() -> None:
    evs = build_stream(reasoning(["a"], text=["b"]), message("c"), function_call())
    for profile in PROFILE_NAMES:
        assert_only(check_sse(to_sse(evs, done=True), profile=profile), *(["framing.done-sentinel"] if profile != "openresponses" else []))
