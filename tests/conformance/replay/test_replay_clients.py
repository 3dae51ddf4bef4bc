"""The fixture corpus replayed to openai-python in-process (respx router): positive fixtures give
the recorded final response under every chunking mode; negative fixtures whose rule breaks
openai-python make the probe report `client.openai-python` (where 3.54 really breaks)."""

from __future__ import annotations

import httpx
import openai
import pytest

from conformance.clients.openai_python import RULE_ID, compare_final_response, probe_stream
from conformance.fixture_corpus import check_fixture, default_root, load_fixtures
from conformance.pytest_plugin import responses_replay  # noqa: F401  (the plugin's fixture, used below)
from conformance.registry import get_rule
from conformance.replay import ReplayOptions, respx_router
from conformance.replay.chunking import CHUNKING_MODES
from conformance.replay.inprocess import DEFAULT_BASE_URL

ROOT = default_root()
FIXTURES = [fx for fx in load_fixtures(ROOT) if fx.kind == "sse"]
POSITIVE = [fx for fx in FIXTURES if not fx.negative]
TERMINALS = ("response.completed", "response.incomplete", "response.failed")

# Negative fixtures whose rule RULES.md marks as breaking openai-python, but which openai-python
# 3.54 accumulates without raising and with the right final response (documented in
# docs/record-replay.md). Reasons: "<=3.3"-only rules; 3.54 ignores hosted-tool progress events
# (web_search_call.*) entirely, so an unknown index or a wrong item type there goes unnoticed; it
# does not check refusal deltas against the part type; it only checks "unfinished items" for
# items whose *.done events it saw started.
SURVIVES_354 = {
    "negative/item/index-not-contiguous",  # item.index-not-contiguous: openai-python<=3.3
    "negative/wild/output-index-starts-at-1",  # same rule
    "negative/item/unknown-index",  # web_search_call.searching for index 3
    "negative/item/wrong-event-for-type",  # web_search_call.searching aimed at a message
    "negative/item/compacting-on-message",  # response.compaction.compacting aimed at a message
    "negative/part/type-mismatch",  # refusal.delta into an output_text part
    "negative/wild/last-message-never-closed",  # item.not-closed: last message never done
    "negative/wild/output-index-off-by-one-between-added-and-done",  # item.not-closed
}


def _openai(base_url: str) -> openai.OpenAI:
    # openai 3.x sends through httpx2 by default, which respx does not patch; an httpx.Client
    # (accepted by openai as is) goes through the router.
    return openai.OpenAI(base_url=base_url, api_key="replay-test", max_retries=0, http_client=httpx.Client())


def _breaks_openai_python(rule_id: str) -> bool:
    return any(b.startswith("openai-python") for b in get_rule(rule_id).breaks)


BREAKING = [
    fx
    for fx in FIXTURES
    if fx.negative
    and any(_breaks_openai_python(r) for r in fx.expected_errors | fx.expected_warnings | fx.expected_infos)
]


@pytest.fixture(scope="module")
def snapshots() -> dict[str, tuple[dict | None, bool]]:
    """Terminal snapshot and whether the checker sees an unterminated last event, per fixture."""
    out = {}
    for fx in POSITIVE:
        result = check_fixture(fx)
        out[fx.name] = (result.terminal_response, any(f.rule == "framing.unterminated" for f in result.findings))
    return out


@pytest.mark.parametrize("mode", CHUNKING_MODES)
def test_every_positive_fixture_reaches_openai_python_intact(mode: str, snapshots) -> None:
    assert len(POSITIVE) >= 30
    lost_last_event = []
    with respx_router(ROOT, options=ReplayOptions(chunking=mode, seed=11)) as router:
        client = _openai(DEFAULT_BASE_URL)
        for fx in POSITIVE:
            terminal, unterminated = snapshots[fx.name]
            assert terminal is not None, fx.name
            events: list = []
            error: Exception | None = None
            final = None
            try:
                with client.responses.stream(
                    model="m", input="hi", extra_headers={"X-Conformance-Scenario": fx.name}
                ) as stream:
                    events.extend(stream)
                    if unterminated:
                        # The documented exception: the decoder drops the event that lacks its
                        # blank line, here the terminal one.
                        assert not any(e.type in TERMINALS for e in events), fx.name
                        with pytest.raises(RuntimeError, match=r"response\.completed"):
                            stream.get_final_response()
                        lost_last_event.append(fx.name)
                        continue
                    if terminal["status"] == "completed":
                        final = stream.get_final_response()
            except openai.APIError as exc:  # response.failed surfaces as APIError: by design
                error = exc
            if terminal["status"] == "failed":
                assert error is not None or events[-1].type == "response.failed", fx.name
                continue
            if final is None:  # incomplete: the client hands over the terminal event as is
                final = events[-1].response
                assert events[-1].type in TERMINALS, fx.name
            dumped = final.model_dump(mode="json", warnings=False)
            assert compare_final_response(dumped, terminal) == [], fx.name
            assert (dumped["id"], dumped["status"]) == (terminal["id"], terminal["status"])
        served = router.replayer.served
    assert served.total() == len(POSITIVE) and not router.replayer.unmatched
    assert lost_last_event == ["positive/openai-api/web-search-with-citations"]


@pytest.mark.parametrize("fx", BREAKING, ids=lambda fx: fx.name)
def test_negative_fixture_breaking_openai_python_is_reported(fx) -> None:
    # Replayed bytes (event chunking over the respx router), then through the probe.
    with respx_router(ROOT):
        raw = httpx.post(f"{DEFAULT_BASE_URL}/responses", json={"model": "m", "input": "hi", "stream": True},
                         headers={"X-Conformance-Scenario": fx.name}).content
    assert raw == fx.body()
    result = probe_stream(raw, request=fx.request, terminal_response=check_fixture(fx).terminal_response)
    findings = result.findings()
    if fx.name in SURVIVES_354:
        assert result.ok is True and findings == [], (fx.name, result.message())
    else:
        assert result.ok is False and [f.rule for f in findings] == [RULE_ID], fx.name
        assert findings[0].severity == "error" and f"openai-python {openai.__version__}" in findings[0].message


def test_documented_survivors_are_breaking_fixtures() -> None:
    # Keeps the list honest: every entry is a fixture this test file looks at.
    assert {fx.name for fx in BREAKING} >= SURVIVES_354
    assert len(BREAKING) - len(SURVIVES_354) >= 15


def test_unterminated_finding_explains_the_dropped_event() -> None:
    fx = next(fx for fx in POSITIVE if fx.name.endswith("web-search-with-citations"))
    result = probe_stream(fx.body())
    assert result.ok is False and result.unterminated
    message = result.findings()[0].message
    assert "response.completed" in message and "not terminated by a blank line" in message
    assert "framing.unterminated is only a warning" in message
    # Terminated properly, the same bytes pass.
    assert probe_stream(fx.body() + b"\n\n").ok is True


def test_disconnect_after_truncates_what_the_client_sees() -> None:
    fx = next(fx for fx in POSITIVE if fx.name == "positive/built/text")
    with respx_router(ROOT, options=ReplayOptions(disconnect_after=5, chunking="byte")):
        client = _openai(DEFAULT_BASE_URL)
        with client.responses.stream(model="m", input="hi", extra_headers={"X-Conformance-Scenario": fx.name}) as s:
            events = list(s)
            with pytest.raises(RuntimeError, match=r"response\.completed"):
                s.get_final_response()
    assert len(events) == 5


def test_async_clients_are_served_too() -> None:
    import asyncio

    async def go() -> str:
        with respx_router(ROOT, options=ReplayOptions(chunking="random", seed=3)):
            client = openai.AsyncOpenAI(base_url=DEFAULT_BASE_URL, api_key="replay-test", max_retries=0,
                                        http_client=httpx.AsyncClient())
            async with client.responses.stream(
                model="m", input="hi", extra_headers={"X-Conformance-Scenario": "positive/built/text"}
            ) as stream:
                async for _ in stream:
                    pass
                final = await stream.get_final_response()
            return final.output_text

    assert asyncio.run(go())


def test_the_pytest_fixture(responses_replay) -> None:  # noqa: F811
    router = responses_replay(ROOT, chunking="line")
    client = _openai(router.replay_base_url)
    response = client.responses.create(
        model="m", input="hi", extra_headers={"X-Conformance-Scenario": "positive/built/text"}
    )
    assert response.status == "completed" and response.output_text
    # Unknown requests: an OpenAI-shaped 404 the client turns into NotFoundError.
    with pytest.raises(openai.NotFoundError, match="closest recording"):
        client.responses.create(model="m", input="nothing recorded", extra_headers={"X-Conformance-Scenario": "nope"})
