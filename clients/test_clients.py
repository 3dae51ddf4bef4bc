"""The real-client matrix: every (client, case) against each backend.

A cell passes when the client's OWN result is right (the text it assembled equals the deltas it
saw and the server's answer, the tool's output reached the model in the next request, the parsed
JSON matches the schema, ...). Only `nox -s clients` runs this file.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from _harness import Exchange

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
SCHEMA = json.loads((HERE / "weather_report.schema.json").read_text())
CASES = ["stream_text", "text", "tool_loop", "reasoning", "structured", "store_on", "store_off",
         "long_conversation"]
LONG_TURNS = 6
# client -> (language, script)
CLIENTS: dict[str, tuple[str, str]] = {
    "openai-python": ("python", "openai_python.py"),
    "openai-node": ("node", "openai_node.mjs"),
    "ai-sdk": ("node", "ai_sdk.mjs"),
    "openai-agents": ("python", "openai_agents.py"),
    "openai-agents-js": ("node", "openai_agents.mjs"),
    "pydantic-ai": ("python", "pydantic_ai_client.py"),
    "langchain-openai": ("python", "langchain_client.py"),
}
CELLS = [(client, case) for client in CLIENTS for case in CASES]
# per cell; a cell takes seconds, and a hung request is cut by the proxy after a minute
TIMEOUT = {"scripted": 180.0, "torch": 300.0}


def _node_missing() -> str | None:
    # Only a missing node is a skip; node without node_modules is the session's failure.
    if shutil.which("node") is None:
        return "node is not installed, so the JS clients were not run"
    return None


def run_client(client: str, case: str, target: Any) -> dict[str, Any]:
    language, script = CLIENTS[client]
    if language == "node":
        if (why := _node_missing()) is not None:
            pytest.skip(why)
        assert (JS / "node_modules").is_dir(), "clients/js/node_modules is missing: run `npm ci` in clients/js"
        cmd = ["node", str(JS / script), case]
    else:
        cmd = [sys.executable, str(HERE / "python" / script), case]
    env = {**os.environ, "CLIENTS_BASE_URL": target.base_url, "CLIENTS_MODEL": target.model,
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT[target.backend])
    except subprocess.TimeoutExpired:
        pytest.fail(f"{client} did not finish in {TIMEOUT[target.backend]:.0f} s; "
                    f"{_wire(target)}; server log: {target.server.log_tail(3)}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    err = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    said = next((line[6:] for line in reversed(err) if line.startswith("ERROR ")), err[-1] if err else "no output")
    pytest.fail(f"{client} failed (exit {proc.returncode}): {said}; {_wire(target)}")


def _wire(target: Any) -> str:
    """The requests that went wrong (what the client sent and the server's error), for the report."""
    bad = [ex.describe() for ex in target.exchanges() if ex.status != 200 or ex.error]
    return "failed requests: " + " ; ".join(bad) if bad else "every request got 200"


def creates(target: Any) -> list[Exchange]:
    posts = [ex for ex in target.exchanges() if ex.is_create]
    assert posts, "the client sent no POST /v1/responses"
    bad = [ex.describe() for ex in posts if ex.status != 200 or ex.error]
    assert not bad, "server refused: " + " ; ".join(bad)
    return posts


def output_text(response: Any) -> str:
    assert isinstance(response, dict), f"no Response object captured: {response!r}"
    return "".join(part.get("text", "") for item in response.get("output", []) if item.get("type") == "message"
                   for part in item.get("content", []) if part.get("type") == "output_text")


def summary_text(response: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for item in response.get("output", []) if item.get("type") == "reasoning"
                   for part in item.get("summary") or [])


def input_items(request: dict[str, Any]) -> list[dict[str, Any]]:
    value = request.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [item for item in value or [] if isinstance(item, dict)]


def carried_output(request: dict[str, Any], output: str) -> bool:
    """Did this request hand `output` back to the model as a function_call_output?"""
    for item in input_items(request):
        if item.get("type") == "function_call_output":
            value = item.get("output")
            text = value if isinstance(value, str) else json.dumps(value)
            if output in text:
                return True
    return False


def check_stream_text(result: dict[str, Any], target: Any) -> None:
    post = creates(target)[-1]
    assert post.request.get("stream") is True, "the client did not stream"
    assert result["text"] == "".join(result["deltas"]), "final text differs from the concatenated deltas"
    assert result["text"] == output_text(post.response), "client text differs from the server's output_text"
    if target.backend == "scripted":
        assert result["text"], "empty text"


def check_text(result: dict[str, Any], target: Any) -> None:
    post = creates(target)[-1]
    assert not post.request.get("stream"), "the client streamed"
    assert result["text"] == output_text(post.response), "client text differs from the server's output_text"
    if target.backend == "scripted":
        assert result["text"], "empty text"


def check_tool_loop(result: dict[str, Any], target: Any) -> None:
    posts = creates(target)
    calls = result["tool_calls"]
    assert len(calls) >= 2, f"the tool ran {len(calls)} time(s), expected 2 tool turns"
    for call in calls:
        jsonschema.validate(call["arguments"], {"type": "object", "properties": {"city": {"type": "string"}},
                                                "required": ["city"]})
        later = [i for i, ex in enumerate(posts) if carried_output(ex.request, call["output"])]
        assert later, f"the tool output {call['output']!r} never reached the model"
    assert len(posts) >= 3, f"{len(posts)} model requests, expected 3 (two tool turns and an answer)"
    assert result["text"] == output_text(posts[-1].response), "final text differs from the server's"


def check_reasoning(result: dict[str, Any], target: Any) -> None:
    post = creates(target)[-1]
    assert (post.request.get("reasoning") or {}).get("summary") in ("auto", "concise", "detailed"), \
        "the client did not ask for a reasoning summary"
    server = summary_text(post.response)
    assert server, "the server's reasoning item has no summary"
    assert result["summary"] == server, "client summary differs from the server's"
    if result.get("summary_deltas") is not None:
        assert "".join(result["summary_deltas"]) == result["summary"], "summary differs from its deltas"


def check_structured(result: dict[str, Any], target: Any) -> None:
    post = creates(target)[-1]
    fmt = ((post.request.get("text") or {}).get("format") or {})
    assert fmt.get("type") == "json_schema", f"the client asked for {fmt.get('type')!r}, not json_schema"
    jsonschema.validate(result["parsed"], SCHEMA)
    assert result["parsed"] == json.loads(output_text(post.response)), "parsed object differs from the server's JSON"


def check_store_on(result: dict[str, Any], target: Any) -> None:
    posts = creates(target)
    assert len(posts) >= 2, "expected two turns"
    first, second = posts[0], posts[-1]
    assert first.request.get("store") is not False and second.request.get("store") is not False, "store was off"
    assert second.request.get("previous_response_id") == first.response["id"], \
        "the second turn did not chain previous_response_id to the first response"
    assert result["texts"] == [output_text(first.response), output_text(second.response)]
    got = httpx.get(f"{target.base_url}/responses/{second.response['id']}/input_items")
    assert got.status_code == 200, f"input_items of the stored turn: {got.status_code}"


def check_store_off(result: dict[str, Any], target: Any) -> None:
    posts = creates(target)
    assert len(posts) >= 2, "expected two turns"
    first, second = posts[0], posts[-1]
    assert first.request.get("store") is False and second.request.get("store") is False, "store was not false"
    assert not second.request.get("previous_response_id"), "store off, yet previous_response_id was sent"
    resent = [i for i in input_items(second.request) if i.get("role") == "assistant" or (i.get("type") in
              ("message", "reasoning") and i.get("role") != "user")]
    assert resent, "the second turn did not resend the first turn's output (full history)"
    assert result["texts"] == [output_text(first.response), output_text(second.response)]
    got = httpx.get(f"{target.base_url}/responses/{first.response['id']}")
    assert got.status_code == 404, f"store: false, yet GET /responses/{{id}} answered {got.status_code}"


def check_long_conversation(result: dict[str, Any], target: Any) -> None:
    posts = creates(target)
    assert len(posts) == LONG_TURNS, f"{len(posts)} requests, expected {LONG_TURNS} turns"
    for before, after in itertools.pairwise(posts):
        assert after.request.get("previous_response_id") == before.response["id"], \
            "a turn did not chain previous_response_id to the turn before"
    assert result["texts"] == [output_text(ex.response) for ex in posts], "client texts differ from the server's"
    tokens = (posts[-1].response.get("usage") or {}).get("input_tokens", 0)
    assert tokens > 512, f"the conversation grew to only {tokens} input tokens, not past 512"


@pytest.mark.parametrize(("client", "case"), CELLS, ids=[f"{c}-{k}" for c, k in CELLS])
def test_client(client: str, case: str, target: Any) -> None:
    target.begin()
    result = run_client(client, case, target)
    globals()[f"check_{case}"](result, target)


CODEX = JS / "node_modules" / ".bin" / "codex"
CODEX_PROMPT = "List the files in this directory, then say what you found."
CODEX_SEARCH_PROMPT = "Search the web: how are url_citation annotations streamed? Cite your sources."


def run_codex(target: Any, tmp_path: Path, prompt: str, *, name_model: bool = False) -> subprocess.CompletedProcess[str]:
    """`codex exec` with the reference server as a custom Responses provider, in a fresh git
    repository and CODEX_HOME; it must exit 0. `name_model`: pass the server's model id (`-m`)."""
    if (why := _node_missing()) is not None:
        pytest.skip(why)
    assert CODEX.exists(), "clients/js/node_modules/.bin/codex is missing: run `npm ci` in clients/js"
    target.begin()
    home, repo = tmp_path / "codex-home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    (repo / "notes.txt").write_text("hello from the matrix\n")
    # a git repository, so codex needs no --skip-git-repo-check
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    provider = ["-c", "model_providers.ref.name=reference-server",
                "-c", f"model_providers.ref.base_url={target.base_url}",
                "-c", "model_providers.ref.wire_api=responses", "-c", "model_provider=ref"]
    flags = ["-m", target.model] if name_model else []  # known once the server runs (begin)
    env = {**os.environ, "CODEX_HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}
    try:
        proc = subprocess.run([str(CODEX), "exec", *provider, *flags, prompt], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT[target.backend],
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"codex exec did not finish in {TIMEOUT[target.backend]:.0f} s; {_wire(target)}")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert proc.returncode == 0, (f"codex exec exit {proc.returncode}: "
                                  f"{errors[-1] if errors else proc.stderr.strip()[-300:]}; {_wire(target)}")
    return proc


@pytest.mark.parametrize(("client", "case"), [("codex", "codex_exec")], ids=["codex-codex_exec"])
def test_codex_exec(client: str, case: str, target: Any, tmp_path: Path) -> None:
    """`codex exec` with its default tools completes a turn; the only flags name the provider."""
    proc = run_codex(target, tmp_path, CODEX_PROMPT)
    posts = creates(target)
    # Codex declares its tools in `tools` or (0.171) in an `additional_tools` input item
    declared = posts[0].request.get("tools") or [t for item in input_items(posts[0].request)
                                                 if item.get("type") == "additional_tools"
                                                 for t in item.get("tools") or []]
    assert declared, "codex sent no tools"
    final = output_text(posts[-1].response).strip()
    if target.backend == "scripted":
        assert final, "the last response has no text"
    assert final in proc.stdout, "codex did not print the model's final answer"


@pytest.mark.parametrize(("client", "case"), [("codex", "codex_web_search")], ids=["codex-codex_web_search"])
def test_codex_web_search(client: str, case: str, target: Any, tmp_path: Path) -> None:
    """Codex offers its `web_search` tool when the model is named (`-m`: a slug outside its
    code-mode catalog models, here the server's own model id); the server searches and opens a
    page, the answer cites it, and Codex shows the searches and prints the cited answer."""
    proc = run_codex(target, tmp_path, CODEX_SEARCH_PROMPT, name_model=True)
    posts = creates(target)
    offered = [t for t in posts[0].request.get("tools") or [] if t.get("type") == "web_search"]
    assert offered, f"codex offered no web_search tool: {[t.get('type') for t in posts[0].request.get('tools') or []]}"
    response = posts[-1].response
    calls = [i for i in response.get("output", []) if i.get("type") == "web_search_call"]
    actions = [c.get("action") or {} for c in calls]
    assert any(a.get("type") == "search" for a in actions), f"no search: {actions}"
    opened = {a.get("url") for a in actions if a.get("type") == "open_page"}
    assert all(c.get("status") == "completed" for c in calls), [c.get("status") for c in calls]
    parts = [p for i in response["output"] if i.get("type") == "message" for p in i.get("content", [])]
    annotations = [a for p in parts for a in p.get("annotations") or []]
    assert annotations, "the answer cites nothing"
    for part in parts:
        for a in part.get("annotations") or []:
            host = a["url"].split("/")[2]
            assert part["text"][a["start_index"]:a["end_index"]] == f"([{host}]({a['url']}))", a
            assert a["url"] in opened, f"{a['url']} cited, but the pages opened were {sorted(opened)}"
    # Codex read the web_search_call items (it shows each search's query and each opened URL)
    for a in actions:
        shown = a.get("query") if a.get("type") == "search" else a.get("url")
        assert f"web search: {shown}" in proc.stderr, f"codex did not show the call {a}"
    # the last message is the answer (the scripted model's preamble is a message too)
    answer = "".join(p.get("text", "") for p in [i for i in response["output"] if i.get("type") == "message"][-1]
                     .get("content", []))
    assert answer.strip() in proc.stdout, "codex did not print the model's cited answer"
