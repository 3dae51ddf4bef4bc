"""Readable text from random weights: prose bodies (reasoning, answers) use only word tokens, JSON
the grammar needs is untouched and still valid; checkpoints are never masked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from reference_server.protocol.token_backend import OutputSpec, ToolSpec
from reference_server.sources.backends.torch import create_backend
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.model import GptOss
from reference_server.sources.backends.torch.tokenizer import FIRST_SPECIAL, harmony_tokenizer

from .conftest import collect, make_backend, parse, prompt_tokens, request

WORDS = re.compile(r"(?: [A-Za-z]+|[.,;:!?]| -)*")
TOOL = ToolSpec(name="get_weather", parameters={
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7},
                   "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "days", "unit"], "additionalProperties": False})


@pytest.fixture(scope="module")
def readable(tiny_model: GptOss) -> Iterator[TorchBackend]:
    b = make_backend(tiny_model, message_token_budget=32, readable_text=True)
    yield b
    b.scheduler.stop()


def test_the_readable_class_is_words_and_excludes_web_and_script_tokens() -> None:
    tok = harmony_tokenizer()
    readable = tok.readable
    assert readable[FIRST_SPECIAL:].all()  # messages can always end
    enc = tok.encoding
    for text in (" house", " the", " Paris", "."):
        (token,) = enc.encode_ordinary(text)
        assert readable[token], text
    for text in (" www", " com", " http", "ing", " домой", "://", "()"):
        tokens = enc.encode_ordinary(text)
        assert not all(readable[t] for t in tokens), text
    print(f"readable tokens: {int(readable[:FIRST_SPECIAL].sum())} of {FIRST_SPECIAL}")


@pytest.mark.parametrize("seed", range(4))
async def test_prose_is_word_tokens_only(readable: TorchBackend, encoding: Any, seed: int) -> None:
    spec = OutputSpec(reasoning_effort="low")
    tokens, _ = await collect(readable, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
    messages = parse(encoding, tokens)
    assert [m.channel for m in messages] == ["analysis", "final"]
    for message in messages:
        text = message.content[0].text
        assert text and WORDS.fullmatch(text), text


@pytest.mark.parametrize("seed", range(3))
async def test_tool_arguments_and_structured_output_stay_valid(readable: TorchBackend, encoding: Any,
                                                              seed: int) -> None:
    call_tokens, _ = await collect(readable, request(prompt_tokens(encoding), OutputSpec(tools=(TOOL,), tool_mode="required"),
                                                     temperature=1.0, seed=seed))
    (call,) = parse(encoding, call_tokens)
    arguments = json.loads(call.content[0].text)
    jsonschema.validate(arguments, TOOL.parameters)
    schema = {"type": "object", "properties": {"summary": {"type": "string"}, "score": {"type": "number"}},
              "required": ["summary", "score"], "additionalProperties": False}
    fmt = {"type": "json_schema", "name": "s", "schema": schema, "strict": True}
    tokens, _ = await collect(readable, request(prompt_tokens(encoding), OutputSpec(final_format=fmt),
                                                temperature=1.0, seed=seed))
    (final,) = parse(encoding, tokens)
    value = json.loads(final.content[0].text)
    jsonschema.validate(value, schema)
    # Strings inside JSON are ASCII words too (the closing quote stays allowed).
    assert re.fullmatch(r"[ A-Za-z0-9_.,;:!?+-]*", value["summary"] + arguments["city"]), (value, arguments)


def test_random_presets_are_masked_and_checkpoints_are_not(tiny_model: GptOss) -> None:
    preset_backend = create_backend(preset="tiny")
    try:
        assert preset_backend.scheduler.readable_text
    finally:
        preset_backend.scheduler.stop()
    unmasked = make_backend(tiny_model)  # what a checkpoint gets (create_backend: not trained -> True)
    try:
        assert not unmasked.scheduler.readable_text
    finally:
        unmasked.scheduler.stop()


@pytest.mark.parametrize("seed", range(2))
async def test_custom_tool_input_is_words_or_follows_its_grammar(readable: TorchBackend, encoding: Any,
                                                                 seed: int) -> None:
    note = ToolSpec(name="note", kind="custom", format={"type": "text"})
    calc = ToolSpec(name="calc", kind="custom",
                    format={"type": "grammar", "syntax": "regex", "definition": r"[0-9]+ [+*-] [0-9]+"})
    for tool, pattern in ((note, WORDS), (calc, re.compile(r"[0-9]+ [+*-] [0-9]+"))):
        spec = OutputSpec(tools=(tool,), tool_mode="required")
        tokens, _ = await collect(readable, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
        calls = [m for m in parse(encoding, tokens) if m.recipient]
        assert len(calls) == 1 and pattern.fullmatch(calls[0].content[0].text), calls
