"""Corpus benchmark: `conformance check DIR -j N` scaling over processes.

Copies the fixture streams (every `.sse` and `.body.json`, with their sidecars) into a temporary
folder until it holds `--files` bodies, then checks the folder with -j 1 and -j N through the
same code path as the command (`conformance.corpus.check_records`) and prints files/s, MB/s and
the ratio. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
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


def measure(root: Path, jobs: int) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    summary = summarise(check_records(iter_dir(root), jobs=jobs))
    return time.perf_counter() - start, summary["verdicts"]


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
        one, v1 = measure(root, 1)
        many, vn = measure(root, args.jobs)
        for label, seconds in (("-j 1", one), (f"-j {args.jobs}", many)):
            print(f"  {label:<5} {seconds:7.2f} s  {files / seconds:8.0f} files/s  {size / 1e6 / seconds:6.2f} MB/s")
        ratio = one / many
        target = f" (issue 15 target for -j 2: >= {TARGET_RATIO_J2})" if args.jobs == 2 else ""
        print(f"  -j {args.jobs} / -j 1 = {ratio:.2f}x{target}")
        print(f"  verdicts identical: {v1 == vn}  ({v1})")
    return 0
