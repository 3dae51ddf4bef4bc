"""The core install (no extras) runs the offline checker; every other command names its extra.

A clean `pip install .` is simulated: a subprocess whose imports of anything outside the core
dependencies (jsonschema, referencing, orjson, jsonschema-rs) fail as if the package were not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conformance.extras import EXTRA_OF

ROOT = Path(__file__).parents[1]
NEGATIVE = "fixtures/streams/negative/wild/content-part-added-never-sent.sse"
NOT_CORE = sorted({*EXTRA_OF, "openai", "httpx2", "hypothesis", "pytest", "uvloop", "httptools"})
BLOCKER = '''
import runpy, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
for name in list(sys.modules):
    if name.partition(".")[0] in BLOCKED:
        del sys.modules[name]
module, sys.argv = sys.argv[2], [sys.argv[2], *sys.argv[3:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
'''


def _run(tmp_path: Path, blocked: list[str], module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "blocked.py"
    script.write_text(BLOCKER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), ",".join(blocked), module, *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_core_dependencies_are_the_checkers() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {d.split(">")[0].split("=")[0].split("<")[0] for d in project["dependencies"]}
    # jsonschema-rs: the compiled validator (one abi3 wheel); without it the checker falls back
    # to plain-Python predicates with the same verdicts (tests/conformance/test_contracts_rs.py).
    assert core == {"jsonschema", "referencing", "orjson", "jsonschema-rs"}
    extras = project["optional-dependencies"]
    assert {"run", "server", "torch", "dev"} <= set(extras)
    assert any(d.startswith("torch>=") and "<2.15" in d for d in extras["torch"])  # never unpinned
    assert "responses-conformance[run,server,torch]" in extras["dev"]


def test_check_and_rules_run_on_the_core_alone(tmp_path: Path) -> None:
    checked = _run(tmp_path, NOT_CORE, "conformance", "check", NEGATIVE)
    assert checked.returncode == 1, checked.stderr
    assert "part.not-added" in checked.stdout and checked.stderr == ""
    rules = _run(tmp_path, NOT_CORE, "conformance", "rules")
    assert rules.returncode == 0 and "lifecycle.no-terminal" in rules.stdout, rules.stderr
    # --client openai-python without openai: said in the report, not silently passed over.
    probed = _run(tmp_path, NOT_CORE, "conformance", "check", "--client", "openai-python", NEGATIVE)
    assert probed.returncode == 1, probed.stderr
    assert "note: client openai-python: not run, openai is not installed" in probed.stdout


@pytest.mark.parametrize(
    ("argv", "extra"),
    [(["run"], "run"), (["record", "--out", "x"], "run"), (["replay", "fixtures"], "run"), (["scenarios"], "run")],
)
def test_a_command_without_its_extra_names_it(tmp_path: Path, argv: list[str], extra: str) -> None:
    done = _run(tmp_path, NOT_CORE, "conformance", *argv)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"needs the [{extra}] extra" in done.stderr and f"pip install 'responses-conformance[{extra}]'" in done.stderr


def test_the_embedded_server_without_its_extra_names_it(tmp_path: Path) -> None:
    done = _run(tmp_path, ["fastapi"], "conformance", "run", "--no-progress")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "embedded reference server needs the [server] extra" in done.stderr and "--base-url" in done.stderr


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [(NOT_CORE, [], "server"), (["platformdirs"], [], "server"), (["llguidance"], ["--backend", "torch"], "torch")],
)
def test_reference_server_without_its_extra_names_it(tmp_path: Path, blocked: list[str], argv: list[str], extra: str) -> None:
    done = _run(tmp_path, blocked, "reference_server", "--port", "0", "--db", ":memory:", *argv)
    assert done.returncode == 2 and "serving" not in done.stdout
    assert done.stderr.count("\n") == 1 and f"needs the [{extra}] extra" in done.stderr, done.stderr


def test_the_run_without_openai_says_so(tmp_path: Path) -> None:
    done = _run(tmp_path, ["openai"], "conformance", "run", "--no-progress", "--client", "openai-python",
                "--app", "reference_server:create_app", "--scenario", "streaming-response")
    assert done.returncode == 0, done.stderr
    assert "note: client openai-python: not run, openai is not installed" in done.stdout
