"""Named tolerances: documented ways the live api.openai.com departs from its own schema.

Data, not loosened schemas: `conformance.contracts` still reports the issue and tags it with the
tolerance's name; each checker profile decides the severity (PROTOCOL.md "Reality vs. the spec").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Tolerance:
    """One known deviation. An issue matches when all three selectors match.

    subjects: fnmatch patterns over what was validated: "event:<type>" for validate_event,
      otherwise the schema name ("response", "output_item", "usage", ...).
    pointer: regular expression that must match the END of the issue's JSON pointer.
    validators: the JSON Schema keywords of the issue ("required", "enum", ...).
    """

    name: str
    description: str
    evidence: str
    subjects: tuple[str, ...] = ("*",)
    pointer: str = ""
    validators: tuple[str, ...] = ()
    _rx: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rx", re.compile(f"(?:^|/)(?:{self.pointer})$"))

    def matches(self, subject: str, pointer: str, validator: str | None) -> bool:
        if self.validators and validator not in self.validators:
            return False
        if not any(fnmatchcase(subject, s) for s in self.subjects):
            return False
        return self._rx.search(pointer) is not None


_LIST = [
    Tolerance(
        name="sequence-number-absent",
        description="An event has no `sequence_number`: streams recorded before about April 2025 "
        "carry none. The checker's own `sequence.missing` rule reports it; this schema issue "
        "is tagged so it is not reported twice.",
        evidence="PROTOCOL.md 'Reality vs. the spec' (pre-2025-04 recordings); none of the "
        "seed captures (all carry it)",
        subjects=("event:*",),
        pointer=r"sequence_number",
        validators=("required",),
    ),
    Tolerance(
        name="function-call-arguments-done-name-absent",
        description="`response.function_call_arguments.done` without `name` (required in the "
        "OpenAPI document, not declared by openai-python 3.54, not sent by the live API).",
        evidence="dotnet-functioncallstreamingworks.sse, fantasy-parallel-tools-gpt-5.sse, "
        "pydantic-phase-gpt-5.5-step1.sse, vercel-reasoning-encrypted-fc-gpt-5.1-codex-max-step1.sse",
        subjects=("event:response.function_call_arguments.done",),
        pointer=r"name",
        validators=("required",),
    ),
    Tolerance(
        name="usage-cache-write-tokens-absent",
        description="`usage.input_tokens_details.cache_write_tokens` (required in the newest "
        "spec and in openai-python 3.54) is absent.",
        evidence="12 of the 14 seed captures (2025-07 .. 2025-12), e.g. basic-text-with-reasoning.sse; "
        "pydantic-phase-gpt-5.5-step1.sse (2026-04) does send it; vercel-error-failed has no usage",
        pointer=r"input_tokens_details/cache_write_tokens",
        validators=("required",),
    ),
    Tolerance(
        name="output-text-logprobs-absent",
        description="`logprobs` missing on `response.output_text.delta` / `.done` or on an "
        "`output_text` content part: older (gpt-4-era, 2025) streams omit it.",
        evidence="PROTOCOL.md 'Reality vs. the spec' (gpt-4-era streams of 2025); every seed "
        "capture carries logprobs",
        pointer=r"logprobs",
        validators=("required",),
    ),
    Tolerance(
        name="error-event-nested",
        description="The `error` event nests `code`/`message`/`param` (and `type`) under `error` "
        "instead of the flat form of the OpenAPI document. The live API does this and the Open "
        "Responses specification prescribes it. Reported once, at the event root.",
        evidence="vercel-error-failed-gpt-5-nano.sse",
        subjects=("event:error",),
        pointer=r"",
        validators=("x-error-form",),
    ),
    Tolerance(
        name="response-error-code-undocumented",
        description="`response.error.code` outside the documented enum (e.g. `insufficient_quota`).",
        evidence="vercel-error-failed-gpt-5-nano.sse (response.failed, code insufficient_quota)",
        pointer=r"error/code",
        validators=("enum",),
    ),
]

TOLERANCES: dict[str, Tolerance] = {t.name: t for t in _LIST}


def match_tolerance(subject: str, pointer: str, validator: str | None) -> str | None:
    """The name of the first tolerance matching this issue, or None."""
    for tol in _LIST:
        if tol.matches(subject, pointer, validator):
            return tol.name
    return None


# The absences above as known shapes, so a tolerated stream stays on the fast path
# (contracts._tolerated_absence): (subject pattern, path of the object that lacks the field,
# the field, a value the schema accepts in its place, used only to re-run the exact predicate).
ABSENCES: tuple[tuple[str, tuple[str, ...], str, object], ...] = (
    ("event:*", (), "sequence_number", 0),
    ("event:response.function_call_arguments.done", (), "name", "f"),
    ("event:response.*", ("response", "usage", "input_tokens_details"), "cache_write_tokens", 0),
    ("response", ("usage", "input_tokens_details"), "cache_write_tokens", 0),
    ("event:response.output_text.delta", (), "logprobs", []),
    ("event:response.output_text.done", (), "logprobs", []),
)


# Fields the live API sends that openai-python 3.54's types (the contracts) do not declare: known,
# so not reported as unknown. Anything else the contracts do not declare is one warning.
LIVE_FIELDS: dict[str, str] = {
    "store": "every capture's Response snapshots (openai-python's Response has no `store`)",
    "obfuscation": "delta events of 11 of the 14 seed captures (stream obfuscation, on by default)",
    "presence_penalty": "Response snapshots since 2025-09 (e.g. fantasy-parallel-tools-gpt-5.sse)",
    "frequency_penalty": "Response snapshots since 2025-09 (e.g. fantasy-parallel-tools-gpt-5.sse)",
    "bytes": "logprobs entries (pydantic-logprobs-gpt-4o-mini.sse)",
    "status": "custom_tool_call items carry `status` like every other call item (the reference "
    "server and the fixture builders send it); openai-python 3.54's ResponseCustomToolCall omits it",
}
