"""One HTTP exchange as the `http.*` rules judge it: the request, the answer (status, headers,
body bytes, streamed or not, how it ended) and what the request expected of it.

The live runner, `conformance check` (recorded exchanges) and replay build an `HttpExchange` and
hand it to `check_exchange`, which runs the registry's "@exchange" checks; so a recording alone
is judged as the runner judged it when it was made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import orjson

if TYPE_CHECKING:
    from conformance.findings import Finding

__all__ = ["NOT_JSON", "VALID", "VALID_JSON", "Expectation", "HttpExchange", "Timeout", "check_exchange", "invalid"]


class _NotJson:
    """The decoded body of an answer that is not JSON (a sentinel: `None` is JSON's null)."""

    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()


@dataclass(frozen=True)
class Expectation:
    """What a request expected of its answer.

    `request`: "valid" (answered 200) or "invalid" (answered one of `statuses`, with the OpenAI
    error shape). `json_body`: a 200 answer must be an `application/json` body. `unless`: answers
    that mean the target lacks the feature (the scenario is skipped, nothing is judged).
    """

    request: Literal["valid", "invalid"]
    statuses: tuple[int, ...] = (200,)
    json_body: bool = False
    unless: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request": self.request, "statuses": list(self.statuses)}
        if self.json_body:
            out["json_body"] = True
        if self.unless:
            out["unless"] = list(self.unless)
        return out

    @classmethod
    def from_dict(cls, value: Any) -> Expectation | None:
        """The expectation a recording states, or None when it states none it can be read as."""
        if not isinstance(value, dict) or value.get("request") not in ("valid", "invalid"):
            return None
        statuses, unless = value.get("statuses", [200]), value.get("unless", [])
        if not _ints(statuses) or not statuses or not _ints(unless):
            return None
        return cls(value["request"], tuple(statuses), value.get("json_body") is True, tuple(unless))


def content_type(headers: Iterable[tuple[str, str]]) -> str | None:
    """The Content-Type of response headers as received (the first, any case)."""
    for name, value in headers:
        if name.lower() == "content-type":
            return value
    return None


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


VALID = Expectation("valid")
VALID_JSON = Expectation("valid", json_body=True)


def invalid(statuses: tuple[int, ...] = (400,), unless: tuple[int, ...] = ()) -> Expectation:
    return Expectation("invalid", tuple(statuses), unless=tuple(unless))


@dataclass(frozen=True)
class Timeout:
    """The deadline that ended an exchange: before the answer began ("first-byte") or during it."""

    phase: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, value: Any) -> Timeout | None:
        if not isinstance(value, dict) or not isinstance(value.get("phase"), str):
            return None
        seconds = value.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            return None
        return cls(value["phase"], float(seconds))


@dataclass(frozen=True)
class HttpExchange:
    """One request and its answer as received. `status` is None when no answer came (timeout)."""

    label: str
    method: str
    path: str  # relative to the base URL, no leading slash: "responses/resp_1"
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    stream: bool = False
    expect: Expectation | None = None
    timeout: Timeout | None = None
    error: str | None = None  # a transport failure that ended the body early
    dropped: bool = False  # the client hung up on purpose: the answer is not judged
    request: Any = field(default=None, compare=False)

    @property
    def content_type(self) -> str | None:
        return content_type(self.headers)

    @cached_property
    def decoded(self) -> Any:
        """The body as JSON; when it is not JSON, NOT_JSON (a non-stream answer) or the body's
        text (a refused stream's error body), as the runner shows each in a finding."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return self.body.decode("utf-8", "replace") if self.stream else NOT_JSON

    @cached_property
    def sse_events(self) -> tuple[int, bool]:
        """(SSE messages in the body, whether one was a terminal event): how far a stream got."""
        from conformance.protocol import TERMINAL_TYPES
        from conformance.sse import SSEParser

        parser = SSEParser()
        messages = parser.feed(self.body) + parser.close()
        terminal = False
        for msg in messages:
            if msg.is_done:
                continue
            try:
                event = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                continue
            terminal = terminal or (isinstance(event, dict) and event.get("type") in TERMINAL_TYPES)
        return len(messages), terminal

    def relabelled(self, label: str | None) -> HttpExchange:
        return self if label is None or label == self.label else replace(self, label=label)


def check_exchange(exchange: HttpExchange, profile: str = "openai") -> list[Finding]:
    """Run every "@exchange" check of the registry on `exchange`, in the order they were declared.

    Findings of every rule are returned (the caller applies --select / --ignore, as it does for
    its other findings).
    """
    from conformance import registry

    out: list[Finding] = []
    for check in registry.hook_checks("@exchange"):
        for hit in check.fn(exchange) or ():
            if isinstance(hit, str):
                out.append(registry.make_finding(check.rule_id, hit, profile=profile))
            else:
                where = {"excerpt": hit.excerpt} if hit.excerpt is not None else {}
                out.append(registry.make_finding(check.rule_id, hit.message, profile=profile,
                                                 severity=hit.max_severity, **where))
    return out
