"""The `long-conversation` scenario: passes against the reference server, and fails, naming the
turn, against a server that stops answering once a conversation has grown."""

from __future__ import annotations

from typing import Any

from conformance.runner import RunOptions, app_target, run_scenarios
from conformance.scenarios import get
from reference_server import create_app
from reference_server.protocol.token_backend import BackendError, GenerationRequest
from reference_server.protocol.vocab import harmony_encoding
from reference_server.sources.backends.scripted import ScriptedBackend


class _GivesUpWhenLong:
    """The scripted backend, failing every prompt longer than `limit` tokens (like a server whose
    cache breaks once a conversation outgrows it)."""

    name = "gives-up"

    def __init__(self, limit: int) -> None:
        self.inner = ScriptedBackend(encoding=harmony_encoding())
        self.model_id = self.inner.model_id
        self.limit = limit

    def generate(self, request: GenerationRequest) -> Any:
        if len(request.prompt_tokens) > self.limit:
            return _Failing()
        return self.inner.generate(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Failing:
    cached_tokens = 0

    def __aiter__(self) -> _Failing:
        return self

    async def __anext__(self) -> int:
        raise BackendError("the cache broke")

    async def aclose(self) -> None:
        return None


def _run(app: Any) -> Any:
    report = run_scenarios(app_target(app), [get("long-conversation")], RunOptions(timeout=60, concurrency=1))
    return report.cases[0]


def test_passes_against_the_reference_server_and_grows_past_4000_tokens() -> None:
    case = _run(create_app())
    assert case.status == "passed", [(f.rule, f.message) for f in case.findings]
    inputs = case.details["notes"]["input_tokens_per_request"]
    assert len(inputs) == 13 and inputs == sorted(inputs) and inputs[-1] > 4000


def test_fails_naming_the_turn_where_a_long_conversation_breaks() -> None:
    case = _run(create_app(backend=_GivesUpWhenLong(2000), encoding=harmony_encoding()))
    assert case.status == "failed"
    status = [f for f in case.findings if f.rule == "http.status"]
    # A streamed turn ends `failed`, a non-stream one is a 500: either way the turn is named.
    assert status and status[0].message.startswith("turn ") and not status[0].message.startswith("turn 1:")
    assert "the cache broke" in (status[0].excerpt or "") + status[0].message
