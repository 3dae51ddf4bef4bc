"""call.*: function and custom tool calls, with and without the request."""

from __future__ import annotations

from conformance import check_events
from conformance.testing import (
    assert_only,
    build_stream,
    custom_tool_call,
    function_call,
    message,
    web_search_call,
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
    "strict": False,
}


def _req(**kw):
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER]}
    req.update(kw)
    return req


def _stream(*items, req):
    echo = {k: req[k] for k in ("tools", "tool_choice", "parallel_tool_calls") if k in req}
    return build_stream(*items, response=echo)


def test_valid_call_with_request() -> None:
    req = _req()
    assert_only(check_events(_stream(function_call(), req=req), request=req))


def test_arguments_not_json() -> None:
    evs = build_stream(function_call(arguments='{"city": Paris}'))
    (f,) = assert_only(check_events(evs), "call.arguments-not-json")
    assert f.severity == "warning" and f.output_index == 0


def test_call_id_shared_and_missing() -> None:
    evs = build_stream(function_call(), function_call("f2", item_id="fc_2"))
    (f,) = assert_only(check_events(evs), "call.call-id")
    assert f.output_index == 1 and "share" in f.message
    evs = build_stream(custom_tool_call(call_id=""))
    assert_only(check_events(evs), "call.call-id")


def test_unknown_tool() -> None:
    req = _req()
    evs = _stream(function_call("get_time", '{"city":"x"}'), req=req)
    (f,) = assert_only(check_events(evs, request=req), "call.unknown-tool")
    assert "get_time" in f.message
    assert_only(check_events(evs))  # no request: not checked


def test_tool_choice() -> None:
    req = _req(tool_choice="none")
    assert_only(check_events(_stream(function_call(), req=req), request=req), "call.tool-choice")
    req = _req(tool_choice="required")
    assert_only(check_events(_stream(message("hi"), req=req), request=req), "call.tool-choice")
    req = _req(tool_choice={"type": "function", "name": "other"}, tools=[WEATHER, dict(WEATHER, name="other")])
    (f,) = assert_only(check_events(_stream(function_call(), req=req), request=req), "call.tool-choice")
    assert "'other'" in f.message


def test_a_hosted_tool_call_meets_tool_choice_required() -> None:
    """`required` asks for a call of any of the request's tools: a web search is one."""
    req = _req(tool_choice="required", tools=[WEATHER, {"type": "web_search"}])
    assert_only(check_events(_stream(web_search_call(), message("found it"), req=req), request=req))
    (f,) = assert_only(check_events(_stream(message("hi"), req=req), request=req), "call.tool-choice")
    assert f.message == "tool_choice 'required' but the response makes no tool call"


def test_parallel() -> None:
    req = _req(parallel_tool_calls=False)
    evs = _stream(function_call(), function_call(call_id="call_2", item_id="fc_2"), req=req)
    assert_only(check_events(evs, request=req), "call.parallel")


def test_arguments_schema_warning_and_strict_error() -> None:
    req = _req()
    evs = _stream(function_call(arguments='{"town": "Paris"}'), req=req)
    (f,) = assert_only(check_events(evs, request=req), "call.arguments-schema")
    assert f.severity == "warning"
    req = _req(tools=[dict(WEATHER, strict=True)])
    evs = _stream(function_call(arguments='{"town": "Paris"}'), req=req)
    (f,) = assert_only(check_events(evs, request=req), "call.arguments-schema")
    assert f.severity == "error"


# -- arguments judged by jsonschema-rs first, jsonschema only to explain ---------------------------
# Schemas across drafts and the keywords where validators tend to differ, with instances on
# both sides of each: the compiled check may answer "fits" only where jsonschema agrees.
_DRAFT7 = "http://json-schema.org/draft-07/schema#"
_DIFFERENTIAL = [
    ({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
     [{"n": 1}, {"n": 1.0}, {"n": 1.5}, {"n": True}, {"n": "1"}, {}, {"n": 10**30}]),
    ({"type": "object", "properties": {"x": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}},
     [{"x": 0}, {"x": 1}, {"x": 0.5}, {"x": -0.0}, {"x": False}]),
    ({"type": "array", "prefixItems": [{"type": "string"}], "items": False}, [["a"], ["a", "b"], [1], []]),
    ({"$schema": _DRAFT7, "type": "array", "items": [{"type": "string"}], "additionalItems": False},
     [["a"], ["a", "b"], [1]]),
    ({"type": "object", "$defs": {"unit": {"enum": ["c", "f"]}},
      "properties": {"unit": {"$ref": "#/$defs/unit"}}, "unevaluatedProperties": False},
     [{"unit": "c"}, {"unit": "k"}, {"unit": "c", "extra": 1}]),
    ({"type": "object", "dependentRequired": {"a": ["b"]}}, [{"a": 1}, {"a": 1, "b": 2}, {}]),
    ({"const": 1}, [1, 1.0, True]),
    ({"enum": [0, "0", None]}, [0, 0.0, False, "0", None]),
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 3}}},
     [{"s": "ab"}, {"s": "a"}, {"s": "abcd"}, {"s": "é😀"}]),
    ({"anyOf": [{"type": "string"}, {"type": "null"}], "format": "date-time"}, ["not a date", None, 3]),
    ({"type": "object", "properties": {"q": {"type": "string", "pattern": "^[a-z]+$"}}}, [{"q": "abc"}, {"q": "ABC"}]),
    ({"type": "array", "uniqueItems": True}, [[1, 1.0], [1, True], [[1], [1.0]]]),
    ({"type": "number", "multipleOf": 0.01}, [0.07, 0.5, 1]),
    ({"$ref": "https://example.com/elsewhere.json"}, [{}]),
    ({"type": "strin"}, ["x"]),
]


def test_compiled_fit_answers_yes_only_where_jsonschema_agrees() -> None:
    import jsonschema

    from conformance.rules.call import _fits

    said_yes = 0
    for schema, instances in _DIFFERENTIAL:
        for instance in instances:
            if not _fits(instance, schema):
                continue
            said_yes += 1
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            assert not list(cls(schema).iter_errors(instance)), (schema, instance)
    # ... and it does answer for the plain schemas, or it would only ever cost time
    assert said_yes >= 15
    assert _fits({"n": 1}, _DIFFERENTIAL[0][0]) and _fits(["a"], _DIFFERENTIAL[3][0])
    # a keyword the two do not share sends the arguments to jsonschema, even when they fit
    assert not _fits({"q": "abc"}, _DIFFERENTIAL[10][0])


def test_odd_schemas_keep_their_findings() -> None:
    # what jsonschema-rs will not compile (a fetch, an unknown type) is still judged by jsonschema
    for params, fragment in (({"$ref": "https://example.com/elsewhere.json"}, "not a valid JSON Schema"),
                             ({"type": "strin"}, "not a valid JSON Schema"),
                             ({"type": "number", "multipleOf": 0.01}, "is not a multiple of 0.01")):
        req = _req(tools=[dict(WEATHER, parameters=params)])
        arguments = "0.07" if "multipleOf" in params else '{"city": "Paris"}'
        (f,) = assert_only(check_events(_stream(function_call(arguments=arguments), req=req), request=req),
                           "call.arguments-schema")
        assert fragment in f.message, f.message


def test_checking_calls_that_fit_imports_no_jsonschema() -> None:
    # A capture of a function call, checked with its request: the arguments fit, so nothing
    # needs jsonschema's explanations (30-60 ms of importing in a process that checks one file).
    import subprocess
    import sys
    from pathlib import Path

    built = Path(__file__).resolve().parents[2] / "fixtures" / "streams" / "positive" / "built"
    script = (
        "import sys, json\nfrom conformance import check_sse\n"
        "for stem in sys.argv[1:]:\n"
        "    request = json.load(open(stem + '.json'))['request']\n"
        "    assert request['tools'], stem\n"
        "    result = check_sse(open(stem + '.sse', 'rb').read(), request=request)\n"
        "    assert result.summary['error'] == 0, stem\n"
        "print(sorted(m for m in ('jsonschema', 'referencing') if m in sys.modules))\n"
    )
    stems = [str(built / name) for name in ("function-call", "parallel-function-calls")]
    proc = subprocess.run([sys.executable, "-c", script, *stems], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- found by the client oracle (tests/conformance/test_client_oracle.py) ------------------------
def test_arguments_not_json_for_a_strict_tool_is_an_error() -> None:
    """openai-python json-parses a strict tool's arguments at response.completed and raises."""
    req = _req(tools=[dict(WEATHER, strict=True)])
    evs = _stream(function_call(arguments='{"city": Par'), req=req)
    r = check_events(evs, request=req)
    (f,) = [f for f in r.findings if f.rule == "call.arguments-not-json"]
    assert f.severity == "error" and f.output_index == 0 and "strict" in f.message and "openai-python" in f.message
    # the same call for a non-strict tool stays a warning
    req = _req()
    r = check_events(_stream(function_call(arguments='{"city": Par'), req=req), request=req)
    assert [f.severity for f in r.findings if f.rule == "call.arguments-not-json"] == ["warning"]


def test_shared_call_id_names_the_client() -> None:
    evs = build_stream(function_call(), function_call("f2", item_id="fc_2"))
    (f,) = assert_only(check_events(evs), "call.call-id")
    assert f.output_index == 1 and any(b.startswith("openai-python") for b in f.breaks)


def test_tools_declared_by_an_additional_tools_input_item_are_known() -> None:
    # Codex CLI 0.171 declares every tool in an `additional_tools` input item, `tools` empty;
    # its namespace `functions` holds top-level tools, called with or without that namespace.
    codex_tools = [
        {"type": "namespace", "name": "functions", "tools": [
            {"type": "custom", "name": "exec", "description": "run a script"}]},
        {"type": "namespace", "name": "clock", "tools": [
            {"type": "function", "name": "sleep", "parameters": {"type": "object"}}]},
    ]
    req = {"model": "gpt-test", "tools": [],
           "input": [{"type": "additional_tools", "role": "developer", "tools": codex_tools},
                     {"role": "user", "content": "list the files"}]}
    assert_only(check_events(build_stream(custom_tool_call(name="exec")), request=req))
    evs = build_stream(custom_tool_call(name="apply_patch"))
    (f,) = assert_only(check_events(evs, request=req), "call.unknown-tool")
    assert "apply_patch" in f.message
    # a member of any other namespace is known only under its namespace
    evs = build_stream(function_call("sleep", "{}"))
    assert_only(check_events(evs, request=req), "call.unknown-tool")
