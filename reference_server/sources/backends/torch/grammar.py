"""The harmony output grammar (llguidance lark) that an `OutputSpec` demands.

Bare `<|name|>` in the grammar is the special token; quoted text is ordinary text. The prompt
ends with `<|start|>assistant`, so the completion starts at `<|channel|>`:

    start:    [analysis] (final | call_0 | call_1 ...)      -- per tool_mode / reasoning
    analysis: <|channel|>analysis<|message|> TEXT <|end|><|start|>assistant
    final:    <|channel|>final<|message|> (TEXT | PROSE [citation] | %json{format}) <|return|>
    citation: "【" CURSOR "†L" START ["-L" END] "】"  -- after browsing: lines of a page it was shown
    call_i:   <|channel|>commentary to=functions.NAME <|constrain|>json<|message|> %json{params} <|call|>
    custom_i: <|channel|>commentary to=functions.NAME<|message|> (TEXT | @custom_i) <|call|>

A namespace tool's members are called as `to=NAMESPACE.NAME`; a custom tool with a lark or regex
grammar has it as the sub-grammar `@custom_i` (see `matcher_grammar`). When browsing is up to the
model (`OutputSpec.browser` "auto"), the browser's functions are calls too (`to=browser.search`
…), their arguments constrained to the browsing state (`protocol/browser_tools.py`); with web
search on, the answer's text (PROSE) has no `【` of its own, so its one marker is the grammar's.

Free text is capped at `budget` tokens by the grammar (`max_tokens`); JSON schemas are
narrowed (`bound_schema`) so that any weights can finish them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from reference_server.protocol.browser_tools import browser_tools
from reference_server.protocol.token_backend import BackendError, BrowserPage, OutputSpec, ToolSpec

# JSON Schema keywords whose value is a schema, a list of schemas, or a name -> schema map.
_SCHEMA_VALUED = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then",
                  "else", "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_SCHEMA_LISTS = ("prefixItems", "anyOf", "oneOf", "allOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

MAX_STRING = 48
MAX_ITEMS = 6
# Unbounded integers of random weights stay small: a real client runs the call, and e.g. Codex's
# `clock.sleep` with a random duration_ms of 311088 held a conversation for five minutes.
INT_BOUND = 1_000
# A citation marker spans at most this many lines after its first.
CITE_SPAN = 3
_NUMBER_LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def bound_schema(schema: dict[str, Any], *, tight: bool = True) -> dict[str, Any]:
    """A copy of `schema` that accepts a subset of what it accepts, so that a model with
    arbitrary weights reaches the end; anything it accepts validates against the original.

    Always: no optional whitespace. `tight` (for random weights) also bounds every string
    (maxLength), array (maxItems), object (no undeclared properties) and unconstrained number
    (an integer within +-INT_BOUND: JSON numbers otherwise have unbounded fraction digits)."""
    out = copy.deepcopy(schema)
    if tight:
        _bound(out)
    guidance = dict(out.get("x-guidance") or {})
    guidance["whitespace_flexible"] = False
    out["x-guidance"] = guidance
    return out


def _bound(node: Any) -> None:
    if not isinstance(node, dict):
        return
    declared = node.get("type")
    types = set(declared) if isinstance(declared, list) else {declared}
    constrained_text = any(k in node for k in ("pattern", "format", "enum", "const"))
    if "string" in types and "maxLength" not in node and not constrained_text:
        node["maxLength"] = max(MAX_STRING, int(node.get("minLength", 0)))
    if "array" in types and "maxItems" not in node:
        node["maxItems"] = max(MAX_ITEMS, int(node.get("minItems", 0)))
    if "properties" in node and "additionalProperties" not in node and "patternProperties" not in node:
        node["additionalProperties"] = False
    fixed = "enum" in node or "const" in node
    if "number" in types and not fixed and not any(k in node for k in _NUMBER_LIMITS):
        # Integers are numbers (a subset), and their digits can be bounded.
        node["type"] = "integer" if isinstance(declared, str) else sorted((types - {"number"}) | {"integer"})
        types = (types - {"number"}) | {"integer"}
    if "integer" in types and not fixed:
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if low is None:
            node["minimum"] = min(-INT_BOUND, (high if isinstance(high, int | float) else 0) - INT_BOUND)
        if high is None:
            node["maximum"] = max(INT_BOUND, (low if isinstance(low, int | float) else 0) + INT_BOUND)
    for key in _SCHEMA_VALUED:
        _bound(node.get(key))
    for key in _SCHEMA_LISTS:
        for sub in node.get(key) or ():
            _bound(sub)
    for key in _SCHEMA_MAPS:
        mapping = node.get(key)
        if isinstance(mapping, dict):
            for sub in mapping.values():
                _bound(sub)


def _lit(text: str) -> str:
    return json.dumps(text)  # a lark string literal (JSON escaping is a subset lark accepts)


def _json(schema: dict[str, Any]) -> str:
    return "%json " + json.dumps(schema, sort_keys=True)


ANY_OBJECT: dict[str, Any] = {"type": "object"}
NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


CUSTOM_GRAMMAR_PREFIX = "custom_"


def custom_grammars(spec: OutputSpec) -> dict[str, str]:
    """Sub-grammar name -> lark text, for the callable custom tools with a grammar format (a
    regex becomes a one-rule lark grammar)."""
    import llguidance

    out: dict[str, str] = {}
    for i, tool in enumerate(callable_tools(spec)):
        fmt = tool.format or {}
        if tool.kind != "custom" or fmt.get("type") != "grammar":
            continue
        if fmt.get("syntax") == "regex":
            compiled = json.loads(llguidance.LLMatcher.grammar_from_regex(fmt["definition"]))
            out[f"{CUSTOM_GRAMMAR_PREFIX}{i}"] = compiled["grammars"][0]["lark_grammar"]
        else:
            out[f"{CUSTOM_GRAMMAR_PREFIX}{i}"] = fmt["definition"]
    return out


def matcher_grammar(spec: OutputSpec, budget: int, *, tight: bool = True, lenient: bool = False) -> str:
    """What `llguidance.LLMatcher` compiles: the harmony grammar, with the custom tools' grammars
    as named sub-grammars when there are any."""
    import llguidance

    main = harmony_grammar(spec, budget, tight=tight, lenient=lenient)
    subs = custom_grammars(spec)
    if not subs:
        return str(llguidance.LLMatcher.grammar_from_lark(main))
    return json.dumps({"grammars": [{"lark_grammar": main},
                                    *({"name": name, "lark_grammar": text} for name, text in subs.items())]})


def callable_tools(spec: OutputSpec) -> tuple[ToolSpec, ...]:
    """What the model may call now: the spec's tools (unless `tool_mode` is "none"), then the
    browser's functions when browsing is up to the model (their arguments constrained to the
    pages the browser showed)."""
    tools = spec.tools if spec.tool_mode != "none" else ()
    if spec.browser == "auto":
        tools = (*tools, *browser_tools(spec.pages))
    return tools


def citable_pages(pages: tuple[BrowserPage, ...]) -> tuple[BrowserPage, ...]:
    """The pages a citation may name: the documents the browser showed, or when it showed none,
    search results with links (a marker on those cites the link above the cited lines)."""
    documents = tuple(p for p in pages if p.citable and p.document)
    return documents or tuple(p for p in pages if p.citable)


def line_ranges(page: BrowserPage) -> str:
    """Alternatives for `{start}` / `{start}-L{end}`, lines the model was shown, at most
    CITE_SPAN lines after the start."""
    out = []
    for start in range(page.first, page.end):
        out.append(_lit(str(start)))
        out += [_lit(f"{start}-L{end}") for end in range(start + 1, min(start + CITE_SPAN, page.end - 1) + 1)]
    return " | ".join(out)


def harmony_grammar(spec: OutputSpec, budget: int, *, tight: bool = True, lenient: bool = False) -> str:
    """The lark grammar for one request. `tight`: see `bound_schema`. `lenient` asks llguidance
    to skip JSON Schema keywords it does not implement (used as a second attempt)."""
    if budget < 1:
        raise BackendError(f"message_token_budget must be >= 1, got {budget}")
    rules: list[str] = []
    bodies: list[str] = []

    def schema_rule(name: str, schema: dict[str, Any]) -> None:
        bounded = bound_schema(schema, tight=tight)
        if lenient:
            bounded["x-guidance"]["lenient"] = True
        rules.append(f"{name}: {_json(bounded)}")

    tools = callable_tools(spec)
    if spec.tool_mode == "required" and not tools:
        raise BackendError("tool_choice requires a tool call but no tools are available")
    for i, tool in enumerate(tools):
        bodies.append(f"call_{i}")
        if tool.kind == "custom":
            # Free-form input: budgeted text, or the tool's own grammar (a sub-grammar `@custom_i`).
            header = _lit(f"commentary to={tool.recipient}")
            rules.append(f"call_{i}: <|channel|> {header} <|message|> input_{i} <|call|>")
            fmt = tool.format or {}
            body = f"@{CUSTOM_GRAMMAR_PREFIX}{i}" if fmt.get("type") == "grammar" else "text"
            rules.append(f"input_{i}: {body}")
            continue
        header = _lit(f"commentary to={tool.recipient} ")
        rules.append(f"call_{i}: <|channel|> {header} <|constrain|> \"json\" <|message|> args_{i} <|call|>")
        params = tool.parameters if isinstance(tool.parameters, dict) and tool.parameters else NO_ARGUMENTS
        schema_rule(f"args_{i}", params)
    if spec.tool_mode != "required":
        fmt = spec.final_format or {}
        if fmt.get("type") == "json_schema":
            schema = fmt.get("schema")
            if not isinstance(schema, dict):
                raise BackendError("text.format json_schema has no schema object")
            schema_rule("answer", schema)
        elif fmt.get("type") == "json_object":
            schema_rule("answer", ANY_OBJECT)
        elif cited := citable_pages(spec.pages):
            # One citation marker at the end, naming a page the browser showed and lines of it
            # the model was shown; the text before it has no marker of its own.
            rules.append("answer: prose citation")
            rules.append('citation: "【" (' + " | ".join(f"cite_{p.cursor}" for p in cited) + ') "】"')
            for page in cited:
                rules.append(f"cite_{page.cursor}: {_lit(f'{page.cursor}†L')} ({line_ranges(page)})")
        elif spec.browser != "none" or spec.pages:
            rules.append("answer: prose")  # no page to cite: no marker either
        else:
            rules.append("answer: text")
        rules.append('final: <|channel|> "final" <|message|> answer <|return|>')
        bodies.append("final")
    rules.append("body: " + " | ".join(bodies))
    if spec.reasoning_effort:
        rules.append('analysis: <|channel|> "analysis" <|message|> text <|end|> <|start|> "assistant"')
        rules.insert(0, "start: analysis body")
    else:
        rules.insert(0, "start: body")
    rules.append(f"text[max_tokens={budget}]: TEXT")
    rules.append(r"TEXT: /(.|\n)+/")
    if any(rule.startswith("answer: prose") for rule in rules):
        rules.append(f"prose[max_tokens={budget}]: PROSE")
        # No `【` (U+3010). The lexer cannot take back bytes it gave to a lexeme, so the class
        # leaves out every character that shares 【's first UTF-8 byte (E3: U+3000..U+3FFF);
        # `[^【]` would swallow E3 80 before the citation's 【 could begin.
        rules.append(r"PROSE: /[^\u3000-\u3fff]+/")
    return "\n".join(rules) + "\n"
