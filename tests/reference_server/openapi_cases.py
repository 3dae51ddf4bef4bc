"""What JSON Schema cannot state about a create body, made to hold in schemathesis's positive
cases: tool names unique (per namespace) and namespace names unique, a `tool_choice` naming
listed tools, grammars that compile, an output item answering a call, item references naming a
stored item and `encrypted_content` sealed by this server, strictness only where the schema
allows it, "json" mentioned for `json_object`."""

from __future__ import annotations

from typing import Any

from reference_server.protocol.request import grammar_problem

GOOD_GRAMMARS = {"lark": 'start: "yes" | "no"', "regex": "[a-z]{1,8}"}
CALLABLE = ("function", "custom")


class Consistency:
    """`stored_message_id`, `sealed_reasoning`, `sealed_window`: a stored item, a sealed reasoning
    blob and a compaction item's sealed window of the server under test, for item references and
    encrypted content."""

    def __init__(self, stored_message_id: str, sealed_reasoning: str, sealed_window: str | None = None) -> None:
        self.stored_message_id = stored_message_id
        self.sealed_reasoning = sealed_reasoning
        self.sealed_window = sealed_window

    def __call__(self, body: Any) -> Any:
        if not isinstance(body, dict):
            return body
        tools = body.get("tools") if isinstance(body.get("tools"), list) else []
        callables, passive = _fix_tools(tools)
        _fix_tool_choice(body, tools, callables, passive)
        if isinstance(body.get("input"), list):
            body["input"] = self._fix_items(body["input"])
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        if isinstance(fmt, dict):
            if fmt.get("type") == "json_object":
                body["instructions"] = f"{body.get('instructions') or ''} Answer in JSON."
            if fmt.get("type") == "json_schema":
                fmt["strict"] = False
        return body

    def _fix_items(self, items: list[Any]) -> list[Any]:
        calls: set[str] = set()
        fixed = []
        for item in items:
            if not isinstance(item, dict):
                fixed.append(item)
                continue
            kind = item.get("type")
            if kind in ("function_call", "custom_tool_call"):
                calls.add(item.get("call_id"))  # type: ignore[arg-type]
            elif kind == "compaction_trigger" and (item is not items[-1] or len(items) == 1):
                continue  # it must be the last item, after something to compact (described, not in the schema)
            elif kind in ("function_call_output", "custom_tool_call_output") and item.get("call_id") is not None \
                    and item.get("call_id") not in calls:
                fixed.append({"type": "function_call", "call_id": item["call_id"], "name": "f", "arguments": "{}"})
                calls.add(item["call_id"])
            elif kind == "item_reference" or (kind is None and "id" in item and not {"role", "content"} & set(item)):
                item["id"] = self.stored_message_id
            elif kind == "reasoning" and item.get("encrypted_content"):
                item["encrypted_content"] = self.sealed_reasoning
            elif kind == "compaction" and self.sealed_window is not None:
                item["encrypted_content"] = self.sealed_window
                calls = set()  # the window replaces every item before it, calls included
            fixed.append(item)
        return fixed


def _fix_member(tool: dict[str, Any], index: int, seen: set[str]) -> None:
    if tool.get("name") in seen:
        tool["name"] = f"t{index}"
    seen.add(tool["name"])
    if tool.get("type") == "function":
        tool["strict"] = False
    fmt = tool.get("format")
    grammar = tool.get("type") == "custom" and isinstance(fmt, dict) and fmt.get("type") == "grammar"
    if grammar and grammar_problem(fmt["syntax"], fmt["definition"]):
        fmt["definition"] = GOOD_GRAMMARS[fmt["syntax"]]


def _fix_tools(tools: list[Any]) -> tuple[list[dict[str, str]], set[str]]:
    """Unique names; the callable tools (as tool_choice names them) and the passive types."""
    callables: list[dict[str, str]] = []
    passive: set[str] = set()
    top: set[str] = set()
    namespaces: set[str] = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if kind in CALLABLE:
            _fix_member(tool, i, top)
            callables.append({"type": kind, "name": tool["name"]})
        elif kind == "namespace":
            if tool.get("name") in namespaces:
                tool["name"] = f"ns{i}"
            namespaces.add(tool["name"])
            members: set[str] = set()
            for j, member in enumerate(tool.get("tools") or []):
                _fix_member(member, j, members)
                callables.append({"type": member["type"], "name": member["name"]})
        elif isinstance(kind, str):
            passive.add("web_search" if kind == "browser_search" else kind)
    return callables, passive


def _fix_tool_choice(body: dict[str, Any], tools: list[Any], callables: list[dict[str, str]],
                     passive: set[str]) -> None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    if choice.get("type") in CALLABLE and callables:
        choice.update(callables[0])
    entries = choice.get("tools") if choice.get("type") == "allowed_tools" else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        if entry.get("type") in CALLABLE:
            if not callables:
                tools.append({"type": "function", "name": "f_allowed"})
                callables.append({"type": "function", "name": "f_allowed"})
            entry.clear()
            entry.update(callables[0])
        elif isinstance(entry.get("type"), str):
            if entry["type"] == "browser_search":
                entry["type"] = "web_search"  # a browser_search tool is listed as web_search
            if entry["type"] not in passive:
                tools.append({"type": entry["type"]})
                passive.add(entry["type"])
    if tools and body.get("tools") is None:
        body["tools"] = tools
