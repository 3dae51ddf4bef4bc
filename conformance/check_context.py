"""`CheckContext`: what a check function may know about the current event besides the state.

The checker builds one per event (or hook call) and hands it to every check as `ctx`. Which
fields are set depends on the hook (see `conformance.registry`): `message`/`decoded`/
`decode_error` for "@sse", `anomaly` for "@sse-anomaly", `content_type` for "@content-type",
`etype`/`seq`/`item`/`sub`/`part` for an event, `response`/`output_items` for "@response" and
"@output". Fields a hook does not set keep their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.profiles import Profile
    from conformance.sse import SSEAnomaly
    from conformance.state import PartState

__all__ = ["CheckContext"]


class CheckContext:
    """The current event's context (location, decoded value, profile, request, lazy schema issues)."""

    __slots__ = (
        "_body_issues",
        "_issues",
        "anomaly",
        "content_type",
        "decode_error",
        "decoded",
        "etype",
        "ev_output_index",
        "hook",
        "index",
        "is_body",
        "item",
        "key",
        "message",
        "output_items",
        "part",
        "profile",
        "request",
        "response",
        "saw_sse",
        "seq",
        "sub",
    )

    def __init__(
        self,
        index: int | None,
        hook: str | None = None,
        *,
        profile: Profile,
        request: dict[str, Any] | None = None,
        saw_sse: bool = False,
    ) -> None:
        self.index = index  # the event's index in the stream (None at the end, for a body)
        self.hook = hook  # the hook being run (None for an event type's own checks)
        self.profile = profile
        self.request = request  # the request that produced the stream, when known
        self.saw_sse = saw_sse  # the stream came as SSE (not as decoded events)
        self.etype = ""
        self.seq: int | None = None
        # For an event of an output item these are always set; Any (not `... | None`) so that
        # checks subscribed to such events read them without narrowing first.
        self.sub: Any = None  # the grammar's SubEvent (conformance.state) for the event type
        self.item: Any = None  # the ItemState of the item the event is about (state before the event)
        self.part: PartState | None = None
        self.key: tuple[str, int] | None = None
        self.ev_output_index: Any = None
        self.message: Any = None  # the SSEMessage ("@sse")
        self.decoded: Any = None
        self.decode_error: str | None = None
        self.content_type: str | None = None
        self.anomaly: SSEAnomaly | None = None  # the anomaly an "@sse-anomaly" check is called for
        self.response: Any = None
        self.output_items: list[tuple[int, Any]] = []
        self.is_body = False
        self._issues: list[Any] | None = None
        self._body_issues: list[Any] | None = None

    def schema_issues(self) -> list[Any]:
        """contracts.validate_event() of the current event, computed once."""
        if self._issues is None:
            from conformance import contracts

            if not isinstance(self.decoded, dict):
                self._issues = []
            else:
                quick = contracts.quick_issues(self.decoded)
                self._issues = quick if quick is not None else (
                    _guarded(contracts.validate_event, self.decoded)
                    + _guarded(contracts.unknown_field_issues, self.decoded))
        return self._issues

    def body_issues(self) -> list[Any]:
        if self._body_issues is None:
            from conformance import contracts

            if contracts.quick_issues(self.response, "response") == []:
                self._body_issues = []
            else:
                self._body_issues = _guarded(contracts.validate_response, self.response) + (
                    _guarded(lambda body: contracts.unknown_field_issues(body, "response"), self.response)
                    if isinstance(self.response, dict)
                    else []
                )
        return self._body_issues


@dataclass(frozen=True)
class _InternalIssue:
    """Stands in for a SchemaIssue when the validator itself failed (a bug, never the input's
    fault): the checker reports it and goes on instead of raising on the user's stream."""

    message: str
    kind: str = "invalid"
    pointer: str = ""
    validator: str | None = None
    tolerance: str | None = None


def _guarded(fn: Any, obj: Any) -> list[Any]:
    try:
        return list(fn(obj))
    except Exception as e:  # the checker must not raise on any input; report the bug instead
        return [_InternalIssue(f"internal error in the schema validator ({type(e).__name__}: {e}); please report it")]
