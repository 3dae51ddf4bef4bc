"""Probe: feed a stream through the installed openai-python's `responses.stream()` accumulator.

The stream is served in-process by an httpx MockTransport (no socket, no network). The probe
reports `client.openai-python` when the client raises, or when its final response differs from the
stream's terminal snapshot. Which openai version was used is part of every result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.findings import Finding

RULE_ID = "client.openai-python"
_PROBE_BASE_URL = "http://openai-python-probe.invalid/v1"


@dataclass
class ProbeResult:
    client: str
    version: str | None
    # None when the probe could not run (openai not installed); the reason is then in `skipped`.
    ok: bool | None
    exception: str | None = None
    differences: list[str] = field(default_factory=list)
    skipped: str | None = None
    event_count: int = 0

    def findings(self, profile: str = "openai") -> list[Finding]:
        if self.ok is not False:
            return []
        from conformance.registry import make_finding

        if self.exception:
            message = (
                f"openai-python {self.version} raised {self.exception} while accumulating the "
                f"stream (after {self.event_count} events)"
            )
        else:
            message = (
                f"openai-python {self.version}: final response differs from the terminal "
                f"snapshot: {'; '.join(self.differences[:5])}"
            )
        return [make_finding(RULE_ID, message, profile=profile)]


def openai_version() -> str | None:
    try:
        import openai
    except ImportError:
        return None
    return str(openai.__version__)


def _stream_request_kwargs(request: dict[str, Any] | None) -> dict[str, Any]:
    """The subset of the original request that `responses.stream()` accepts, so the client
    parses the stream as it would for that request (tools matter for strict argument parsing)."""
    request = dict(request or {})
    kwargs: dict[str, Any] = {
        "model": request.get("model") or "probe-model",
        "input": request.get("input") if request.get("input") is not None else "probe",
    }
    for key in ("tools", "instructions", "tool_choice", "parallel_tool_calls", "reasoning"):
        if request.get(key) is not None:
            kwargs[key] = request[key]
    return kwargs


def _chunks(data: bytes, chunk_size: int | None) -> Iterator[bytes]:
    if not chunk_size:
        yield data
        return
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


def probe_stream(
    data: bytes | Iterable[bytes],
    *,
    request: dict[str, Any] | None = None,
    terminal_response: dict[str, Any] | None = None,
    chunk_size: int | None = None,
) -> ProbeResult:
    """Run `data` (raw SSE bytes as a server sent them) through openai-python.

    `terminal_response` is the stream's terminal snapshot as the checker saw it; when given, the
    client's final response is compared with it.
    """
    version = openai_version()
    if version is None:
        return ProbeResult("openai-python", None, None, skipped="openai is not installed")
    import openai

    body = data if isinstance(data, bytes) else b"".join(data)

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=_chunks(body, chunk_size),
        )

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    client = openai.OpenAI(
        api_key="probe-key-not-secret", base_url=_PROBE_BASE_URL, http_client=http_client, max_retries=0
    )
    result = ProbeResult("openai-python", version, ok=True)
    terminal_status = (terminal_response or {}).get("status")
    final = None
    try:
        with client.responses.stream(**_stream_request_kwargs(request)) as stream:
            for _event in stream:
                result.event_count += 1
            # get_final_response() raises unless response.completed arrived; only a stream that
            # claims to complete (or whose terminal is unknown) must give a final response.
            if terminal_status in (None, "completed"):
                final = stream.get_final_response()
    except openai.APIError as exc:
        # A failed response surfaces as APIError: that is the client working as designed.
        if terminal_status != "failed":
            result.ok = False
            result.exception = f"{type(exc).__name__}: {_one_line(str(exc))}"
        return result
    except Exception as exc:  # any other exception is exactly what the probe exists to report
        result.ok = False
        result.exception = f"{type(exc).__name__}: {_one_line(str(exc))}"
        return result
    finally:
        http_client.close()
    if final is not None and terminal_response is not None:
        result.differences = compare_final_response(final.model_dump(mode="json"), terminal_response)
        result.ok = not result.differences
    return result


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Fields the client derives or re-parses itself; they are not part of what the server sent.
_CLIENT_ONLY_KEYS = frozenset({"parsed", "parsed_arguments"})


def _project(value: Any) -> Any:
    """What the comparison looks at: the server's data, without client-derived keys or nulls
    the client fills in for absent optional fields."""
    if isinstance(value, dict):
        return {
            k: _project(v) for k, v in value.items() if k not in _CLIENT_ONLY_KEYS and v is not None
        }
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
        # The client only knows fields it models; compare the ones it kept.
        for key, value in mine.items():
            if key in theirs and theirs[key] != value:
                differences.append(
                    f"output[{index}].{key}: client {_short(value)} vs stream {_short(theirs[key])}"
                )
    return differences


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
