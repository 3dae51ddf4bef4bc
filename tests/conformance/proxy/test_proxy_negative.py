"""A replay of the negative fixtures behind the proxy: the client receives each fixture's bytes
unchanged, and the proxy reports the rules the fixture's sidecar expects."""

from __future__ import annotations

from collections import defaultdict

import httpx
import pytest

from conformance.fixture_corpus import default_root, load_fixtures
from conformance.recording import SCENARIO_HEADER
from conformance.replay.app import create_replay_app
from conformance.replay.matching import load_recordings
from tests.conformance.proxy.helpers import proxied

ROOT = default_root()
NEGATIVE = [fx for fx in load_fixtures(ROOT) if fx.kind == "sse" and fx.negative]
BY_PROFILE: dict[str, list] = defaultdict(list)
for _fx in NEGATIVE:
    BY_PROFILE[_fx.profile].append(_fx)


@pytest.mark.parametrize("profile", sorted(BY_PROFILE))
def test_negative_fixtures_behind_the_proxy(profile: str) -> None:
    fixtures = BY_PROFILE[profile]
    app = create_replay_app(load_recordings(ROOT))
    with proxied(app, profile=profile) as (proxy, front), httpx.Client(base_url=front.url, timeout=60) as http:
        received = {}
        for fx in fixtures:
            body = {**(fx.request or {"model": "gpt-4o", "input": "hi"}), "stream": True}
            got = http.post("/v1/responses", json=body, headers={SCENARIO_HEADER: fx.name})
            received[fx.name] = got.content
    assert len(proxy.cases) == len(fixtures)
    missing = {}
    for fx, case in zip(fixtures, sorted(proxy.cases, key=lambda c: c.id), strict=True):
        assert received[fx.name] == fx.body(), f"{fx.name}: the client did not get the fixture's bytes"
        expected = fx.expected_errors | fx.expected_warnings | fx.expected_infos
        found = {f.rule for f in case.findings}
        if case.error or not expected <= found:
            missing[fx.name] = (sorted(expected - found), case.error)
    assert not missing, missing
