"""`conformance replay DIR`: serve recordings (or fixture-corpus folders) as a Responses endpoint,
optionally hostile: chunking, delays, disconnects, forced status."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

from conformance.cli import UsageError
from conformance.replay.chunking import CHUNKING_MODES

__all__ = ["main", "register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="serve recorded answers (conformance record, fixture folders) as a Responses endpoint",
        description=(
            "Serve a folder of recordings (NAME.sse / NAME.body.json / NAME.body next to a NAME.json "
            "sidecar, searched recursively) under /v1. Requests are matched by scenario "
            "(header X-Conformance-Scenario, or a fixture's name) and request, then by normalised "
            "request hash; unknown requests get an OpenAI-shaped 404 naming the closest recording."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="a `conformance record` folder or a fixture folder")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    p.add_argument("--api-key", metavar="KEY",
                   help="the key that counts as valid: requests without it get the recorded 401s "
                        "(or a 401); default: any key is valid, a missing one is not")
    h = p.add_argument_group("hostility")
    h.add_argument("--chunking", choices=CHUNKING_MODES, default="event",
                   help="how stream bytes are cut into writes: whole events, lines, single bytes, "
                        "or seeded random sizes (default: event)")
    h.add_argument("--seed", type=int, default=0, help="seed for --chunking random (default 0)")
    h.add_argument("--delay-ms", type=float, default=0.0, metavar="MS", help="pause between writes")
    h.add_argument("--disconnect-after", type=int, metavar="N", help="end every stream after N events")
    h.add_argument("--status", type=int, metavar="CODE",
                   help="answer every request with this status (4xx/5xx come with an error body)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from conformance.replay.app import Replayer, ReplayOptions, create_replay_app
    from conformance.replay.matching import RecordingError

    folder = Path(args.folder)
    try:
        options = ReplayOptions(
            chunking=args.chunking,
            seed=args.seed,
            delay_ms=args.delay_ms,
            disconnect_after=args.disconnect_after,
            status=args.status,
            api_key=args.api_key,
        )
        replayer = Replayer.from_folder(folder, options)
    except (RecordingError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not replayer.recordings:
        raise UsageError(f"{folder} holds no recordings (NAME.sse, NAME.body.json or NAME.body next to NAME.json)")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number")
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    sock.listen(2048)  # clients that connect before the server runs wait instead of being refused
    port = sock.getsockname()[1]
    scenarios = len({r.scenario for r in replayer.recordings if r.scenario})
    what = f"{len(replayer.recordings)} recordings" + (f" of {scenarios} scenarios" if scenarios else "")
    print(f"replaying {what} from {folder} at http://{args.host}:{port}/v1 (Ctrl-C stops)", flush=True)
    config = uvicorn.Config(create_replay_app(replayer), log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
