"""http.*: how a target answers HTTP requests, judged over one exchange at a time.

The single-exchange rules (status, server-error, error-shape, bad-request, content-type,
timeout) are "@exchange" checks over a `conformance.exchange.HttpExchange`: the live runner, a
replayed run and `conformance check` of recorded exchanges run the same functions. What a check
may assume about the request comes from the exchange's `Expectation` (recorded with it); an old
recording without one is judged only where the answer alone suffices (a 5xx, an error body's
shape, a non-JSON 200 body, a timeout).

The other http.* rules compare several exchanges or need the scenario's intent, so scenarios
report them (through `ScenarioContext.finding`, i.e. `registry.make_finding`):
- http.stream-vs-nonstream / http.stored-mismatch: two exchanges of the same scenario (the
  same request streamed and not; a stream and the GET of what it stored);
- http.previous-response: whether a continuation names the response the scenario chained it to;
- http.output-missing / http.structured-output: what the scenario asked the model to produce;
- http.object-shape of the input-items list (it must hold the input the scenario sent), the
  models list and the compaction body (whose scenarios also judge what the output holds). The
  deleted-response object needs nothing but its exchange: it is an "@exchange" check below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.excerpts import one_line
from conformance.exchange import NOT_JSON, HttpExchange
from conformance.registry import Hit, define, rule

RUNNER = "conformance live runner"
EXCERPT = 200

define("http.status", "error", "unexpected status", "Unexpected status for a valid request.")
define("http.server-error", "error", "5xx answer",
       "A 5xx answer to any request the suite sends, bad ones included.")
define("http.error-shape", "error", "error body shape",
       'An error body is not `{"error": {"message", "type", "param", "code"}}`.')
define("http.bad-request", "error", "invalid request not rejected properly",
       "An invalid request is accepted, or answered other than 400 (401 for auth, 404 for unknown ids).")
define("http.content-type", "error", "non-stream body not JSON",
       "A non-stream body is not `application/json`.")
define("http.stream-vs-nonstream", "warning", "stream and non-stream differ",
       "The non-stream body and the streamed terminal snapshot differ in structure for the same request.",
       external=RUNNER)
define("http.stored-mismatch", "error", "stored response differs",
       "`GET /responses/{id}` differs from the terminal snapshot of a stored response.", external=RUNNER)
define("http.timeout", "error", "timeout",
       "No first byte / no terminal event within the configured time.")

# Beyond RULES.md: what a live scenario asked of the target and did not get (added by this
# project under the same naming scheme; RULES.md ids are never renamed).
define("http.output-missing", "error", "the response lacks the output the scenario asks for",
       "E.g. no message text for a plain prompt, no function call although one was forced, "
       "no reasoning item although reasoning was requested.", external=RUNNER, kind="model")
define("http.structured-output", "error", "the output text does not follow the requested text.format",
       "text.format json_schema was requested: the output text must parse as JSON and validate "
       "against the schema.", external=RUNNER, kind="model")
define("http.previous-response", "error", "previous_response_id is not honoured",
       "A request continuing a stored response must succeed and name that response as its "
       "previous_response_id.", external=RUNNER)
define("http.object-shape", "error", "a non-Response body lacks required fields",
       "The deleted-response object, the input-items list, or the models list has the wrong shape.",
       external=RUNNER + "; a DELETE answer: any exchange")
# The API reference shows object "response"; other OpenAI documents say "response.deleted".
DELETED_OBJECTS = ("response.deleted", "response")


def excerpt(value: Any) -> str:
    return one_line("<not JSON>" if value is NOT_JSON else value, EXCERPT)


def _judged(ex: HttpExchange) -> bool:
    """An answer came, the client did not hang up on purpose, and it is not one that means the
    target lacks the feature."""
    if ex.status is None or ex.dropped:
        return False
    return not (ex.expect is not None and ex.status in ex.expect.unless)


def _wanted(ex: HttpExchange) -> str:
    return " or ".join(str(s) for s in ex.expect.statuses) if ex.expect else ""


# The checks run in declaration order: a 5xx is named before the status it breaks, the error
# body's shape after the status.


@rule("http.server-error", on="@exchange")
def not_a_server_error(ex: HttpExchange) -> Iterator[Hit]:
    if not _judged(ex) or ex.status is None or ex.status < 500:
        return
    if ex.expect is None:
        yield Hit(f"{ex.label}: answered {ex.status}", excerpt=excerpt(ex.decoded))
    elif ex.expect.request == "valid":
        yield Hit(f"{ex.label}: answered {ex.status} to a valid request", excerpt=excerpt(ex.decoded))
    else:
        yield Hit(f"{ex.label}: answered {ex.status} (expected {_wanted(ex)})", excerpt=excerpt(ex.decoded))


@rule("http.status", on="@exchange")
def valid_request_answered_200(ex: HttpExchange) -> Iterator[Hit]:
    if _judged(ex) and ex.expect is not None and ex.expect.request == "valid" and ex.status != 200:
        yield Hit(f"{ex.label}: answered {ex.status} to a valid request (expected 200)", excerpt=excerpt(ex.decoded))


@rule("http.bad-request", on="@exchange")
def invalid_request_rejected(ex: HttpExchange) -> Iterator[Hit]:
    if not _judged(ex) or ex.expect is None or ex.expect.request != "invalid" or ex.status is None:
        return
    if 200 <= ex.status < 300:
        yield Hit(f"{ex.label}: accepted with {ex.status} (expected {_wanted(ex)})", excerpt=excerpt(ex.decoded))
    elif ex.status < 500 and ex.status not in ex.expect.statuses:
        yield Hit(f"{ex.label}: answered {ex.status} (expected {_wanted(ex)})", excerpt=excerpt(ex.decoded))


def error_shape_problem(body: Any) -> str | None:
    """What is wrong with an error body, against `{"error": {"message", "type", "param", "code"}}`."""
    if not isinstance(body, dict):
        return "the error body is not a JSON object"
    if not isinstance(body.get("error"), dict):
        return "no `error` object" + (" (FastAPI's `detail` shape)" if "detail" in body else "")
    err = body["error"]
    missing = [k for k in ("message", "type", "param", "code") if k not in err]
    if missing:
        return f"`error` lacks {', '.join(missing)}"
    if not isinstance(err["message"], str) or not err["message"]:
        return "`error.message` is not a non-empty string"
    if not isinstance(err["type"], str):
        return "`error.type` is not a string"
    if err["param"] is not None and not isinstance(err["param"], str):
        return "`error.param` is neither a string nor null"
    if err["code"] is not None and not isinstance(err["code"], str):
        return "`error.code` is neither a string nor null"
    return None


@rule("http.error-shape", on="@exchange")
def error_body_shape(ex: HttpExchange) -> Iterator[Hit]:
    if not _judged(ex) or ex.status is None:
        return
    # An answer to a bad request is an error unless it accepted the request; any other answer
    # is one from 400 up.
    if ex.expect is not None and ex.expect.request == "invalid":
        is_error = not 200 <= ex.status < 300
    else:
        is_error = ex.status >= 400
    if is_error and (problem := error_shape_problem(ex.decoded)):
        yield Hit(f"{ex.label}: {problem}", excerpt=excerpt(ex.decoded))


@rule("http.content-type", on="@exchange")
def json_body(ex: HttpExchange) -> Iterator[str | Hit]:
    if not _judged(ex) or ex.stream or ex.status != 200:
        return
    if ex.expect is not None and not (ex.expect.request == "valid" and ex.expect.json_body):
        return
    ctype = (ex.content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        yield f"{ex.label}: Content-Type is {ex.content_type!r}, expected application/json"
    if ex.decoded is NOT_JSON:
        yield Hit(f"{ex.label}: the body is not JSON", excerpt=excerpt(ex.decoded))


@rule("http.timeout", on="@exchange")
def answered_in_time(ex: HttpExchange) -> Iterator[str]:
    if ex.timeout is None:
        return
    if not ex.stream:
        what = "no response" if ex.timeout.phase == "first-byte" else "no complete response"
    elif ex.status is None:
        what = "no response headers"
    else:
        messages, terminal = ex.sse_events
        if terminal:
            what = "the terminal event arrived but the connection was not closed"
        elif messages:
            what = f"{messages} events received but no terminal event"
        else:
            what = "response headers received but no event"
    yield f"{ex.label}: {what} within {ex.timeout.seconds:g}s (--timeout)"


@rule("http.object-shape", on="@exchange")
def deleted_object(ex: HttpExchange) -> Iterator[str]:
    """`DELETE /responses/{id}` answers `{"id": id, "object": "response.deleted", "deleted": true}`."""
    head, _, rid = ex.path.partition("/")
    if not _judged(ex) or ex.method != "DELETE" or ex.status != 200 or head != "responses" or not rid or "/" in rid:
        return
    body = ex.decoded if isinstance(ex.decoded, dict) else {}
    if body.get("deleted") is not True or body.get("id") != rid or body.get("object") not in DELETED_OBJECTS:
        shown = one_line("<not JSON>" if ex.decoded is NOT_JSON else ex.decoded, 120)
        yield f'DELETE answered {shown}, expected {{"id": {rid!r}, "object": "response.deleted", "deleted": true}}'
