"""The proxy between openai-python (and plain httpx) and the reference server: the client gets
exactly the bytes the server sent, the proxy judges each answer, and nothing breaks the relay."""

from __future__ import annotations

import httpx
import openai
import pytest

import reference_server
from tests.conformance.proxy.helpers import Tap, proxied

REQUEST = {"model": "gpt-oss-20b", "input": "Say hello"}


def _client(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="sk-proxy-test", max_retries=0, http_client=httpx.Client())


def test_openai_python_through_proxy_gets_the_servers_bytes_and_zero_findings() -> None:
    tap = Tap(reference_server.create_app())
    with proxied(tap) as (proxy, front):
        client = _client(front.url)
        with client.responses.with_streaming_response.create(**REQUEST, stream=True) as raw:
            streamed = b"".join(raw.iter_bytes())
        raw_json = client.responses.with_raw_response.create(**REQUEST)
        body, parsed = raw_json.content, raw_json.parse()
        with client.responses.stream(**REQUEST) as stream:  # the SDK's own accumulator
            final = stream.get_final_response()
        models = httpx.get(front.url + "/v1/models")
    assert tap.sent[0] == streamed and streamed.startswith(b"event: ")
    assert tap.sent[1] == body and parsed.output_text
    assert final.status == "completed" and final.output_text
    assert models.status_code == 200 and tap.sent[3] == models.content
    judged = [c for c in proxy.cases if c.details["judged"] != "none"]
    assert [c.details["judged"] for c in judged] == ["sse", "json", "sse"]
    assert all(c.status == "passed" and not c.findings for c in proxy.cases), [
        (c.id, [f.rule for f in c.findings]) for c in proxy.cases]
    assert judged[0].event_count > 3 and not any(c.details.get("dropped") for c in proxy.cases)


def test_checker_failure_never_changes_what_the_client_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.checker import StreamChecker

    def broken(self: object, *args: object) -> list[object]:
        raise RuntimeError("checker bug")

    monkeypatch.setattr(StreamChecker, "feed_messages", broken)
    tap = Tap(reference_server.create_app())
    with proxied(tap) as (proxy, front):
        got = httpx.post(front.url + "/v1/responses", json={**REQUEST, "stream": True})
    assert got.status_code == 200 and got.content == tap.sent[0]
    (case,) = proxy.cases
    assert case.status == "error" and "checker bug" in (case.error or "")


def test_unreachable_upstream_is_a_502_with_one_line_and_an_error_case() -> None:
    import socket

    from conformance.proxy import ProxyApp, ProxyOptions
    from tests.conformance.proxy.helpers import serve
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()  # nothing listens there now
    proxy = ProxyApp(ProxyOptions(upstream_url=f"http://127.0.0.1:{dead}"))
    with serve(proxy) as front:
        got = httpx.post(front.url + "/v1/responses", json=REQUEST)
    assert got.status_code == 502 and got.json()["error"]["code"] == "upstream_unreachable"
    (case,) = proxy.cases
    assert case.status == "error" and "unreachable" in (case.error or "")


def test_upstream_prefix_is_not_doubled() -> None:
    from conformance.proxy import ProxyApp, ProxyOptions

    with_v1 = ProxyApp(ProxyOptions(upstream_url="http://h:1/v1"))
    bare = ProxyApp(ProxyOptions(upstream_url="http://h:1"))
    other = ProxyApp(ProxyOptions(upstream_url="http://h:1/api"))
    assert with_v1.upstream_target("/v1/responses", "a=1") == "http://h:1/v1/responses?a=1"
    assert bare.upstream_target("/v1/responses", "") == "http://h:1/v1/responses"
    assert other.upstream_target("/v1/responses", "") == "http://h:1/api/v1/responses"


def test_only_answers_that_are_response_objects_are_judged_as_such() -> None:
    from conformance.proxy.judge import answers_a_response

    assert answers_a_response("POST", "/v1/responses")
    assert answers_a_response("GET", "/v1/responses/resp_1")
    assert answers_a_response("POST", "/v1/responses/resp_1/cancel")
    assert not answers_a_response("DELETE", "/v1/responses/resp_1")
    assert not answers_a_response("GET", "/v1/responses/resp_1/input_items")
    assert not answers_a_response("GET", "/v1/models")
