"""Tests of `conformance check` and `conformance rules` (in-process; one subprocess smoke test)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.checker_bench import long_sse
from conformance.cli import main
from conformance.report import Report
from conformance.reporters import available_formats

REPO = Path(__file__).resolve().parents[2]


def _events(stream: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(ln[6:]) for ln in stream.split(b"\n") if ln.startswith(b"data: ")]


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events
    )


GOOD = long_sse(60, n_messages=2)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.sse"
    path.write_bytes(GOOD)
    return path


@pytest.fixture
def truncated(tmp_path: Path) -> Path:
    """The same stream without its terminal event: lifecycle.no-terminal (an error)."""
    path = tmp_path / "truncated.sse"
    path.write_bytes(_sse(_events(GOOD)[:-1]))
    return path


@pytest.fixture
def warn_only(tmp_path: Path) -> Path:
    """Without response.in_progress and renumbered: only lifecycle.in-progress-missing (warning)."""
    events = [e for e in _events(GOOD) if e["type"] != "response.in_progress"]
    for i, e in enumerate(events):
        e["sequence_number"] = i
    path = tmp_path / "warn.sse"
    path.write_bytes(_sse(events))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def rules_of(out: str) -> set[str]:
    report = Report.from_dict(json.loads(out))
    return {f.rule for case in report.cases for f in case.findings}


# -- exit codes and input kinds -------------------------------------------------------------


def test_valid_stream_exits_0(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(good)], capsys)
    assert code == 0, out
    assert out.rstrip().splitlines()[-1].startswith("0 errors")
    assert "in 1 stream" in out


def test_truncated_stream_exits_1_and_names_rule(
    truncated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", str(truncated)], capsys)
    assert code == 1
    assert "lifecycle.no-terminal" in out
    assert "breaks:" in out and "codex" in out


def test_fail_on_warning(warn_only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--format", "json", str(warn_only)], capsys)
    assert code == 0
    assert "lifecycle.in-progress-missing" in rules_of(out)
    code, _, _ = run(["check", "--fail-on", "warning", str(warn_only)], capsys)
    assert code == 1


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(GOOD)))
    code, out, _ = run(["check", "--format", "json", "-"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["cases"][0]["id"] == "<stdin>"
    assert doc["cases"][0]["event_count"] == 60


def test_several_paths_one_case_each(
    good: Path, truncated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", "--format", "json", str(good), str(truncated)], capsys)
    assert code == 1
    doc = json.loads(out)
    assert [(c["id"], c["status"]) for c in doc["cases"]] == [
        (str(good), "passed"),
        (str(truncated), "failed"),
    ]
    assert doc["meta"]["unit"] == "stream"


def test_json_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = _events(GOOD)[-1]["response"]
    path = tmp_path / "body.json"
    path.write_bytes(b"\n  " + orjson.dumps(body, option=orjson.OPT_INDENT_2))
    code, out, _ = run(["check", "--format", "json", str(path)], capsys)
    assert code == 0, out
    assert json.loads(out)["cases"][0]["details"]["input"] == "json"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(body))  # a BOM, as some editors save it
    assert run(["check", str(path)], capsys)[0] == 0
    # A broken body: usage does not add up.
    body["usage"]["total_tokens"] += 1
    path.write_bytes(orjson.dumps(body))
    code, out, _ = run(["check", "--format", "json", str(path)], capsys)
    assert code == 1
    assert "usage.total" in rules_of(out)


def test_json_event_object_is_checked_as_a_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `{"type": ...}` is an event, not a body: it is read as (broken) SSE, not as a Response.
    # Without any `data:` line it is not a stream either: unreadable input, one line, exit 2.
    path = tmp_path / "event.json"
    path.write_bytes(orjson.dumps(_events(GOOD)[0]))
    code, out, err = run(["check", "--format", "json", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "JSON, but neither a Response body nor an SSE stream" in err
    # As a data line it is a (broken) stream: judged, not refused.
    path.write_bytes(b"data: " + orjson.dumps(_events(GOOD)[0]) + b"\n\n")
    code, out, _ = run(["check", "--format", "json", str(path)], capsys)
    assert code == 1
    case = json.loads(out)["cases"][0]
    assert case["details"]["input"] == "sse" and "lifecycle.no-terminal" in rules_of(out)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"<html>502 Bad Gateway</html>", "HTML"),
        (b"<!doctype html>\n<html><body>\n<h1>Not Found</h1>\n</body></html>\n", "HTML"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\xf0\x9f" * 40, "binary"),
        (b"[1, 2, 3]", "JSON"),
        (b'{"model": "x", "input": ', "JSON"),
        (b"hello\nworld\n", "not an SSE stream"),
    ],
)
def test_input_that_is_not_a_stream_is_unreadable(
    content: bytes, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "capture.sse"
    path.write_bytes(content)
    code, out, err = run(["check", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"conformance check: error: {path}: ") and err.count("\n") == 1
    assert said in err and "lifecycle.no-terminal" not in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b": keep-alive\n\n", b"event: ping\n\n", b"\xef\xbb\xbf: hi\n\n"])
def test_a_stream_without_events_is_not_a_pass(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SSE (comments, data-less blocks) that never sends an event: judged, and it fails.
    path = tmp_path / "quiet.sse"
    path.write_bytes(content)
    code, out, _ = run(["check", str(path)], capsys)
    assert code == 1
    assert "nothing to check: the input holds no SSE event" in out and "lifecycle.no-terminal" in out


def test_content_type(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(
        ["check", "--content-type", "text/event-stream; charset=utf-8", str(good)], capsys
    )
    assert code == 0
    code, out, _ = run(
        ["check", "--format", "json", "--content-type", "application/json", str(good)], capsys
    )
    assert code == 1
    assert "framing.content-type" in rules_of(out)


def test_request_enables_request_aware_rules(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "request.json"
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    request.write_text(
        json.dumps({"model": "gpt-4o", "input": "hi", "tools": [tool], "tool_choice": "required"})
    )
    code, out, _ = run(["check", "--format", "json", str(good)], capsys)
    assert "call.tool-choice" not in rules_of(out)
    code, out, _ = run(["check", "--format", "json", "--request", str(request), str(good)], capsys)
    assert code == 1
    assert "call.tool-choice" in rules_of(out)


def test_profile_is_passed_on(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No [DONE] sentinel: fine for OpenAI, an error under openresponses.
    assert run(["check", str(good)], capsys)[0] == 0
    code, out, _ = run(
        ["check", "--format", "json", "--profile", "openresponses", str(good)], capsys
    )
    assert code == 1
    assert json.loads(out)["profile"] == "openresponses"
    assert "framing.done-sentinel" in rules_of(out)


def test_large_input_is_read_in_chunks(
    good: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reads: list[int] = []

    class Spy(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            reads.append(len(data))
            return data

    from conformance import inputs

    monkeypatch.setattr(inputs, "CHUNK_SIZE", 100)
    case = inputs.check_input("spy", Spy(GOOD))
    assert case.status == "passed" and case.event_count == 60
    assert max(reads) <= 100 and len(reads) > len(GOOD) // 100


# -- output formats -------------------------------------------------------------------------


def test_json_report_round_trips(truncated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["check", "--format", "json", str(truncated)], capsys)
    doc = json.loads(out)
    report = Report.from_dict(doc)
    assert report.cases[0].status == "failed"
    assert Report.from_dict(report.to_dict()) == report


def test_junit_to_file(truncated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.xml"
    code, out, _ = run(
        ["check", "--format", "junit", "--output", str(target), str(truncated)], capsys
    )
    assert code == 1 and out == ""
    root = ET.parse(target).getroot()
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "lifecycle.no-terminal" in (failure.get("message") or "")


def test_text_to_file_has_no_colour(
    truncated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.txt"
    run(["check", "--output", str(target), str(truncated)], capsys)
    text = target.read_text(encoding="utf-8")
    assert "lifecycle.no-terminal" in text and "\x1b[" not in text


# -- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["check", "missing.sse"], "missing.sse: no such file"),
        # A folder is a corpus (tests/conformance/test_corpus.py); one without a body is refused.
        (["check", "{tmp}/empty"], "is a directory without a .sse or .body.json file"),
        (["check", "{good}", "--request", "missing.json"], "--request missing.json"),
        (["check", "{good}", "--request", "{bad_json}"], "not valid JSON"),
        (["check", "{good}", "--request", "{list_json}"], "must be a JSON object"),
        (["check", "-", "-"], "only once"),
        (["check", "{good}", "--output", "{tmp}/no/such/dir/out.txt"], "--output"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str],
    reason: str,
    good: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "empty").mkdir()
    subs = {
        "tmp": str(tmp_path),
        "good": str(good),
        "bad_json": str(tmp_path / "bad.json"),
        "list_json": str(tmp_path / "list.json"),
    }
    code, _, err = run([a.format(**subs) for a in argv], capsys)
    assert code == 2
    assert reason in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unknown_profile_is_an_argparse_error(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "--profile", "nope", str(good)])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- rules ----------------------------------------------------------------------------------


def test_rules_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules"], capsys)
    assert code == 0
    for rule_id in ("framing.invalid-json", "lifecycle.no-terminal", "usage.total"):
        assert rule_id in out
    code, out, _ = run(["rules", "--format", "json"], capsys)
    rows = {r["id"]: r for r in json.loads(out)["rules"]}
    assert rows["lifecycle.no-terminal"]["severity"] == "error"
    assert "codex" in rows["lifecycle.no-terminal"]["breaks"]
    assert rows["framing.unterminated"]["family"] == "framing"


def test_rules_profile_changes_severity(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["rules", "--format", "json", "--profile", "openresponses"], capsys)
    rows = {r["id"]: r for r in json.loads(out)["rules"]}
    assert rows["lifecycle.error-without-failed"]["severity"] == "error"
    assert rows["lifecycle.error-without-failed"]["default_severity"] == "warning"
    _, out, _ = run(["rules", "--profile", "openresponses", "--family", "lifecycle"], capsys)
    assert "error*" in out and "framing." not in out


def test_rules_unknown_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["rules", "--family", "nope"], capsys)
    assert code == 2 and "nope" in err


# -- the real command -----------------------------------------------------------------------


def test_subprocess_exit_codes(good: Path, truncated: Path, tmp_path: Path) -> None:
    def conformance(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "conformance", "check", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )

    assert conformance(str(good)).returncode == 0
    broken = conformance(str(truncated))
    assert broken.returncode == 1 and "lifecycle.no-terminal" in broken.stdout
    missing = conformance(str(tmp_path / "nope.sse"))
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("no such file")
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize("fmt", available_formats())
def test_every_available_format_renders(
    fmt: str, truncated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", "--format", fmt, str(truncated)], capsys)
    assert code == 1
    assert "lifecycle.no-terminal" in out
