"""Harmony in and out: prompt rendering of request items, the completion decoder and emitter, the
scripted backend's rules, and the JSON-Schema instance generator behind its arguments."""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.protocol.emitter import CallTarget, HarmonyToEvents, classify
from reference_server.protocol.events import ResponseEventWriter
from reference_server.protocol.harmony import (
    CompletionDecoder,
    HarmonyOutputError,
    PromptError,
    build_conversation,
    render_prompt,
    script_hint,
)
from reference_server.protocol.request import parse_create_request
from reference_server.protocol.token_backend import (
    GenerationRequest,
    OutputSpec,
    ScriptHint,
    ToolSpec,
)
from reference_server.sources.backends.schema_instance import SchemaInstanceError, instance
from reference_server.sources.backends.scripted import ScriptedBackend, choose_calls


def decode(encoding: Any, text: str) -> tuple[list[dict[str, Any]], CompletionDecoder]:
    writer = ResponseEventWriter({"model": "m"})
    events = writer.start()
    decoder = CompletionDecoder(encoding, HarmonyToEvents(writer))
    for token in encoding.encode(text, allowed_special="all"):
        events += decoder.feed(token)
    return events, decoder


def test_decoder_maps_channels_to_items(encoding: Any) -> None:
    events, decoder = decode(encoding, (
        "<|channel|>analysis<|message|>Think.<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Preamble.<|end|>"
        # The renderer's form (recipient in the role header) and gpt-oss's (after the channel).
        "<|start|>assistant to=functions.a<|channel|>commentary <|constrain|>json<|message|>{}<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.b <|constrain|>json<|message|>{\"x\":1}<|call|>"
    ))
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [(i["type"], i.get("phase") or i.get("name")) for i in done] == [
        ("reasoning", None), ("message", "commentary"), ("function_call", "a"), ("function_call", "b")]
    assert done[0]["content"][0]["text"] == "Think."
    assert done[3]["arguments"] == '{"x":1}'
    analysis_tokens = encoding.encode("<|channel|>analysis<|message|>Think.<|end|>", allowed_special="all")
    assert decoder.counts.reasoning == len(analysis_tokens)


def test_decoder_streams_multibyte_text_intact(encoding: Any) -> None:
    text = "Ünïcödé 😀 日本語 — ok"
    events, _ = decode(encoding, f"<|channel|>final<|message|>{text}<|return|>")
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == text


def test_decoder_skipping_state_reads_inside_content_changes_nothing(
    encoding: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content tokens skip the parser's (JSON, per-call O(message)) state read; the events must be
    exactly those of a decoder that reads the state after every token."""
    import reference_server.protocol.harmony as harmony_module

    text = (
        "<|channel|>analysis<|message|>" + "think " * 300 + "<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.b <|constrain|>json<|message|>{\"x\": 1}<|call|>"
        "<|start|>assistant<|channel|>final<|message|>" + "Ünïcödé 😀 " * 200 + "<|return|>"
    )
    fast, fast_decoder = decode(encoding, text)
    monkeypatch.setattr(harmony_module, "FIRST_SPECIAL_TOKEN", 0)  # every token reads the state
    slow, slow_decoder = decode(encoding, text)
    strip = [{k: v for k, v in e.items() if k not in ("item_id", "item", "response")} for e in fast]
    assert strip == [{k: v for k, v in e.items() if k not in ("item_id", "item", "response")} for e in slow]
    assert fast_decoder.counts == slow_decoder.counts


class _StateCountingParser:
    """A harmony parser that counts reads of its (JSON-serialising) `state`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.state_reads = 0

    @property
    def state(self) -> Any:
        self.state_reads += 1
        return self._inner.state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_decoder_state_reads_do_not_grow_with_the_message(encoding: Any) -> None:
    """Reading the parser's state costs O(message) each time, so a long message must not cost a
    read per token: the reads are the same for a short and a 50 times longer message."""
    reads = []
    for words in (10, 500):
        writer = ResponseEventWriter({"model": "m"})
        writer.start()
        decoder = CompletionDecoder(encoding, HarmonyToEvents(writer))
        counting = _StateCountingParser(decoder._parser)
        decoder._parser = counting
        text = "<|channel|>final<|message|>" + "word " * words + "<|return|>"
        deltas = []
        for token in encoding.encode(text, allowed_special="all"):
            deltas += [e["delta"] for e in decoder.feed(token) if e["type"] == "response.output_text.delta"]
        assert "".join(deltas) == "word " * words and not decoder.in_message
        reads.append(counting.state_reads)
    print(f"state reads: {reads}")
    assert reads[0] == reads[1]


def test_decoder_rejects_malformed_harmony(encoding: Any) -> None:
    with pytest.raises(HarmonyOutputError):
        decode(encoding, "<|channel|>final<|message|>ok<|end|>stray text<|end|>")


@pytest.mark.parametrize(("channel", "recipient", "expected"), [
    ("analysis", None, ("reasoning", None)),
    ("commentary", None, ("message", "commentary")),
    ("final", None, ("message", "final_answer")),
    (None, None, ("message", "final_answer")),
    ("commentary", "functions.get", ("function_call", CallTarget("function_call", "get"))),
    ("analysis", "python", ("function_call", CallTarget("function_call", "python"))),
])
def test_classify(channel: str | None, recipient: str | None, expected: tuple[str, Any]) -> None:
    assert classify(channel, recipient) == expected


def test_classify_known_targets() -> None:
    targets = {"crm.lookup": CallTarget("function_call", "lookup", "crm"),
               "functions.patch": CallTarget("custom_tool_call", "patch")}
    assert classify("commentary", "crm.lookup", targets) == ("function_call", targets["crm.lookup"])
    assert classify("commentary", "functions.patch", targets) == ("custom_tool_call", targets["functions.patch"])
    # An unknown recipient still becomes a function call named after it.
    assert classify("commentary", "crm.other", targets) == ("function_call", CallTarget("function_call", "crm.other"))


def test_prompt_renders_every_item_kind(encoding: Any) -> None:
    req = parse_create_request({
        "model": "m", "instructions": "Be terse.",
        "tools": [{"type": "function", "name": "f", "description": "does f",
                   "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}],
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
        "input": [
            {"role": "system", "content": "System rule."},
            {"role": "user", "content": [{"type": "input_text", "text": "Look"},
                                         {"type": "input_image", "image_url": "https://x.test/a.png"},
                                         {"type": "input_file", "filename": "a.pdf", "file_data": "AAAA"}]},
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "hmm"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"q\":\"v\"}"},
            {"type": "function_call_output", "call_id": "c1",
             "output": [{"type": "input_text", "text": "result text"}]},
        ],
    })
    text = encoding.decode(render_prompt(encoding, build_conversation(req, [])))
    for fragment in ("Be terse.", "type f = ", "# Response Formats", "System rule.", "Look",
                     "https://x.test/a.png. This model cannot see images.", "a.pdf",
                     "to=functions.f", '{"q":"v"}', "<|start|>functions.f to=assistant", "result text"):
        assert fragment in text, fragment
    assert text.endswith("<|start|>assistant")
    hint = script_hint(req.input_items)
    assert hint.tool_outputs == ("result text",) and hint.saw_image


def test_tool_output_without_call_is_refused() -> None:
    req = parse_create_request({"model": "m", "input": [
        {"type": "function_call_output", "call_id": "nope", "output": "x"}]})
    with pytest.raises(PromptError) as exc:
        build_conversation(req, [])
    assert exc.value.param == "input[0].call_id"


A = ToolSpec("alpha", parameters={"type": "object", "properties": {}})
B = ToolSpec("beta_tool", parameters={"type": "object", "properties": {}})


@pytest.mark.parametrize(("spec", "hint", "names"), [
    (OutputSpec(tools=(A, B)), ScriptHint("hi"), ["alpha", "beta_tool"]),
    (OutputSpec(tools=(A, B)), ScriptHint("use beta tool"), ["beta_tool"]),
    (OutputSpec(tools=(A, B), parallel_tool_calls=False), ScriptHint("hi"), ["alpha"]),
    (OutputSpec(tools=(A, B), tool_mode="none"), ScriptHint("alpha"), []),
    (OutputSpec(tools=(A,)), ScriptHint("hi", tool_outputs=("r",)), []),
    (OutputSpec(tools=(A,), tool_mode="required"), ScriptHint("hi", tool_outputs=("r",)), ["alpha"]),
    (OutputSpec(tools=(A, B), max_tool_calls=1), ScriptHint("hi"), ["alpha"]),
])
def test_scripted_call_rules(spec: OutputSpec, hint: ScriptHint, names: list[str]) -> None:
    assert [t.name for t in choose_calls(spec, hint)] == names


def test_scripted_stream_honours_budget_and_fails_on_demand(encoding: Any) -> None:
    stops = frozenset(encoding.stop_tokens_for_assistant_actions())

    async def collect(backend: ScriptedBackend, budget: int) -> list[int]:
        request = GenerationRequest(prompt_tokens=(1, 2, 3), max_new_tokens=budget, stop_token_ids=stops,
                                    hint=ScriptHint("hello"))
        return [t async for t in backend.generate(request)]

    full = asyncio.run(collect(ScriptedBackend(encoding=encoding), 10_000))
    assert full[-1] == encoding.encode("<|return|>", allowed_special="all")[0]
    assert len(asyncio.run(collect(ScriptedBackend(encoding=encoding), 5))) == 5
    from reference_server.protocol.token_backend import BackendError

    with pytest.raises(BackendError):
        asyncio.run(collect(ScriptedBackend(encoding=encoding, fail_after_tokens=3), 10_000))


# --------------------------------------------------------------------------- schema instances
SCHEMAS = [
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/pos"}}, "required": ["a"],
     "$defs": {"pos": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 5}}},
    {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"},
                                      "mail": {"type": "string", "format": "email"}}, "required": ["when", "mail"]},
    {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "string"}, "minItems": 3, "uniqueItems": True}]},
    {"allOf": [{"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]},
               {"properties": {"y": {"const": 7}}, "required": ["y"]}]},
    {"type": ["null", "number"], "minimum": -3.5, "maximum": -1},
    {"type": "string", "pattern": "^[a-z]+[0-9]$"},
    {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"enum": ["a", "b"]}], "minItems": 2},
    {"type": "string", "minLength": 12, "maxLength": 12},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_instances_validate(schema: dict[str, Any]) -> None:
    value = instance(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)


def test_unsatisfiable_schema_is_reported() -> None:
    with pytest.raises(SchemaInstanceError):
        instance({"enum": []})


leaf = st.one_of(
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-50, 50), st.integers(0, 20)),
    st.builds(lambda lo, ex: {"type": "number", ("exclusiveMinimum" if ex else "minimum"): lo},
              st.floats(-100, 100, allow_nan=False), st.booleans()),
    st.builds(lambda lo, extra: {"type": "string", "minLength": lo, "maxLength": lo + extra},
              st.integers(0, 10), st.integers(0, 10)),
    st.just({"type": "boolean"}),
    st.builds(lambda values: {"enum": values}, st.lists(st.integers() | st.text(max_size=3), min_size=1, max_size=3)),
    st.sampled_from([{"type": "string", "format": f} for f in ("date", "uri", "uuid", "ipv4")]),
)
schemas = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda props, req_all: {"type": "object", "properties": props,
                                      "required": sorted(props) if req_all else [],
                                      "additionalProperties": False},
              st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), inner, max_size=3), st.booleans()),
    st.builds(lambda items, n: {"type": "array", "items": items, "minItems": n}, inner, st.integers(0, 3)),
    st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
), max_leaves=6)


@settings(deadline=None)
@given(schema=schemas)
def test_generated_schemas_get_valid_instances(schema: dict[str, Any]) -> None:
    value = instance(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)
