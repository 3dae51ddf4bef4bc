"""Codex CLI (`codex exec`, from clients/js after `npm ci`) through the proxy to the reference
server, over HTTP streaming and over WebSocket, with nothing but the provider settings: the turn
completes and every exchange passes, including what Codex sends that older servers refused (its
warm-up `generate: false` on a socket, its goal tool's output without `call_id`).

Skipped, with a warning, when node or the codex package is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

import reference_server
from conformance.cli.proxy import exchange_line
from tests.conformance.proxy.helpers import proxied

CODEX = Path(__file__).parents[3] / "clients" / "js" / "node_modules" / ".bin" / "codex"
PROMPT = "List the files in this directory, then say what you found."
# No flag is needed beyond the provider settings. Codex's default model (one it has a catalogue
# entry for) declares its tools in an `additional_tools` input item; a model it does not know
# (`-m`) gets the plain `tools` array, its goal tools among them, so the second turn carries the
# goal's `function_call_output` without `call_id`. Both are run.
MODELS = {"default-model": [], "named-model": ["-m", "gpt-oss-scripted"]}


def _codex_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CODEX.exists():
        return "clients/js/node_modules/.bin/codex is missing (run `npm ci` in clients/js)"
    return None


def _sent(record_dir: Path) -> list[dict[str, Any]]:
    """Every create body Codex sent, from the proxy's recordings (HTTP sidecars, socket transcripts)."""
    bodies = [json.loads(p.read_text())["request"] for p in sorted(record_dir.glob("proxy/*.json"))]
    for transcript in sorted(record_dir.glob("proxy/ws-*.jsonl")):
        records = [json.loads(line) for line in transcript.read_text().splitlines() if line.strip()]
        bodies += [json.loads(r["text"]) for r in records if r.get("dir") == "client"]
    return [b for b in bodies if isinstance(b, dict)]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_codex_exec_through_the_proxy(transport: str, model: str, tmp_path: Path) -> None:
    if (why := _codex_missing()) is not None:
        warnings.warn(f"Codex CLI through the proxy NOT TESTED: {why}", stacklevel=1)
        pytest.skip(f"Codex CLI through the proxy not tested: {why}")
    home, repo = tmp_path / "codex-home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    (repo / "notes.txt").write_text("hello through the proxy\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with proxied(reference_server.create_app(), record_dir=tmp_path / "rec", probe=False) as (proxy, front):
        provider = ["-c", "model_providers.ref.name=reference-server",
                    "-c", f"model_providers.ref.base_url={front.url}/v1",
                    "-c", "model_providers.ref.wire_api=responses", "-c", "model_provider=ref"]
        if transport == "websocket":
            provider += ["-c", "model_providers.ref.supports_websockets=true"]
        env = {**os.environ, "CODEX_HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}
        proc = subprocess.run([str(CODEX), "exec", *provider, *MODELS[model], PROMPT], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    lines = [exchange_line(c)[0] for c in proxy.cases]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert proc.returncode == 0, (errors[-1:] or proc.stderr[-500:], lines)
    kinds = {c.details.get("judged") for c in proxy.cases}
    assert kinds == ({"sse"} if transport == "sse" else {"websocket"}), lines
    turns = sum(c.details.get("responses", 1) for c in proxy.cases)
    assert turns >= 2, lines  # the tool calls and the answer after their outputs
    assert all(c.status == "passed" and not c.error for c in proxy.cases), lines
    assert not [f.rule for c in proxy.cases for f in c.findings if f.severity == "error"], lines
    assert proc.stdout.strip(), "codex printed no final answer"
    sent = _sent(tmp_path / "rec")
    items = [item for body in sent if isinstance(body.get("input"), list) for item in body["input"]
             if isinstance(item, dict)]
    if transport == "websocket":
        assert sent[0].get("generate") is False, "codex did not warm the socket up with generate: false"
    if model == "default-model":
        assert any(item.get("type") == "additional_tools" for item in items), "no additional_tools item"
    else:
        uncalled = [item for item in items if item.get("type") == "function_call_output" and "call_id" not in item]
        assert uncalled, "codex sent no function_call_output without call_id (its goal tool's)"
