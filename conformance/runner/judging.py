"""The judging half of a scenario's context: its findings, and the verdict of the registry's
http.* "@exchange" rules on each answer (`conformance.exchange.check_exchange`).

`ScenarioContext` (runner/context.py) does the IO and calls these with the exchanges it made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from conformance.exchange import VALID, Expectation, HttpExchange, check_exchange, invalid

if TYPE_CHECKING:
    from conformance.findings import Finding
    from conformance.recording import ExchangeRecord


class ScenarioSkipped(Exception):
    """The scenario does not apply to this target (reported as skipped, with the reason)."""


class ScenarioAborted(Exception):
    """A step failed so that the rest is meaningless; its findings are already recorded."""


class Judged(Protocol):
    """One answer the scenario sent and got: its status and the record the rules judge."""

    label: str
    status: int
    record: ExchangeRecord | None


class ScenarioJudge:
    """Findings of one scenario case, and the http.* verdicts that add to them."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        self.findings: list[Finding] = []

    def finding(self, rule: str, message: str, **where: Any) -> Finding:
        from conformance.registry import make_finding

        f = make_finding(rule, message, profile=self.profile, **where)
        self.findings.append(f)
        return f

    def _adopt(self, findings: Iterable[Finding], label: str | None, offset: int = 0) -> None:
        """Add checker findings; stream event indexes become indexes into the case timeline."""
        for f in findings:
            changes: dict[str, Any] = {}
            if label:
                changes["message"] = f"{label}: {f.message}"
            if offset and f.event_index is not None:
                changes["event_index"] = f.event_index + offset
            self.findings.append(dataclasses.replace(f, **changes) if changes else f)

    def judge_exchange(self, exchange: HttpExchange) -> None:
        """The registry's "@exchange" rules on one exchange; their findings join the case's."""
        self.findings.extend(check_exchange(exchange, self.profile))

    def judge(self, ex: Judged, expect: Expectation, label: str | None = None) -> None:
        """Judge an answer against what the request expected. A record sent without an
        expectation (the scenario decided after the answer) takes this one."""
        record = ex.record
        if record is None:  # pragma: no cover - every exchange the context makes has one
            raise ValueError(f"{ex.label}: no record to judge")
        if record.expect is None:
            record.expect = expect
        self.judge_exchange(dataclasses.replace(record.exchange(label or ex.label), expect=expect))

    def timed_out(self, exchange: HttpExchange) -> NoReturn:
        """http.timeout for an exchange a deadline ended; the rest of the scenario is moot."""
        self.judge_exchange(exchange)
        raise ScenarioAborted()

    def judge_valid(self, ex: Judged, label: str | None = None, require: bool = True) -> None:
        """A valid request: anything but 200 is http.status (and http.server-error when 5xx)."""
        self.judge(ex, VALID, label)
        if ex.status != 200 and require:
            raise ScenarioAborted()

    def judge_error(self, ex: Judged, statuses: tuple[int, ...] = (400,)) -> None:
        """http.server-error / http.bad-request / http.error-shape for an answer to a bad request."""
        self.judge(ex, invalid(statuses))
