"""Probe: one `codex exec` turn per text scenario against the live target (rule `client.codex`).

Codex runs in a throw-away CODEX_HOME whose config.toml names the target as a Responses
provider; the key travels in an environment variable, never on the command line. Without a
`codex` executable on PATH the probe is reported skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.findings import Finding
    from conformance.recording import ExchangeRecord

RULE_ID = "client.codex"
CLIENT = "codex"
PROVIDER = "conformance_target"
KEY_ENV = "CONFORMANCE_CODEX_API_KEY"
TEXT_TAG = "text"
DEFAULT_PROMPT = "Say hello in one short sentence."

def find_codex() -> str | None:
    return shutil.which("codex")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def codex_config(base_url: str, model: str, *, timeout_s: float) -> str:
    """config.toml for the throw-away CODEX_HOME: the target as the only provider, no retries
    (a retry would hide the first broken stream)."""
    return "\n".join([
        f"model = {_toml_string(model)}",
        f"model_provider = {_toml_string(PROVIDER)}",
        "",
        f"[model_providers.{PROVIDER}]",
        'name = "conformance target"',
        f"base_url = {_toml_string(base_url)}",
        f"env_key = {_toml_string(KEY_ENV)}",
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        f"stream_idle_timeout_ms = {int(timeout_s * 1000)}",
        "",
    ])


def build_command(codex: str, prompt: str, *, model: str) -> list[str]:
    """The argv of one non-interactive turn; JSONL events on stdout."""
    return [codex, "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only", "-m", model, prompt]


def build_env(codex_home: Path, api_key: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["CODEX_HOME"] = str(codex_home)
    # Codex refuses to start without the provider's key variable; a keyless target ignores it.
    env[KEY_ENV] = api_key or "conformance-no-key"
    return env


@dataclass
class CodexTurn:
    scenario: str
    accepted: bool
    exit_code: int | None
    message: str = ""  # Codex's error, or the start of its answer
    events: list[str] = field(default_factory=list)  # JSONL event types seen

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "exit_code": self.exit_code, "message": self.message,
                "events": self.events}


def judge_output(scenario: str, exit_code: int | None, stdout: str, stderr: str) -> CodexTurn:
    """Accepted: exit 0, a `turn.completed` event, no `turn.failed` / `error` event."""
    types: list[str] = []
    error = answer = ""
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = str(event.get("type", ""))
        types.append(kind)
        if kind in ("turn.failed", "error"):
            nested = event.get("error")
            detail: dict[str, Any] = nested if isinstance(nested, dict) else event
            error = error or str(detail.get("message") or kind)
        found = event.get("item")
        item: dict[str, Any] = found if isinstance(found, dict) else {}
        if kind == "item.completed" and item.get("type") == "agent_message":
            answer = str(item.get("text", ""))
    accepted = exit_code == 0 and "turn.completed" in types and not error
    if not accepted and not error:
        tail = " ".join(stderr.strip().splitlines()[-3:])
        error = tail or f"exit code {exit_code}, events: {', '.join(types) or 'none'}"
    return CodexTurn(scenario, accepted, exit_code, error if not accepted else answer[:200], types)


class PromptCollector:
    """Runner observer: remembers the first text prompt each scenario sent, for Codex to repeat."""

    def __init__(self) -> None:
        self.prompts: dict[str, str] = {}

    def observe(self, record: ExchangeRecord) -> list[Finding]:
        if record.scenario and record.scenario not in self.prompts and record.method == "POST":
            text = prompt_of(record.request_json)
            if text:
                self.prompts[record.scenario] = text
        return []


def prompt_of(request: Any) -> str | None:
    """The last user text of a create-response request (a string `input` or message items)."""
    if not isinstance(request, dict):
        return None
    value = request.get("input")
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [str(p.get("text")) for p in content if isinstance(p, dict) and p.get("type") == "input_text"]
    return texts[-1] if texts else None


def run_turn(
    codex: str, scenario: str, prompt: str, *, base_url: str, model: str, api_key: str | None, timeout_s: float
) -> CodexTurn:
    with tempfile.TemporaryDirectory(prefix="conformance-codex-") as tmp:
        home = Path(tmp) / "home"
        work = Path(tmp) / "work"
        home.mkdir()
        work.mkdir()
        (home / "config.toml").write_text(codex_config(base_url, model, timeout_s=timeout_s), encoding="utf-8")
        try:
            done = subprocess.run(
                build_command(codex, prompt, model=model), cwd=work, env=build_env(home, api_key),
                capture_output=True, text=True, timeout=timeout_s + 30, stdin=subprocess.DEVNULL, check=False,
            )
        except subprocess.TimeoutExpired:
            return CodexTurn(scenario, False, None, f"codex exec did not finish within {timeout_s + 30:g}s")
        except OSError as exc:
            return CodexTurn(scenario, False, None, f"cannot run {codex}: {exc}")
    return judge_output(scenario, done.returncode, done.stdout, done.stderr)


def run_codex(
    scenarios: Iterable[tuple[str, tuple[str, ...]]],
    prompts: Mapping[str, str],
    *,
    base_url: str | None,
    model: str,
    api_key: str | None,
    timeout_s: float,
    codex: str | None = None,
) -> tuple[dict[str, CodexTurn], str | None]:
    """One turn per text scenario (id, tags) that ran. Returns (turns, skip reason)."""
    codex = codex or find_codex()
    if codex is None:
        return {}, "codex is not installed (no `codex` executable on PATH)"
    if not base_url:
        return {}, "codex needs a target reachable over HTTP (--base-url or the embedded server), not --app"
    turns = {}
    for scenario, tags in scenarios:
        if TEXT_TAG in tags and scenario in prompts:
            turns[scenario] = run_turn(codex, scenario, prompts[scenario] or DEFAULT_PROMPT, base_url=base_url,
                                       model=model, api_key=api_key, timeout_s=timeout_s)
    return turns, None


def finding_for(turn: CodexTurn, profile: str = "openai") -> Finding | None:
    if turn.accepted:
        return None
    from conformance.registry import make_finding

    return make_finding(RULE_ID, f"codex exec did not accept the target's stream: {turn.message}", profile=profile)
