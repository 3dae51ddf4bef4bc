"""The rule registry: every rule id the checker can report, its metadata, and its check functions.

One rule = one id (RULES.md; ids are a public interface) + metadata + zero or more small check
functions subscribed to event types. The CLI (`conformance rules`), the checker, the live runner
and the pytest plugin all read this one registry.

Subscriptions (`on=`) are exact event types or one of these hooks:
  "*"             every decoded event object (a dict with a string `type`)
  "@value"        every decoded JSON value, before its shape is known (framing.not-an-event)
  "@sse"          every SSE message (framing rules; ctx.message / ctx.decoded / ctx.decode_error)
  "@sse-anomaly"  every parser anomaly (`conformance.sse.SSEAnomaly`: a BOM, a block openai-python
                  dispatches without data, bytes that are not UTF-8), in stream order
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
  "@exchange"     one HTTP exchange: request, status, headers, body, expectation
                  (`conformance.exchange.HttpExchange`; http.* rules), in the live runner, in
                  `conformance check` of recorded exchanges and in replayed runs

A rule is declared with one decorator, `@rule(id, severity, title, description, on=..., ...)`,
on its check function; a second function of the same rule repeats only `@rule(id, on=...)`.
Rules whose logic lives outside the checker (client.*) are declared with `define()`.

A check function is `fn(state: StreamState, event, ctx: CheckContext) -> Iterable[str | Hit] |
None`: it reads the stream state *before* the event is applied (h11 style: judge the transition, then take it) and yields
one message (or `Hit` with location overrides) per violation. `fast_safe=True` promises that the
checker's delta fast path (see `conformance.checker`) never skips a violation of this check;
a check without that promise switches the fast path off for the types it subscribes to.
An "@exchange" check is `fn(exchange: HttpExchange) -> Iterable[str | Hit] | None` (no stream
state); exchange checks run in the order they were declared, across rules.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from conformance.check_context import CheckContext

if TYPE_CHECKING:
    from conformance.findings import Finding

__all__ = [
    "HOOKS",
    "Check",
    "CheckContext",
    "Hit",
    "Rule",
    "all_rules",
    "check",
    "define",
    "enabled",
    "get_rule",
    "hook_checks",
    "load_rules_module",
    "make_finding",
    "rule",
    "select_rules",
]

SEVERITIES = ("error", "warning", "info")
# What a rule judges: the server's own job ("protocol": framing, order, closure, ids, indexes,
# accumulation, usage arithmetic, echo, error shapes) or whatever generates the tokens
# ("model": tool_choice honoured, arguments fit the schema, structured output parses,
# reasoning present when asked). Against a proxy the suite cannot see the upstream model.
KINDS = ("protocol", "model")
HOOKS = frozenset(
    {"*", "@value", "@sse", "@sse-anomaly", "@content-type", "@lifecycle", "@terminal", "@response", "@output", "@finish",
     "@ws", "@ws-finish", "@exchange"}
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

CheckFn = Callable[..., "Iterable[str | Hit] | None"]
F = TypeVar("F", bound=Callable[..., Any])


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
    # Declaration order across rules ("@exchange" checks run in it; see `hook_checks`).
    seq: int = field(default=0, compare=False)

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
_check_seq = itertools.count(1)
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


def check(rule_id: str, *, on: str | Iterable[str], fast_safe: bool = False) -> Callable[[F], F]:
    """Decorator: attach a check function to an already defined rule (see `rule`)."""
    on_t = (on,) if isinstance(on, str) else tuple(on)
    if not on_t:
        raise ValueError(f"check for {rule_id!r}: `on` names no event type or hook")
    for sub in on_t:
        if sub.startswith("@") and sub not in HOOKS:
            raise ValueError(f"check for {rule_id!r}: unknown hook {sub!r} (known: {sorted(HOOKS)})")

    def deco(fn: F) -> F:
        try:
            r = _RULES[rule_id]
        except KeyError:
            raise KeyError(f"define({rule_id!r}, ...) before attaching checks to it") from None
        _RULES[rule_id] = Rule(
            **{k: getattr(r, k) for k in ("id", "family", "severity", "title", "description", "spec", "breaks", "external", "kind")},
            checks=(*r.checks, Check(rule_id, fn, on_t, fast_safe, next(_check_seq))),
        )
        _bump()
        return fn

    return deco


def rule(
    rule_id: str,
    severity: str | None = None,
    title: str | None = None,
    description: str = "",
    *,
    on: str | Iterable[str],
    fast_safe: bool = False,
    spec: str = "",
    breaks: Iterable[str] = (),
    kind: str = "protocol",
) -> Callable[[F], F]:
    """The rule decorator: declare a rule (id, severity, title, ...) and its check in one place.

    `on`: the event types or hooks the check subscribes to. With no severity/title the function
    is one more check of a rule already declared (by an earlier `@rule` or `define`).
    """
    if (severity is None) != (title is None):
        raise ValueError(f"rule {rule_id!r}: give both severity and title, or neither")
    attach = check(rule_id, on=on, fast_safe=fast_safe)

    def deco(fn: F) -> F:
        if getattr(fn, "__module__", None) not in _RULE_MODULES:
            _ensure_loaded()  # a user's rule lands after the built-in ones
        if severity is not None and title is not None:
            define(rule_id, severity, title, description, spec=spec, breaks=breaks, kind=kind)
        return attach(fn)

    return deco


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


_hook_cache: dict[str, tuple[int, tuple[Check, ...]]] = {}


def hook_checks(hook: str) -> tuple[Check, ...]:
    """The checks subscribed to `hook`, in the order they were declared (kept until the next
    registration: the exchange rules run once per exchange of a corpus)."""
    _ensure_loaded()
    cached = _hook_cache.get(hook)
    if cached is None or cached[0] != _generation:
        cached = (_generation, tuple(sorted((c for c in all_checks() if hook in c.on), key=lambda c: c.seq)))
        _hook_cache[hook] = cached
    return cached[1]


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


# -- selection (--select / --ignore) and user rule modules (--rules-module) -------------------
# Process-wide, like the registry itself: the CLI and the pytest plugin set it once per run.
# Tokens are rule ids, families or kinds; a finding is kept when its rule matches a --select
# token (or there is none) and no --ignore token. Checks of unselected rules still run (their
# bookkeeping may feed other rules); only their findings are dropped.
_select: tuple[str, ...] = ()
_ignore: tuple[str, ...] = ()
_user_modules: list[str] = []


def split_tokens(values: str | Iterable[str] | None) -> list[str]:
    """`["framing,item.id-stable", "model"]` -> `["framing", "item.id-stable", "model"]`."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def _check_token(token: str, option: str) -> None:
    families = set(FAMILIES) | {r.family for r in _RULES.values()}
    if token in _RULES or token in families or token in KINDS:
        return
    raise ValueError(
        f"{option} {token!r}: not a rule id, family ({', '.join(sorted(families))}) or kind "
        f"({', '.join(KINDS)}); `conformance rules` lists the ids"
    )


def select_rules(select: str | Iterable[str] | None = (), ignore: str | Iterable[str] | None = ()) -> None:
    """Report only the findings of rules matching `select` (all when empty) and not `ignore`.

    ValueError (one line) names an unknown id, family or kind. `select_rules()` resets.
    """
    global _select, _ignore
    _ensure_loaded()
    sel, ign = split_tokens(select), split_tokens(ignore)
    for t in sel:
        _check_token(t, "--select")
    for t in ign:
        _check_token(t, "--ignore")
    _select, _ignore = tuple(sel), tuple(ign)
    _bump()


def _matches(rule_id: str, tokens: tuple[str, ...]) -> bool:
    r = _RULES.get(rule_id)
    family, kind = (r.family, r.kind) if r else (rule_id.partition(".")[0], None)
    return any(t in (rule_id, family, kind) for t in tokens)


def enabled(rule_id: str) -> bool:
    """Whether findings of `rule_id` are reported under the current selection."""
    if _select and not _matches(rule_id, _select):
        return False
    return not (_ignore and _matches(rule_id, _ignore))


def selection() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The current (select, ignore) tokens."""
    return _select, _ignore


def load_rules_module(name: str) -> None:
    """Import a user's module that registers rules with `@rule` (ValueError, one line, if it fails)."""
    _ensure_loaded()
    name = name.strip()
    if not name:
        raise ValueError("--rules-module: empty module name")
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise ValueError(f"--rules-module {name}: cannot import it ({exc})") from None
    except Exception as exc:  # a user's module: report its failure in one line, not a traceback
        raise ValueError(f"--rules-module {name}: importing it raised {type(exc).__name__}: {exc}") from None
    if name not in _user_modules:
        _user_modules.append(name)


def user_modules() -> tuple[str, ...]:
    """The modules `load_rules_module` imported (worker processes import them again)."""
    return tuple(_user_modules)
