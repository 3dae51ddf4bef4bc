"""The scenario model: an id, a title, tags, and one small async function using the context.

Plus the few helpers scenarios share to read a Response object (message text, calls, items).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.excerpts import clip

if TYPE_CHECKING:
    from conformance.runner.context import ScenarioContext

ScenarioFn = Callable[["ScenarioContext"], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    tags: tuple[str, ...]
    run: ScenarioFn
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "tags": list(self.tags), "description": self.description}


_DEFINED: list[Scenario] = []


def scenario(scenario_id: str, title: str, *tags: str) -> Callable[[ScenarioFn], ScenarioFn]:
    """Decorator: register the function as a scenario (catalogue order = definition order)."""

    def deco(fn: ScenarioFn) -> ScenarioFn:
        if any(s.id == scenario_id for s in _DEFINED):
            raise ValueError(f"duplicate scenario id {scenario_id!r}")
        doc = (fn.__doc__ or "").strip()
        _DEFINED.append(Scenario(scenario_id, title, tuple(tags), fn, doc))
        return fn

    return deco


def defined() -> list[Scenario]:
    return list(_DEFINED)


# -- reading a Response object ------------------------------------------------------------


def items(response: dict[str, Any] | None, item_type: str) -> list[dict[str, Any]]:
    output = (response or {}).get("output") or []
    return [i for i in output if isinstance(i, dict) and i.get("type") == item_type]


def message_text(response: dict[str, Any] | None) -> str:
    """All output_text of all message items, joined."""
    parts = []
    for item in items(response, "message"):
        for part in item.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "output_text":
                parts.append(str(part.get("text", "")))
    return "".join(parts)


def function_calls(response: dict[str, Any] | None) -> list[dict[str, Any]]:
    return items(response, "function_call")


def expect_text(ctx: ScenarioContext, response: dict[str, Any] | None, label: str = "") -> str:
    """http.output-missing unless the response has a message with non-empty output text."""
    text = message_text(response)
    if not text.strip():
        where = f"{label}: " if label else ""
        types = [i.get("type") for i in (response or {}).get("output") or [] if isinstance(i, dict)]
        ctx.finding("http.output-missing", f"{where}no message with output text (output item types: {types})")
    return text


def expect_calls(
    ctx: ScenarioContext, response: dict[str, Any] | None, *, names: set[str] | None = None, label: str = ""
) -> list[dict[str, Any]]:
    """http.output-missing unless there is a function call (to one of `names`, when given)."""
    calls = function_calls(response)
    where = f"{label}: " if label else ""
    if not calls and not any(f.rule == "call.tool-choice" for f in ctx.findings):
        # (call.tool-choice from the checker already says so when the call was forced)
        types = [i.get("type") for i in (response or {}).get("output") or [] if isinstance(i, dict)]
        ctx.finding("http.output-missing", f"{where}no function_call item (output item types: {types})")
    elif names is not None:
        wrong = sorted({str(c.get("name")) for c in calls} - names)
        if wrong:
            ctx.finding("call.tool-choice", f"{where}called {wrong}, but only {sorted(names)} may be called")
    return calls



# -- comparing Response objects -------------------------------------------------------------


def first_difference(a: Any, b: Any, pointer: str = "") -> tuple[str, Any, Any] | None:
    """The JSON pointer of the first place where `a` and `b` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{pointer}/{key}", a.get(key, "<absent>"), b.get(key, "<absent>")
            diff = first_difference(a[key], b[key], f"{pointer}/{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff = first_difference(x, y, f"{pointer}/{i}")
            if diff:
                return diff
        if len(a) != len(b):
            return f"{pointer}/length", len(a), len(b)
        return None
    if a != b or type(a) is not type(b):
        return pointer or "/", a, b
    return None


def shape(response: dict[str, Any] | None) -> dict[str, Any]:
    """What must not depend on streaming: status, fields present, item and part types, usage keys."""
    response = response or {}
    output = []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            output.append({"type": repr(type(item))})
            continue
        entry: dict[str, Any] = {"type": item.get("type"), "status": item.get("status"), "keys": sorted(item)}
        if isinstance(item.get("content"), list):
            entry["content"] = [p.get("type") if isinstance(p, dict) else None for p in item["content"]]
        output.append(entry)
    usage = response.get("usage")
    return {
        "object": response.get("object"),
        "status": response.get("status"),
        "fields": sorted(response),
        "incomplete_reason": (response.get("incomplete_details") or {}).get("reason"),
        "output": output,
        "usage": sorted(usage) if isinstance(usage, dict) else usage,
    }


def shape_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str | None:
    diff = first_difference(shape(a), shape(b))
    if diff is None:
        return None
    where, x, y = diff
    return f"{where}: {_short(x)} vs {_short(y)}"


def _short(value: Any, limit: int = 80) -> str:
    return clip(repr(value), limit)
