"""`conformance upstream`: serve a scripted, request-aware model over a provider's wire format."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from conformance.cli import UsageError

KINDS = ("chat-completions", "anthropic", "responses")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "upstream",
        help="serve a deterministic model over Chat Completions, Anthropic Messages or Responses "
        "(the upstream of a proxy under test)",
        description=(
            "Serve a cooperative, deterministic model (tools, tool_choice, parallel calls, reasoning, "
            "JSON for response formats, token limits) over a provider's wire format, for putting "
            "behind a converter or proxy. Every request is logged at GET /_conformance/exchanges "
            "(credentials scrubbed); POST /_conformance/script makes the next answer an HTTP error, "
            "a disconnect, a stall, an error event, a content filter or a recorded stream. "
            "Prints its base URL; Ctrl-C stops."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=KINDS, help="the wire format to serve")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 (the default) picks a free one")
    p.set_defaults(func=main)


def bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: not a port number")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from conformance.upstream.app import create_upstream_app

    sock = bind(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{sock.getsockname()[1]}/v1"
    print(f"conformance upstream ({args.kind}) at {url}  (log: GET {url[:-3]}/_conformance/exchanges; Ctrl-C stops)",
          flush=True)
    config = uvicorn.Config(create_upstream_app(args.kind), log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
