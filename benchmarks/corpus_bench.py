"""Corpus benchmark: `conformance check DIR -j N` scaling over processes.

Copies the fixture streams (every `.sse` and `.body.json`, with their sidecars) into a temporary
folder until it holds `--files` bodies, then runs the command a user runs,
`python -m conformance check DIR -j N --format jsonl`, in a fresh process with -j 1 and -j N
(alternately, `--repeat` times each, the fastest kept: start-up, imports and the workers' start
are part of what is measured) and prints files/s, MB/s, CPU per file and the ratio. Prints;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import orjson

REPO = Path(__file__).resolve().parents[1]
STREAMS = REPO / "fixtures" / "streams"
TARGET_RATIO_J2 = 1.7  # issue 15: -j 2 on a 2-core machine


def build_corpus(root: Path, files: int) -> int:
    """Fill `root` with `files` fixture bodies (+ sidecars); returns the total body bytes."""
    bodies = sorted(p for p in STREAMS.rglob("*") if p.name.endswith((".sse", ".body.json")))
    total = 0
    for i in range(files):
        src = bodies[i % len(bodies)]
        folder = root / f"{i // 1000:03d}"
        folder.mkdir(exist_ok=True)
        suffix = ".body.json" if src.name.endswith(".body.json") else ".sse"
        stem = src.name.removesuffix(suffix)
        shutil.copyfile(src, folder / f"{i:06d}-{stem}{suffix}")
        sidecar = src.with_name(stem + ".json")
        if sidecar.exists():
            shutil.copyfile(sidecar, folder / f"{i:06d}-{stem}.json")
        total += src.stat().st_size
    return total


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children and their reaped descendants."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


class Run(NamedTuple):
    wall: float  # interpreter start to exit
    steady: float  # first result to last: the throughput once running
    cpu: float
    verdicts: dict[str, int]


# The command as installed: its modules' bytecode cached (pip writes it at install; a checkout
# writes it on first import unless PYTHONDONTWRITEBYTECODE says not to, which would charge every
# run ~80 ms of compiling source, a serial cost that -j N cannot share).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(root: Path, jobs: int) -> Run:
    """`conformance check root -j jobs --format jsonl` run as a user runs it: a fresh process,
    timed from interpreter start to exit (imports, rule loading and schema compilation
    included, in the parent and in every worker), and from its first result line to its last.

    CPU is the command's and everything it reaped: workers forked by the command itself are
    counted; a fork server's workers (the command's fallback when it has threads) would not be."""
    argv = [sys.executable, "-m", "conformance", "check", str(root), "-j", str(jobs), "--format", "jsonl"]
    verdicts = {"passed": 0, "failed": 0, "error": 0}
    cpu, start = _children_cpu(), time.perf_counter()
    first = last = 0.0
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=_ENV) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            last = time.perf_counter()
            first = first or last
            verdict = orjson.loads(line)["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        err = proc.stderr.read().decode(errors="replace")
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise SystemExit(f"conformance check -j {jobs} exited {proc.returncode}: {err.strip()[-500:]}")
    return Run(wall, last - first, cpu, verdicts)


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_capacity(jobs: int, repeat: int = 5, n: int = 5_000_000) -> list[float]:
    """What the machine gives `jobs` processes right now: the same pure-Python loop once in
    this process and once in each of `jobs` forked ones, alternated; each ratio is `jobs` x the
    one loop's time / the processes' wall time (`jobs` is perfect). On a shared VM the second
    core comes and goes: the ceiling any `-j` ratio measured in the same minutes is held to."""
    import multiprocessing

    ctx: Any = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    ratios = []
    for _ in range(repeat):
        started = time.perf_counter()
        _spin(n)
        one = time.perf_counter() - started
        procs = [ctx.Process(target=_spin, args=(n,)) for _ in range(jobs)]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        ratios.append(jobs * one / (time.perf_counter() - started))
    return sorted(ratios)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks corpus")
    parser.add_argument("--files", type=int, default=3000, help="bodies in the corpus (default 3000)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                        help="processes of the parallel run (default: the CPU count)")
    parser.add_argument("--quick", action="store_true", help="500 files")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternated; the fastest is kept")
    args = parser.parse_args(argv)
    files = 500 if args.quick else args.files
    with tempfile.TemporaryDirectory(prefix="corpus-bench-") as tmp:
        root = Path(tmp)
        size = build_corpus(root, files)
        print(f"corpus: {files} files, {size / 1e6:.1f} MB (fixtures replicated), {os.cpu_count()} CPUs")
        print(f"  load average before: {os.getloadavg()[0]:.1f} (other processes take cores from -j N)")
        runs: dict[int, list[Run]] = {1: [], args.jobs: []}
        measure(root, 1)  # not counted: writes the bytecode cache, fills the page cache
        for _ in range(args.repeat):  # alternated, so a change in load hits both alike
            for jobs in runs:
                runs[jobs].append(measure(root, jobs))
        one, many = (min(runs[j], key=lambda r: r.wall) for j in (1, args.jobs))
        for label, run in (("-j 1", one), (f"-j {args.jobs}", many)):
            steady = min(r.steady for r in runs[1 if label == "-j 1" else args.jobs])
            print(f"  {label:<5} {run.wall:7.2f} s  {files / run.wall:8.0f} files/s  {size / 1e6 / run.wall:6.2f} MB/s"
                  f"  {run.cpu / files * 1e3:6.2f} CPU ms/file   first to last result {steady:5.2f} s")
        ratio = one.wall / many.wall
        steady_ratio = min(r.steady for r in runs[1]) / max(1e-9, min(r.steady for r in runs[args.jobs]))
        target = f" (issue 15 target for -j 2: >= {TARGET_RATIO_J2})" if args.jobs == 2 else ""
        print(f"  -j {args.jobs} / -j 1 = {ratio:.2f}x end to end{target}; {steady_ratio:.2f}x from the first "
              f"result to the last (start-up excluded: interpreter, imports, rules, schemas)")
        print(f"  CPU per file -j {args.jobs} / -j 1 = {many.cpu / one.cpu:.2f} (the pool's overhead: 1.00 is none)")
        v1, vn = one.verdicts, many.verdicts
        print(f"  verdicts identical: {v1 == vn}  ({v1})")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
    if args.jobs > 1:
        cap = parallel_capacity(args.jobs)
        print(f"  the machine's own {args.jobs}-process scaling now (a pure-Python loop, perfectly parallel): "
              f"{cap[0]:.2f}-{cap[-1]:.2f}x, median {cap[len(cap) // 2]:.2f}x")
    return 0
