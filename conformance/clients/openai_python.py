"""Probe: feed a stream's raw bytes through the installed openai-python's `responses.stream()`.

The bytes are served in-process by an httpx MockTransport (no socket, no network). Rule
`client.openai-python`: the client raises, or its final response differs from the stream's
terminal snapshot. The openai version used is part of every result.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from conformance.excerpts import short
from conformance.findings import Finding

if TYPE_CHECKING:
    from conformance.recording import ExchangeRecord

RULE_ID = "client.openai-python"
CLIENT = "openai-python"
_PROBE_BASE_URL = "http://openai-python-probe.invalid/v1"


@dataclass
class ProbeResult:
    client: str
    version: str | None
    # None when the probe could not run (openai missing, request refused by the client); see `skipped`.
    ok: bool | None
    exception: str | None = None
    differences: list[str] = field(default_factory=list)
    skipped: str | None = None
    event_count: int = 0  # events the client yielded before it stopped
    # The last SSE event had no terminating blank line: openai-python's decoder drops such an
    # event, so a stream ending that way loses its terminal event in this client.
    unterminated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], False) or k == "ok"}

    def message(self) -> str:
        """One line: what went wrong in the client (empty when nothing did)."""
        if self.ok is not False:
            return ""
        if self.exception:
            text = (
                f"openai-python {self.version} raised {self.exception} while accumulating the "
                f"stream (after {self.event_count} events)"
            )
        else:
            text = (
                f"openai-python {self.version}: final response differs from the terminal "
                f"snapshot: {'; '.join(self.differences[:5])}"
            )
        if self.unterminated:
            text += (
                ". The stream's last event is not terminated by a blank line: openai-python's SSE "
                "decoder drops that event (framing.unterminated is only a warning, but this client "
                "loses the event; end every event with a blank line)"
            )
        return text

    def findings(self, profile: str = "openai") -> list[Finding]:
        if self.ok is not False:
            return []
        from conformance.registry import make_finding

        return [make_finding(RULE_ID, self.message(), profile=profile)]


# Said once per report when the probe was asked for but cannot run: without it a stream that
# breaks the client passes.
NOT_INSTALLED = (
    "client openai-python: not run, openai is not installed (pip install openai==3.60.0); "
    "streams were checked by the rules only"
)


def openai_version() -> str | None:
    try:
        import openai
    except ImportError:
        return None
    return str(openai.__version__)


@cache
def _stream_parameters() -> frozenset[str]:
    from openai.resources.responses import Responses

    skip = {"self", "response_id", "starting_after", "text_format", "extra_headers", "extra_query",
            "extra_body", "timeout"}
    return frozenset(inspect.signature(Responses.stream).parameters) - skip


def _stream_request_kwargs(request: dict[str, Any] | None) -> dict[str, Any]:
    """The original request as `responses.stream()` arguments, so the client parses the stream as
    it would for that request (strict tools make it parse call arguments)."""
    request = dict(request or {})
    kwargs = {k: v for k, v in request.items() if k in _stream_parameters() and v is not None}
    kwargs.setdefault("model", "probe-model")
    kwargs.setdefault("input", "probe")
    return kwargs


def _chunks(data: bytes, chunk_size: int | None) -> Iterator[bytes]:
    if not chunk_size:
        yield data
        return
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


def _http_module() -> Any:
    """The HTTP library the installed openai sends through by default (httpx2 for openai 3.x,
    httpx before), so the bytes take the client's own default path."""
    try:
        import httpx2
    except ImportError:
        import httpx  # openai 2.x and earlier send through httpx, which they depend on

        return httpx
    return httpx2


def probe_stream(
    data: bytes | Iterable[bytes],
    *,
    request: dict[str, Any] | None = None,
    terminal_response: dict[str, Any] | None = None,
    chunk_size: int | None = None,
) -> ProbeResult:
    """Run `data` (raw SSE bytes as a server sent them) through openai-python.

    `terminal_response`: the stream's terminal snapshot as the checker saw it (default: read from
    the bytes); the client's final response is compared with it.
    """
    version = openai_version()
    if version is None:
        return ProbeResult(CLIENT, None, None, skipped="openai is not installed")
    import openai

    body = data if isinstance(data, bytes) else b"".join(data)
    from conformance.snapshot import read_body

    terminal, unterminated = read_body(body)
    terminal = terminal_response if terminal_response is not None else terminal
    sent = False

    http = _http_module()

    def handler(req: Any) -> Any:
        nonlocal sent
        sent = True
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=_chunks(body, chunk_size))

    http_client = http.Client(transport=http.MockTransport(handler))
    client = openai.OpenAI(api_key="probe-key-not-secret", base_url=_PROBE_BASE_URL, http_client=http_client,
                           max_retries=0)
    result = ProbeResult(CLIENT, version, ok=True, unterminated=unterminated)
    terminal_status = (terminal or {}).get("status")
    try:
        with warnings.catch_warnings():
            # pydantic warns about off-schema values while the client accumulates: noise here.
            warnings.simplefilter("ignore")
            final = _consume(client, request, terminal_status, result)
    except Exception as exc:  # any exception is exactly what the probe exists to report
        expected_failure = isinstance(exc, openai.APIError) and terminal_status == "failed"
        if not sent:
            result.ok, result.skipped = None, f"the client refused the request: {_one_line(str(exc))}"
        elif not expected_failure:  # a failed response surfacing as APIError is the client working
            result.ok = False
            result.exception = f"{type(exc).__name__}: {_one_line(str(exc)) or '(no message)'}"
        return result
    finally:
        http_client.close()
    if final is not None and terminal is not None:
        dumped = final.model_dump(mode="json", warnings=False)
        result.differences = compare_final_response(dumped, terminal)
        result.ok = not result.differences
    return result


def _consume(client: Any, request: dict[str, Any] | None, terminal_status: Any, result: ProbeResult) -> Any:
    """Iterate the client's stream; the final response when the stream claims to complete."""
    with client.responses.stream(**_stream_request_kwargs(request)) as stream:
        for _event in stream:
            result.event_count += 1
        # get_final_response() raises unless response.completed arrived: only a stream that
        # claims to complete (or has no terminal event at all) must give a final response.
        if terminal_status in (None, "completed"):
            return stream.get_final_response()
    return None


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Fields the client derives or re-parses itself; they are not part of what the server sent.
_CLIENT_ONLY_KEYS = frozenset({"parsed", "parsed_arguments"})


def _project(value: Any) -> Any:
    """What the comparison looks at: the server's data, without client-derived keys or nulls
    the client fills in for absent optional fields."""
    if isinstance(value, dict):
        return {k: _project(v) for k, v in value.items() if k not in _CLIENT_ONLY_KEYS and v is not None}
    if isinstance(value, list):
        return [_project(v) for v in value]
    return value


def compare_final_response(final: dict[str, Any], terminal: dict[str, Any]) -> list[str]:
    """Differences between the client's final response and the terminal snapshot, as short
    human-readable lines (empty when they agree on id, status and every output item)."""
    differences: list[str] = []
    for key in ("id", "status"):
        if final.get(key) != terminal.get(key):
            differences.append(f"{key}: client {final.get(key)!r} vs stream {terminal.get(key)!r}")
    client_output = _project(final.get("output") or [])
    stream_output = _project(terminal.get("output") or [])
    if len(client_output) != len(stream_output):
        differences.append(
            f"output has {len(client_output)} items in the client, {len(stream_output)} in the stream"
        )
    for index, (mine, theirs) in enumerate(zip(client_output, stream_output, strict=False)):
        if not isinstance(mine, dict) or not isinstance(theirs, dict):
            continue
        # The client only knows fields it models; compare the ones it kept.
        for key, value in mine.items():
            if key in theirs and theirs[key] != value:
                differences.append(f"output[{index}].{key}: client {_short(value)} vs stream {_short(theirs[key])}")
    return differences


def _short(value: Any, limit: int = 80) -> str:
    return short(value, limit, sort_keys=True)


class OpenAIPythonProbe:
    """Runner observer (`conformance run --client openai-python`): probes every streamed 200
    answer the scenario read to the end; `results` keeps each probe for the report."""

    def __init__(self) -> None:
        self.results: list[tuple[str | None, str, ProbeResult]] = []

    def observe(self, record: ExchangeRecord) -> list[Finding]:
        if not record.stream or record.status != 200 or record.dropped:
            return []
        result = probe_stream(record.body, request=record.request_json, terminal_response=record.terminal)
        self.results.append((record.scenario, record.label, result))
        return result.findings(record.profile)

    def summary(self) -> dict[str, Any]:
        """For Report.meta["clients"]: version and counts."""
        failed = [f"{s}: {label}" for s, label, r in self.results if r.ok is False]
        summary: dict[str, Any] = {"version": openai_version(), "streams_probed": len(self.results), "failed": failed}
        if summary["version"] is None:
            summary["skipped"] = "openai is not installed"
        return summary
