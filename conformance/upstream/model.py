"""The cooperative model: a deterministic answer decided from the request alone (sans-IO).

`read_request(kind, body)` turns a Chat Completions, Anthropic Messages or Responses request into
one neutral `View`; `answer(view)` decides what a model that follows the request would say: a
call to the forced (or first allowed) tool with arguments valid for its schema, two calls when
parallel calls are allowed and the prompt asks for several, reasoning when asked for, JSON valid
for a requested schema, text quoting a tool result, `length` when the token limit is small.
The wire writers (`conformance.upstream.wire`) put an `Answer` into each provider's format.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

KINDS = ("chat-completions", "anthropic", "responses")
# A token limit at or below this makes the answer run into it (finish `length`).
SMALL_LIMIT = 64


@dataclass
class View:
    """What a request asks for, whatever its wire format. Messages are (role, text) in order;
    roles: system, user, assistant, call (an earlier tool call: `name(arguments)`), tool (a result)."""

    model: str = ""
    messages: list[tuple[str, str]] = field(default_factory=list)
    tools: dict[str, Any] = field(default_factory=dict)  # name -> JSON schema of the arguments
    tool_choice: str | None = None  # auto | none | required | function:NAME ; None = not sent
    allowed: list[str] | None = None  # allowed_tools narrowing, when sent
    parallel: bool | None = None
    max_tokens: int | None = None
    reasoning: str | None = None  # effort, or "on" (Anthropic thinking)
    schema: Any = None  # a requested JSON schema for the text (True: any JSON object)
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    include_usage: bool = False


@dataclass
class Call:
    id: str
    name: str
    arguments: str


@dataclass
class Answer:
    reasoning: list[str] = field(default_factory=list)  # pieces, as streamed
    text: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    finish: str = "stop"  # stop | length | tool_calls | content_filter
    input_tokens: int = 0
    refusal: bool = False

    @property
    def output_tokens(self) -> int:
        return len(self.reasoning) + len(self.text) + sum(len(_split(c.arguments)) for c in self.calls)

    def summary(self) -> dict[str, Any]:
        """What the model said, as the request log reports it (what fidelity is judged against)."""
        return {
            "text": "".join(self.text),
            "reasoning": "".join(self.reasoning),
            "calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.calls],
            "finish": self.finish,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "reasoning_tokens": len(self.reasoning)},
        }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_of(content: Any) -> str:
    """Text of a content value: a string, or a list of typed parts (text-bearing ones joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict):
                for key in ("text", "refusal", "thinking"):
                    if isinstance(part.get(key), str):
                        out.append(part[key])
                        break
                else:
                    if part.get("type") in ("tool_result",):
                        out.append(_text_of(part.get("content")))
            elif isinstance(part, str):
                out.append(part)
        return "".join(out)
    return "" if content is None else json.dumps(content)


def _cc_view(body: dict[str, Any], v: View) -> None:
    for m in _list(body.get("messages")):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        role = "system" if role == "developer" else role
        if role == "tool":
            v.messages.append(("tool", _text_of(m.get("content"))))
            continue
        text = _text_of(m.get("content"))
        if text or not m.get("tool_calls"):
            v.messages.append((str(role), text))
        for tc in _list(m.get("tool_calls")):
            fn = _dict(_dict(tc).get("function"))
            v.messages.append(("call", f"{fn.get('name')}({fn.get('arguments')})"))
    for t in _list(body.get("tools")):
        fn = _dict(_dict(t).get("function"))
        if fn.get("name"):
            v.tools[fn["name"]] = fn.get("parameters") or {}
    tc = body.get("tool_choice")
    if isinstance(tc, str):
        v.tool_choice = tc
    elif isinstance(tc, dict) and tc.get("type") == "function":
        v.tool_choice = f"function:{_dict(tc.get('function')).get('name')}"
    elif isinstance(tc, dict) and tc.get("type") == "allowed_tools":
        at = _dict(tc.get("allowed_tools"))
        v.tool_choice = at.get("mode") or "auto"
        v.allowed = [str(_dict(t.get("function")).get("name") or t.get("name"))
                     for t in _list(at.get("tools")) if isinstance(t, dict)]
    v.parallel = body.get("parallel_tool_calls") if isinstance(body.get("parallel_tool_calls"), bool) else None
    v.max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    v.reasoning = body.get("reasoning_effort")
    rf = _dict(body.get("response_format"))
    if rf.get("type") == "json_schema":
        v.schema = _dict(rf.get("json_schema")).get("schema") or True
    elif rf.get("type") == "json_object":
        v.schema = True
    v.include_usage = bool(_dict(body.get("stream_options")).get("include_usage"))


def _anthropic_view(body: dict[str, Any], v: View) -> None:
    system = body.get("system")
    if system:
        v.messages.append(("system", _text_of(system)))
    for m in _list(body.get("messages")):
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else _list(content)
        for b in blocks:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "text":
                v.messages.append((str(m.get("role")), b.get("text") or ""))
            elif b.get("type") == "tool_use":
                v.messages.append(("call", f"{b.get('name')}({json.dumps(b.get('input') or {})})"))
            elif b.get("type") == "tool_result":
                v.messages.append(("tool", _text_of(b.get("content"))))
    for t in _list(body.get("tools")):
        if isinstance(t, dict) and t.get("name"):
            v.tools[t["name"]] = t.get("input_schema") or {}
    tc = _dict(body.get("tool_choice"))
    kind = tc.get("type")
    v.tool_choice = {"auto": "auto", "any": "required", "none": "none"}.get(kind or "")
    if kind == "tool":
        v.tool_choice = f"function:{tc.get('name')}"
    if tc.get("disable_parallel_tool_use"):
        v.parallel = False
    v.max_tokens = body.get("max_tokens")
    thinking = _dict(body.get("thinking"))
    if thinking.get("type") in ("enabled", "adaptive"):
        v.reasoning = "on"
    v.include_usage = True


def _responses_view(body: dict[str, Any], v: View) -> None:
    if body.get("instructions"):
        v.messages.append(("system", str(body["instructions"])))
    inp = body.get("input")
    items = [{"role": "user", "content": inp}] if isinstance(inp, str) else inp if isinstance(inp, list) else []
    for it in items:
        if not isinstance(it, dict):
            continue
        kind = it.get("type", "message")
        if kind == "message":
            role = it.get("role")
            v.messages.append(("system" if role == "developer" else str(role), _text_of(it.get("content"))))
        elif kind == "function_call":
            v.messages.append(("call", f"{it.get('name')}({it.get('arguments')})"))
        elif kind == "function_call_output":
            v.messages.append(("tool", _text_of(it.get("output"))))
    for t in _list(body.get("tools")):
        if isinstance(t, dict) and t.get("type") == "function" and t.get("name"):
            v.tools[t["name"]] = t.get("parameters") or {}
    tc = body.get("tool_choice")
    if isinstance(tc, str):
        v.tool_choice = tc
    elif isinstance(tc, dict) and tc.get("type") == "function":
        v.tool_choice = f"function:{tc.get('name')}"
    elif isinstance(tc, dict) and tc.get("type") == "allowed_tools":
        v.tool_choice = tc.get("mode") or "auto"
        v.allowed = [str(t.get("name")) for t in _list(tc.get("tools")) if isinstance(t, dict)]
    v.parallel = body.get("parallel_tool_calls") if isinstance(body.get("parallel_tool_calls"), bool) else None
    v.max_tokens = body.get("max_output_tokens")
    v.reasoning = _dict(body.get("reasoning")).get("effort")
    fmt = _dict(_dict(body.get("text")).get("format"))
    if fmt.get("type") == "json_schema":
        v.schema = fmt.get("schema") or True
    elif fmt.get("type") == "json_object":
        v.schema = True
    v.include_usage = True


def read_request(kind: str, body: Any) -> View:
    """The neutral view of a request body of `kind` (unknown fields are ignored)."""
    v = View()
    if not isinstance(body, dict):
        return v
    v.model = str(body.get("model") or "")
    v.stream = bool(body.get("stream"))
    v.temperature = body.get("temperature")
    v.top_p = body.get("top_p")
    {"chat-completions": _cc_view, "anthropic": _anthropic_view, "responses": _responses_view}[kind](body, v)
    return v


def _split(text: str, size: int = 6) -> list[str]:
    """Pieces of about `size` characters: how the answer is streamed (one piece = one token)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or []


def instance(schema: Any, depth: int = 0) -> Any:
    """A small value valid for a JSON schema (the subset tools and formats use)."""
    if not isinstance(schema, dict) or depth > 6:
        return {}
    if "const" in schema:
        return schema["const"]
    if _list(schema.get("enum")):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if _list(schema.get(key)):
            return instance(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = _dict(schema.get("properties"))
        return {str(name): instance(props.get(name, {}), depth + 1) for name in _list(schema.get("required")) or list(props)}
    if kind == "array":
        n = max(1, schema["minItems"] if isinstance(schema.get("minItems"), int) else 0)
        return [instance(schema.get("items") or {}, depth + 1) for _ in range(n)]
    if kind == "string":
        least = schema["minLength"] if isinstance(schema.get("minLength"), int) else 1
        return "Paris" if "city" in json.dumps(schema).lower() else "x" * max(1, least)
    if kind == "integer":
        return int(schema["minimum"]) if isinstance(schema.get("minimum"), (int, float)) else 1
    if kind == "number":
        return float(schema["minimum"]) if isinstance(schema.get("minimum"), (int, float)) else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}


def _call_id(view: View, name: str, n: int) -> str:
    digest = hashlib.sha256(json.dumps(view.messages).encode()).hexdigest()[:12]
    return f"call_{digest}_{n}_{name}"[:64]


def answer(view: View) -> Answer:
    """What a cooperative model answers to `view` (deterministic)."""
    ans = Answer(input_tokens=sum(len(_split(t)) for _, t in view.messages) + 1)
    last_user = next((t for r, t in reversed(view.messages) if r == "user"), "")
    last_role = view.messages[-1][0] if view.messages else ""
    if view.reasoning:
        ans.reasoning = _split(f"The user asks: {last_user[:60]}. I will answer plainly.")
    callable_ = [n for n in view.tools if view.allowed is None or n in view.allowed]
    choice = view.tool_choice or "auto"
    if callable_ and choice != "none" and last_role != "tool":
        name = choice.partition(":")[2] if choice.startswith("function:") else callable_[0]
        schema = view.tools.get(name, {})
        # Several calls when allowed and asked ("… Paris and … Tokyo"), never for a forced function
        # (a structured-output tool is one answer).
        many = view.parallel is not False and " and " in last_user and not choice.startswith("function:")
        cities = ["Paris", "Tokyo"] if many else ["Paris"]
        for n, city in enumerate(cities):
            args = instance(schema)
            if isinstance(args, dict) and "city" in args:
                args["city"] = city
            ans.calls.append(Call(_call_id(view, name, n), name, json.dumps(args)))
        ans.finish = "tool_calls"
        return _limit(ans, view)
    if view.schema is not None:
        value = instance(view.schema) if isinstance(view.schema, dict) else {"answer": "ok"}
        ans.text = _split(json.dumps(value))
    elif last_role == "tool":
        ans.text = _split(f"The tool said: {view.messages[-1][1]}")
    else:
        ans.text = _split(f"Hello! You said: {last_user[:200]}")
    return _limit(ans, view)


def _limit(ans: Answer, view: View) -> Answer:
    """A small token limit: the answer runs into it (finish `length`)."""
    if not isinstance(view.max_tokens, int) or view.max_tokens > SMALL_LIMIT or ans.calls:
        return ans
    filler = _split(" Counting slowly: " + " ".join(str(i) for i in range(200)))
    budget = max(1, int(view.max_tokens) - len(ans.reasoning))
    ans.text = (ans.text + filler)[:budget]
    ans.finish = "length"
    return ans
