"""Proxy mode's command line flags (wired into `python -m reference_server`): parsing, the
one-line reasons they do not combine, and serving the proxy app under uvicorn.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from fastapi import FastAPI

from reference_server.core.settings import Settings
from reference_server.core.store import ResponseStore
from reference_server.web.proxy import DEFAULT_TIMEOUT, UPSTREAMS, create_proxy_app


def parse_model_map(pairs: list[str] | None) -> dict[str, str]:
    """`["a=b", "c=d"]` -> {"a": "b", "c": "d"}; raises ValueError naming a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, target = pair.partition("=")
        if not sep or not name or not target:
            raise ValueError(f"--model-map expects CLIENT_MODEL=UPSTREAM_MODEL, got {pair!r}")
        out[name] = target
    return out


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "proxy mode", "serve /v1/responses through an upstream API instead of a token backend "
                      "(--db, --api-key, --done-sentinel, --nested-errors, --max-body-bytes still apply)")
    group.add_argument("--upstream", choices=UPSTREAMS, help="upstream API kind; enables proxy mode")
    group.add_argument("--upstream-url", help="upstream base URL, e.g. https://api.openai.com/v1")
    group.add_argument("--upstream-api-key", default=None,
                       help="upstream key (default: $UPSTREAM_API_KEY); never logged or returned")
    group.add_argument("--model-map", action="append", metavar="CLIENT=UPSTREAM", default=[],
                       help="rename a model on its way upstream (repeatable); GET /v1/models lists the "
                            "CLIENT names (else the upstream's models)")
    group.add_argument("--upstream-timeout", type=float, default=None,
                       help=f"seconds of upstream silence before the response fails (default {DEFAULT_TIMEOUT:g})")


# Flags of the token-backend path that mean nothing in proxy mode.
_BACKEND_FLAGS = (("backend", "--backend"), ("checkpoint", "--checkpoint"), ("backend_option", "--backend-option"),
                  ("model_id", "--model-id"), ("strict_model", "--strict-model"))


def proxy_args_error(args: argparse.Namespace) -> str | None:
    """Why these flags do not combine (one line), or None. Checks both directions: proxy flags
    without --upstream, backend flags with it."""
    upstream = getattr(args, "upstream", None)
    if upstream is None:
        for attr, flag in (("upstream_url", "--upstream-url"), ("upstream_api_key", "--upstream-api-key"),
                           ("model_map", "--model-map"), ("upstream_timeout", "--upstream-timeout")):
            if getattr(args, attr, None):
                return f"{flag} needs --upstream chat-completions|anthropic|responses"
        return None
    for attr, flag in _BACKEND_FLAGS:
        if getattr(args, attr, None):
            return f"{flag} does not apply in proxy mode (--upstream {upstream})"
    url = getattr(args, "upstream_url", None)
    if not url:
        return f"--upstream {upstream} needs --upstream-url"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"--upstream-url must be an http(s) URL such as https://api.openai.com/v1, got {url!r}"
    timeout = getattr(args, "upstream_timeout", None)
    if timeout is not None and not timeout > 0:
        return f"--upstream-timeout must be positive, got {timeout:g}"
    try:
        parse_model_map(getattr(args, "model_map", None))
    except ValueError as exc:
        return str(exc)
    return None


def app_from_args(args: argparse.Namespace, *, store: ResponseStore | None = None,
                  settings: Settings | None = None) -> FastAPI:
    """The proxy app for parsed flags; SystemExit (one line) when they do not combine."""
    problem = proxy_args_error(args)
    if problem:
        raise SystemExit(problem)
    timeout = getattr(args, "upstream_timeout", None)
    return create_proxy_app(
        args.upstream,
        args.upstream_url,
        upstream_api_key=getattr(args, "upstream_api_key", None) or os.environ.get("UPSTREAM_API_KEY"),
        model_map=parse_model_map(args.model_map),
        api_key=getattr(args, "api_key", None),
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        store=store,
        settings=settings,
    )


def run_from_args(args: argparse.Namespace, *, store: ResponseStore | None = None,
                  settings: Settings | None = None) -> int:
    """Serve the proxy with uvicorn on `args.host`/`args.port`; returns the exit status."""
    import uvicorn

    app = app_from_args(args, store=store, settings=settings)
    host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 8000)
    host_in_url = f"[{host}]" if ":" in host else host
    keyed = (settings is not None and settings.api_key) or getattr(args, "api_key", None)
    print(f"reference-server: proxy mode, serving the Responses API at http://{host_in_url}:{port}/v1 "
          f"in front of {args.upstream} upstream {urlsplit(args.upstream_url).netloc}"
          f"{', API key required' if keyed else ''}", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=getattr(args, "log_level", "info"))
    except OSError as exc:
        print(f"reference-server: error: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
