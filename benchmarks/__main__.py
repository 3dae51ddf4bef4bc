"""Entry point: `python -m benchmarks [checker|torch|proxy|corpus|websocket|all] [options]`.

`checker` (default options: 100k events; `--quick`, `--profile`) measures the stream checker;
`torch` (`--quick`, `--no-http`, `--http-only`, `--threads`) the torch token backend; `proxy` (`--quick`,
`--events`, `--rounds`) the overhead of `conformance proxy` vs direct; `corpus` (`--files`, `-j`,
`--quick`) `conformance check DIR -j N` scaling; `all` (the default) runs those four with their
default options. `websocket` (`--turns`, `--quick`) compares WebSocket mode with HTTP streaming on
the reference server. Benchmarks print; they assert nothing.
"""

import sys

TARGETS = ("all", "checker", "torch", "proxy", "corpus", "websocket")


def main(argv: list[str]) -> int:
    target, rest = ("all", argv) if not argv or argv[0].startswith("-") else (argv[0], argv[1:])
    if target not in TARGETS:
        print(f"python -m benchmarks: unknown benchmark {target!r} ({', '.join(TARGETS[1:])}, all)",
              file=sys.stderr)
        return 2
    if target == "websocket":
        from benchmarks.websocket_bench import main as websocket_main

        return websocket_main(rest)
    code = 0
    if target in ("all", "checker"):
        from benchmarks.checker_bench import main as checker_main

        print("== checker ==", flush=True)
        code |= checker_main(rest)
    if target in ("all", "torch"):
        from benchmarks.torch_bench import main as torch_main

        print("\n== torch backend ==", flush=True)
        code |= torch_main(rest if target == "torch" else [a for a in rest if a == "--quick"])
    if target in ("all", "proxy"):
        from benchmarks.proxy_bench import main as proxy_main

        print("\n== checking proxy ==", flush=True)
        code |= proxy_main(rest if target == "proxy" else [a for a in rest if a == "--quick"])
    if target in ("all", "corpus"):
        from benchmarks.corpus_bench import main as corpus_main

        print("\n== corpus (-j scaling) ==", flush=True)
        code |= corpus_main(rest if target == "corpus" else [a for a in rest if a == "--quick"])
    return code


sys.exit(main(sys.argv[1:]))
