"""The rule API: one decorator per rule, typed check signatures, the "@sse-anomaly" hook."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator

import pytest

from conformance import check_events, check_sse, registry
from conformance.registry import CheckContext, Hit
from conformance.sse import SSEAnomaly
from tests.conformance.streams import build_stream, message


def test_one_decorator_defines_the_rule_and_attaches_its_check() -> None:
    @registry.rule("custom.shout", "warning", "no '!' in deltas", "A delta holds '!'.",
                   spec="house style", on="response.output_text.delta", kind="model")
    def no_bang(st, ev, ctx: CheckContext) -> Iterator[str]:
        assert isinstance(ctx, CheckContext) and ctx.etype == "response.output_text.delta"
        if "!" in ev["delta"]:
            yield f"delta {ev['delta']!r} shouts"

    # A second check of the same rule names only the id.
    @registry.rule("custom.shout", on=("@output",))
    def no_bang_in_output(st, ev, ctx: CheckContext) -> Iterator[Hit]:
        for oi, item in ctx.output_items:
            if "!" in str(item.get("content")):
                yield Hit("the final text shouts", output_index=oi)

    try:
        r = registry.get_rule("custom.shout")
        assert (r.severity, r.title, r.description, r.spec, r.kind) == (
            "warning", "no '!' in deltas", "A delta holds '!'.", "house style", "model")
        assert [c.name for c in r.checks] == ["no_bang", "no_bang_in_output"]
        findings = check_events(build_stream(message("hi there!"))).findings
        assert sorted(f.message for f in findings if f.rule == "custom.shout") == [
            "delta ' there!' shouts", "the final text shouts"]
    finally:
        registry.unregister("custom.shout")
    assert not any(f.rule == "custom.shout" for f in check_events(build_stream(message("hi!"))).findings)


def test_rule_needs_both_severity_and_title_or_neither() -> None:
    with pytest.raises(ValueError, match="both severity and title"):
        registry.rule("custom.half", "error", on="*")
    with pytest.raises(KeyError, match="before attaching"):
        registry.rule("custom.undeclared", on="*")(lambda st, ev, ctx: None)
    with pytest.raises(ValueError, match="unknown hook"):
        registry.rule("custom.hook", "error", "t", on="@nope")


def test_sse_anomaly_hook_gets_the_parser_anomalies_not_messages() -> None:
    seen: list[object] = []

    @registry.rule("custom.anomaly", "info", "sees anomalies", on="@sse-anomaly", fast_safe=True)
    def see(st, a: SSEAnomaly, ctx: CheckContext) -> Iterator[str]:
        seen.append((type(a), a.kind, ctx.hook))
        yield a.kind

    try:
        body = b"\xef\xbb\xbf" + b"".join(
            f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
            for e in build_stream(message("hi"))
        )
        r = check_sse([body], content_type="text/event-stream")
        assert seen == [(SSEAnomaly, "bom", "@sse-anomaly")]
        assert {f.rule for f in r.findings} == {"custom.anomaly", "framing.bom"}
    finally:
        registry.unregister("custom.anomaly")


def test_every_built_in_check_has_a_typed_signature() -> None:
    checks = registry.all_checks()
    assert checks
    for c in checks:
        params = list(inspect.signature(c.fn).parameters.values())
        assert len(params) == 3, c.name
        state, subject, ctx = (p.annotation for p in params)
        if c.rule_id.startswith("ws."):
            assert (state, ctx) == ("TranscriptState", "WSContext"), c.name
        else:
            assert (state, ctx) == ("StreamState", "CheckContext"), c.name
        if c.on == ("@sse-anomaly",):
            assert subject == "SSEAnomaly", c.name
        assert not hasattr(c.fn, "sse_anomaly"), c.name
