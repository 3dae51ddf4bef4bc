"""call.*: function and custom tool calls in the final output, and (request known) whether they
respect the request's tools, tool_choice and parallel_tool_calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short
from conformance.state import CALL_ID_REQUIRED, CALL_ITEM_TYPES

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "Responses API: function calling"
_CALLS = ("function_call", "custom_tool_call")


def _calls(ctx: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, it) for i, it in ctx.output_items if isinstance(it, dict) and str(it.get("type")) in _CALLS]


def _hosted_calls(ctx: Any) -> list[dict[str, Any]]:
    """Calls of hosted tools (web_search_call, file_search_call, mcp_call, …): `required` asks
    for a call of any of the request's tools, and a hosted tool is one of them."""
    return [it for _, it in ctx.output_items if isinstance(it, dict)
            and str(it.get("type")).endswith("_call") and str(it.get("type")) not in _CALLS]


def request_tools(request: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(tool type, name) -> tool, for the request's function and custom tools; the members of a
    `namespace` tool are named `NAMESPACE.NAME` (see `qualified_name`). Tools declared by an
    `additional_tools` input item (Codex CLI 0.171 declares all of its tools that way) count as
    well; a member of its namespace `functions` is known by its plain name too, since that is
    harmony's namespace of top-level tools and a server may call it without a namespace."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    tools = request.get("tools")
    _add_tools(out, tools if isinstance(tools, list) else [], plain_namespace=None)
    items = request.get("input")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type") == "additional_tools" and isinstance(item.get("tools"), list):
            _add_tools(out, item["tools"], plain_namespace="functions")
    return out


def _add_tools(out: dict[tuple[str, str], dict[str, Any]], tools: list[Any], plain_namespace: str | None) -> None:
    for t in tools:
        if isinstance(t, dict) and t.get("type") == "namespace" and isinstance(t.get("name"), str):
            members = t.get("tools")
            for m in members if isinstance(members, list) else []:
                if isinstance(m, dict) and m.get("type") in ("function", "custom") and isinstance(m.get("name"), str):
                    out[(m["type"], f"{t['name']}.{m['name']}")] = m
                    if t["name"] == plain_namespace:
                        out.setdefault((m["type"], m["name"]), m)
            continue
        if not isinstance(t, dict):
            continue
        ttype = t.get("type")
        name = t.get("name")
        if not isinstance(name, str) and isinstance(t.get("function"), dict):
            name = t["function"].get("name")  # Chat Completions spelling, tolerated here
        if ttype in ("function", "custom") and isinstance(name, str):
            out[(ttype, name)] = t


def qualified_name(item: dict[str, Any]) -> str:
    """A call item's tool name as `request_tools` keys it (`NAMESPACE.NAME` when it carries a
    `namespace`, as calls to a namespace tool's members do)."""
    namespace = item.get("namespace")
    name = str(item.get("name"))
    return f"{namespace}.{name}" if isinstance(namespace, str) and namespace else name


_ITEM_TOOL = {"function_call": "function", "custom_tool_call": "custom"}


def cut_short(item: dict[str, Any], ctx: Any) -> bool:
    """An `incomplete` item of a response that ended `incomplete` or `failed` (or has no
    terminal snapshot): its generation was cut, so its arguments may be cut too."""
    if item.get("status") != "incomplete":
        return False
    resp = ctx.response
    return not isinstance(resp, dict) or resp.get("status") in ("incomplete", "failed", "cancelled")


def _unparsable(ctx: Any) -> Iterator[tuple[int, dict[str, Any], str, str]]:
    """(index, item, arguments, decode error) of every function call whose arguments are not JSON."""
    for i, it in _calls(ctx):
        args = it.get("arguments")
        if it.get("type") != "function_call" or not isinstance(args, str):
            continue
        try:
            orjson.loads(args)
        except orjson.JSONDecodeError as e:
            yield i, it, args, str(e)


@rule("call.arguments-not-json", "warning", "arguments not JSON",
      "A function call's final `arguments` is not valid JSON (error when the request's tool is "
      "`strict`: openai-python parses strict tools' arguments at response.completed and raises).",
      spec=SPEC, kind="model",
      on=("@output",))
def arguments_are_json(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    tools = request_tools(ctx.request) if ctx.request is not None else {}
    for i, it, args, err in _unparsable(ctx):
        if cut_short(it, ctx):
            continue  # call.truncated-arguments
        tool = tools.get(("function", qualified_name(it)))
        strict = bool(tool and tool.get("strict"))  # the client's own test: truthy `strict`
        why = (
            "; the request's tool is strict, so openai-python json-parses them at "
            "response.completed and raises" if strict else ""
        )
        yield Hit(
            f"function call {short(it.get('name'))} arguments are not JSON ({err}): {short(args)}{why}",
            output_index=i,
            severity="error" if strict else None,
        )


@rule("call.truncated-arguments", "warning", "a cut-short call's arguments are not JSON",
      "A `function_call` item marked `incomplete` in an `incomplete` or `failed` response has "
      "arguments that are not JSON: the generation was cut mid-call, which the item says; a "
      "client must not run it.", spec=SPEC,
      on=("@output",))
def truncated_arguments(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for i, it, args, err in _unparsable(ctx):
        if cut_short(it, ctx):
            status = ctx.response.get("status") if isinstance(ctx.response, dict) else "unfinished"
            yield Hit(
                f"function call {short(it.get('name'))} was cut short (item incomplete, response "
                f"{status}): its arguments are not JSON ({err}): {short(args)}; correct, but a "
                "client must not run it",
                output_index=i,
            )


@rule("call.call-id", "error", "call_id missing or shared",
      "A call item has no `call_id`, or two calls share one (openai-python ≥3.54 identifies "
      "call items by call_id and raises 'conflicting output identities').",
      spec=SPEC, breaks=("openai-python>=3.54 (shared call_id)",),
      on=("@output",))
def call_ids(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for i, it in ctx.output_items:
        # str(): a non-string (unhashable) type is the schema's to report, never a crash here.
        if not isinstance(it, dict) or str(it.get("type")) not in CALL_ITEM_TYPES:
            continue
        cid = it.get("call_id")
        if not isinstance(cid, str) or not cid:
            if it.get("type") in CALL_ID_REQUIRED:
                yield Hit(f"{it.get('type')} item {i} has call_id {short(cid)}; expected a non-empty string", output_index=i)
            continue
        if cid in seen:
            yield Hit(f"items {seen[cid]} and {i} share call_id {cid!r}", output_index=i)
        else:
            seen[cid] = i


@rule("call.unknown-tool", "error", "call to a tool not in the request",
      "(request known) The called name is not among the request's tools.", spec=SPEC, kind="model",
      on=("@output",))
def called_tool_exists(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    if ctx.request is None:
        return
    tools = request_tools(ctx.request)
    for i, it in _calls(ctx):
        ttype = _ITEM_TOOL[it["type"]]
        name = qualified_name(it)
        if (ttype, name) not in tools:
            names = sorted(n for t, n in tools if t == ttype)
            yield Hit(f"{it['type']} to {short(name)}, which is not a {ttype} tool of the request (tools: {names})", output_index=i)


def _forced_name(choice: Any) -> str | None:
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        name = choice.get("name")
        return name if isinstance(name, str) else None
    return None


@rule("call.tool-choice", "error", "tool_choice not honoured",
      "(request known) `required`/forced without a call, `none` with a call, forced name differs.",
      spec=SPEC, kind="model",
      on=("@output",))
def tool_choice_honoured(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[str]:
    req = ctx.request
    if req is None or "tool_choice" not in req:
        return
    resp = ctx.response
    if not isinstance(resp, dict) or resp.get("status") not in (None, "completed"):
        return  # no terminal event, or an incomplete/failed response that may stop before its call
    choice = req["tool_choice"]
    calls = _calls(ctx)
    names = [c.get("name") for _, c in calls]
    forced = _forced_name(choice)
    if choice == "none" and calls:
        yield f"tool_choice 'none' but the response calls {names}"
    elif choice == "required" and not calls and not _hosted_calls(ctx):
        yield "tool_choice 'required' but the response makes no tool call"
    elif forced is not None:
        if not calls:
            yield f"tool_choice forces {forced!r} but the response makes no call"
        elif any(n != forced for n in names):
            yield f"tool_choice forces {forced!r} but the response calls {names}"
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = {t.get("name") for t in choice.get("tools") or [] if isinstance(t, dict)}
        bad = [n for n in names if n not in allowed]
        if bad:
            yield f"tool_choice allows {sorted(map(str, allowed))} but the response calls {bad}"
        if choice.get("mode") == "required" and not calls:
            yield "tool_choice allowed_tools mode 'required' but the response makes no call"


@rule("call.parallel", "error", "parallel calls although disabled",
      "(request known) Several calls although `parallel_tool_calls` is false.", spec=SPEC, kind="model",
      on=("@output",))
def no_parallel_calls(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[str]:
    req = ctx.request
    if req is None or req.get("parallel_tool_calls") is not False:
        return
    calls = _calls(ctx)
    if len(calls) > 1:
        yield f"parallel_tool_calls is false but the response makes {len(calls)} calls: {[c.get('name') for _, c in calls]}"


@rule("call.arguments-schema", "warning", "arguments do not fit the tool's parameters",
      "(request known) Arguments do not validate against the tool's `parameters` (error when "
      "the tool is `strict`).", spec=SPEC, kind="model",
      on=("@output",))
def arguments_fit_parameters(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    if ctx.request is None:
        return
    tools = request_tools(ctx.request)
    for i, it in _calls(ctx):
        if it["type"] != "function_call":
            continue
        tool = tools.get(("function", qualified_name(it)))
        params = tool.get("parameters") if tool else None
        if not isinstance(params, dict) or not isinstance(it.get("arguments"), str):
            continue
        try:
            args = orjson.loads(it["arguments"])
        except orjson.JSONDecodeError:
            continue  # call.arguments-not-json says so
        strict = tool.get("strict") is True  # type: ignore[union-attr]
        for msg in _validate(args, params):
            yield Hit(
                f"arguments of {it.get('name')!r} do not fit its parameters: {msg}",
                output_index=i,
                severity="error" if strict else None,
            )
            break


def _validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    if _fits(instance, schema):
        return []
    import jsonschema  # only to explain arguments that do not fit, or to judge odd schemas

    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        errors = sorted(cls(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    except Exception as e:  # the request's schema, not a checker bug: a bad regex raises re.error,
        # a dangling $ref Unresolvable, `multipleOf: 0` ZeroDivisionError, `required: 5` TypeError
        detail = str(e).strip().partition("\n")[0] or type(e).__name__
        return [f"the tool's parameters are not a valid JSON Schema ({detail})"]
    return [f"{'/' + '/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


# Keywords whose meaning the two validators do not share exactly: regexes (ECMA-262 in
# jsonschema-rs, Python's `re` in jsonschema), and number equality in `uniqueItems` and
# float division in `multipleOf`. A schema that uses one goes to jsonschema, whose answer the
# findings have always given.
_UNSHARED_KEYWORDS = frozenset({"pattern", "patternProperties", "uniqueItems", "multipleOf"})


def _fits(instance: Any, schema: dict[str, Any]) -> bool:
    """Whether jsonschema-rs's compiled check says `instance` fits `schema`: the common answer,
    without importing jsonschema (30-60 ms of a process that checks one capture with tools) or
    building its validator per call. False decides nothing: jsonschema then judges and explains,
    as it does for a schema that jsonschema-rs cannot compile, would fetch, or that uses a
    keyword of `_UNSHARED_KEYWORDS` anywhere."""
    if _uses_unshared_keyword(schema):
        return False
    try:
        import jsonschema_rs
    except ImportError:  # an optional speed-up (see pyproject.toml)
        return False
    try:
        validator = jsonschema_rs.validator_for(schema, validate_formats=False, offline=True)
        return bool(validator.is_valid(instance))
    except Exception:  # a schema or an instance it cannot take: jsonschema decides
        return False


def _uses_unshared_keyword(schema: Any) -> bool:
    # Property names count too (a tool parameter called "pattern"): a cheap walk, and erring
    # towards jsonschema costs only time.
    if isinstance(schema, dict):
        return not _UNSHARED_KEYWORDS.isdisjoint(schema) or any(map(_uses_unshared_keyword, schema.values()))
    if isinstance(schema, list):
        return any(map(_uses_unshared_keyword, schema))
    return False
