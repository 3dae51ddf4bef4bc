"""Runs scenarios against a target, concurrently, and turns each into a CaseResult.

`RunSession` owns the connection and the chosen model (the CLI runs the whole catalogue through
it, the pytest plugin one scenario per test); `run_scenarios` is the one-call form.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from conformance import registry
from conformance.findings import at_least
from conformance.recording import SKIPPED_HEADER, ExchangeObserver, ExchangeRecord
from conformance.redaction import REDACTED as REDACTED  # re-exported: the marker reports show
from conformance.redaction import Redactor
from conformance.report import CaseResult, Report
from conformance.runner.client import NOT_JSON, HttpClient, TimedOut, TransportFailure
from conformance.runner.context import ScenarioAborted, ScenarioContext, ScenarioSkipped
from conformance.runner.targets import Target, TargetError

if TYPE_CHECKING:
    from conformance.scenarios.base import Scenario

@dataclass
class RunOptions:
    profile: str = "openai"
    model: str | None = None
    timeout: float = 120.0  # first byte and whole response/stream, per request
    concurrency: int = 4
    retries: int = 1  # transport errors only
    fail_on: str = "error"
    keep_events: int = 2000  # per scenario, for the HTML timeline
    # See every exchange (conformance.recording): the recorder, real-client probes.
    observers: tuple[ExchangeObserver, ...] = ()
    # `conformance run --upstream`: a conformance.runner.upstream.UpstreamCheck (also an observer)
    # that reports upstream.* findings after each scenario.
    upstream: Any = None


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def case_started(self, scenario: Scenario) -> None: ...
    def case_finished(self, case: CaseResult) -> None: ...
    def stop(self) -> None: ...


def _tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("responses-conformance")
    except Exception:  # running from a checkout that is not installed
        return "0.1.0+checkout"


def redact(value: Any, secrets: Sequence[str] | Redactor) -> Any:
    """`value` with the secrets removed where they sit (conformance.redaction); keys untouched."""
    redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    return redactor.value(value)


def redact_case(case: CaseResult, secrets: Sequence[str] | Redactor) -> CaseResult:
    from conformance.findings import Finding

    redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    if not redactor:
        return case
    case.findings = [Finding.from_dict(redactor.value(f.to_dict())) for f in case.findings]
    case.details = redactor.value(case.details)
    case.events = redactor.value(case.events) if case.events is not None else None
    case.error = redactor.value(case.error)
    case.skip_reason = redactor.value(case.skip_reason)
    return case


class _SkippedWhenRecorded:
    """Watches one scenario's answers for a replay's SKIPPED_HEADER: a scenario that was skipped
    when it was recorded is reported skipped again, with the recorded reason."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def observe(self, record: ExchangeRecord) -> tuple[()]:
        for name, value in record.headers:
            if self.reason is None and name.lower() == SKIPPED_HEADER.lower():
                self.reason = value
        return ()


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"


class RunSession:
    """One connection to a target: preflight (reachability, model), then scenarios."""

    def __init__(self, target: Target, options: RunOptions | None = None) -> None:
        self.target = target
        self.options = options or RunOptions()
        self.model: str = self.options.model or ""
        self.client: HttpClient | None = None
        self.redactor = Redactor(target.secrets())

    async def __aenter__(self) -> RunSession:
        await self.target.astart()
        self.client = HttpClient(self.target, timeout=self.options.timeout, retries=self.options.retries)
        try:
            await self._preflight()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        await self.target.aclose()

    async def _preflight(self) -> None:
        """GET /models: proves the target answers, and names the model when none was given."""
        assert self.client is not None
        where = f"{self.target.base_url}/models"
        try:
            res = await self.client.request("GET", "models")
        except TransportFailure as exc:
            raise TargetError(f"cannot connect to {self.target.label}: {exc}") from None
        except TimedOut as exc:
            if self.options.model:
                return  # the scenarios will report http.timeout
            raise TargetError(f"GET {where}: {exc}; pass --model or raise --timeout") from None
        if res.status == 404:
            await self._check_prefix(where)
        if self.options.model:
            return
        if res.status in (401, 403):
            if self.target.api_key:
                raise TargetError(f"GET {where} answered {res.status}: the target rejected the API key")
            raise TargetError(f"GET {where} answered {res.status}: the target wants an API key (--api-key or CONFORMANCE_API_KEY)")
        body = res.json()
        if res.status != 200 or body is NOT_JSON:
            raise TargetError(f"cannot pick a model: GET {where} answered {res.status}; pass --model")
        data = body.get("data") if isinstance(body, dict) else None
        ids = [m.get("id") for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
        if not ids:
            raise TargetError(f"cannot pick a model: GET {where} lists no model; pass --model")
        self.model = str(ids[0])

    async def _check_prefix(self, models_url: str) -> None:
        """GET /models answered 404: when /responses is missing too, the base URL is wrong (most
        often it lacks its `/v1`); say so instead of "pass --model"."""
        assert self.client is not None
        try:
            res = await self.client.request("GET", "responses")
        except (TransportFailure, TimedOut):
            return
        if res.status != 404:
            return  # /responses exists (405 for GET, or a listing): only /models is missing
        base = self.target.base_url
        hint = (
            f"try --base-url {base}/v1" if not base.endswith("/v1")
            else "is it the base URL of an OpenAI-style API (the part before /responses)?"
        )
        raise TargetError(f"GET {models_url} and GET {base}/responses both answered 404: "
                          f"{base} does not look like the API's base URL; {hint}")

    async def run_scenario(self, scenario: Scenario, *, skip_reason: str | None = None) -> CaseResult:
        """One scenario -> one CaseResult (never raises for target behaviour)."""
        assert self.client is not None, "use `async with RunSession(...)`"
        case = CaseResult(id=scenario.id, status="passed", title=scenario.title, tags=scenario.tags)
        if skip_reason:
            case.status, case.skip_reason = "skipped", skip_reason
            return case
        skipped_when_recorded = _SkippedWhenRecorded()
        ctx = ScenarioContext(
            client=self.client,
            model=self.model,
            profile=self.options.profile,
            keep_events=self.options.keep_events,
            has_api_key=bool(self.target.api_key),
            scenario_id=scenario.id,
            observers=(*self.options.observers, skipped_when_recorded,
                       *((self.options.upstream,) if self.options.upstream is not None else ())),
        )
        started = time.perf_counter()
        try:
            if self.options.upstream is not None:
                await self.options.upstream.begin(scenario.id)
            await scenario.run(ctx)
        except ScenarioSkipped as exc:
            case.status, case.skip_reason = "skipped", str(exc)
        except ScenarioAborted:
            pass
        except TransportFailure as exc:
            case.status, case.error = "error", f"transport failure: {exc}"
        except Exception as exc:  # a bug here or in the checker must not hide the other scenarios
            case.status, case.error = "error", f"internal error: {type(exc).__name__}: {exc}{_where(exc)}"
        if self.options.upstream is not None and case.status != "skipped":
            try:
                new = await self.options.upstream.findings(scenario.id, self.options.profile)
                ctx.findings = self.options.upstream.merge(ctx.findings, new)
            except Exception as exc:  # the upstream's log is unreadable: say so, keep the others
                case.status, case.error = "error", f"upstream log: {type(exc).__name__}: {exc}"
        case.duration_s = time.perf_counter() - started
        if skipped_when_recorded.reason is not None:
            case.status, case.error = "skipped", None
            case.skip_reason = f"skipped when recorded: {skipped_when_recorded.reason}"
            return redact_case(case, self.redactor)
        case.findings = [f for f in ctx.findings if registry.enabled(f.rule)]  # --select / --ignore
        case.event_count = ctx.event_count
        case.events = ctx.events or None
        details: dict[str, Any] = {"model": self.model, "requests": ctx.exchanges}
        if ctx.streams:
            details["streams"] = ctx.streams
        if ctx.notes:
            details["notes"] = ctx.notes
        if ctx.message_count > len(ctx.events):
            details["events_kept"] = len(ctx.events)
        case.details = details
        if case.status == "passed" and any(at_least(f.severity, self.options.fail_on) for f in case.findings):
            case.status = "failed"
        return redact_case(case, self.redactor)

    async def run_all(
        self,
        scenarios: Iterable[Scenario],
        *,
        skips: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> list[CaseResult]:
        chosen = list(scenarios)
        skips = skips or {}
        gate = asyncio.Semaphore(max(1, self.options.concurrency))
        if progress:
            progress.start(len(chosen))

        async def one(s: Scenario) -> CaseResult:
            async with gate:
                if progress:
                    progress.case_started(s)
                case = await self.run_scenario(s, skip_reason=skips.get(s.id))
                if progress:
                    progress.case_finished(case)
                return case

        try:
            return list(await asyncio.gather(*(one(s) for s in chosen)))
        finally:
            if progress:
                progress.stop()

    def report(self, cases: list[CaseResult], started_at: str = "") -> Report:
        return Report(
            cases=cases,
            target=self.redactor.text(self.target.label),
            profile=self.options.profile,
            fail_on=self.options.fail_on,
            tool_version=_tool_version(),
            started_at=started_at,
            meta={
                "unit": "scenario",
                "model": self.model,
                "base_url": self.redactor.text(self.target.base_url if self.target.kind == "url" else self.target.label),
                "timeout_s": self.options.timeout,
                "concurrency": self.options.concurrency,
            },
        )


async def run_scenarios_async(
    target: Target,
    scenarios: Iterable[Scenario],
    options: RunOptions | None = None,
    *,
    skips: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Run `scenarios` against `target`; TargetError when it is unreachable or unusable."""
    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    async with RunSession(target, options) as session:
        cases = await session.run_all(scenarios, skips=skips, progress=progress)
        report = session.report(cases, started_at)
    report.meta["duration_s"] = round(time.perf_counter() - t0, 3)
    return report


def run_scenarios(
    target: Target,
    scenarios: Iterable[Scenario],
    options: RunOptions | None = None,
    *,
    skips: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> Report:
    return asyncio.run(run_scenarios_async(target, scenarios, options, skips=skips, progress=progress))
