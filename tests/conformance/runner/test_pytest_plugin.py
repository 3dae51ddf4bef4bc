"""The pytest plugin: scenarios as tests only when a target option is given, and the
`responses_checker` fixture. Run in a subprocess pytest (the real plugin loading path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.pytest_plugin import ResponsesChecker
from tests.conformance.runner import fakes
from tests.conformance.runner.conftest import FAKES

REPO = Path(__file__).resolve().parents[3]

USER_TESTS = '''
from tests.conformance.runner import fakes

def test_good_stream(responses_checker):
    events = fakes.text_events({"model": "m", "input": "hi"}, fakes.Defects())
    responses_checker.assert_conformant(b"".join(fakes.sse(e) for e in events))

def test_broken_stream_is_reported(responses_checker):
    events = fakes.text_events({"model": "m", "input": "hi"}, fakes.Defects(output_index_offset=1))
    try:
        responses_checker.assert_conformant(events)
    except AssertionError as exc:
        assert "item.index-not-contiguous" in str(exc)
    else:
        raise AssertionError("not reported")
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_user.py"
    test_file.write_text(USER_TESTS)
    # Autoload off and the plugin named explicitly: the same whether or not the package (and so
    # its pytest11 entry point) is installed, and no unrelated plugin slows the subprocess down.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.pytest_plugin", "-rfs", "--no-header",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test_file), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_plugin_does_nothing_without_a_target(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout and "responses-conformance" not in proc.stdout


def test_plugin_runs_scenarios_as_tests(tmp_path: Path) -> None:
    proc = _pytest(
        tmp_path,
        "--responses-app", f"{FAKES}:index_off_by_one_app",
        "--responses-scenario", "basic-response,streaming-response,image-input",
        "--responses-skip", "image-input",
        "-v",
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "responses-conformance::basic-response PASSED" in out
    assert "responses-conformance::streaming-response FAILED" in out
    assert "responses-conformance::image-input SKIPPED" in out
    assert "item.index-not-contiguous" in out  # the failure shows the findings
    assert "1 failed, 3 passed, 1 skipped" in out


def test_checker_fixture_object_in_process() -> None:
    checker = ResponsesChecker()
    request = {"model": "m", "input": "hi"}
    good = fakes.text_events(request, fakes.Defects())
    body = b"".join(fakes.sse(e) for e in good)
    assert checker.assert_conformant(body, request).ok
    assert checker.assert_conformant(good[-1]["response"]).ok  # a Response body
    with pytest.raises(AssertionError, match=r"part\.not-added"):
        checker.assert_conformant(fakes.text_events(request, fakes.Defects(drop_content_part_added=True)))


def _no_sequence_numbers() -> list[dict[str, object]]:
    events = fakes.text_events({"model": "m", "input": "hi"}, fakes.Defects())
    for ev in events:
        ev.pop("sequence_number", None)
    return events


def test_checker_fixture_tolerances_and_target_kind() -> None:
    with pytest.raises(AssertionError, match=r"sequence\.missing"):
        ResponsesChecker().assert_conformant(_no_sequence_numbers())
    tolerant = ResponsesChecker(tolerate=["sequence-number-absent"])
    assert tolerant.profile == "openai[tolerate=sequence-number-absent]"
    result = tolerant.assert_conformant(_no_sequence_numbers())
    assert [f.severity for f in result.findings if f.rule == "sequence.missing"] == ["warning"]
    request = {"model": "m", "input": "hi", "tool_choice": "required",
               "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]}
    events = fakes.text_events(request, fakes.Defects())
    with pytest.raises(AssertionError, match=r"call\.tool-choice"):
        ResponsesChecker().assert_conformant(events, request)
    result = ResponsesChecker(target_kind="proxy").assert_conformant(events, request)
    (f,) = [f for f in result.findings if f.rule == "call.tool-choice"]
    assert f.severity == "warning" and f.kind == "model"
    assert f.message.startswith("the model behind this server")
    with pytest.raises(ValueError, match="unknown tolerance"):
        ResponsesChecker(tolerate=["no-such-thing"])


TOLERANT_TESTS = '''
from tests.conformance.runner import fakes

def test_recording_without_sequence_numbers(responses_checker):
    events = fakes.text_events({"model": "m", "input": "hi"}, fakes.Defects())
    for ev in events:
        ev.pop("sequence_number", None)
    responses_checker.assert_conformant(events)
'''


def test_plugin_tolerate_option(tmp_path: Path) -> None:
    (tmp_path / "test_tolerant.py").write_text(TOLERANT_TESTS)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    base = [sys.executable, "-m", "pytest", "-p", "conformance.pytest_plugin", "-q", "--no-header",
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path / "test_tolerant.py")]
    strict = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert strict.returncode == 1 and "sequence.missing" in strict.stdout, strict.stdout + strict.stderr
    tolerant = subprocess.run([*base, "--responses-tolerate", "sequence-number-absent"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
    assert tolerant.returncode == 0, tolerant.stdout + tolerant.stderr
    bad = subprocess.run([*base, "--responses-tolerate", "nope"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 4 and "unknown tolerance" in bad.stderr, bad.stdout + bad.stderr
