"""The rule registry: every rule id the checker can report, its metadata, and its check functions.

One rule = one id (RULES.md; ids are a public interface) + metadata + zero or more small check
functions subscribed to event types. The CLI (`conformance rules`), the checker, the live runner
and the pytest plugin all read this one registry.

Subscriptions (`on=`) are exact event types or one of these hooks:
  "*"             every decoded event object (a dict with a string `type`)
  "@value"        every decoded JSON value, before its shape is known (framing.not-an-event)
  "@sse"          every SSE message (framing rules; ctx.message / ctx.decoded / ctx.decode_error)
  "@content-type" the stream's Content-Type header (ctx.content_type)
  "@lifecycle"    response.created/queued/in_progress and the terminal events
  "@terminal"     response.completed / response.incomplete / response.failed
  "@response"     a finished Response object: the terminal snapshot of a stream, or a
                  non-stream body (ctx.response); runs for both `check_events` and `check_response`
  "@output"       the final output items (ctx.output_items: done items of a stream, or the
                  `output` of a body); once per stream, at the terminal event or at the end
  "@finish"       end of stream (`StreamChecker.finish()`)
  "@ws"           every record of a WebSocket transcript (conformance.transcript; ws.* rules)
  "@ws-finish"    end of a WebSocket transcript

A check function is `fn(state, event, ctx) -> Iterable[str | Hit] | None`: it reads the stream
state *before* the event is applied (h11 style: judge the transition, then take it) and yields
one message (or `Hit` with location overrides) per violation. `fast_safe=True` promises that the
checker's delta fast path (see `conformance.checker`) never skips a violation of this check;
a check without that promise switches the fast path off for the types it subscribes to.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.findings import Finding

__all__ = [
    "HOOKS",
    "Check",
    "Hit",
    "Rule",
    "all_rules",
    "check",
    "define",
    "get_rule",
    "make_finding",
    "rule",
]

SEVERITIES = ("error", "warning", "info")
# What a rule judges: the server's own job ("protocol": framing, order, closure, ids, indexes,
# accumulation, usage arithmetic, echo, error shapes) or whatever generates the tokens
# ("model": tool_choice honoured, arguments fit the schema, structured output parses,
# reasoning present when asked). Against a proxy the suite cannot see the upstream model.
KINDS = ("protocol", "model")
HOOKS = frozenset(
    {"*", "@value", "@sse", "@content-type", "@lifecycle", "@terminal", "@response", "@output", "@finish",
     "@ws", "@ws-finish"}
)
FAMILIES = (
    "framing",
    "schema",
    "sequence",
    "lifecycle",
    "item",
    "part",
    "accumulation",
    "call",
    "output",
    "usage",
    "request",
    "http",
    "client",
    "upstream",
    "ws",
)
# Rule modules, imported on first use of the registry (so `import conformance` stays cheap).
_RULE_MODULES = tuple(f"conformance.rules.{name}" for name in FAMILIES)
# Rules of one feature across families (their ids still use the families above).
_RULE_MODULES += ("conformance.rules.web_search",)

CheckFn = Callable[[Any, Any, Any], "Iterable[str | Hit] | None"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One violation found by a check; fields left at None take the event's location."""

    message: str
    event_index: int | None = None
    output_index: int | None = None
    content_index: int | None = None
    excerpt: str | None = None
    # Lower the severity for this occurrence (e.g. a tolerated deviation is at most a warning).
    max_severity: str | None = None
    # This occurrence's own severity instead of the rule's (before the profile adjusts it).
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    rule_id: str
    fn: CheckFn
    on: tuple[str, ...]
    fast_safe: bool = False

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", repr(self.fn))


@dataclass(frozen=True)
class Rule:
    """A rule's metadata (RULES.md row). `breaks`: clients known to crash on the defect."""

    id: str
    family: str
    severity: str
    title: str
    description: str = ""
    spec: str = ""
    breaks: tuple[str, ...] = ()
    # Where the logic lives when not in this registry (http.* -> live runner, client.* -> replay).
    external: str | None = None
    kind: str = "protocol"
    checks: tuple[Check, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "family": self.family,
            "severity": self.severity,
            "title": self.title,
            "description": self.description,
            "spec": self.spec,
            "breaks": list(self.breaks),
            "kind": self.kind,
        }
        if self.external:
            out["external"] = self.external
        return out


_RULES: dict[str, Rule] = {}
_loaded = False
# Bumped on every registration so the checker can rebuild its dispatch tables.
_generation = 0


def _bump() -> None:
    global _generation
    _generation += 1


def generation() -> int:
    return _generation


def define(
    rule_id: str,
    severity: str,
    title: str,
    description: str = "",
    *,
    spec: str = "",
    breaks: Iterable[str] = (),
    external: str | None = None,
    kind: str = "protocol",
) -> Rule:
    """Register a rule's metadata (no logic yet). Re-defining an id replaces its metadata."""
    if severity not in SEVERITIES:
        raise ValueError(f"rule {rule_id!r}: severity must be one of {SEVERITIES}, not {severity!r}")
    if kind not in KINDS:
        raise ValueError(f"rule {rule_id!r}: kind must be one of {KINDS}, not {kind!r}")
    family, dot, slug = rule_id.partition(".")
    if not dot or not slug or rule_id != rule_id.lower() or " " in rule_id:
        raise ValueError(f"rule id {rule_id!r} must look like 'family.slug' (lowercase, hyphenated)")
    old = _RULES.get(rule_id)
    new = Rule(
        id=rule_id,
        family=family,
        severity=severity,
        title=title,
        description=description or title,
        spec=spec,
        breaks=tuple(breaks),
        external=external,
        kind=kind,
        checks=old.checks if old else (),
    )
    _RULES[rule_id] = new
    _bump()
    return new


def check(
    rule_id: str, *, on: Iterable[str], fast_safe: bool = False
) -> Callable[[CheckFn], CheckFn]:
    """Decorator: attach a check function to an already defined rule."""
    on_t = tuple(on)
    if not on_t:
        raise ValueError(f"check for {rule_id!r}: `on` names no event type or hook")
    for sub in on_t:
        if sub.startswith("@") and sub not in HOOKS:
            raise ValueError(f"check for {rule_id!r}: unknown hook {sub!r} (known: {sorted(HOOKS)})")

    def deco(fn: CheckFn) -> CheckFn:
        try:
            r = _RULES[rule_id]
        except KeyError:
            raise KeyError(f"define({rule_id!r}, ...) before attaching checks to it") from None
        _RULES[rule_id] = Rule(
            **{k: getattr(r, k) for k in ("id", "family", "severity", "title", "description", "spec", "breaks", "external", "kind")},
            checks=(*r.checks, Check(rule_id, fn, on_t, fast_safe)),
        )
        _bump()
        return fn

    return deco


def rule(
    rule_id: str,
    *,
    severity: str,
    title: str,
    on: Iterable[str],
    description: str = "",
    spec: str = "",
    breaks: Iterable[str] = (),
    kind: str = "protocol",
) -> Callable[[CheckFn], CheckFn]:
    """Decorator for user rules: define metadata and attach the function in one step."""
    _ensure_loaded()
    define(rule_id, severity, title, description, spec=spec, breaks=breaks, kind=kind)
    return check(rule_id, on=on)


def unregister(rule_id: str) -> None:
    """Remove a rule (for tests and plugins that add temporary rules)."""
    _RULES.pop(rule_id, None)
    _bump()


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _RULE_MODULES:
        importlib.import_module(mod)


def all_rules() -> list[Rule]:
    """Every registered rule, in catalogue order (family order of RULES.md, then definition)."""
    _ensure_loaded()
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(_RULES.values(), key=lambda r: order.get(r.family, len(order)))


def get_rule(rule_id: str) -> Rule:
    _ensure_loaded()
    try:
        return _RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule id {rule_id!r}; `conformance rules` lists them") from None


def rule_ids() -> frozenset[str]:
    _ensure_loaded()
    return frozenset(_RULES)


def all_checks() -> list[Check]:
    _ensure_loaded()
    return [c for r in all_rules() for c in r.checks]


def make_finding(
    rule_id: str,
    message: str,
    *,
    profile: Any = "openai",
    severity: str | None = None,
    **where: Any,
) -> Finding:
    """A Finding for `rule_id` with severity from the profile and breaks/spec from the registry.

    For rule logic that lives outside the checker (http.* in the live runner, client.* in replay).
    `where`: event_index, sequence_number, output_index, content_index, excerpt.
    `severity` caps the profile's severity (never raises it).
    """
    from conformance.findings import Finding
    from conformance.profiles import cap, get_profile

    r = get_rule(rule_id)
    prof = get_profile(profile)
    sev = prof.severity_for(r)
    if severity is not None:
        sev = cap(sev, severity)
    if r.kind == "model" and prof.target_kind == "proxy":
        sev, message = cap(sev, "warning"), model_behind(message)
    allowed = {"event_index", "sequence_number", "output_index", "content_index", "excerpt"}
    unknown = set(where) - allowed
    if unknown:
        raise TypeError(f"make_finding() got unexpected location fields {sorted(unknown)}; allowed: {sorted(allowed)}")
    return Finding(
        rule=rule_id,
        severity=sev,  # type: ignore[arg-type]
        message=message,
        breaks=r.breaks,
        spec=r.spec or None,
        kind=r.kind,
        **where,
    )


def model_behind(message: str) -> str:
    """A model-behaviour finding's message against a proxy, which relays a model it cannot see."""
    return f"the model behind this server: {message} (a proxy relays it; the suite cannot see the upstream)"
