"""Corpus benchmark: `conformance check DIR -j N` scaling over processes.

Copies the fixture streams (every `.sse` and `.body.json`, with their sidecars) into a temporary
folder until it holds `--files` bodies, then checks the folder with -j 1 and -j N through the
same code path as the command (`conformance.corpus.check_records`) and prints files/s, MB/s and
the ratio. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from conformance.corpus import check_records, iter_dir, summarise

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
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


def _cpu() -> float:
    """CPU seconds of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process, from /proc (Linux); 0.0 when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pool_cpu() -> float:
    """CPU seconds of the pool's fork server and its live workers. They are not this process's
    children (the fork server forks them), so `RUSAGE_CHILDREN` never counts them: they are
    read from /proc while alive. The fork server's own time is its one warm-up."""
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if server is None or not Path("/proc").is_dir():
        return 0.0
    total = _proc_cpu(server)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == server:
            total += _proc_cpu(int(stat.parent.name))
    return total


def measure(root: Path, jobs: int, files: int) -> tuple[float, float, dict[str, int]]:
    """(wall seconds, CPU seconds, verdict counts) of checking the folder with `jobs` processes.

    CPU counts this process, reaped children (spawned workers) and the fork server's tree,
    read when the last result arrives (before the pool shuts down)."""
    seen = 0
    pool_cpu = 0.0
    pool_before = _pool_cpu()

    def on_result(_: dict[str, object]) -> None:
        nonlocal seen, pool_cpu
        seen += 1
        if seen == files:
            pool_cpu = _pool_cpu() - pool_before

    start, cpu = time.perf_counter(), _cpu()
    summary = summarise(check_records(iter_dir(root), jobs=jobs), on_result)
    return time.perf_counter() - start, _cpu() - cpu + pool_cpu, summary["verdicts"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks corpus")
    parser.add_argument("--files", type=int, default=3000, help="bodies in the corpus (default 3000)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                        help="processes of the parallel run (default: the CPU count)")
    parser.add_argument("--quick", action="store_true", help="500 files")
    args = parser.parse_args(argv)
    files = 500 if args.quick else args.files
    with tempfile.TemporaryDirectory(prefix="corpus-bench-") as tmp:
        root = Path(tmp)
        size = build_corpus(root, files)
        print(f"corpus: {files} files, {size / 1e6:.1f} MB (fixtures replicated), {os.cpu_count()} CPUs")
        print(f"  load average before: {os.getloadavg()[0]:.1f} (other processes take cores from -j N)")
        one, cpu1, v1 = measure(root, 1, files)
        many, cpun, vn = measure(root, args.jobs, files)
        for label, seconds, cpu in (("-j 1", one, cpu1), (f"-j {args.jobs}", many, cpun)):
            print(f"  {label:<5} {seconds:7.2f} s  {files / seconds:8.0f} files/s  {size / 1e6 / seconds:6.2f} MB/s"
                  f"  {cpu / files * 1e3:6.2f} CPU ms/file")
        ratio = one / many
        target = f" (issue 15 target for -j 2: >= {TARGET_RATIO_J2})" if args.jobs == 2 else ""
        print(f"  -j {args.jobs} / -j 1 = {ratio:.2f}x{target}; CPU per file -j {args.jobs} / -j 1 = "
              f"{cpun / cpu1:.2f} (the pool's overhead: 1.00 is none)")
        print(f"  verdicts identical: {v1 == vn}  ({v1})")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
    return 0
