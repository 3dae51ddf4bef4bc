"""Entry point: `python -m benchmarks [checker|torch|all] [options]`.

`checker` (default options: 100k events; `--quick`, `--profile`) measures the stream checker;
`torch` (`--quick`, `--no-http`, `--threads`) measures the torch token backend; `corpus`
(`--files`, `-j`, `--quick`) measures `conformance check DIR -j N` scaling; `all` (the default)
runs them all with their default options. Benchmarks print; they assert nothing.
"""

import sys


def main(argv: list[str]) -> int:
    target, rest = ("all", argv) if not argv or argv[0].startswith("-") else (argv[0], argv[1:])
    if target not in ("all", "checker", "torch", "corpus"):
        print(f"python -m benchmarks: unknown benchmark {target!r} (checker, torch, corpus, all)", file=sys.stderr)
        return 2
    code = 0
    if target in ("all", "checker"):
        from benchmarks.checker_bench import main as checker_main

        print("== checker ==", flush=True)
        code |= checker_main(rest)
    if target in ("all", "torch"):
        from benchmarks.torch_bench import main as torch_main

        print("\n== torch backend ==", flush=True)
        code |= torch_main(rest if target == "torch" else [a for a in rest if a == "--quick"])
    if target in ("all", "corpus"):
        from benchmarks.corpus_bench import main as corpus_main

        print("\n== corpus (-j scaling) ==", flush=True)
        code |= corpus_main(rest if target == "corpus" else [a for a in rest if a == "--quick"])
    return code


sys.exit(main(sys.argv[1:]))
