"""The deterministic "cooperative model" behind the fake upstreams: what it reads from a request
(`Turn`, API-independent) and what it answers (`Answer`: reasoning, text, tool calls, pieces).

Pure functions. The fake Chat Completions and Anthropic servers parse their own request format
into a `Turn` and render the `Answer` in their own wire format, streamed or not.

Rules (documented in docs/converters.md, "Fake upstreams"):
1. reasoning requested -> a short reasoning text first;
2. tool calls when the tool mode allows: a forced tool -> that one; "auto" -> the offered tools
   named in the last user text, unless the conversation ends with tool results; "required" ->
   the named tools, or every offered tool when none is named; only the first when parallel
   calls are off. Arguments: an instance of the tool's schema (reference_server.sources.backends.schema_instance);
3. otherwise text: after tool results "The tool returned: …"; else it echoes the last user text
   (and the first earlier one), notes an image, and writes N words when asked for an "N-word"
   text (300 for an essay). A JSON Schema to follow -> a JSON instance of it instead;
4. every piece of output is one token; `max_tokens` cuts the pieces (finish "length").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reference_server.sources.backends.schema_instance import SchemaInstanceError, instance

ToolMode = Literal["auto", "none", "required"]
PieceKind = Literal["reasoning", "text", "call"]

_PIECE = re.compile(r"\s*\S{1,6}|\s+")
_WORDS_ASKED = re.compile(r"(\d{2,5})[- ]word", re.IGNORECASE)
ESSAY_WORDS = 300


def pieces(text: str) -> list[str]:
    """Text as the fake's tokens: whitespace plus at most 6 characters; they join back exactly."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    return len(pieces(text))


@dataclass(frozen=True)
class Tool:
    name: str
    schema: dict[str, Any]


@dataclass
class Turn:
    """What the model reads. `json_schema` is the schema a text answer must follow; `json_object`
    asks for any object (answered as {"answer": …})."""

    user_texts: list[str] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)  # results the conversation ends with
    saw_image: bool = False
    tools: list[Tool] = field(default_factory=list)
    tool_mode: ToolMode = "auto"
    forced: str | None = None
    parallel: bool = True
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    reasoning: str | None = None  # effort, or "on"
    max_tokens: int | None = None
    prompt_text: str = ""  # everything the model reads (for prompt token counts)


@dataclass(frozen=True)
class Call:
    call_id: str
    name: str
    arguments: str  # possibly cut by max_tokens


@dataclass
class Answer:
    reasoning: str
    text: str
    calls: list[Call]
    finish: Literal["stop", "tool_calls", "length"]
    pieces: list[tuple[PieceKind, int, str]]  # (kind, call index or 0, piece) in output order
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _named(turn: Turn) -> list[Tool]:
    text = (turn.user_texts[-1] if turn.user_texts else "").lower()
    return [t for t in turn.tools if t.name.lower() in text or t.name.replace("_", " ").lower() in text]


def choose_calls(turn: Turn) -> list[Tool]:
    if turn.tool_mode == "none" or not turn.tools:
        return []
    if turn.forced is not None:
        return [t for t in turn.tools if t.name == turn.forced][:1]
    if turn.tool_mode == "auto":
        chosen = [] if turn.tool_results else _named(turn)
    else:
        chosen = _named(turn) or list(turn.tools)
    return chosen if turn.parallel else chosen[:1]


def _subject(text: str) -> str:
    """A proper noun of the user's text (the thing a tool is asked about), else "example"."""
    words = re.findall(r"[A-Za-z][\w-]*", text)
    for word in words[1:]:
        if word[0].isupper() and "_" not in word and word not in ("Use", "Call", "I", "Answer", "Reply"):
            return word
    return "example"


def answer_text(turn: Turn) -> str:
    if turn.tool_results:
        return "The tool returned: " + "; ".join(_clip(r, 200) for r in turn.tool_results) + "."
    last = turn.user_texts[-1] if turn.user_texts else ""
    parts = [f'You said: "{_clip(last)}".']
    if len(turn.user_texts) > 1:
        parts.append(f'You said earlier: "{_clip(turn.user_texts[0])}".')
    if turn.saw_image:
        parts.append("You attached an image.")
    text = " ".join(parts)
    asked = _WORDS_ASKED.search(last)
    words = int(asked.group(1)) if asked else ESSAY_WORDS if "essay" in last.lower() else 0
    n = 1
    while len(text.split()) < words:
        text += f" Here is more on that, part {n}, written to reach the length you asked for."
        n += 1
    return text


def _json_answer(turn: Turn, text: str) -> str:
    if turn.json_schema is not None:
        try:
            value = instance(turn.json_schema, text=_clip(text, 60))
        except SchemaInstanceError:
            value = {"answer": text}
    else:
        value = {"answer": text}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _reasoning_text(turn: Turn, calls: Sequence[Tool]) -> str:
    last = _clip(turn.user_texts[-1]) if turn.user_texts else "nothing in particular"
    sentences = [f'The user asks: "{last}".']
    if calls:
        sentences.append("I should call " + ", ".join(t.name for t in calls) + ".")
    elif turn.tool_results:
        sentences.append("The tool results are in; I can answer now.")
    else:
        sentences.append("I can answer directly.")
    if turn.reasoning in ("high", "xhigh", "max"):
        sentences.append("I will double-check the answer before giving it.")
    return " ".join(sentences)


def answer(turn: Turn, *, seed: str, call_prefix: str = "call_") -> Answer:
    """The model's answer to `turn`. `seed` (e.g. a hash of the request) makes call ids
    deterministic and distinct per call."""
    tools = choose_calls(turn)
    reasoning = _reasoning_text(turn, tools) if turn.reasoning else ""
    out: list[tuple[PieceKind, int, str]] = [("reasoning", 0, p) for p in pieces(reasoning)]
    calls: list[Call] = []
    text = ""
    if tools:
        subject = _subject(turn.user_texts[-1] if turn.user_texts else "")
        for i, tool in enumerate(tools):
            try:
                args = json.dumps(instance(tool.schema or {"type": "object", "properties": {}}, text=subject),
                                  separators=(",", ":"), ensure_ascii=False)
            except SchemaInstanceError:
                args = "{}"
            call_id = call_prefix + hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:24]
            calls.append(Call(call_id, tool.name, args))
            # Arguments stream in pieces of up to 8 characters (one token each).
            out += [("call", i, args[j:j + 8]) for j in range(0, len(args), 8)]
    else:
        text = answer_text(turn)
        if turn.json_schema is not None or turn.json_object:
            text = _json_answer(turn, text)
        out += [("text", 0, p) for p in pieces(text)]
    finish: Literal["stop", "tool_calls", "length"] = "tool_calls" if calls else "stop"
    if turn.max_tokens is not None and len(out) > turn.max_tokens:
        out = out[: turn.max_tokens]
        finish = "length"
        reasoning = "".join(p for k, _, p in out if k == "reasoning")
        text = "".join(p for k, _, p in out if k == "text")
        kept = {i for k, i, _ in out if k == "call"}
        calls = [Call(c.call_id, c.name, "".join(p for k, i, p in out if k == "call" and i == n))
                 for n, c in enumerate(calls) if n in kept]
    return Answer(
        reasoning=reasoning,
        text=text,
        calls=calls,
        finish=finish,
        pieces=out,
        prompt_tokens=max(1, count_tokens(turn.prompt_text)),
        completion_tokens=len(out),
        reasoning_tokens=sum(1 for k, _, _ in out if k == "reasoning"),
    )


def request_seed(body: dict[str, Any]) -> str:
    """A stable hash of a request body, streaming options aside: ids derived from it are the
    same for the same request, streamed or not."""
    content = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
