"""Sampled mutation testing of the core modules (`nox -s mutation`); a report, not a gate.

Each core module is mutated with cosmic-ray's operators, one mutant at a time, and only the
tests that cover that module run against each mutant. A mutant is killed when those tests fail
(or exceed the module's timeout), and survives when they pass. The work happens in a copy of
the repository in a temporary directory: the working tree is never mutated, even when a run is
interrupted.

    python scripts/mutation.py                   # 40 sampled mutants per module
    python scripts/mutation.py --sample 0        # every mutant (slow)
    python scripts/mutation.py --module events --module rules/item
    MUTATION_SAMPLE=60 MUTATION_SEED=7 nox -s mutation

Survivors known to be equivalent (they cannot change behaviour) are listed in
`docs/mutation.md`, matched here by module and the mutated line; they are reported apart and
left out of the kill rate.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "mutation.md"
IGNORE = shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__", "*.pyc", ".hypothesis",
                                ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules",
                                "reports", "build", "dist")

# The tests that cover each rule family besides its own tests/conformance/test_rules_<family>.py.
RULE_TESTS = ["tests/conformance/test_fixtures.py", "tests/conformance/test_checker.py",
              "tests/conformance/test_verdicts.py", "tests/conformance/test_mutation_kills.py"]
CONVERTER_TESTS = ["tests/reference_server/adapters/test_dialects.py",
                   "tests/reference_server/adapters/test_stream_properties.py",
                   "tests/reference_server/adapters/test_upstream_fixtures.py",
                   "tests/reference_server/adapters/test_converter_mutation_kills.py"]
# (module glob, tests); `**` lets a module move into a subpackage without editing this table.
TARGETS: list[tuple[str, list[str]]] = [
    ("conformance/sse.py", ["tests/conformance/test_sse.py", "tests/conformance/test_sse_anomalies.py",
                            "tests/conformance/test_sse_properties.py",
                            "tests/conformance/test_rules_framing.py", "tests/conformance/test_sse_edges.py"]),
    ("conformance/state.py", ["tests/conformance/test_rules_item.py", "tests/conformance/test_rules_part.py",
                              "tests/conformance/test_rules_sequence.py",
                              "tests/conformance/test_state_mutation_kills.py", *RULE_TESTS]),
    ("conformance/rules/*.py", [*RULE_TESTS, "tests/conformance/test_rules_mutation_kills.py"]),
    ("reference_server/**/events.py", ["tests/reference_server/test_events.py",
                                       "tests/reference_server/test_events_web_search.py",
                                       "tests/reference_server/test_writer_mutation_kills.py"]),
    # test_scenarios.py drives harmony.py through the server (scripted backend): prompts,
    # output specs and hints of real requests, round trips and chained turns.
    ("reference_server/**/harmony.py", ["tests/reference_server/test_harmony.py",
                                        "tests/reference_server/test_harmony_prompt.py",
                                        "tests/reference_server/test_scenarios.py"]),
    ("reference_server/**/cc_stream.py", CONVERTER_TESTS),
    ("reference_server/**/anthropic_stream.py", [*CONVERTER_TESTS, "tests/reference_server/adapters/test_anthropic.py"]),
    ("reference_server/**/responses_to_cc_stream.py",
     ["tests/reference_server/adapters/test_responses_to_cc_stream.py",
      "tests/reference_server/adapters/test_converter_mutation_kills.py"]),
]
WS_UPSTREAM_HTTP_KILLS = "tests/conformance/test_ws_upstream_http_mutation_kills.py"
EXTRA_RULE_TESTS = {"ws": ["tests/conformance/test_ws_transcripts.py", WS_UPSTREAM_HTTP_KILLS],
                    "upstream": ["tests/conformance/upstream/test_judge.py", "tests/conformance/test_registry.py",
                                 WS_UPSTREAM_HTTP_KILLS],
                    "http": ["tests/conformance/test_registry.py", WS_UPSTREAM_HTTP_KILLS],
                    "_util": ["tests/conformance/test_rules_item.py", "tests/conformance/test_rules_call.py",
                              WS_UPSTREAM_HTTP_KILLS],
                    **{family: ["tests/conformance/test_request_usage_mutation_kills.py"]
                       for family in ("request", "sequence", "usage")},
                    **{m: ["tests/conformance/test_output_part_mutation_kills.py"]
                       for m in ("output", "part", "accumulation")}}


@dataclass
class Mutant:
    operator: str
    occurrence: int
    line: int
    before: str
    after: str
    diff: str
    outcome: str = "pending"  # killed | timeout | survived | equivalent | error


@dataclass
class ModuleRun:
    path: str
    tests: list[str]
    total: int = 0
    baseline_s: float = 0.0
    in_annotations: int = 0  # mutants left out: inside never-evaluated annotations
    mutants: list[Mutant] = field(default_factory=list)
    skipped: str = ""

    def count(self, *outcomes: str) -> int:
        return sum(m.outcome in outcomes for m in self.mutants)

    @property
    def rate(self) -> float | None:
        judged = self.count("killed", "timeout", "survived")
        return None if not judged else self.count("killed", "timeout") / judged


def resolve(tree: Path, wanted: list[str]) -> list[tuple[str, list[str]]]:
    """(module path relative to `tree`, its existing tests) for each target, filtered by `wanted`
    (substrings of the module path)."""
    out = []
    for pattern, tests in TARGETS:
        for module in sorted(p for p in tree.glob(pattern) if p.name != "__init__.py"):
            rel = module.relative_to(tree).as_posix()
            if wanted and not any(w in rel for w in wanted):
                continue
            chosen = list(tests)
            if "/rules/" in rel:
                own = f"tests/conformance/test_rules_{module.stem}.py"
                chosen = [own, *EXTRA_RULE_TESTS.get(module.stem, []), *chosen]
            out.append((rel, [t for t in dict.fromkeys(chosen) if (tree / t).is_file()]))
    return out


def equivalents(doc: Path = DOC) -> dict[str, set[tuple[str, str]]]:
    """Known equivalent mutants from docs/mutation.md: rows `| module | before | after | why |`
    of its equivalents table, code spans stripped. A `|` inside a cell is written `\\|`."""
    known: dict[str, set[tuple[str, str]]] = {}
    if not doc.is_file():
        return known
    text = doc.read_text()
    for row in text[text.find("## Equivalent mutants"):].splitlines():
        # Cells end at a pipe that is not escaped; an escaped one is code (`a \| b`).
        cells = [c.strip().strip("`") for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        if len(cells) == 4 and cells[0].endswith(".py"):
            known.setdefault(cells[0], set()).add((_squash(cells[1]), _squash(cells[2])))
    return known


def _squash(code: str) -> str:
    return re.sub(r"\s+", " ", code.replace("\\|", "|")).strip()


def enumerate_mutants(module: Path, db_path: Path) -> tuple[list[Any], int]:
    """cosmic-ray's mutants of `module`, less those inside annotations; and how many those were."""
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(db_path), WorkDB.Mode.create) as db:
        init([module], db, {})
        items = list(db.pending_work_items)
    spans = annotation_spans(module.read_text())
    kept = [w for w in items if not any(a <= tuple(w.mutations[0].start_pos) < b for a, b in spans)]
    kept.sort(key=lambda w: (w.mutations[0].operator_name, w.mutations[0].occurrence))
    return kept, len(items) - len(kept)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of the annotations of a module that has `from __future__ import
    annotations`: never evaluated there, so a mutant inside one (`str | None` -> `str - None`)
    cannot change behaviour."""
    tree = ast.parse(source)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in found]


def run_module(tree: Path, rel: str, tests: list[str], sample: int, seed: int,
               known: set[tuple[str, str]], timeout_factor: float) -> ModuleRun:
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.testing import run_tests
    from cosmic_ray.work_item import TestOutcome

    result = ModuleRun(rel, tests)
    if not tests:
        result.skipped = "no covering tests found"
        return result
    command = " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        "-p", "no:randomly", *tests])
    started = time.perf_counter()
    outcome, output = run_tests(command, timeout=600)
    result.baseline_s = time.perf_counter() - started
    if outcome != TestOutcome.SURVIVED:
        result.skipped = "the covering tests fail without any mutation: " + _last_line(output)
        return result
    for stale in (tree / rel).parent.glob(f"__pycache__/{(tree / rel).stem}.*.pyc"):
        stale.unlink()  # the mutated module always compiles from its source
    items, result.in_annotations = enumerate_mutants(tree / rel, tree / ".mutation.sqlite")
    result.total = len(items)
    if sample and sample < len(items):
        items = sorted(random.Random(f"{seed}:{rel}").sample(items, sample),
                       key=lambda w: (w.mutations[0].start_pos, w.mutations[0].operator_name))
    # Generous: on a loaded machine a slow run must not pass for a killed mutant.
    timeout = max(30.0, result.baseline_s * timeout_factor)
    source = (tree / rel).read_text().splitlines()
    for n, item in enumerate(items, 1):
        spec = item.mutations[0]
        work = mutate_and_test(item.mutations, command, timeout)
        mutant = _describe(spec, work.diff or "", source)
        if work.test_outcome == TestOutcome.KILLED:
            mutant.outcome = "timeout" if work.output == "timeout" else "killed"
        elif work.test_outcome == TestOutcome.SURVIVED:
            mutant.outcome = "equivalent" if (_squash(mutant.before), _squash(mutant.after)) in known else "survived"
        else:
            mutant.outcome = "error"
        result.mutants.append(mutant)
        print(f"  [{n}/{len(items)}] {mutant.outcome:<10} {rel}:{mutant.line} {spec.operator_name}",
              flush=True)
    return result


def _describe(spec: Any, diff: str, source: list[str]) -> Mutant:
    line = spec.start_pos[0]
    before = source[line - 1].strip() if 0 < line <= len(source) else ""
    removed = [d[1:] for d in diff.splitlines() if d.startswith("-") and not d.startswith("---")]
    added = [d[1:] for d in diff.splitlines() if d.startswith("+") and not d.startswith("+++")]
    if removed:
        before = " ".join(r.strip() for r in removed)
    return Mutant(spec.operator_name, spec.occurrence, line, before,
                  " ".join(a.strip() for a in added), diff)


def _last_line(output: str) -> str:
    lines = [x for x in (output or "").splitlines() if x.strip()]
    return lines[-1] if lines else "(no output)"


def report(runs: list[ModuleRun], target: float) -> int:
    """Print survivors, then one line per module; the number of modules under `target`."""
    for run in runs:
        survivors = [m for m in run.mutants if m.outcome in ("survived", "error")]
        if survivors:
            print(f"\nsurvivors in {run.path}:")
            for m in survivors:
                print(f"  line {m.line} [{m.operator}] ({m.outcome})\n    - {m.before}\n    + {m.after}")
    print(f"\n{'module':<52} {'annot.':>6} {'mutants':>8} {'sampled':>8} {'killed':>7} {'surv.':>6} {'equiv.':>7} {'rate':>7}")
    under = 0
    for run in runs:
        if run.skipped:
            print(f"{run.path:<52} skipped: {run.skipped}")
            continue
        rate = run.rate
        shown = "-" if rate is None else f"{rate:.1%}"
        under += rate is not None and rate < target
        print(f"{run.path:<52} {run.in_annotations:>6} {run.total:>8} {len(run.mutants):>8} {run.count('killed', 'timeout'):>7} "
              f"{run.count('survived', 'error'):>6} {run.count('equivalent'):>7} {shown:>7}")
    print("\nannot.: mutants inside annotations, never evaluated, left out; "
          "kill rate = killed / (killed + survived), equivalent mutants (docs/mutation.md) excluded. "
          f"\n{under} module(s) under {target:.0%}.")
    return under


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=int(os.environ.get("MUTATION_SAMPLE", "40")),
                        help="mutants per module, drawn at random (0: all); env MUTATION_SAMPLE")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("MUTATION_SEED", "14")),
                        help="sampling seed; env MUTATION_SEED")
    parser.add_argument("--module", action="append", default=[],
                        help="only modules whose path contains this (repeatable)")
    parser.add_argument("--timeout-factor", type=float, default=5.0,
                        help="a mutant's tests time out after this many times the clean run")
    parser.add_argument("--target", type=float, default=0.95, help="kill rate each module should reach")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, then stop")
    args = parser.parse_args(argv)
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        print("mutation: cosmic-ray is not installed (pip install 'responses-conformance[mutation]')")
        return 2
    targets = resolve(ROOT, args.module)
    if not targets:
        print(f"mutation: no core module matches {args.module}")
        return 2
    if args.list:
        for rel, tests in targets:
            print(f"{rel}: {' '.join(tests) or '(no tests)'}")
        return 0
    known = equivalents()
    runs = []
    # A terminated run still removes its copy (and never leaves a mutant behind).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    here = Path.cwd()
    json_path = args.json.resolve() if args.json else None
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(ROOT, tree, ignore=IGNORE)
        # The tests run without writing bytecode (so a mutant is never served from a stale
        # .pyc); compiling the copy once keeps every other module's import cheap.
        compileall.compile_dir(tree, quiet=1, workers=1)
        os.chdir(tree)
        os.environ["PYTHONPATH"] = os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        for rel, tests in targets:
            print(f"{rel}: {len(tests)} test file(s)", flush=True)
            runs.append(run_module(tree, rel, tests, args.sample, args.seed,
                                   known.get(rel, set()), args.timeout_factor))
            if json_path:
                write_json(json_path, runs)
        os.chdir(here)
    report(runs, args.target)
    return 0


def write_json(path: Path, runs: list[ModuleRun]) -> None:
    path.write_text(json.dumps([{**{k: v for k, v in vars(r).items() if k != "mutants"}, "rate": r.rate,
                                 "mutants": [vars(m) for m in r.mutants]} for r in runs], indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
