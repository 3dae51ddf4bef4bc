"""The fixture corpus: every fixture gets exactly the verdict its sidecar expects.

Also: every checker rule (except http.* and client.*) has a negative fixture, sidecars follow
fixtures/sidecar.schema.json, the generator reproduces the corpus, and `conformance fixtures`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main as cli_main
from conformance.fixture_corpus import (
    FixtureError,
    covered_rules,
    default_root,
    load_fixtures,
    validate_sidecar,
    verify,
)
from scripts import fixture_specs
from tests.paths import SEED, require_shared

FIXTURES = load_fixtures()
BY_NAME = {fx.name: fx for fx in FIXTURES}

# The defect classes of PROTOCOL.md "Defects seen in the wild", one fixture each (by behaviour).
WILD = [
    "last-message-never-closed",
    "tool-call-markup-as-text",
    "output-index-changes-between-delta-and-done",
    "empty-item-id",
    "completed-output-empty-although-text-streamed",
    "ids-differ-in-completed-output",
    "function-call-arguments-done-missing",
    "output-index-starts-at-1",
    "snapshots-without-created-at-and-model",
    "sequence-number-restarts-per-item",
    "usage-without-details",
    "events-without-output-index-and-content-index",
    "content-part-added-never-sent",
    "content-events-for-unannounced-item",
    "shared-output-index",
    "item-id-changes-per-delta",
    "stream-closes-without-terminal",
    "done-events-then-more-deltas",
    "vendor-event-before-created",
    "only-created-text-done-completed",
    # gpt-oss reference server
    "output-index-off-by-one-between-added-and-done",
    "function-call-only-output-item-done",
    "null-item-status",
    "created-at-changing",
    "max-output-tokens-ends-completed",
    "validation-error-as-detail-body",
]

# Event families the built positives must cover (task list), by fixture name.
BUILT_POSITIVES = [
    "text",
    "multiple-messages",
    "function-call",
    "parallel-function-calls",
    "refusal",
    "reasoning-summaries",
    "reasoning-text-gpt-oss",
    "incomplete-max-output-tokens",
    "failed-with-error",
    "annotations",
    "logprobs",
    "hosted-web-search",
    "hosted-file-search",
    "hosted-code-interpreter",
    "hosted-image-generation",
    "hosted-mcp",
    "custom-tool-call",
    "queued-background",
    "done-sentinel",
    "crlf-line-endings",
    "comment-keepalives",
    "non-stream-body",
]


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_fixture_verdict_matches_sidecar(name: str) -> None:
    verdict = verify(BY_NAME[name])
    assert verdict.ok, verdict.explain()


def test_corpus_shape() -> None:
    captures = [fx for fx in FIXTURES if fx.name.startswith("positive/openai-api/")]
    assert len(captures) == 14
    for name in BUILT_POSITIVES:
        assert f"positive/built/{name}" in BY_NAME, name
    for name in WILD:
        assert f"negative/wild/{name}" in BY_NAME, name
    for fx in FIXTURES:
        if not fx.negative:
            assert fx.expected_errors == frozenset(), (
                f"{fx.name}: a positive fixture expects errors"
            )
        else:
            assert fx.expected_errors or fx.expected_warnings or fx.expected_infos, fx.name


def test_every_rule_has_a_negative_fixture() -> None:
    from conformance.registry import all_rules

    # ws.* rules judge WebSocket transcripts: their fixtures are fixtures/websocket/ (test_ws_transcripts.py)
    ids = {r.id for r in all_rules() if r.family not in ("http", "client", "upstream", "ws")}
    assert len(ids) >= 64  # RULES.md lists 64 such ids; the registry may add more
    covered = covered_rules(FIXTURES)
    missing = sorted(ids - covered.keys())
    assert not missing, f"rules without a negative fixture: {missing}"
    unknown = sorted(set(covered) - {r.id for r in all_rules()})
    assert not unknown, f"sidecars name rules the registry does not know: {unknown}"


def test_sidecars_validate_against_schema() -> None:
    for fx in FIXTURES:
        assert validate_sidecar(fx.sidecar) == [], fx.name
    assert validate_sidecar(
        {"description": "x", "kind": "sse", "expected": {"errors": []}}
    )  # no provenance
    bad = {
        "description": "x",
        "provenance": {"source": "wild"},
        "kind": "sse",
        "expected": {"errors": ["Not An Id"]},
    }
    problems = validate_sidecar(bad)
    assert any("trackers" in p for p in problems) and any(
        "/expected/errors/0" in p for p in problems
    )


def test_captures_are_byte_identical_to_the_seed() -> None:
    for sse in require_shared(SEED).glob("*.sse"):
        fx = BY_NAME[f"positive/openai-api/{sse.stem}"]
        assert fx.body() == sse.read_bytes(), sse.name
        meta_path = sse.with_suffix(".json")
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            prov = fx.sidecar["provenance"]
            assert (prov["repo"], prov["path"], prov["commit"]) == (
                meta["repo"],
                meta["path"],
                meta["commit"],
            )


def test_generator_reproduces_the_committed_corpus() -> None:
    files = fixture_specs.generate()
    on_disk = {
        p.relative_to(default_root()).as_posix(): p
        for p in default_root().rglob("*")
        if p.is_file()
    }
    assert sorted(files) == sorted(on_disk)
    stale = [k for k, data in files.items() if on_disk[k].read_bytes() != data]
    assert not stale, f"run `python scripts/make_fixtures.py`: {stale[:5]}"


def test_every_built_fixture_names_the_spec_that_generates_it() -> None:
    """The sidecar's `spec` leads to the code: `<module>.<file stem>` is the @spec function of
    scripts/fixture_specs/<module>.py; a negative fixture's module is its rule family's."""
    specs = fixture_specs.SPECS
    assert len({sp.name for sp in specs}) == len(specs)
    for sp in specs:
        assert BY_NAME[sp.path].sidecar["spec"] == sp.name
        module, _, stem = sp.name.partition(".")
        assert sp.build.__module__ == f"scripts.fixture_specs.{module}"
        assert stem == sp.path.rpartition("/")[2]
        parts = sp.path.split("/")
        if parts[0] == "positive":
            assert module == "positive", sp.path
        elif parts[1] == "wild":
            assert module == (sp.errors or sp.warnings)[0].partition(".")[0], sp.path
        else:
            assert module in (parts[1], "web_search"), sp.path
    built = {sp.path for sp in specs}
    assert not [fx.name for fx in FIXTURES if fx.name not in built and "spec" in fx.sidecar]


def test_generator_entry_points(tmp_path: Path) -> None:
    """`python scripts/make_fixtures.py --check` works from any directory (the script puts the
    repository on sys.path itself); `--list` names each spec next to its fixture."""
    script = Path(fixture_specs.__file__).resolve().parents[1] / "make_fixtures.py"
    run = subprocess.run([sys.executable, str(script), "--check"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = subprocess.run([sys.executable, str(script), "--list"], cwd=tmp_path, capture_output=True, text=True, check=True)
    rows = [line.split("  ") for line in listed.stdout.splitlines()]
    assert {(sp.name, sp.path) for sp in fixture_specs.SPECS} == {tuple(r) for r in rows}


# ---- loader errors ------------------------------------------------------------------------------
def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        fx = BY_NAME[name]
        for src in (fx.body_path, fx.sidecar_path):
            dst = tmp_path / src.relative_to(default_root())
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    return tmp_path


def test_loader_rejects_body_without_sidecar(tmp_path: Path) -> None:
    (tmp_path / "x.sse").write_bytes(b"data: {}\n\n")
    with pytest.raises(FixtureError, match="no sidecar"):
        load_fixtures(tmp_path)


def test_loader_rejects_sidecar_without_body(tmp_path: Path) -> None:
    root = _copy(tmp_path, "negative/usage/total")
    (root / "negative/usage/total.sse").unlink()
    with pytest.raises(FixtureError, match="without a body"):
        load_fixtures(root)


def test_loader_rejects_invalid_sidecar(tmp_path: Path) -> None:
    root = _copy(tmp_path, "negative/usage/total")
    (root / "negative/usage/total.json").write_text('{"description": "x"}')
    with pytest.raises(FixtureError, match="invalid sidecar"):
        load_fixtures(root)


def test_loader_names_relative_to_root(tmp_path: Path) -> None:
    root = _copy(tmp_path, "negative/usage/total", "positive/built/non-stream-body")
    names = [fx.name for fx in load_fixtures(root)]
    assert names == ["negative/usage/total", "positive/built/non-stream-body"]
    assert [fx.name for fx in load_fixtures(root / "negative/usage/total.sse")] == ["total"]


# ---- the CLI -------------------------------------------------------------------------------------
def test_cli_verify_passes_on_a_correct_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(tmp_path, "negative/usage/total", "positive/built/text")
    assert cli_main(["fixtures", "verify", str(root)]) == 0
    assert "2 as expected, 0 changed" in capsys.readouterr().out


def test_cli_verify_fails_on_a_changed_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(tmp_path, "negative/usage/total", "positive/built/text")
    side = root / "negative/usage/total.json"
    data = json.loads(side.read_text())
    data["expected"]["errors"] = ["usage.missing"]
    side.write_text(json.dumps(data))
    assert cli_main(["fixtures", "verify", str(root), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] == ["negative/usage/total"]
    row = next(r for r in out["fixtures"] if r["name"] == "negative/usage/total")
    assert "usage.total" in row["actual"]["errors"]
    assert any("usage.missing" in p for p in row["problems"])


def test_cli_list_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["fixtures", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["fixtures"]
    assert len(rows) == len(FIXTURES)
    assert cli_main(["fixtures", "list"]) == 0
    assert f"{len(FIXTURES)} fixtures" in capsys.readouterr().out
    # The fixtures/ folder itself means its streams/ (fixtures/upstream/ is other data).
    assert cli_main(["fixtures", "list", str(default_root().parent)]) == 0
    assert f"{len(FIXTURES)} fixtures" in capsys.readouterr().out
    assert cli_main(["fixtures", "verify", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli_main(["fixtures", "verify", str(tmp_path)]) == 2  # empty folder
    assert cli_main(["fixtures"]) == 2
