"""The schema-level tolerances (conformance/tolerances.py holds them all) and the shapes the
contracts accept without running jsonschema.

Data, not loosened schemas: `conformance.contracts` still reports the issue and tags it with the
tolerance's name; each checker profile decides the severity (PROTOCOL.md "Reality vs. the spec").
"""

from __future__ import annotations

from conformance.tolerances import TOLERANCES as _ALL
from conformance.tolerances import Tolerance

__all__ = ["ABSENCES", "LIVE_FIELDS", "TOLERANCES", "Tolerance", "match_tolerance"]

TOLERANCES: dict[str, Tolerance] = {name: t for name, t in _ALL.items() if t.schema}
_SCHEMA_LEVEL = tuple(TOLERANCES.values())


def match_tolerance(subject: str, pointer: str, validator: str | None) -> str | None:
    """The name of the first tolerance matching this issue, or None."""
    for tol in _SCHEMA_LEVEL:
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
