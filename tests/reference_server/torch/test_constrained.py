"""Constrained generation through the backend interface: whatever the (random) weights, the
output is well-formed harmony and honours the request (tool mode, schemas, reasoning, limits)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.protocol.token_backend import BackendError, OutputSpec, TokenBackend, ToolSpec
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.grammar import bound_schema

from .conftest import collect, parse, prompt_tokens, request

RETURN, CALL = 200002, 200012

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={
        "type": "object",
        "properties": {
            "location": {"type": "string", "minLength": 2},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
            "hourly": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "threshold": {"type": "number"},
        },
        "required": ["location", "unit", "threshold"],
    },
)
SEARCH = ToolSpec(name="web_search", parameters={
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"],
    "additionalProperties": False,
})
NO_PARAMS = ToolSpec(name="now")


def _calls(messages: list[Any]) -> list[Any]:
    return [m for m in messages if m.recipient]


def test_backend_satisfies_the_protocol(backend: TorchBackend) -> None:
    assert isinstance(backend, TokenBackend)
    assert backend.name == "torch"


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_forced_tool_call_parses_and_validates(backend: TorchBackend, encoding: Any, seed: int) -> None:
    spec = OutputSpec(tools=(WEATHER,), tool_mode="required")
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
    assert tokens[-1] == CALL
    messages = parse(encoding, tokens)
    assert len(messages) == 1
    (call,) = _calls(messages)
    assert call.recipient == "functions.get_weather" and call.channel == "commentary"
    arguments = json.loads(call.content[0].text)
    jsonschema.validate(arguments, WEATHER.parameters)


async def test_named_function_among_several_tools(backend: TorchBackend, encoding: Any) -> None:
    # A named tool_choice arrives as "required" with only that tool.
    for seed in range(3):
        spec = OutputSpec(tools=(SEARCH,), tool_mode="required")
        tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
        (call,) = _calls(parse(encoding, tokens))
        assert call.recipient == "functions.web_search"
        jsonschema.validate(json.loads(call.content[0].text), SEARCH.parameters)


async def test_auto_mode_calls_only_offered_tools(backend: TorchBackend, encoding: Any) -> None:
    seen = set()
    for seed in range(8):
        spec = OutputSpec(tools=(SEARCH, NO_PARAMS), tool_mode="auto")
        tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
        messages = parse(encoding, tokens)
        assert tokens[-1] in (RETURN, CALL)
        last = messages[-1]
        if tokens[-1] == CALL:
            assert last.recipient in ("functions.web_search", "functions.now")
            arguments = json.loads(last.content[0].text)
            if last.recipient == "functions.now":
                assert arguments == {}
            seen.add(last.recipient)
        else:
            assert last.channel == "final" and last.recipient is None
            seen.add("final")
    assert len(seen) >= 2  # the model really chooses between answering and calling


async def test_tool_mode_none_never_calls(backend: TorchBackend, encoding: Any) -> None:
    for seed in range(3):
        spec = OutputSpec(tools=(WEATHER, SEARCH), tool_mode="none")
        tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
        messages = parse(encoding, tokens)
        assert tokens[-1] == RETURN and CALL not in tokens
        assert not _calls(messages) and [m.channel for m in messages] == ["final"]


async def test_json_schema_final_answer_validates(backend: TorchBackend, encoding: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temperatures": {"type": "array", "items": {"type": "number"}, "minItems": 1},
            "sunny": {"type": "boolean"},
            "kind": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
        },
        "required": ["city", "temperatures", "sunny", "kind"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "report", "schema": schema, "strict": True}
    for seed in range(3):
        spec = OutputSpec(final_format=fmt)
        tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
        (final,) = parse(encoding, tokens)
        assert final.channel == "final" and tokens[-1] == RETURN
        jsonschema.validate(json.loads(final.content[0].text), schema)


async def test_json_object_final_answer(backend: TorchBackend, encoding: Any) -> None:
    spec = OutputSpec(final_format={"type": "json_object"})
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=4))
    (final,) = parse(encoding, tokens)
    assert isinstance(json.loads(final.content[0].text), dict)


@pytest.mark.parametrize("mode", ["auto", "required"])
async def test_reasoning_gives_an_analysis_message_first(backend: TorchBackend, encoding: Any, mode: str) -> None:
    spec = OutputSpec(tools=(SEARCH,), tool_mode=mode, reasoning_effort="low")  # type: ignore[arg-type]
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=0.0))
    messages = parse(encoding, tokens)
    assert len(messages) == 2 and messages[0].channel == "analysis" and messages[0].content[0].text
    if mode == "required":
        assert messages[1].recipient == "functions.web_search"
    assert tokens[-1] in (RETURN, CALL)


async def test_no_reasoning_means_no_analysis(backend: TorchBackend, encoding: Any) -> None:
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), OutputSpec(), temperature=1.0, seed=9))
    assert [m.channel for m in parse(encoding, tokens)] == ["final"]


async def test_free_text_stays_within_the_message_budget(backend: TorchBackend, encoding: Any) -> None:
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), OutputSpec(), temperature=1.0, seed=5))
    body = tokens[tokens.index(200008) + 1 : -1]  # after <|message|>, before <|return|>
    assert 1 <= len(body) <= backend.scheduler.budget


async def test_max_new_tokens_is_respected(backend: TorchBackend, encoding: Any) -> None:
    spec = OutputSpec(tools=(WEATHER,), tool_mode="required")
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, max_new_tokens=7, seed=1))
    assert len(tokens) == 7 and tokens[-1] not in (RETURN, CALL)
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, max_new_tokens=0))
    assert tokens == []


async def test_greedy_is_deterministic_and_seed_reproduces(backend: TorchBackend, encoding: Any) -> None:
    prompt = prompt_tokens(encoding, user="Tell me a story.")
    a, _ = await collect(backend, request(prompt, temperature=0.0))
    b, _ = await collect(backend, request(prompt, temperature=0.0))
    assert a == b
    s1, _ = await collect(backend, request(prompt, temperature=1.0, top_p=0.9, seed=11))
    s2, _ = await collect(backend, request(prompt, temperature=1.0, top_p=0.9, seed=11))
    s3, _ = await collect(backend, request(prompt, temperature=1.0, top_p=0.9, seed=12))
    assert s1 == s2 and s1 != s3


async def test_stop_tokens_of_the_request_are_honoured(backend: TorchBackend, encoding: Any) -> None:
    # With <|end|> as a stop token, generation ends after the analysis message.
    spec = OutputSpec(reasoning_effort="high")
    req = request(prompt_tokens(encoding), spec, temperature=0.0, stop_token_ids=frozenset({200007, RETURN, CALL}))
    tokens, _ = await collect(backend, req)
    assert tokens[-1] == 200007 and parse(encoding, tokens)[0].channel == "analysis"


async def test_bad_requests_raise_backend_error(backend: TorchBackend, encoding: Any) -> None:
    with pytest.raises(BackendError, match="outside the vocabulary"):
        await collect(backend, request((1, 2, 999_999)))
    with pytest.raises(BackendError, match="prompt is empty"):
        await collect(backend, request(()))
    with pytest.raises(BackendError, match="requires a tool call but no tools"):
        await collect(backend, request(prompt_tokens(encoding), OutputSpec(tool_mode="required")))


# -- property: any simple schema yields arguments that validate ------------------------------

_leaf = st.sampled_from([
    {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
    {"type": "string", "enum": ["x", "y z"]}, {"type": "integer", "minimum": -3, "maximum": 3},
    {"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}, {"type": "string", "maxLength": 3},
])
_schemas = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(lambda items: {"type": "array", "items": items}, inner),
        st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, min_size=1, max_size=3).flatmap(
            lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
                lambda req: {"type": "object", "properties": props, "required": req})),
    ),
    max_leaves=6,
).filter(lambda s: s.get("type") == "object")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=_schemas, seed=st.integers(0, 2**16))
async def test_any_tool_schema_gives_valid_arguments(backend: TorchBackend, encoding: Any,
                                                     schema: dict, seed: int) -> None:
    tool = ToolSpec(name="f", parameters=schema)
    spec = OutputSpec(tools=(tool,), tool_mode="required")
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
    assert tokens[-1] == CALL
    (call,) = _calls(parse(encoding, tokens))
    jsonschema.validate(json.loads(call.content[0].text), schema)


def test_bounded_schema_only_narrows() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number"}, "s": {"type": "string"}}}
    bounded = bound_schema(schema)
    assert bounded["properties"]["n"]["type"] == "integer" and bounded["properties"]["s"]["maxLength"] == 48
    assert schema["properties"]["n"] == {"type": "number"}  # the caller's schema is untouched
    # a random integer stays small enough for a client to act on (a sleep, a count, a size)
    assert bounded["properties"]["n"]["minimum"] == -1_000 and bounded["properties"]["n"]["maximum"] == 1_000
    above = bound_schema({"type": "integer", "minimum": 5000})
    assert (above["minimum"], above["maximum"]) == (5000, 6000)
    for ok in ({"n": 3, "s": "abc"}, {}):
        jsonschema.validate(ok, bounded)
        jsonschema.validate(ok, schema)


async def test_cooperative_auto_calls_first_then_answers_tool_results(tiny_model: Any, encoding: Any) -> None:
    """The random presets resolve "auto" like a cooperative model: a call while no tool result
    is in, an answer once results are — every time, whatever the sampling seed."""
    from reference_server.protocol.token_backend import ScriptHint

    from .conftest import make_backend

    b = make_backend(tiny_model, max_batch=4, message_token_budget=24, auto_tool_choice="cooperative")
    try:
        spec = OutputSpec(tools=(SEARCH, NO_PARAMS), tool_mode="auto")
        for seed in range(4):
            tokens, _ = await collect(b, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
            assert tokens[-1] == CALL
            assert parse(encoding, tokens)[-1].recipient in ("functions.web_search", "functions.now")
            answered = request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed,
                               hint=ScriptHint(tool_outputs=('{"temp": 21}',)))
            tokens, _ = await collect(b, answered)
            assert tokens[-1] == RETURN and parse(encoding, tokens)[-1].channel == "final"
        # Forced modes are untouched by the policy.
        tokens, _ = await collect(b, request(prompt_tokens(encoding), OutputSpec(tools=(SEARCH,), tool_mode="none")))
        assert tokens[-1] == RETURN
    finally:
        b.scheduler.stop()


def test_auto_tool_choice_option_is_validated(tiny_model: Any) -> None:
    from .conftest import make_backend

    with pytest.raises(BackendError, match="auto_tool_choice must be one of model, cooperative"):
        make_backend(tiny_model, auto_tool_choice="sometimes")


@given(chunks=st.lists(st.binary(min_size=0, max_size=6).map(
    lambda b: bytes(b'a"\\x'[c % 4] for c in b)), max_size=30))
def test_json_string_state_follows_the_bytes_whatever_the_token_boundaries(chunks: list[bytes]) -> None:
    """The steering's JSON lexical state (inside a string, after a backslash) is tracked token by
    token, and tokens without a quote or a backslash skip the scan: the state after each token is
    the one a byte-by-byte reading of everything so far gives."""
    from reference_server.sources.backends.torch.constraint import Constraint

    constraint = Constraint(None, None, budget=8)  # type: ignore[arg-type]  # only the scanner is used
    in_string = escaped = False
    for chunk in chunks:
        constraint._scan(chunk)
        for byte in chunk:  # the JSON lexer's two states, written out
            if not in_string:
                in_string = byte == 0x22
            elif escaped:
                escaped = False
            else:
                escaped, in_string = byte == 0x5C, byte != 0x22
        assert (constraint.in_string, constraint.escaped) == (in_string, escaped)
