"""pytest plugin (entry point `pytest11`): the scenario catalogue as tests, and a checker fixture.

`pytest --responses-base-url URL` (or `--responses-app module:attr`, `--responses-reference`) adds
one test per scenario; without those options the plugin adds nothing. The `responses_checker`
fixture is always available: `responses_checker.assert_conformant(stream_bytes, request=...)`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from conformance.report import CaseResult
    from conformance.runner.engine import RunSession
    from conformance.runner.targets import Target
    from conformance.scenarios.base import Scenario

T = TypeVar("T")
PLUGIN_NAME = "responses-conformance-live"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("responses-conformance", "Responses API conformance (conformance run as tests)")
    g.addoption("--responses-base-url", metavar="URL", help="run the scenario catalogue against this base URL (e.g. http://127.0.0.1:8000/v1)")
    g.addoption("--responses-app", metavar="MODULE:ATTR", help="run the scenario catalogue against this ASGI app, in-process")
    g.addoption("--responses-reference", action="store_true", help="run the scenario catalogue against the embedded reference server")
    g.addoption("--responses-api-key", metavar="KEY", help="API key (default: $CONFORMANCE_API_KEY)")
    g.addoption("--responses-auth-header", metavar="NAME", default="Authorization")
    g.addoption("--responses-no-bearer", action="store_true", help="send the key without 'Bearer '")
    g.addoption("--responses-model", metavar="MODEL", help="model (default: first of GET /models)")
    g.addoption("--responses-profile", default="openai", help="checker profile: openai, openresponses, lenient")
    g.addoption("--responses-tolerate", action="append", metavar="NAME", help="opt in to a named tolerance (repeatable), e.g. sequence-number-absent")
    g.addoption("--responses-target-kind", choices=("server", "proxy"), default="server", help="proxy: the target relays an upstream model; model-behaviour findings become warnings")
    g.addoption("--responses-scenario", action="append", metavar="ID[,ID...]", help="only these scenarios / tag:NAME")
    g.addoption("--responses-skip", action="append", metavar="ID[,ID...]", help="skip these scenarios / tag:NAME")
    g.addoption("--responses-timeout", type=float, default=120.0, metavar="SECONDS")
    g.addoption("--responses-fail-on", choices=("error", "warning"), default="error")
    g.addoption("--responses-select", action="append", metavar="RULES",
                help="report only these rules: ids, families or kinds, comma-separated (ini: responses_select)")
    g.addoption("--responses-ignore", action="append", metavar="RULES",
                help="drop these rules' findings: ids, families or kinds (ini: responses_ignore)")
    g.addoption("--responses-rules-module", action="append", metavar="MODULE",
                help="import MODULE, which registers rules with conformance.registry.rule (ini: responses_rules_module)")
    parser.addini("responses_select", "rule ids, families or kinds to report (others are dropped)", type="args", default=[])
    parser.addini("responses_ignore", "rule ids, families or kinds whose findings are dropped", type="args", default=[])
    parser.addini("responses_rules_module", "modules that register rules with conformance.registry.rule", type="args", default=[])


def _rules(config: pytest.Config) -> None:
    """--responses-rules-module / -select / -ignore (command line first, else the ini values)."""
    modules = config.getoption("--responses-rules-module") or config.getini("responses_rules_module")
    select = config.getoption("--responses-select") or config.getini("responses_select")
    ignore = config.getoption("--responses-ignore") or config.getini("responses_ignore")
    if not (modules or select or ignore):
        return  # leave the registry unloaded: the plugin is active in every pytest run
    from conformance import registry

    try:
        for name in modules:
            registry.load_rules_module(name)
        registry.select_rules(select, ignore)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _active(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--responses-base-url")
        or config.getoption("--responses-app")
        or config.getoption("--responses-reference")
    )


def pytest_configure(config: pytest.Config) -> None:
    _profile(config)  # a bad --responses-tolerate is a usage error (one line), not a test error
    _rules(config)
    if _active(config):
        config.addinivalue_line("markers", "responses_conformance: a Responses API conformance scenario")
        config.pluginmanager.register(_LiveRun(config), PLUGIN_NAME)


class _LoopThread:
    """One event loop in a thread for the whole session: the target's connections and an
    in-process app's lifespan outlive single tests, and pytest-asyncio loops stay untouched."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="responses-conformance", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class _LiveRun:
    """Registered only when a target option is given: adds the items, owns the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._loop: _LoopThread | None = None
        self._session: RunSession | None = None
        self._target_cm: Any = None
        self._setup_error: str | None = None

    @pytest.hookimpl(tryfirst=True)  # before -k / -m deselection, so both apply to scenarios
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
        from conformance import scenarios

        try:
            chosen, skips = scenarios.select(
                config.getoption("--responses-scenario"), config.getoption("--responses-skip")
            )
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        parent = ScenarioCollector.from_parent(session, name="responses-conformance", nodeid="responses-conformance")
        for s in chosen:
            items.append(ScenarioItem.from_parent(parent, name=s.id, scenario=s, skip_reason=skips.get(s.id)))

    def _open(self) -> RunSession:
        from conformance.runner import RunOptions, RunSession, TargetError, open_target

        if self._session is not None:
            return self._session
        if self._setup_error is not None:
            raise _SetupFailed(self._setup_error)
        opt = self.config.getoption
        self._loop = _LoopThread()
        try:
            self._target_cm = open_target(
                base_url=opt("--responses-base-url"),
                app=opt("--responses-app"),
                reference=bool(opt("--responses-reference")),
                api_key=opt("--responses-api-key") or os.environ.get("CONFORMANCE_API_KEY") or None,
                auth_header=opt("--responses-auth-header"),
                bearer=not opt("--responses-no-bearer"),
            )
            target: Target = self._target_cm.__enter__()
            options = RunOptions(
                profile=_profile(self.config),
                model=opt("--responses-model"),
                timeout=opt("--responses-timeout"),
                fail_on=opt("--responses-fail-on"),
            )
            session = RunSession(target, options)
            self._session = self._loop.run(session.__aenter__())
        except (TargetError, ValueError) as exc:
            self._setup_error = str(exc)
            raise _SetupFailed(self._setup_error) from None
        return self._session

    def run(self, scenario: Scenario, skip_reason: str | None) -> CaseResult:
        session = self._open()
        assert self._loop is not None
        return self._loop.run(session.run_scenario(scenario, skip_reason=skip_reason))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._loop is not None:
            if self._session is not None:
                self._loop.run(self._session.aclose())
            self._loop.close()
        if self._target_cm is not None:
            self._target_cm.__exit__(None, None, None)


class _SetupFailed(Exception):
    """The target could not be reached or configured: every scenario fails with this line."""


class ScenarioFailed(AssertionError):
    def __init__(self, case: CaseResult) -> None:
        super().__init__(case.id)
        self.case = case


class ScenarioCollector(pytest.Collector):
    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        return []  # items are created by _LiveRun; this node only groups them


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, skip_reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.skip_reason = skip_reason
        self.case: CaseResult | None = None
        self.add_marker(pytest.mark.responses_conformance)
        for tag in scenario.tags:
            self.keywords[tag] = True

    def runtest(self) -> None:
        live = self.config.pluginmanager.get_plugin(PLUGIN_NAME)
        assert isinstance(live, _LiveRun)
        self.case = live.run(self.scenario, self.skip_reason)
        self.user_properties.append(("responses_conformance", self.case.to_dict()))
        if self.case.status == "skipped":
            pytest.skip(self.case.skip_reason or "skipped")
        if self.case.status in ("failed", "error"):
            raise ScenarioFailed(self.case)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            from conformance.reporters.text import render_case

            return render_case(excinfo.value.case)
        if isinstance(excinfo.value, _SetupFailed):
            return f"responses conformance target unusable: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"responses scenario {self.scenario.id}: {self.scenario.title}"


# -- the checker fixture --------------------------------------------------------------------


class ResponsesChecker:
    """Checks streams and bodies in your own tests; `assert_conformant` raises listing findings."""

    def __init__(
        self,
        profile: str = "openai",
        fail_on: str = "error",
        *,
        tolerate: Sequence[str] = (),
        target_kind: str | None = None,
    ) -> None:
        from conformance.profiles import profile_spec

        # A spec string: `openai[tolerate=sequence-number-absent]` (ValueError on a bad name).
        self.profile = profile_spec(profile, tolerate, target_kind)
        self.fail_on = fail_on

    def check(self, data: Any, request: dict[str, Any] | None = None, *, content_type: str | None = None) -> Any:
        """A CheckResult for SSE bytes/str, an httpx/requests response, events, or a Response body."""
        from conformance import check_events, check_response, check_sse

        kw: dict[str, Any] = {"profile": self.profile, "request": request}
        if hasattr(data, "content") and hasattr(data, "headers"):  # httpx.Response / requests.Response
            content_type = content_type or data.headers.get("content-type")
            data = data.content
            if content_type and content_type.split(";")[0].strip() == "application/json":
                import json

                return check_response(json.loads(data), **kw)
        if isinstance(data, str):
            data = data.encode()
        if isinstance(data, bytes | bytearray | memoryview):
            return check_sse(bytes(data), content_type=content_type, **kw)
        if isinstance(data, dict):
            if data.get("object") == "response":
                return check_response(data, **kw)
            return check_events([data], **kw)
        items = list(data)
        if items and all(isinstance(i, bytes | bytearray) for i in items):
            return check_sse([bytes(i) for i in items], content_type=content_type, **kw)
        return check_events(items, **kw)

    def assert_conformant(self, events_or_bytes: Any, request: dict[str, Any] | None = None, *, content_type: str | None = None) -> Any:
        result = self.check(events_or_bytes, request, content_type=content_type)
        bad = result.errors(self.fail_on)
        if bad:
            from conformance.reporters.text import format_location

            lines = [f"not conformant (profile {self.profile}): {len(bad)} finding(s) at or above {self.fail_on}"]
            for f in bad[:50]:
                lines.append(f"  {f.severity} {f.rule} at {format_location(f)}: {f.message}")
            if len(bad) > 50:
                lines.append(f"  … and {len(bad) - 50} more")
            raise AssertionError("\n".join(lines))
        return result


@pytest.fixture
def responses_replay() -> Iterator[Callable[..., Any]]:
    """Serve a recording or fixture folder to httpx clients (openai-python included) in-process.

    `router = responses_replay("tests/recordings", chunking="byte")` starts a respx router
    (options: `conformance.replay.ReplayOptions` fields, `base_url=`); point the client at
    `router.replay_base_url`. Every router is stopped after the test. See docs/record-replay.md.
    """
    from conformance.replay import ReplayOptions, respx_router

    started: list[Any] = []

    def replay(path: str | Path, *, base_url: str | None = None, **options: Any) -> Any:
        kwargs: dict[str, Any] = {"options": ReplayOptions(**options)}
        if base_url:
            kwargs["base_url"] = base_url
        router = respx_router(path, **kwargs)
        router.start()
        started.append(router)
        return router

    yield replay
    for router in reversed(started):
        router.stop()


@pytest.fixture
def responses_checker(request: pytest.FixtureRequest) -> ResponsesChecker:
    """A `ResponsesChecker` using --responses-profile / --responses-fail-on."""
    opt = request.config.getoption
    return ResponsesChecker(profile=_profile(request.config), fail_on=opt("--responses-fail-on"))


def _profile(config: pytest.Config) -> str:
    """--responses-profile refined by --responses-tolerate and --responses-target-kind."""
    from conformance.profiles import profile_spec

    opt = config.getoption
    try:
        return profile_spec(opt("--responses-profile"), opt("--responses-tolerate") or (), opt("--responses-target-kind"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
