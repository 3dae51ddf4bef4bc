"""`conformance replay DIR`: serve a folder of recordings as a Responses endpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.cli import UsageError
from conformance.replay.chunking import CHUNKING_MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="serve recorded fixtures as a Responses endpoint",
        description=(
            "Serve a folder of recordings (NAME.sse or NAME.body.json next to a NAME.json sidecar) "
            "at /v1/responses. A request is matched by scenario id (header X-Conformance-Scenario "
            "or metadata.conformance_scenario) or by its normalised request hash; unknown requests "
            "get an OpenAI-shaped 404 naming the closest recording."
        ),
    )
    p.add_argument("folder", help="folder of recordings (searched recursively)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    p.add_argument(
        "--chunking",
        choices=CHUNKING_MODES,
        default="event",
        help="how bytes are cut into network writes (default: event)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for --chunking random")
    p.add_argument("--delay-ms", type=float, default=0.0, help="pause between writes")
    p.add_argument(
        "--disconnect-after", type=int, metavar="N", help="end every stream after N events"
    )
    p.add_argument("--status", type=int, metavar="CODE", help="answer every request with this status")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from conformance.replay.app import ReplayOptions, create_replay_app
    from conformance.replay.matching import RecordingError, load_recordings

    folder = Path(args.folder)
    try:
        recordings = load_recordings(folder)
        options = ReplayOptions(
            chunking=args.chunking,
            seed=args.seed,
            delay_ms=args.delay_ms,
            disconnect_after=args.disconnect_after,
            status=args.status,
        )
    except (RecordingError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if not recordings:
        raise UsageError(f"{folder} holds no recordings (NAME.sse / NAME.body.json with NAME.json)")
    import uvicorn

    config = uvicorn.Config(
        create_replay_app(recordings, options), host=args.host, port=args.port, log_level="warning"
    )
    server = uvicorn.Server(config)
    print(f"replaying {len(recordings)} recordings from {folder} at http://{args.host}:{args.port}/v1")
    server.run()
    return 0
