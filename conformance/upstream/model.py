"""The cooperative model: a deterministic answer decided from the request alone (sans-IO).

`read_request(kind, body)` turns a Chat Completions, Anthropic Messages or Responses request into
one neutral `View`; `answer(view)` decides what a model that follows the request would say: a
call to the forced (or first allowed) tool with arguments valid for its schema, two calls when
parallel calls are allowed and the prompt asks for several, reasoning when asked for, JSON valid
for a requested schema, text quoting a tool result, `length` when the token limit is small, and
(Anthropic upstream only) a web search with cited text when its server tool is forced, or offered
and the user asks to search. `anthropic_request_error(body)` is Anthropic's 400 for a web search
tool it would refuse.
The wire writers (`conformance.upstream.wire`) put an `Answer` into each provider's format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("chat-completions", "anthropic", "responses")
# Anthropic's web search server tool: a dated type, always named `web_search`; its fields.
ANTHROPIC_WEB_SEARCH_TYPE = re.compile(r"web_search_\d{8}")
WEB_SEARCH_FIELDS = frozenset({"type", "name", "max_uses", "allowed_domains", "blocked_domains", "user_location",
                               "cache_control"})
LOCATION_FIELDS = frozenset({"type", "city", "region", "country", "timezone"})
# Where results come from when no allowed_domains narrows the search.
SEARCH_DOMAINS = ("docs.example.com", "news.example.org")
# A token limit at or below this makes the answer run into it (finish `length`).
SMALL_LIMIT = 64


@dataclass
class WebSearch:
    """A web search tool a request offers (Responses `web_search*`, Anthropic's server tool)."""

    allowed: list[str] | None = None
    blocked: list[str] | None = None


@dataclass
class View:
    """What a request asks for, whatever its wire format. Messages are (role, text) in order;
    roles: system, user, assistant, call (an earlier tool call: `name(arguments)`), tool (a result)."""

    model: str = ""
    messages: list[tuple[str, str]] = field(default_factory=list)
    tools: dict[str, Any] = field(default_factory=dict)  # name -> JSON schema of the arguments
    tool_choice: str | None = None  # auto | none | required | function:NAME | web_search ; None = not sent
    allowed: list[str] | None = None  # allowed_tools narrowing, when sent
    parallel: bool | None = None
    max_tokens: int | None = None
    reasoning: str | None = None  # effort, or "on" (Anthropic thinking)
    schema: Any = None  # a requested JSON schema for the text (True: any JSON object)
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    include_usage: bool = False
    web_search: WebSearch | None = None


@dataclass
class Call:
    id: str
    name: str
    arguments: str


@dataclass
class Search:
    """One server-side web search: its query, results (url, title, encrypted_content, page_age)
    and the text citing the first result."""

    id: str
    query: str
    results: list[dict[str, Any]]
    text: list[str] = field(default_factory=list)  # pieces of the cited text, as streamed

    def citation(self) -> dict[str, Any]:
        """Anthropic's citation of the first result (`web_search_result_location`)."""
        first = self.results[0]
        return {"type": "web_search_result_location", "url": first["url"], "title": first["title"],
                "cited_text": f"{self.query[:100]} is answered on this page.",
                "encrypted_index": base64.b64encode(hashlib.sha256(first["url"].encode()).digest()).decode()}


@dataclass
class Answer:
    reasoning: list[str] = field(default_factory=list)  # pieces, as streamed
    text: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    finish: str = "stop"  # stop | length | tool_calls | content_filter
    input_tokens: int = 0
    refusal: bool = False
    search: Search | None = None  # a server-side web search before the text

    @property
    def output_tokens(self) -> int:
        cited = len(self.search.text) if self.search else 0
        return len(self.reasoning) + cited + len(self.text) + sum(len(_split(c.arguments)) for c in self.calls)

    def summary(self) -> dict[str, Any]:
        """What the model said, as the request log reports it (what fidelity is judged against)."""
        out: dict[str, Any] = {
            "text": "".join(self.search.text if self.search else []) + "".join(self.text),
            "reasoning": "".join(self.reasoning),
            "calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.calls],
            "finish": self.finish,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "reasoning_tokens": len(self.reasoning)},
        }
        if self.search:
            out["searches"] = [{"id": self.search.id, "query": self.search.query,
                                "urls": [r["url"] for r in self.search.results]}]
            out["citations"] = [self.search.citation()["url"]] if self.search.text else []
        return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str] | None:
    return [str(x) for x in value] if isinstance(value, list) else None


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
        if isinstance(t, dict) and ANTHROPIC_WEB_SEARCH_TYPE.fullmatch(str(t.get("type"))):
            v.web_search = WebSearch(_strings(t.get("allowed_domains")), _strings(t.get("blocked_domains")))
        elif isinstance(t, dict) and t.get("name"):
            v.tools[t["name"]] = t.get("input_schema") or {}
    tc = _dict(body.get("tool_choice"))
    kind = tc.get("type")
    v.tool_choice = {"auto": "auto", "any": "required", "none": "none"}.get(kind or "")
    if kind == "tool":
        searching = v.web_search is not None and tc.get("name") == "web_search"
        v.tool_choice = "web_search" if searching else f"function:{tc.get('name')}"
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
        elif isinstance(t, dict) and str(t.get("type")).startswith("web_search"):
            v.web_search = WebSearch(_strings(_dict(t.get("filters")).get("allowed_domains")))
    tc = body.get("tool_choice")
    if isinstance(tc, str):
        v.tool_choice = tc
    elif isinstance(tc, dict) and tc.get("type") == "function":
        v.tool_choice = f"function:{tc.get('name')}"
    elif isinstance(tc, dict) and str(tc.get("type")).startswith("web_search"):
        v.tool_choice = "web_search"
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


def _web_search_tool_error(tool: dict[str, Any], i: int) -> str | None:
    kind = str(tool.get("type"))
    if not ANTHROPIC_WEB_SEARCH_TYPE.fullmatch(kind):  # e.g. a Responses `web_search` sent as it is
        return (f"tools.{i}: Input tag {kind!r} found using 'type' does not match any of the expected tags: "
                "'custom', 'web_search_20250305'")
    where = f"tools.{i}.{kind}"
    extra = next((key for key in tool if key not in WEB_SEARCH_FIELDS), None)
    if extra is not None:
        return f"{where}.{extra}: Extra inputs are not permitted"
    if tool.get("name") != "web_search":
        return f"{where}.name: Input should be 'web_search'"
    uses = tool.get("max_uses")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int) or uses < 1):
        return f"{where}.max_uses: Input should be greater than 0"
    for key in ("allowed_domains", "blocked_domains"):
        value = tool.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(d, str) for d in value)):
            return f"{where}.{key}: Input should be a valid list of strings"
    if tool.get("allowed_domains") and tool.get("blocked_domains"):
        return f"tools.{i}: cannot specify both allowed_domains and blocked_domains"
    location = tool.get("user_location")
    if location is not None:
        if not isinstance(location, dict) or location.get("type") != "approximate":
            return f"{where}.user_location.type: Input should be 'approximate'"
        extra = next((key for key in location if key not in LOCATION_FIELDS), None)
        if extra is not None:
            return f"{where}.user_location.{extra}: Extra inputs are not permitted"
    return None


def anthropic_request_error(body: dict[str, Any]) -> str | None:
    """The message of Anthropic's 400 for a web search tool it refuses (an undated or unknown
    `web_search*` type, an unknown field, a wrong name or value), or None. Other tools pass."""
    for i, tool in enumerate(_list(body.get("tools"))):
        if isinstance(tool, dict) and str(tool.get("type")).startswith("web_search"):
            error = _web_search_tool_error(tool, i)
            if error is not None:
                return error
    return None


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


def _domain_ok(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def web_search(view: View, last_user: str) -> Search:
    """The search a request asks for: its query is the user's text, its one or two results lie
    within `allowed_domains` (else the model's own domains outside `blocked_domains`)."""
    tool = view.web_search or WebSearch()
    query = " ".join(last_user.split())[:80]
    allowed = [d.lower() for d in tool.allowed or []]
    blocked = [d.lower() for d in tool.blocked or []]
    domains = allowed[:2] or [d for d in SEARCH_DOMAINS if not _domain_ok(d, blocked)]
    slug = "-".join(re.findall(r"[a-z0-9]+", query.lower())[:5]) or "search"
    digest = hashlib.sha256(query.encode()).hexdigest()
    results = []
    for n, domain in enumerate(domains):
        host = domain.split("/")[0]
        url = f"https://{host}/{slug}" if n == 0 else f"https://{host}/about"
        results.append({"type": "web_search_result", "url": url,
                        "title": f"{query[:40]} - {host}" if n == 0 else f"About {host}",
                        "encrypted_content": base64.b64encode(f"{digest}:{url}".encode()).decode(),
                        "page_age": "2 days ago" if n == 0 else None})
    return Search("srvtoolu_" + digest[:24], query, results)


def answer(view: View, *, server_search: bool = False) -> Answer:
    """What a cooperative model answers to `view` (deterministic). `server_search`: the provider
    runs the offered web search tool itself (Anthropic's server tool)."""
    ans = Answer(input_tokens=sum(len(_split(t)) for _, t in view.messages) + 1)
    last_user = next((t for r, t in reversed(view.messages) if r == "user"), "")
    last_role = view.messages[-1][0] if view.messages else ""
    if view.reasoning:
        ans.reasoning = _split(f"The user asks: {last_user[:60]}. I will answer plainly.")
    callable_ = [n for n in view.tools if view.allowed is None or n in view.allowed]
    choice = view.tool_choice or "auto"
    asked = choice == "web_search" or (choice in ("auto", "required") and "search" in last_user.lower())
    if server_search and view.web_search is not None and last_role == "user" and asked:
        ans.search = web_search(view, last_user)
        if ans.search.results and view.schema is None:
            first = ans.search.results[0]
            ans.search.text = _split(f"According to {first['title']}, the cited page answers it. ")
    if callable_ and choice not in ("none", "web_search") and last_role != "tool":
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
    budget = max(1, int(view.max_tokens) - len(ans.reasoning) - (len(ans.search.text) if ans.search else 0))
    ans.text = (ans.text + filler)[:budget]
    ans.finish = "length"
    return ans
