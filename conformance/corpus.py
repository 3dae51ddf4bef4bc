"""Corpora: check many recorded streams at once, in parallel processes or on a cluster.

The checker is a pure function over bytes, so a corpus is a map: `check_record(record) -> dict`
judges one recorded exchange and returns one JSON-ready result. `conformance check DIR -j N`
maps it over a process pool; Dask (`bag.map(check_record)`) or Ray (`map_batches`) map the same
function over machines (docs/cli-check.md, "Corpora").

A *record* is what `conformance record` writes for one exchange — its `.json` sidecar — with the
body inline:

    {"id": "run-1/00-hello", "body": "event: response.created\\ndata: {...}\\n\\n...",
     "request": {...}, "profile": "openai", "tolerate": [...], "content_type": "text/event-stream"}

`body` holds the SSE stream as text (or a JSON object: a non-stream Response body); every other
field is optional and means what it means in a sidecar (fixtures/sidecar.schema.json). A body
that is not valid UTF-8 (a JSON string cannot hold it) goes in `body_base64` instead.

A record with the `recording` object of `conformance record` (status, headers, what the request
expected) is an HTTP exchange: the http.* "@exchange" rules judge it too, and only an answer
of 200 is checked as a stream or Response body (an error body is judged by its shape alone).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from conformance.report import CaseResult

if TYPE_CHECKING:
    from conformance.exchange import HttpExchange

__all__ = ["PoolError", "check_record", "check_record_batches", "check_records", "iter_dir", "iter_jsonl", "iter_parquet", "summarise"]

# Suffixes of the bodies `conformance record` writes that the checker judges.
BODY_SUFFIXES = (".sse", ".body.json")
# The body of a recorded exchange that is neither (conformance.replay.matching.RAW_SUFFIX).
RAW_BODY_SUFFIX = ".body"


def _profile(record: dict[str, Any], default: str) -> str:
    from conformance.profiles import profile_spec

    name = record.get("profile")
    tolerate = record.get("tolerate") or ()
    kind = record.get("target_kind")
    if name is None and not tolerate and kind is None:
        return default
    return profile_spec(name or "openai", tolerate, kind)


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    if isinstance(body, dict):
        return orjson.dumps(body)
    raise ValueError(f"`body` must be SSE text or a JSON object, not {type(body).__name__}")


def check_record(record: dict[str, Any], *, profile: str = "openai", fail_on: str = "error") -> dict[str, Any]:
    """Check one recorded exchange; returns `{path, verdict, events, counts, findings[, error]}`.

    `verdict` is passed, failed (a finding at or above `fail_on`) or error (the body is not a
    stream or a Response body; `error` says why). Never raises on bad input: a corpus of millions
    must not stop at one broken record. `record["path"]` (a file to read) may stand in for `body`,
    and `record["sidecar"]` names a sidecar whose fields the record takes (an unreadable one: none).
    """
    from conformance.inputs import NotAStream, check_input

    if "sidecar" in record:  # named by iter_dir(read_sidecars=False): its fields win, as they do there
        record = {k: v for k, v in record.items() if k != "sidecar"} | _sidecar_fields(record["sidecar"])
    name = str(record.get("id") or record.get("path") or "<record>")
    try:
        if "body" in record:
            data = _body_bytes(record["body"])
        elif "body_base64" in record:
            data = base64.b64decode(record["body_base64"], validate=True)
        elif "path" in record:
            data = Path(record["path"]).read_bytes()
        else:
            raise ValueError("the record has no `body` (nor `body_base64`)")
        spec = _profile(record, profile)
        exchange = exchange_of(record, data)
        if exchange is not None and exchange.status != 200:
            case = CaseResult(id=name, status="passed", details={"input": "exchange"})
        else:
            try:
                case = check_input(
                    name,
                    io.BytesIO(data),
                    profile=spec,
                    request=record.get("request") if isinstance(record.get("request"), dict) else None,
                    content_type=record.get("content_type"),
                    fail_on=fail_on,
                )
            except NotAStream:
                if exchange is None or exchange.stream:
                    raise
                # A 200 answer that is no Response body: http.content-type says so below.
                case = CaseResult(id=name, status="passed", details={"input": "exchange"})
        if exchange is not None:
            case = _judge_exchange(case, exchange, spec, fail_on)
    except (NotAStream, ValueError, OSError, binascii.Error) as exc:
        return {"path": name, "verdict": "error", "events": 0, "counts": {}, "findings": [], "error": str(exc)}
    except Exception as exc:  # a checker bug is one error line in the report, not a lost corpus
        if os.environ.get("CONFORMANCE_DEBUG"):
            raise
        return {"path": name, "verdict": "error", "events": 0, "counts": {}, "findings": [],
                "error": f"internal error: {type(exc).__name__}: {exc}"}
    counts: dict[str, int] = {}
    for f in case.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    out: dict[str, Any] = {
        "path": name,
        "verdict": case.status,
        "events": case.event_count,
        "counts": counts,
        "findings": [f.to_dict() for f in case.findings],
    }
    if case.error:
        out["error"] = case.error
    return out


def exchange_of(record: dict[str, Any], body: bytes) -> HttpExchange | None:
    """The HTTP exchange a record of `conformance record` holds (its `recording` object), or None
    when it holds none, or when its scenario did not judge the answer (`expect` null).

    A recording made before expectations were recorded has no `expect` key: its exchange is
    judged without one (a 5xx, an error body's shape, a non-JSON 200 body, a timeout).
    """
    from conformance.exchange import Expectation, HttpExchange, Timeout

    meta = record.get("recording")
    if not isinstance(meta, dict) or "status" not in meta:
        return None
    if "expect" in meta and meta["expect"] is None:
        return None
    status = meta["status"]
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        return None
    headers = tuple(
        (h[0], h[1]) for h in meta.get("headers") or ()
        if isinstance(h, list) and len(h) == 2 and all(isinstance(v, str) for v in h)
    )
    method, path, label = meta.get("method"), meta.get("path"), meta.get("label")
    method = method if isinstance(method, str) else "POST"
    path = path.lstrip("/") if isinstance(path, str) else "responses"
    return HttpExchange(
        label if isinstance(label, str) else f"{method} /{path}", method, path, status, headers, body,
        stream=meta.get("stream") is True, expect=Expectation.from_dict(meta.get("expect")),
        timeout=Timeout.from_dict(meta.get("timeout")),
        error=meta["error"] if isinstance(meta.get("error"), str) else None,
        dropped=meta.get("dropped") is True, request=record.get("request"),
    )


def _judge_exchange(case: CaseResult, exchange: HttpExchange, profile: str, fail_on: str) -> CaseResult:
    """The case with the http.* findings of its exchange added (as --select / --ignore allow)."""
    from conformance import registry
    from conformance.exchange import check_exchange
    from conformance.findings import at_least

    found = [f for f in check_exchange(exchange, profile) if registry.enabled(f.rule)]
    if not found:
        return case
    findings = [*case.findings, *found]
    status = case.status
    if status != "error":
        status = "failed" if any(at_least(f.severity, fail_on) for f in findings) else "passed"
    return dataclasses.replace(case, findings=findings, status=status)


# -- sources: each yields records; a file-backed record carries `path`, not its bytes ----------


def iter_dir(root: str | Path, *, read_sidecars: bool = True) -> Iterator[dict[str, Any]]:
    """Every `.sse` / `.body.json` under `root`, recursively, in the order of its sorted paths
    (a folder's entries by name, a sub-folder's files where its name sorts), with its sidecar's
    fields; and every recorded exchange's other body (`.body`: an HTML error page, say), whose
    sidecar says how it was answered.

    Lazy: the first records come before the whole tree is listed. With `read_sidecars=False`, a
    `.sse` / `.body.json` record names its sidecar (`sidecar`) instead, and `check_record`
    reads it: in a parallel run the workers parse the sidecars, and the parent only lists.
    Symbolic links to folders are not followed (as `Path.rglob` does not).
    """
    for folder, name, files in _walk_sorted(str(Path(root))):
        raw = name.endswith(RAW_BODY_SUFFIX)
        if not (raw or name.endswith(BODY_SUFFIXES)):
            continue
        record: dict[str, Any] = {"path": _join(folder, name)}
        stem = name.removesuffix(".body.json").removesuffix(".sse").removesuffix(RAW_BODY_SUFFIX)
        sidecar = stem + ".json"
        if sidecar not in files:
            if not raw:
                yield record
            continue  # a `.body` file without a sidecar: nothing says what it is
        sidecar_path = _join(folder, sidecar)
        if not raw and not read_sidecars:
            record["sidecar"] = sidecar_path
            yield record
            continue
        meta = _sidecar_fields(sidecar_path)
        if raw and not isinstance(meta.get("recording"), dict):
            continue  # a `.body` file that is no recorded exchange's: nothing says what it is
        record.update(meta)
        yield record


def _walk_sorted(folder: str) -> Iterator[tuple[str, str, frozenset[str]]]:
    """(folder, file name, the names of that folder's files) under `folder`, depth first, each
    folder's entries by name: the order of `sorted(Path(folder).rglob("*"))`, without building
    and sorting Path objects (122,000 `Path.__lt__` calls for 3,000 files) or listing it all
    first. `folder` is spelt as `Path` spells it (`fixtures/x`, not `./fixtures/x/`), and so are
    the folders under it. A missing or unreadable folder has nothing under it, as for `rglob`."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda entry: entry.name)
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return
    files = frozenset(entry.name for entry in entries if _is_file(entry))
    for entry in entries:
        if entry.name in files:
            yield folder, entry.name, files
        elif _is_dir(entry):
            yield from _walk_sorted(_join(folder, entry.name))


def _join(folder: str, name: str) -> str:
    return name if folder == "." else os.path.join(folder, name)  # as Path(".") / name spells it


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # a link to a file counts, as Path.is_file() says
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


# The sidecar fields a record takes over (fixtures/sidecar.schema.json).
SIDECAR_FIELDS = ("request", "profile", "tolerate", "target_kind", "content_type", "recording")


def _sidecar_fields(path: str) -> dict[str, Any]:
    """The record fields of a sidecar; none when it is unreadable (the body is then checked
    under the defaults)."""
    try:
        with open(path, "rb") as fh:
            meta = orjson.loads(fh.read())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return {k: meta[k] for k in SIDECAR_FIELDS if k in meta} if isinstance(meta, dict) else {}


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file; a line that is not a JSON object becomes an error record."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield {"id": where, "error": f"line {number} is not JSON ({exc})"}
                continue
            if not isinstance(record, dict):
                yield {"id": where, "error": f"line {number} is not a JSON object"}
                continue
            record.setdefault("id", record.get("provenance", {}).get("path") if isinstance(
                record.get("provenance"), dict) else None)
            if not record["id"]:
                record["id"] = where
            record.pop("path", None)  # a recorded path names the original file, not one to read
            yield record


def parquet_columns(path: str | Path) -> dict[str, tuple[str, bool]]:
    """Each column of a Parquet file, in file order: its Arrow type, and whether it can hold SSE
    bodies (text or bytes, dictionary-encoded or not)."""
    import pyarrow.parquet as pq
    import pyarrow.types as pat

    def holds_bodies(kind: Any) -> bool:
        if pat.is_dictionary(kind):
            kind = kind.value_type
        checks = ("is_string", "is_large_string", "is_string_view", "is_binary", "is_large_binary",
                  "is_binary_view")  # the view types exist from pyarrow 16
        return any(getattr(pat, name, lambda _: False)(kind) for name in checks)

    return {field.name: (str(field.type), holds_bodies(field.type)) for field in pq.ParquetFile(path).schema_arrow}


def iter_parquet(path: str | Path, column: str = "body", batch_size: int = 1024) -> Iterator[dict[str, Any]]:
    """One record per row of a Parquet file's `column` (string or binary SSE bodies)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    row = 0
    for batch in pf.iter_batches(columns=[column], batch_size=batch_size):
        for value in batch.column(0).to_pylist():
            if value is None:
                yield {"id": f"{path}#{row}", "error": f"the row's {column!r} is null: no body to check"}
            else:
                yield {"id": f"{path}#{row}", "body": value}
            row += 1


# -- running: in process, or over a bounded process pool ---------------------------------------


class PoolError(RuntimeError):
    """The worker processes of a parallel check could not start, or one of them died."""


WORKER_DIED = "a worker process died (killed, or out of memory)"


def _check_batch(batch: list[dict[str, Any]], profile: str, fail_on: str) -> list[dict[str, Any]]:
    return [_check_one(r, profile, fail_on) for r in batch]


def _check_one(record: dict[str, Any], profile: str, fail_on: str) -> dict[str, Any]:
    if "error" in record and not {"body", "body_base64", "path"} & record.keys():
        return {"path": record["id"], "verdict": "error", "events": 0, "counts": {}, "findings": [],
                "error": record["error"]}
    return check_record(record, profile=profile, fail_on=fail_on)


def _ignore_sigint(rules: tuple[Any, ...] = ((), (), ())) -> None:
    # Ctrl-C is the parent's to handle: it cancels the queue and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker starts with the built-in rules only: give it the parent's user rules and selection.
    from conformance import registry

    modules, select, ignore = rules
    for name in modules:
        registry.load_rules_module(name)
    registry.select_rules(select, ignore)


def warm() -> None:
    """Load the rule registry and compile the contracts every stream needs, now rather than on
    the first record (`conformance.corpus_preload` runs it in the pool's fork server)."""
    from conformance import checker, contracts

    checker.warm()
    contracts.precompile()


def _pool_context() -> Any:
    """How workers start: forked from this process when that is safe, else from a fork server.

    A plain fork is the cheapest start: the worker inherits the imported checker, the loaded
    rules (user rules too) and whatever contracts this process has compiled, and costs a few
    milliseconds. It is safe only while this process runs one thread: a fork copies locks held
    by other threads as held forever. `ProcessPoolExecutor` with the fork method forks all its
    workers at the first submit, before it starts its own threads, so a single-threaded caller
    (the `conformance check` command) forks safely. A caller with threads of its own (a server,
    a notebook's event loop) gets the fork server instead: a fresh single-threaded interpreter
    that imported the checker and compiled the contracts once (`conformance.corpus_preload`),
    whose forks are safe. Where there is no fork (Windows): spawn.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _single_threaded():
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # Read when the fork server starts (once per process); later calls change nothing.
    ctx.set_forkserver_preload(["conformance.corpus_preload"])
    return ctx


def _single_threaded() -> bool:
    """Whether this process provably runs one thread, native ones included: torch, OpenMP or a
    C library's threads are invisible to `threading` but hold locks too. Only Linux says
    (/proc/self/task); elsewhere (macOS, whose system libraries are not fork-safe either) the
    answer is no, and the fork server serves."""
    if threading.active_count() != 1 or not sys.platform.startswith("linux"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _rules_state() -> tuple[Any, ...]:
    from conformance import registry

    return (registry.user_modules(), *registry.selection())


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def check_records(
    records: Iterable[dict[str, Any]],
    *,
    jobs: int = 1,
    profile: str = "openai",
    fail_on: str = "error",
    batch_size: int = 8,
) -> Generator[dict[str, Any], None, None]:
    """Results as records finish (in input order only with `jobs=1`).

    With `jobs > 1`, batches go to a process pool with a bounded number in flight, so memory
    stays flat however long `records` is. Interrupting the iteration (Ctrl-C, `close()`) cancels
    what is queued and shuts the pool down before the exception propagates.
    """
    batches = check_record_batches(records, jobs=jobs, profile=profile, fail_on=fail_on, batch_size=batch_size)
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


def check_record_batches(
    records: Iterable[dict[str, Any]],
    *,
    jobs: int = 1,
    profile: str = "openai",
    fail_on: str = "error",
    batch_size: int = 8,
) -> Generator[list[dict[str, Any]], None, None]:
    """`check_records`, a list at a time: one result per list with `jobs=1`, a worker's batch
    with more. A writer that flushes once per list streams its report without a system call
    per file. At most `jobs` workers, and never more than there are batches (one batch is
    checked in this process); `PoolError` when the workers cannot start or one dies."""
    if jobs <= 1:
        for record in records:
            yield [_check_one(record, profile, fail_on)]
        return
    batches = _batches(records, batch_size)
    # No more workers than batches: a forking pool starts all of its workers at once, so
    # `-j 64` over a handful of files would otherwise fork 64 interpreters for nothing.
    ahead = list(islice(batches, jobs))
    if len(ahead) <= 1:  # one batch: a worker would only add its start-up
        for batch in ahead:
            yield _check_batch(batch, profile, fail_on)
        return
    context = _pool_context()
    if context.get_start_method() == "fork":
        warm()  # once, here: every worker forked from this process inherits it
    workers = len(ahead)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint,
                               initargs=(_rules_state(),), mp_context=context)
    pending: set[Future[list[dict[str, Any]]]] = set()
    finished = False
    try:
        for batch in chain(ahead, batches):
            try:
                pending.add(pool.submit(_check_batch, batch, profile, fail_on))
            except OSError as exc:  # fork failed: the process limit, memory
                raise PoolError(f"could not start {workers} worker processes ({exc})") from None
            except BrokenProcessPool:  # a worker died before its result was asked for
                raise PoolError(WORKER_DIED) from None
            if len(pending) >= workers * 4:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield _result(fut)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield _result(fut)
        finished = True
    finally:
        # Reached unfinished only on an interruption or an error (even one that came while
        # nothing was in flight): drop the queue and stop the workers now rather than finishing
        # the corpus. (The executor has no public way to stop a running task before Python
        # 3.14's terminate_workers, hence its process table.)
        if not finished:
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.join()
        pool.shutdown(wait=True)


def _result(fut: Future[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return fut.result()
    except BrokenProcessPool:
        raise PoolError(WORKER_DIED) from None


def summarise(results: Iterable[dict[str, Any]], on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Totals by verdict and by rule (findings and files per rule), consuming `results`."""
    verdicts = {"passed": 0, "failed": 0, "error": 0}
    rules: dict[str, dict[str, Any]] = {}
    for result in results:
        if on_result is not None:
            on_result(result)
        verdicts[result["verdict"]] = verdicts.get(result["verdict"], 0) + 1
        seen: set[str] = set()
        for f in result["findings"]:
            entry = rules.setdefault(f["rule"], {"severity": f["severity"], "findings": 0, "files": 0})
            entry["findings"] += 1
            if f["rule"] not in seen:
                entry["files"] += 1
                seen.add(f["rule"])
    return {"files": sum(verdicts.values()), "verdicts": verdicts, "rules": rules}
