"""What the live runner tells observers about each HTTP exchange (recorder, real-client probes).

`ScenarioContext` builds one `ExchangeRecord` per request it sends and hands it to every
`ExchangeObserver` of the run; observers may answer with findings (the probes do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from conformance.exchange import Expectation, HttpExchange, Timeout, content_type

if TYPE_CHECKING:
    from conformance.findings import Finding

SCENARIO_HEADER = "X-Conformance-Scenario"
# A replay's answer to a request of a scenario that was skipped when it was recorded (the reason
# is the value): the runner reports the scenario as skipped again instead of judging the 404.
SKIPPED_HEADER = "X-Conformance-Skipped"
AuthClass = Literal["none", "valid", "invalid"]
AUTH_CLASSES: tuple[AuthClass, ...] = ("none", "valid", "invalid")


@dataclass
class ExchangeRecord:
    """One request a scenario sent and the answer as received (bytes untouched)."""

    scenario: str | None
    index: int  # 0-based position of the exchange within its scenario
    label: str
    method: str
    path: str  # relative to the base URL, without leading slash: "responses/resp_1/input_items"
    auth: AuthClass  # which credentials the request carried
    request_json: Any = None  # the JSON body sent, when one was sent as JSON
    request_raw: bytes | None = None  # a body sent as raw bytes (e.g. deliberately broken JSON)
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)  # response headers as received
    body: bytes = b""  # response body as received (partial when `dropped` or `error`)
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (ms since sent, size) per read
    stream: bool = False
    dropped: bool = False  # the scenario hung up on purpose (client-disconnect)
    error: str | None = None  # transport failure or timeout that ended the body early
    terminal: dict[str, Any] | None = None  # the checker's terminal snapshot (streams)
    profile: str = "openai"
    # What the scenario expected of the answer (None: the scenario judged it by hand or not at
    # all); with it a recording alone is judged by the http.* rules as the runner judged it.
    expect: Expectation | None = None
    timeout: Timeout | None = None  # the deadline that ended the exchange, if one did

    def exchange(self, label: str | None = None) -> HttpExchange:
        """The exchange as the http.* rules see it (`label`: the name findings give it)."""
        return HttpExchange(
            label or self.label, self.method, self.path, self.status, tuple(self.headers), self.body,
            stream=self.stream, expect=self.expect, timeout=self.timeout, error=self.error,
            dropped=self.dropped, request=self.request_json,
        )

    @property
    def content_type(self) -> str | None:
        return content_type(self.headers)


class ExchangeObserver(Protocol):
    """Sees every exchange of a run; the findings it returns join the scenario's findings."""

    def observe(self, record: ExchangeRecord) -> Iterable[Finding]: ...


def auth_class(auth: bool | str, has_api_key: bool) -> AuthClass:
    """The runner's `auth` argument as a class: True sends the configured key (if any), a string
    sends that (wrong) key, False sends nothing."""
    if auth is False or (auth is True and not has_api_key):
        return "none"
    return "valid" if auth is True else "invalid"
