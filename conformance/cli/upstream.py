"""`conformance upstream`: serve a scripted, request-aware model over a provider's wire format."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
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


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from conformance.runner.errors import TargetError
    from conformance.runner.upstream import bind
    from conformance.upstream.app import create_upstream_app, quiet_server_logs

    quiet_server_logs()

    try:
        sock = bind(args.host, args.port)
    except TargetError as exc:
        raise UsageError(str(exc)) from None
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


# -- `conformance run --upstream …` --------------------------------------------------------


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `conformance run` that put a known upstream behind the target (a proxy)."""
    g = p.add_argument_group(
        "upstream (the target is a proxy: judge it knowing what its upstream was asked and said)")
    g.add_argument("--upstream", choices=KINDS, help="the proxy's upstream API; enables the upstream.* rules "
                   "and the upstream-* scenarios (scenarios then run one at a time)")
    g.add_argument("--upstream-url", metavar="URL", help="a `conformance upstream` already running, that the "
                   "proxy is pointed at (default: start one)")
    g.add_argument("--upstream-port", type=int, metavar="N", help="port of the upstream to start (default: a free one)")
    g.add_argument("--launch", metavar="CMD", help="start the proxy under test with this command, {upstream_url} "
                   "and {port} (the port of --base-url) filled in; stopped afterwards")
    g.add_argument("--upstream-env", metavar="NAME", help="with --app: put the upstream URL in this environment "
                   "variable before the app is imported")


UPSTREAM_IDS = ("upstream-http-error", "upstream-disconnect", "upstream-error-event", "upstream-stall",
                "upstream-content-filter", "upstream-usage-chunks")
RECORDED_PREFIX = "upstream-recorded-"  # + the name of a stream of fixtures/upstream/<kind>/
_picked: set[str] = set()
_given: list[bool] = [False]


def _is_upstream(token: str) -> bool:
    return token in UPSTREAM_IDS or token.startswith(RECORDED_PREFIX) or token in ("tag:upstream", "tag:recorded")


def split_selection(values: list[str] | None) -> tuple[bool, list[str] | None]:
    """--scenario values without the upstream-* scenarios (not in the catalogue): returns whether
    only upstream ones were chosen, and the rest. The picked ones are remembered for `selected`."""
    _picked.clear()
    _given[0] = bool(values)
    if not values:
        return False, values
    tokens = [t.strip() for v in values for t in v.split(",") if t.strip()]
    mine = [t for t in tokens if _is_upstream(t)]
    rest = [t for t in tokens if t not in mine]
    _picked.update(mine)
    return bool(mine) and not rest, [",".join(rest)] if rest else None if mine else values


def split_skips(values: list[str] | None) -> tuple[list[str], list[str] | None]:
    """--skip values: the upstream-* scenario ids (and tag:upstream) apart from the rest."""
    tokens = [t.strip() for v in values or () for t in v.split(",") if t.strip()]
    mine = [t for t in tokens if _is_upstream(t)]
    rest = [t for t in tokens if t not in mine]
    return mine, ([",".join(rest)] if rest else None) if mine else values


class UpstreamRun:
    """What --upstream adds to a run: the judging observer, scenarios and skips."""

    def skipped(self, scenario: Any, skips: list[str]) -> str | None:
        hit = next((s for s in skips if s == scenario.id or s in {f"tag:{t}" for t in scenario.tags}), None)
        return f"skipped by --skip {hit}" if hit else None

    def selected(self, scenario: Any) -> bool:
        return not _given[0] or scenario.id in _picked or any(f"tag:{t}" in _picked for t in scenario.tags)

    def __init__(self, kind: str, url: str) -> None:
        from conformance.runner.upstream import (
            UpstreamCheck,
            UpstreamLink,
            skips_for,
            upstream_scenarios,
        )

        self.url = url
        link = UpstreamLink(url)
        self.check = UpstreamCheck(link, kind)
        self.scenarios = upstream_scenarios(link, kind)
        self.skips = skips_for(kind)


def _check_running(url: str) -> None:
    """--upstream-url must be a `conformance upstream`: its log answers."""
    import httpx

    root = url[:-3] if url.endswith("/v1") else url
    try:
        res = httpx.get(f"{root}/_conformance/exchanges", timeout=10)
        ok = res.status_code == 200 and "exchanges" in res.json()
    except (httpx.HTTPError, ValueError):
        ok = False
    if not ok:
        raise UsageError(f"--upstream-url {url}: no `conformance upstream` answers there "
                         f"(GET {root}/_conformance/exchanges)")


@contextlib.contextmanager
def run_upstream(args: argparse.Namespace) -> Iterator[UpstreamRun | None]:
    """Start (or find) the upstream and the launched proxy for `conformance run`; None without --upstream."""
    from conformance.runner.errors import TargetError
    from conformance.runner.upstream import launch, serve_upstream

    given = [f"--{n.replace('_', '-')}" for n in ("upstream_url", "upstream_port", "launch", "upstream_env")
             if getattr(args, n, None) is not None]
    if not args.upstream:
        if given:
            raise UsageError(f"{given[0]} needs --upstream chat-completions|anthropic|responses")
        yield None
        return
    if not (args.base_url or args.app):
        raise UsageError("--upstream needs the proxy under test: --base-url URL (with --launch to start it) or --app")
    if args.upstream_url and args.upstream_port is not None:
        raise UsageError("--upstream-url names a running upstream; --upstream-port one to start: pass one of them")
    if args.launch and not args.base_url:
        raise UsageError("--launch needs --base-url (where the launched proxy will listen, e.g. http://127.0.0.1:9000/v1)")
    if args.upstream_env and not args.app:
        raise UsageError("--upstream-env is for --app (a launched or running proxy gets the URL otherwise)")
    with contextlib.ExitStack() as stack:
        try:
            if args.upstream_url:
                url = args.upstream_url.rstrip("/")
                _check_running(url)
            else:
                url = stack.enter_context(serve_upstream(args.upstream, args.upstream_port or 0))
                print(f"conformance upstream ({args.upstream}) at {url}", file=sys.stderr, flush=True)
            if args.upstream_env:
                os.environ[args.upstream_env] = url
            if args.launch:
                stack.enter_context(launch(args.launch, upstream_url=url, base_url=args.base_url))
        except TargetError as exc:
            raise UsageError(str(exc)) from None
        yield UpstreamRun(args.upstream, url)
