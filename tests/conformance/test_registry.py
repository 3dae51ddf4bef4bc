"""The rule API: one decorator per rule, typed check signatures, the "@sse-anomaly" hook."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import check_events, check_sse, registry
from conformance.registry import CheckContext, Hit
from conformance.sse import SSEAnomaly
from tests.conformance.streams import build_stream, message

ROOT = Path(__file__).resolve().parents[2]


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
        if c.on == ("@exchange",):  # one HTTP exchange, no stream state
            assert [p.annotation for p in params] == ["HttpExchange"], c.name
            continue
        assert len(params) == 3, c.name
        state, subject, ctx = (p.annotation for p in params)
        if c.rule_id.startswith("ws."):
            assert (state, ctx) == ("TranscriptState", "WSContext"), c.name
        else:
            assert (state, ctx) == ("StreamState", "CheckContext"), c.name
        if c.on == ("@sse-anomaly",):
            assert subject == "SSEAnomaly", c.name
        assert not hasattr(c.fn, "sse_anomaly"), c.name


# -- --select / --ignore / --rules-module ------------------------------------------------------
@pytest.fixture(autouse=True)
def _reset_selection() -> Iterator[None]:
    yield
    registry.select_rules()


def _sse(events: list[dict[str, object]], *, bom: bool = False, first_id: bool = False) -> bytes:
    out = b"\xef\xbb\xbf" if bom else b""
    for i, e in enumerate(events):
        out += (b"id: 1\n" if first_id and i == 0 else b"") + f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
    return out


def _rules_of(body: bytes) -> set[str]:
    return {f.rule for f in check_sse([body], content_type="text/event-stream").findings}


def test_select_and_ignore_by_id_family_and_kind() -> None:
    body = _sse(build_stream(message("hi")), bom=True, first_id=True)
    assert _rules_of(body) == {"framing.bom", "framing.id-field"}
    registry.select_rules(select=["framing.bom"])
    assert _rules_of(body) == {"framing.bom"}
    registry.select_rules(select=["framing,item.identity-changed"], ignore=["framing.id-field"])
    assert _rules_of(body) == {"framing.bom"}
    registry.select_rules(ignore="protocol")  # a kind: every framing rule is a protocol rule
    assert _rules_of(body) == set()
    registry.select_rules(select="model")
    assert _rules_of(body) == set()
    assert registry.enabled("http.structured-output") and not registry.enabled("framing.bom")
    registry.select_rules()
    assert _rules_of(body) == {"framing.bom", "framing.id-field"}


@pytest.mark.parametrize("option", ["select", "ignore"])
def test_unknown_token_is_a_one_line_error(option: str) -> None:
    with pytest.raises(ValueError, match=f"--{option} 'framming': not a rule id, family") as info:
        registry.select_rules(**{option: ["framming"]})
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"'item\.nope'"):
        registry.select_rules(**{option: "item.identity-changed,item.nope"})


RULES_MODULE = '''
from conformance.registry import rule

@rule("house.no-hi", "warning", "no greeting", "The text says hi.", on="response.output_text.delta")
def no_hi(st, ev, ctx):
    if "hi" in ev["delta"]:
        yield "the delta says hi"
'''


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "stream.sse").write_bytes(_sse(build_stream(message("hi")), first_id=True))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "conformance", "check", *args, str(tmp_path / "stream.sse")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_cli_check_rules_module_select_and_ignore(tmp_path: Path) -> None:
    (tmp_path / "house_rules.py").write_text(RULES_MODULE)
    out = _cli(tmp_path, "--rules-module", "house_rules")
    assert out.returncode == 0, out.stderr
    assert "house.no-hi" in out.stdout and "framing.id-field" in out.stdout
    out = _cli(tmp_path, "--rules-module", "house_rules", "--ignore", "house")
    assert "house.no-hi" not in out.stdout and "framing.id-field" in out.stdout
    out = _cli(tmp_path, "--rules-module", "house_rules", "--select", "house.no-hi")
    assert "house.no-hi" in out.stdout and "framing.id-field" not in out.stdout
    for bad, says in ((["--select", "hous"], "--select 'hous'"),
                      (["--rules-module", "no_such_rules"], "--rules-module no_such_rules: cannot import")):
        out = _cli(tmp_path, *bad)
        assert out.returncode == 2 and says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_pytest_plugin_options_and_ini(tmp_path: Path) -> None:
    (tmp_path / "house_rules.py").write_text(RULES_MODULE)
    body = _sse(build_stream(message("hi")), first_id=True)
    (tmp_path / "stream.sse").write_bytes(body)
    (tmp_path / "test_stream.py").write_text(
        "from pathlib import Path\n"
        "from conformance import check_sse\n"
        "def test_rules():\n"
        "    rules = {f.rule for f in check_sse([Path('stream.sse').read_bytes()]).findings}\n"
        "    print('RULES', sorted(rules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s",
                               "-p", "no:cacheprovider", *args, "test_stream.py"],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    (tmp_path / "pytest.ini").write_text("[pytest]\nresponses_rules_module = house_rules\nresponses_ignore = framing\n")
    out = run()
    assert "RULES ['house.no-hi']" in out.stdout, out.stdout + out.stderr
    out = run("--responses-select", "framing.id-field,house", "--responses-ignore", "house")  # each option: the command line wins over the ini
    assert "RULES ['framing.id-field']" in out.stdout, out.stdout + out.stderr
    out = run("--responses-ignore", "nope")
    assert out.returncode != 0 and "--ignore 'nope'" in out.stderr, out.stdout + out.stderr
