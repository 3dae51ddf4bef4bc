"""Every named tolerance: a documented way the live api.openai.com departs from its own schema
or from RULES.md, with its evidence and the severity a profile gives a matching finding.

Data, not loosened schemas: `conformance.contracts` still reports a schema issue and tags it
with the tolerance's name (the selectors below); the checker's rules consult
`Profile.tolerates(name)`; each profile decides the severity (PROTOCOL.md "Reality vs. the spec").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

__all__ = ["TOLERANCES", "Tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """One known deviation of the official API from its own schema or from RULES.md.

    severity: what a matching finding becomes at most under the default profiles; None drops
      it (a dedicated rule reports the same defect, or it is simply what the API does).
    opt_in: no profile applies it unless the user names it (`--tolerate NAME`): it describes
      recordings of an older API, not what a current server may send.
    A schema-level tolerance also has selectors; `conformance.contracts` tags a SchemaIssue with
    its name when all three match (checker-level ones, without subjects, never match):
    subjects: fnmatch patterns over what was validated: "event:<type>" for validate_event,
      otherwise the schema name ("response", "output_item", "usage", ...).
    pointer: regular expression that must match the END of the issue's JSON pointer.
    validators: the JSON Schema keywords of the issue ("required", "enum", ...).
    """

    name: str
    description: str
    evidence: str
    severity: str | None = "warning"
    opt_in: bool = False
    subjects: tuple[str, ...] = ()
    pointer: str = ""
    validators: tuple[str, ...] = ()
    _rx: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rx", re.compile(f"(?:^|/)(?:{self.pointer})$"))

    @property
    def schema(self) -> bool:
        """A schema-level tolerance (it has selectors)."""
        return bool(self.subjects)

    def matches(self, subject: str, pointer: str, validator: str | None) -> bool:
        if self.validators and validator not in self.validators:
            return False
        if not any(fnmatchcase(subject, s) for s in self.subjects):
            return False
        return self._rx.search(pointer) is not None


_LIST = [
    # Schema level: conformance.contracts tags the issues they select.
    Tolerance(
        name="sequence-number-absent",
        description="An event has no `sequence_number`: streams recorded before about April 2025 "
        "carry none. The checker's own `sequence.missing` rule reports it; this schema issue "
        "is tagged so it is not reported twice. With this opt-in a stream without any number is "
        "one sequence.missing warning instead of an error.",
        evidence="PROTOCOL.md 'Reality vs. the spec' (pre-2025-04 recordings); none of the "
        "seed captures (all carry it)",
        opt_in=True,
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
        subjects=("*",),
        pointer=r"input_tokens_details/cache_write_tokens",
        validators=("required",),
    ),
    Tolerance(
        name="output-text-logprobs-absent",
        description="`logprobs` missing on `response.output_text.delta` / `.done` or on an "
        "`output_text` content part: older (gpt-4-era, 2025) streams omit it.",
        evidence="PROTOCOL.md 'Reality vs. the spec' (gpt-4-era streams of 2025); every seed "
        "capture carries logprobs",
        subjects=("*",),
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
        subjects=("*",),
        pointer=r"error/code",
        validators=("enum",),
    ),
    # Checker level: rules consult `Profile.tolerates(name)`.
    Tolerance(
        name="reissued-opaque-fields",
        description="encrypted_content (reasoning, compaction items) and fingerprint (program items) "
        "are re-issued between output_item.done and the terminal snapshot: output.mismatch ignores them",
        evidence="fixtures-seed/openai-api/pydantic-phase-gpt-5.5-step1.sse, "
        "vercel-reasoning-encrypted-fc-gpt-5.1-codex-max-step1.sse",
        severity=None,
    ),
    Tolerance(
        name="tool-output-announced-completed",
        description="items carrying a server-side tool's result (shell_call_output, program_output, "
        "other *_output types) are announced already `completed`: not an item.status violation",
        evidence="fixtures-seed/README.md (hosted shell and program captures); RULES.md item.status",
        severity=None,
    ),
    Tolerance(
        name="sdk-unknown-event-types",
        description="event types appear on the wire before the SDK knows them (e.g. "
        "response.apply_patch_call_operation_diff.delta): schema.unknown-event stays a warning and "
        "the item they name is still tracked",
        evidence="PROTOCOL.md 'Reality vs. the spec'",
    ),
]

TOLERANCES: dict[str, Tolerance] = {t.name: t for t in _LIST}
