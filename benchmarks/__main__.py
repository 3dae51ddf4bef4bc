"""Entry point: `python -m benchmarks [checker|torch|all] [options]`.

`checker` (default options: 100k events; `--quick`, `--profile`) measures the stream checker;
`proxy` (`--quick`, `--events`, `--rounds`) the overhead of `conformance proxy` vs direct;
`torch` (`--quick`, `--no-http`, `--threads`) measures the torch token backend; `all` (the
default) runs both with their default options; `websocket` (`--turns`, `--quick`) compares WebSocket
mode with HTTP streaming on the reference server. Benchmarks print; they assert nothing.
"""

import sys


def main(argv: list[str]) -> int:
    target, rest = ("all", argv) if not argv or argv[0].startswith("-") else (argv[0], argv[1:])
    if target not in ("all", "checker", "torch", "proxy", "websocket"):
        print(f"python -m benchmarks: unknown benchmark {target!r} (checker, torch, proxy, websocket, all)",
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
    return code


sys.exit(main(sys.argv[1:]))
