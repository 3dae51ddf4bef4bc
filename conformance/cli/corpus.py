"""Corpus mode of `conformance check`: a folder, a .jsonl file of recorded exchanges or a .parquet
file, checked in parallel processes; a line per file as it finishes, a summary by rule at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import orjson

from conformance.cli import UsageError

CORPUS_SUFFIXES = (".jsonl", ".parquet")


def is_corpus(args: argparse.Namespace) -> bool:
    """A folder, a .jsonl/.parquet file, --format jsonl or -j makes `check` a corpus run; a
    .jsonl file that is one WebSocket transcript (records with `dir`) is checked on its own."""
    if args.fmt == "jsonl" or getattr(args, "jobs", None) is not None:
        return True
    return any(p != "-" and (Path(p).is_dir() or (p.endswith(CORPUS_SUFFIXES) and not _is_transcript(p)))
               for p in args.paths)


def _is_transcript(path: str) -> bool:
    from conformance.transcript import looks_like_transcript

    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False  # the corpus reader names the problem
    return looks_like_transcript(head)


def _sources(args: argparse.Namespace, request: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    from conformance import corpus

    for path in args.paths:
        if path.endswith(".jsonl"):
            records = corpus.iter_jsonl(path)
        elif path.endswith(".parquet"):
            records = corpus.iter_parquet(path, args.column)
        elif Path(path).is_dir():
            records = corpus.iter_dir(path, read_sidecars=False)  # the workers read them
        else:
            records = iter([{"path": path}])
        for record in records:
            if request is not None and "request" not in record:
                record["request"] = request
            yield record


def _validate(args: argparse.Namespace) -> None:
    from conformance.corpus import iter_dir  # here: a one-file check never loads the pool's modules

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"-j {args.jobs}: the number of processes must be at least 1")
    if args.client:
        raise UsageError("--client probes single streams; it is not available for a corpus")
    for path in args.paths:
        if path == "-":
            raise UsageError("standard input ('-') cannot be part of a corpus run")
        p = Path(path)
        if not p.exists():
            raise UsageError(f"{path}: no such file or directory")
        if not os.access(p, os.R_OK):
            raise UsageError(f"{path}: permission denied")
        if p.is_dir() and next(iter_dir(p, read_sidecars=False), None) is None:
            raise UsageError(f"{path}: is a directory without a .sse or .body.json file (nor a recorded "
                             "exchange): nothing to check")
        if path.endswith(".parquet"):
            _validate_parquet(path, args.column)


def _validate_parquet(path: str, column: str) -> None:
    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError:
        raise UsageError(
            f"{path}: reading Parquet needs the [corpus] extra (no module named pyarrow): "
            "pip install 'responses-conformance[corpus]'"
        ) from None
    from conformance.corpus import parquet_columns

    try:
        columns = parquet_columns(path)
    except Exception as exc:  # pyarrow raises its own error types for a file that is not Parquet
        raise UsageError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    if column not in columns:
        raise UsageError(f"{path}: no column {column!r} (columns: {', '.join(columns)}); choose one with --column")
    kind, holds_bodies = columns[column]
    if not holds_bodies:
        bodies = [name for name, (_, ok) in columns.items() if ok]
        hint = f"text or binary columns: {', '.join(bodies)}" if bodies else "the file has no text or binary column"
        raise UsageError(f"{path}: column {column!r} holds {kind}, not SSE bodies (text or binary); {hint}")


def _text_line(result: dict[str, Any]) -> str:
    mark = {"passed": "✓", "failed": "✗"}.get(result["verdict"], "!")
    counts = result["counts"]
    tail = result.get("error") or f"{counts.get('error', 0)} errors, {counts.get('warning', 0)} warnings"
    return f"{mark} {result['path']}  ({result['verdict'].upper()}, {result['events']} events, {tail})\n"


def render_summary(summary: dict[str, Any]) -> str:
    lines = []
    if summary["rules"]:
        width = max(len(rule) for rule in summary["rules"])
        lines.append(f"{'rule':<{width}}  severity  findings  files")
        ranked = sorted(summary["rules"].items(), key=lambda kv: (-kv[1]["files"], kv[0]))
        for rule, entry in ranked:
            lines.append(f"{rule:<{width}}  {entry['severity']:<8}  {entry['findings']:>8}  {entry['files']:>5}")
    v = summary["verdicts"]
    lines.append(f"{summary['files']} files: {v.get('passed', 0)} passed, {v.get('failed', 0)} failed, "
                 f"{v.get('error', 0)} unreadable")
    return "\n".join(lines) + "\n"


def run_corpus(args: argparse.Namespace, request: dict[str, Any] | None) -> int:
    from conformance.corpus import PoolError, check_record_batches, summarise

    # API callers may build the namespace without the corpus options.
    args.jobs = getattr(args, "jobs", None)
    args.column = getattr(args, "column", None) or "body"
    args.client = getattr(args, "client", None)
    _validate(args)
    if args.fmt not in ("text", "jsonl"):
        raise UsageError(f"--format {args.fmt}: a corpus is reported as text or jsonl")
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"--output {args.output}: {exc.strerror or exc}") from None

    def emit(result: dict[str, Any]) -> None:
        if args.fmt == "jsonl":
            out.write(orjson.dumps(result).decode() + "\n")
        elif result["verdict"] != "passed":
            out.write(_text_line(result))

    batches = check_record_batches(_sources(args, request), jobs=jobs, profile=args.profile, fail_on=args.fail_on)

    def results() -> Iterator[dict[str, Any]]:
        for batch in batches:
            yield from batch
            out.flush()  # a line per file as it finishes; one write per batch, not per file

    try:
        summary = summarise(results(), emit)
    except PoolError as exc:
        raise UsageError(f"{exc}; -j 1 checks in this process") from None
    finally:
        batches.close()  # on Ctrl-C: cancel the queue, stop the workers
        if out is not sys.stdout:
            out.close()
    # With jsonl on stdout the summary goes to stderr, so stdout stays one object per line.
    summary_to = sys.stderr if args.fmt == "jsonl" and not args.output else sys.stdout
    summary_to.write(render_summary(summary))
    summary_to.flush()
    return 0 if summary["verdicts"]["passed"] == summary["files"] else 1
