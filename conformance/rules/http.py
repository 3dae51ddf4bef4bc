"""http.*: metadata only. The live runner (`conformance run`) implements these checks and
reports them with `registry.make_finding`."""

from __future__ import annotations

from conformance.registry import define

RUNNER = "conformance live runner"

define("http.status", "error", "unexpected status", "Unexpected status for a valid request.", external=RUNNER)
define("http.server-error", "error", "5xx answer",
       "A 5xx answer to any request the suite sends, bad ones included.", external=RUNNER)
define("http.error-shape", "error", "error body shape",
       'An error body is not `{"error": {"message", "type", "param", "code"}}`.', external=RUNNER)
define("http.bad-request", "error", "invalid request not rejected properly",
       "An invalid request is accepted, or answered other than 400 (401 for auth, 404 for unknown ids).",
       external=RUNNER)
define("http.content-type", "error", "non-stream body not JSON",
       "A non-stream body is not `application/json`.", external=RUNNER)
define("http.stream-vs-nonstream", "warning", "stream and non-stream differ",
       "The non-stream body and the streamed terminal snapshot differ in structure for the same request.",
       external=RUNNER)
define("http.stored-mismatch", "error", "stored response differs",
       "`GET /responses/{id}` differs from the terminal snapshot of a stored response.", external=RUNNER)
define("http.timeout", "error", "timeout",
       "No first byte / no terminal event within the configured time.", external=RUNNER)

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
       external=RUNNER)
