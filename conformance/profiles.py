"""Profiles: which severity each rule has, and which deviations of the live API are tolerated.

`openai` (default) follows RULES.md and PROTOCOL.md; `openresponses` the Open Responses spec;
`lenient` keeps only client-breaking or data-losing defects as errors. Tolerances are data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Protocol

from conformance.findings import cap
from conformance.tolerances import TOLERANCES, Tolerance

__all__ = [
    "OPT_IN_TOLERANCES",
    "PROFILE_NAMES",
    "TARGET_KINDS",
    "Profile",
    "RuleMeta",
    "Tolerance",
    "cap",
    "get_profile",
    "profile_spec",
    "tolerance_names",
]

TARGET_KINDS = ("server", "proxy")


class RuleMeta(Protocol):
    """What a profile reads of a rule (`registry.Rule` has it): the profile decides a rule's
    severity without importing the registry, which builds findings with profiles."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def breaks(self) -> tuple[str, ...]: ...


# The tolerances every profile applies (severities from conformance/tolerances.py, the one
# catalogue: schema-level ones are matched by `conformance.contracts`, checker-level ones are
# consulted by rules through `Profile.tolerates(name)`); a tolerance name a profile does not list
# is treated as `default_tolerance_severity`.
_OFFICIAL_API_TOLERANCES = tuple(t for t in TOLERANCES.values() if not t.opt_in)

# Tolerances no profile applies by default: the user opts in (`--tolerate NAME`, the pytest
# plugin's --responses-tolerate, a fixture sidecar's "tolerate"), because they describe
# recordings of an older API, not what a current server may send.
OPT_IN_TOLERANCES: Mapping[str, Tolerance] = MappingProxyType(
    {t.name: t for t in TOLERANCES.values() if t.opt_in}
)


def tolerance_names() -> tuple[str, ...]:
    """Every named tolerance `--tolerate` accepts (the default ones are simply no-ops)."""
    return tuple(sorted({t.name for t in _OFFICIAL_API_TOLERANCES} | set(OPT_IN_TOLERANCES)))


def _tolerances(*extra: Tolerance) -> Mapping[str, Tolerance]:
    table = {t.name: t for t in _OFFICIAL_API_TOLERANCES}
    for t in extra:
        table[t.name] = t
    return MappingProxyType(table)


# Defects that lose data without crashing a client: `lenient` keeps them as errors as well.
LOSES_DATA = frozenset(
    {
        "framing.invalid-json",
        "framing.not-an-event",
        "lifecycle.no-terminal",
        "lifecycle.after-terminal",
        "item.not-closed",
        "item.done-without-added",
        "part.not-closed",
        "accumulation.delta-vs-done",
        "accumulation.done-vs-part",
        "accumulation.part-vs-item",
        "accumulation.done-missing",
        "output.mismatch",
        "usage.missing",
    }
)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    overrides: Mapping[str, str] = field(default_factory=dict)
    # lenient: every error not in `keep_errors` (and not breaking a client) becomes a warning.
    demote_errors: bool = False
    keep_errors: frozenset[str] = frozenset()
    tolerances: Mapping[str, Tolerance] = field(default_factory=_tolerances)
    default_tolerance_severity: str = "warning"
    # Open Responses specifics.
    require_done_sentinel: bool = False
    require_event_field: bool = False
    nested_error_event: bool = False  # the `error` event must nest code/message/param
    extra_event_types: frozenset[str] = frozenset()
    # Response fields the profile's specification requires beyond the contracts (schema.response).
    required_response_fields: tuple[str, ...] = ()
    required_response_fields_source: str = ""
    # Opt-in tolerances the user named (OPT_IN_TOLERANCES), in the order given.
    tolerated: tuple[str, ...] = ()
    # "server": the target owns its decoding (the reference server, OpenAI); "proxy": it relays
    # an upstream model, so model-behaviour findings are warnings about "the model behind it".
    target_kind: str = "server"

    @property
    def spec(self) -> str:
        """The name plus its options, e.g. `openai[tolerate=sequence-number-absent,target-kind=proxy]`:
        what reports show and what `get_profile` reads back."""
        opts = [f"tolerate={t}" for t in self.tolerated]
        if self.target_kind != "server":
            opts.append(f"target-kind={self.target_kind}")
        return f"{self.name}[{','.join(opts)}]" if opts else self.name

    def __str__(self) -> str:
        return self.spec

    def with_options(self, tolerate: Iterable[str] = (), target_kind: str | None = None) -> Profile:
        """This profile with more opt-in tolerances and/or another target kind."""
        known = tolerance_names()
        names = list(self.tolerated)
        table = dict(self.tolerances)
        for t in tolerate:
            if t not in known:
                raise ValueError(f"unknown tolerance {t!r}; choose one of: {', '.join(known)}")
            if t not in names:
                names.append(t)
            if t in OPT_IN_TOLERANCES and t not in table:
                table[t] = OPT_IN_TOLERANCES[t]
        kind = target_kind or self.target_kind
        if kind not in TARGET_KINDS:
            raise ValueError(f"unknown target kind {kind!r}; choose one of: {', '.join(TARGET_KINDS)}")
        return replace(self, tolerances=MappingProxyType(table), tolerated=tuple(names), target_kind=kind)

    def severity_for(self, rule: RuleMeta, base: str | None = None) -> str:
        """The severity of `rule` (e.g. `registry.get_rule(id)`) under this profile (`base`: a
        check's own severity for this occurrence, e.g. call.arguments-schema is an error for a
        strict tool)."""
        if rule.id in self.overrides:
            return self.overrides[rule.id]
        sev = base or rule.severity
        if self.demote_errors and sev == "error" and not rule.breaks and rule.id not in self.keep_errors:
            return "warning"
        return sev

    def tolerates(self, name: str) -> bool:
        return name in self.tolerances

    def tolerance_severity(self, name: str) -> str | None:
        """Severity cap for an issue matching tolerance `name` (None: drop the issue)."""
        t = self.tolerances.get(name)
        if t is None and name in OPT_IN_TOLERANCES:
            return "error"  # not opted in: no cap
        return t.severity if t is not None else self.default_tolerance_severity


# The `required` list of the Open Responses OpenAPI's Response object (ResponseResource,
# 2026-04-24): 31 fields. The live API sends all of them (PROTOCOL.md "Live Response shape").
OPENRESPONSES_RESPONSE_FIELDS = (
    "id", "object", "created_at", "completed_at", "status", "incomplete_details", "model",
    "previous_response_id", "instructions", "output", "error", "tools", "tool_choice",
    "truncation", "parallel_tool_calls", "text", "top_p", "presence_penalty",
    "frequency_penalty", "top_logprobs", "temperature", "reasoning", "user", "usage",
    "max_output_tokens", "max_tool_calls", "store", "background", "service_tier", "metadata",
    "safety_identifier",
)

_OPENRESPONSES_REASONING = frozenset({"response.reasoning.delta", "response.reasoning.done"})

_PROFILES: dict[str, Profile] = {
    "openai": Profile(
        "openai",
        "The official API's observable behaviour (RULES.md severities; documented tolerances).",
    ),
    "openresponses": Profile(
        "openresponses",
        "The Open Responses specification: [DONE] required, event: equals type, nested error "
        "event, an error must be followed by response.failed.",
        overrides=MappingProxyType(
            {
                "framing.done-sentinel": "error",
                "lifecycle.error-without-failed": "error",
            }
        ),
        tolerances=_tolerances(
            # The nested error event is what this spec requires: nothing to report.
            Tolerance(
                "error-event-nested",
                "Open Responses requires the nested error event",
                "openresponses.org",
                None,
            ),
        ),
        require_done_sentinel=True,
        require_event_field=True,
        nested_error_event=True,
        extra_event_types=_OPENRESPONSES_REASONING,
        required_response_fields=OPENRESPONSES_RESPONSE_FIELDS,
        required_response_fields_source="the Open Responses OpenAPI (2026-04-24)",
    ),
    "lenient": Profile(
        "lenient",
        "Only what breaks a real client or loses data stays an error; other errors are warnings.",
        demote_errors=True,
        keep_errors=LOSES_DATA,
    ),
}

PROFILE_NAMES: tuple[str, ...] = tuple(_PROFILES)


def get_profile(name: str | Profile) -> Profile:
    """A profile by name or by spec (`openai[tolerate=sequence-number-absent,target-kind=proxy]`)."""
    if isinstance(name, Profile):
        return name
    return _parse(name)


_SPEC = re.compile(r"([a-z]+)(?:\[([^\]]*)\])?")


@lru_cache(maxsize=64)
def _parse(spec: str) -> Profile:
    m = _SPEC.fullmatch(spec.strip()) if isinstance(spec, str) else None
    base = _PROFILES.get(m.group(1)) if m else None
    if m is None or base is None:
        raise ValueError(
            f"unknown profile {spec!r}; choose one of: {', '.join(PROFILE_NAMES)}"
        )
    if not m.group(2):
        return base
    tolerate: list[str] = []
    kind = None
    for opt in m.group(2).split(","):
        key, _, value = opt.strip().partition("=")
        if key == "tolerate" and value:
            tolerate.append(value)
        elif key == "target-kind" and value:
            kind = value
        else:
            raise ValueError(f"profile {spec!r}: unknown option {opt!r} (tolerate=NAME, target-kind=KIND)")
    return base.with_options(tolerate, kind)


def profile_spec(name: str, tolerate: Iterable[str] = (), target_kind: str | None = None) -> str:
    """The spec string of a profile with options (ValueError naming a bad tolerance or kind)."""
    return get_profile(name).with_options(tolerate, target_kind).spec
