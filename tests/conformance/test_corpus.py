"""Corpus mode of `conformance check` (folders, .jsonl, .parquet; -j N) and `check_record`."""

from __future__ import annotations

import base64
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from conformance.cli import main
from conformance.corpus import check_record, check_records, iter_dir, summarise

REPO = Path(__file__).resolve().parents[2]
STREAMS = REPO / "fixtures" / "streams"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _jsonl(out: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.splitlines()]


def _verdicts(results: list[dict[str, Any]]) -> dict[str, tuple[str, list[str]]]:
    return {r["path"]: (r["verdict"], sorted(f["rule"] for f in r["findings"])) for r in results}


def _records_file(tmp_path: Path, n: int | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """The fixtures as one JSON-lines file of records (sidecar fields + inline body)."""
    records = []
    for rec in iter_dir(STREAMS):
        path = Path(rec.pop("path"))
        body = path.read_bytes()
        if path.name.endswith(".body.json"):
            rec["body"] = orjson.loads(body)
        else:
            try:
                rec["body"] = body.decode()
            except UnicodeDecodeError:  # framing.invalid-utf8 fixtures travel as base64
                rec["body_base64"] = base64.b64encode(body).decode()
        rec["id"] = path.relative_to(REPO).as_posix()
        records.append(rec)
    records = records[:n] if n else records
    out = tmp_path / "corpus.jsonl"
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return out, records


@pytest.fixture(scope="module")
def fixtures_j1() -> dict[str, tuple[str, list[str]]]:
    return _verdicts(list(check_records(iter_dir(STREAMS), jobs=1)))


def test_same_verdicts_j1_and_j2_on_every_fixture(capsys: pytest.CaptureFixture[str], fixtures_j1: Any) -> None:
    code, out, err = _run(capsys, str(STREAMS), "-j", "2", "--format", "jsonl")
    results = _jsonl(out)
    assert _verdicts(results) == fixtures_j1
    assert len(results) == len(list(STREAMS.rglob("*.sse"))) + len(list(STREAMS.rglob("*.body.json")))
    assert code == 1  # the negative fixtures fail
    assert "files:" in err  # the summary goes to stderr so stdout stays JSON lines


def test_workers_fork_from_a_single_threaded_caller_else_from_the_fork_server() -> None:
    # A plain fork copies other threads' locks as held forever: only a process that runs one
    # thread forks its workers; any other thread (a Python one here) selects the fork server.
    script = (
        "import threading\n"
        "from conformance.corpus import _pool_context\n"
        "print(_pool_context().get_start_method())\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait)\n"
        "t.start()\n"
        "print(_pool_context().get_start_method())\n"
        "stop.set(); t.join()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)  # a hang guard
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fork", "forkserver"]


def test_no_plain_fork_where_threads_cannot_be_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only Linux lists a process's threads (/proc/self/task); macOS's system libraries are not
    # fork-safe either: elsewhere the workers come from the fork server.
    from conformance import corpus

    monkeypatch.setattr(sys, "platform", "darwin")
    assert not corpus._single_threaded()
    assert corpus._pool_context().get_start_method() != "fork"


def test_same_verdicts_from_fork_server_workers(fixtures_j1: Any) -> None:
    # With a thread of the caller's alive, the workers come from the fork server (which loaded
    # the rules and compiled the contracts itself): the verdicts are the same.
    import threading

    from conformance import corpus

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert corpus._pool_context().get_start_method() == "forkserver"
        results = list(check_records(iter_dir(STREAMS), jobs=2))
    finally:
        stop.set()
        thread.join()
    assert _verdicts(results) == fixtures_j1


def test_fixture_verdicts_follow_their_sidecars(fixtures_j1: dict[str, tuple[str, list[str]]]) -> None:
    # The folder reader applies each sidecar's profile, tolerances and request, so the corpus
    # verdicts are the fixtures' expected ones.
    for path, (verdict, rules) in fixtures_j1.items():
        stem = path.removesuffix(".body.json").removesuffix(".sse")
        expected = orjson.loads(Path(stem + ".json").read_bytes()).get("expected", {})
        errors = expected.get("errors", [])
        assert verdict == ("failed" if errors else "passed"), path
        assert set(errors) <= set(rules), path


def test_jsonl_lines_carry_path_verdict_counts_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(STREAMS / "negative"), "-j", "1", "--format", "jsonl")
    assert code == 1
    for result in _jsonl(out):
        assert set(result) >= {"path", "verdict", "events", "counts", "findings"}
        assert sum(result["counts"].values()) == len(result["findings"])
        for f in result["findings"]:
            assert {"rule", "severity", "message"} <= set(f)


def test_summary_counts_by_rule(capsys: pytest.CaptureFixture[str], fixtures_j1: Any) -> None:
    results = list(check_records(iter_dir(STREAMS / "negative"), jobs=1))
    summary = summarise(results)
    assert summary["files"] == len(results)
    assert sum(summary["verdicts"].values()) == len(results)
    for rule, entry in summary["rules"].items():
        with_rule = [r for r in results if any(f["rule"] == rule for f in r["findings"])]
        assert entry["files"] == len(with_rule)
        assert entry["findings"] == sum(1 for r in results for f in r["findings"] if f["rule"] == rule)
    code, out, _ = _run(capsys, str(STREAMS / "negative"), "-j", "1")
    assert code == 1
    last = out.splitlines()[-1]
    v = summary["verdicts"]
    assert last == f"{summary['files']} files: {v['passed']} passed, {v['failed']} failed, {v['error']} unreadable"
    top = max(summary["rules"].items(), key=lambda kv: kv[1]["files"])
    assert any(line.startswith(top[0] + " ") and line.split()[-1] == str(top[1]["files"]) for line in out.splitlines())


def test_jsonl_input_matches_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str], fixtures_j1: Any) -> None:
    corpus, records = _records_file(tmp_path)
    code, out, _ = _run(capsys, str(corpus), "-j", "2", "--format", "jsonl")
    assert code == 1
    by_id = {r["path"]: r for r in _jsonl(out)}
    assert len(by_id) == len(records)
    expected = {str(Path(p).resolve().relative_to(REPO).as_posix()): v for p, v in fixtures_j1.items()}
    assert _verdicts(list(by_id.values())) == expected


def test_jsonl_bad_lines_are_error_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('not json\n[1]\n{"id": "x", "body": "<html>oops</html>"}\n{"id": "y"}\n')
    code, out, _ = _run(capsys, str(corpus), "-j", "1", "--format", "jsonl")
    results = _jsonl(out)
    assert code == 1
    assert [r["verdict"] for r in results] == ["error"] * 4
    assert "not JSON" in results[0]["error"] and "HTML" in results[2]["error"]


def test_parquet_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], fixtures_j1: Any) -> None:
    pa = pytest.importorskip("pyarrow", reason="the [corpus] extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    paths = sorted(STREAMS.rglob("*.sse"))[:40]
    table = pa.table({"name": [p.name for p in paths], "sse": [p.read_bytes() for p in paths]})
    pq.write_table(table, tmp_path / "c.parquet")
    code, out, _ = _run(capsys, str(tmp_path / "c.parquet"), "--column", "sse", "-j", "2", "--format", "jsonl")
    results = sorted(_jsonl(out), key=lambda r: int(r["path"].rpartition("#")[2]))
    assert len(results) == len(paths)
    for path, result in zip(paths, results, strict=True):
        # No sidecar travels with a Parquet body: compare with the defaults' verdict.
        alone = check_record({"path": str(path)})
        assert (result["verdict"], result["findings"]) == (alone["verdict"], alone["findings"])
    assert code == (0 if all(r["verdict"] == "passed" for r in results) else 1)


def test_bad_parquet_column_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow", reason="the [corpus] extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sse": ["data: {}\n\n"]}), tmp_path / "c.parquet")
    code, out, err = _run(capsys, str(tmp_path / "c.parquet"), "--column", "body")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no column 'body'" in err and "sse" in err
    (tmp_path / "junk.parquet").write_text("not parquet")
    code, _, err = _run(capsys, str(tmp_path / "junk.parquet"))
    assert code == 2 and err.count("\n") == 1 and "not a readable Parquet file" in err
    # A column that cannot hold bodies is named once, with the columns that can, not once per row.
    pq.write_table(pa.table({"n": [1, 2], "sse": ["data: {}\n\n"] * 2, "raw": [b"x", b"y"]}), tmp_path / "n.parquet")
    code, out, err = _run(capsys, str(tmp_path / "n.parquet"), "--column", "n")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "column 'n' holds int64" in err and "columns: sse, raw" in err


def test_column_without_a_parquet_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # It would be ignored: a user who thinks it applies gets told instead.
    for target in (str(STREAMS / "positive"), str(next((STREAMS / "positive").rglob("*.sse")))):
        code, out, err = _run(capsys, target, "--column", "sse")
        assert (code, out) == (2, "") and err.count("\n") == 1 and "only a .parquet file has columns" in err


def test_parquet_null_and_dictionary_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow", reason="the [corpus] extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    body = next((STREAMS / "positive").rglob("*.sse")).read_text()
    bodies = pa.array([body, None, body]).dictionary_encode()  # how pandas stores a categorical
    pq.write_table(pa.table({"body": bodies}), tmp_path / "c.parquet")
    code, out, _ = _run(capsys, str(tmp_path / "c.parquet"), "-j", "1", "--format", "jsonl")
    results = _jsonl(out)
    assert [r["verdict"] for r in results] == [check_record({"body": body})["verdict"], "error",
                                               check_record({"body": body})["verdict"]]
    assert results[1]["path"].endswith("c.parquet#1") and "'body' is null" in results[1]["error"]
    assert code == 1


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now fails
    code, out, err = _run(capsys, str(tmp_path / "c.parquet"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "[corpus] extra" in err and "pyarrow" in err


def test_missing_dir_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(tmp_path / "nope"), "-j", "2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no such file or directory" in err
    code, _, err = _run(capsys, str(STREAMS), "-j", "0")
    assert code == 2 and err.count("\n") == 1


def test_folder_order_is_sorted_paths_and_links_to_folders_are_not_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The folder is walked lazily, a directory at a time; the order and the spelling of each
    # path must stay those of sorted(Path(root).rglob("*")), which the reports have always used.
    root = tmp_path / "corpus"
    body = next((STREAMS / "positive").rglob("*.sse")).read_bytes()
    for rel in ("a/x.sse", "a.sse", "a-b/y.sse", "B.sse", "b/c/d.sse", "b/c.body.json", "z/notes.txt",
                "z/empty/.keep", "Z.sse"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    (root / "link-dir").symlink_to(root / "a", target_is_directory=True)
    (root / "link.sse").symlink_to(root / "a.sse")

    def rglob(folder: Path) -> list[str]:
        return [str(p) for p in sorted(folder.rglob("*")) if p.is_file() and p.name.endswith((".sse", ".body.json"))]

    expected = rglob(root)
    assert [r["path"] for r in iter_dir(root)] == expected
    assert [r["path"] for r in iter_dir(f"{root}/", read_sidecars=False)] == expected
    assert str(root / "link.sse") in expected and not any("link-dir" in p for p in expected)
    assert list(iter_dir(root / "missing")) == [] == rglob(root / "missing")
    monkeypatch.chdir(root)
    assert [r["path"] for r in iter_dir(".")] == rglob(Path(".")) == [p.removeprefix(f"{root}/") for p in expected]


def test_sidecars_read_where_the_body_is_checked_decide_as_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `conformance check DIR` lists without reading sidecars (its workers read them): a sidecar's
    # request still wins over --request, an unreadable sidecar still means the defaults, and a
    # raw `.body` is still checked only as a recorded exchange's.
    src = STREAMS / "negative" / "request" / "max-output-tokens"
    for stem in ("own", "broken"):
        shutil.copyfile(src.with_suffix(".sse"), tmp_path / f"{stem}.sse")
    shutil.copyfile(src.with_suffix(".json"), tmp_path / "own.json")
    (tmp_path / "broken.json").write_text("{not json")
    recording = {"scenario": "s", "exchange": 0, "label": "POST /responses", "method": "POST", "path": "/responses",
                 "status": 500, "auth": "valid", "stream": False, "headers": [["content-type", "text/plain"]],
                 "chunks": []}
    (tmp_path / "exchange.body").write_text("Internal Server Error")
    (tmp_path / "exchange.json").write_bytes(orjson.dumps({"recording": recording}))
    (tmp_path / "orphan.body").write_text("no sidecar says what this is")
    eager = {r["path"]: check_record(r) for r in iter_dir(tmp_path)}
    lazy_records = list(iter_dir(tmp_path, read_sidecars=False))
    assert [r.get("sidecar") for r in lazy_records] == [str(tmp_path / "broken.json"), None, str(tmp_path / "own.json")]
    assert {r["path"]: check_record(r) for r in lazy_records} == eager
    assert sorted(Path(p).name for p in eager) == ["broken.sse", "exchange.body", "own.sse"]

    request = tmp_path / "request.json"
    request.write_bytes(orjson.dumps({"model": "m", "input": "hi", "stream": True}))
    code, out, _ = _run(capsys, str(tmp_path), "-j", "2", "--format", "jsonl", "--request", str(request))
    results = {Path(r["path"]).name: r for r in _jsonl(out)}
    assert code == 1 and results.keys() == {"broken.sse", "exchange.body", "own.sse"}
    assert "request.max-output-tokens" in rules_of(results["own.sse"])  # the sidecar's request
    assert "request.max-output-tokens" not in rules_of(results["broken.sse"])  # --request's
    assert results["exchange.body"] == eager[str(tmp_path / "exchange.body")]


def rules_of(result: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in result["findings"]}


def test_single_file_behaviour_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    path = next((STREAMS / "positive").rglob("*.sse"))
    code, out, _ = _run(capsys, str(path))
    assert code == 0 and "in 1 stream" in out  # the single-stream report, not the corpus summary


def test_check_record_is_picklable_and_json_ready() -> None:
    path = STREAMS / "negative" / "wild" / "content-part-added-never-sent.sse"
    record = {"id": "r", "body": path.read_text()}
    result = pickle.loads(pickle.dumps(check_record))(record)
    assert orjson.loads(orjson.dumps(result)) == result
    assert result["verdict"] == "failed"
    assert result["counts"]["error"] == 10 and {f["rule"] for f in result["findings"]} == {"part.not-added"}


def test_dask_bag_map_over_jsonl(tmp_path: Path, fixtures_j1: Any) -> None:
    try:
        import dask.bag as db
    except ModuleNotFoundError:
        pytest.skip("SKIPPED LOUDLY: dask[bag] is not installed (the [corpus] extra); the Dask path is untested")
    corpus, records = _records_file(tmp_path, 60)
    bag = db.read_text(str(corpus), blocksize=20_000).map(orjson.loads).map(check_record)
    results = bag.compute(scheduler="sync")
    expected = [check_record(r) for r in records]
    assert results == expected
    assert summarise(results)["files"] == 60


def test_interrupt_shuts_the_pool_down() -> None:
    # A Ctrl-C in the parent while records are still being fed: the queue is dropped and every
    # worker process stops before the exception propagates.
    def records() -> Any:
        for i, rec in enumerate(iter_dir(STREAMS)):
            if i == 60:
                raise KeyboardInterrupt
            yield rec

    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        for _ in check_records(records(), jobs=2, batch_size=2):
            pass
    # A worker that got its SIGTERM may still be exiting: wait for it (a hang guard, not a time
    # bound); a worker the pool left running would still be alive after this.
    left = set(multiprocessing.active_children()) - before
    for proc in left:
        proc.join(timeout=30)
    # Asked of the OS: the executor's own thread may have reaped a worker first, after which the
    # Process object can no longer learn its exit status and still says "started".
    assert [proc.pid for proc in left if _running(proc.pid)] == []


def _running(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_exits_130_without_traceback(tmp_path: Path) -> None:
    corpus = tmp_path / "big"
    corpus.mkdir()
    sources = sorted(STREAMS.rglob("*.sse"))
    for i in range(3000):
        shutil.copyfile(sources[i % len(sources)], corpus / f"{i:05d}.sse")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "check", str(corpus), "-j", "2", "--format", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # work has started
    assert orjson.loads(first)["path"]
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)  # a guard against a hang, not a time bound
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("conformance check did not stop after Ctrl-C")
    assert proc.returncode == 130
    assert err.decode().strip().splitlines()[-1] == "interrupted"
    assert b"Traceback" not in err


HOUSE_RULES = '''
from conformance.registry import rule

@rule("house.no-hi", "warning", "no greeting", "The text says hi.", on="response.output_text.delta")
def no_hi(st, ev, ctx):
    if "hi" in ev["delta"]:
        yield "the delta says hi"
'''


def test_workers_run_user_rules_and_the_selection(tmp_path: Path) -> None:
    # Workers fork from a fork server that loaded only the built-in rules: the parent's
    # --rules-module and --select/--ignore must reach them all the same.
    from conformance.testing.streams import build_stream, message, to_sse

    (tmp_path / "house_rules.py").write_text(HOUSE_RULES)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(24):
        (corpus / f"{i:02d}.sse").write_bytes(to_sse(build_stream(message("hi there" if i % 2 else "hello"))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}

    def rules(*args: str) -> dict[str, set[str]]:
        proc = subprocess.run(
            [sys.executable, "-m", "conformance", "check", str(corpus), "-j", "2", "--format", "jsonl", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,  # a hang guard
        )
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
        return {Path(r["path"]).name: {f["rule"] for f in r["findings"]} for r in _jsonl(proc.stdout)}

    found = rules("--rules-module", "house_rules")
    assert len(found) == 24
    assert {name for name, ids in found.items() if "house.no-hi" in ids} == {f"{i:02d}.sse" for i in range(1, 24, 2)}
    assert not any("house.no-hi" in ids for ids in rules("--rules-module", "house_rules", "--ignore", "house").values())
    selected = rules("--rules-module", "house_rules", "--select", "house.no-hi")
    assert set().union(*selected.values()) == {"house.no-hi"}


class _CountingPool:
    """Stands in for the process pool: runs each batch here and records how it was sized."""

    sizes: ClassVar[list[int]] = []

    def __init__(self, max_workers: int, **_: Any) -> None:
        self.sizes.append(max_workers)

    def submit(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures import Future

        fut: Future[Any] = Future()
        fut.set_result(fn(*args))
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def test_no_more_workers_than_batches(monkeypatch: pytest.MonkeyPatch, fixtures_j1: Any) -> None:
    # A forking pool starts all its workers at once: -j 64 over three batches must not fork 64.
    from conformance import corpus

    monkeypatch.setattr(corpus, "ProcessPoolExecutor", _CountingPool)
    monkeypatch.setattr(_CountingPool, "sizes", [])
    records = list(iter_dir(STREAMS))[:20]
    results = list(check_records(iter(records), jobs=64, batch_size=8))
    assert _CountingPool.sizes == [3]
    assert _verdicts(results) == {p: v for p, v in fixtures_j1.items() if p in {r["path"] for r in records}}
    # Many batches: the pool has the workers asked for.
    list(check_records(iter(records), jobs=2, batch_size=2))
    assert _CountingPool.sizes == [3, 2]


def test_one_batch_is_checked_in_this_process(monkeypatch: pytest.MonkeyPatch, fixtures_j1: Any) -> None:
    from conformance import corpus

    def no_pool(*_: Any, **__: Any) -> None:
        raise AssertionError("a pool was started for a single batch")

    monkeypatch.setattr(corpus, "ProcessPoolExecutor", no_pool)
    records = list(iter_dir(STREAMS))[:5]
    results = list(check_records(iter(records), jobs=8))
    assert [r["path"] for r in results] == [r["path"] for r in records]
    assert _verdicts(results) == {p: v for p, v in fixtures_j1.items() if p in {r["path"] for r in records}}


def test_workers_that_cannot_start_or_die_are_one_line_exit_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from conformance import corpus

    class NoFork(_CountingPool):
        def submit(self, fn: Any, *args: Any) -> Any:
            raise BlockingIOError(11, "Resource temporarily unavailable")

    class Dying(_CountingPool):
        def submit(self, fn: Any, *args: Any) -> Any:
            fut: Future[Any] = Future()
            fut.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return fut

    class Broken(_CountingPool):
        def submit(self, fn: Any, *args: Any) -> Any:
            raise BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")

    for pool, words in ((NoFork, "could not start 2 worker processes"), (Dying, "a worker process died"),
                        (Broken, "a worker process died")):
        monkeypatch.setattr(corpus, "ProcessPoolExecutor", pool)
        code, _, err = _run(capsys, str(STREAMS / "positive"), "-j", "2", "--format", "jsonl")
        assert code == 2, err
        assert err.count("\n") == 1 and words in err and "-j 1" in err and "Traceback" not in err


def test_a_one_file_check_does_not_load_the_pool() -> None:
    # Corpus mode's modules (the process pool, multiprocessing) cost a one-file check ~10 ms of
    # start-up; they load only when a corpus is checked.
    script = (
        "import sys\nfrom conformance.cli import main\n"
        "code = main(['check', sys.argv[1]])\n"
        "print(code, sorted(m for m in ('conformance.corpus', 'multiprocessing', 'concurrent.futures.process') "
        "if m in sys.modules), file=sys.stderr)\n"
    )
    capture = next((STREAMS / "positive" / "openai-api").glob("*.sse"))
    proc = subprocess.run([sys.executable, "-c", script, str(capture)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.stderr.strip().splitlines()[-1] in ("0 []", "1 []"), proc.stderr
