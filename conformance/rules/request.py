"""request.*: (request known) what the response must echo from the request and honour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, rule
from conformance.rules._util import short
from conformance.rules.output import first_difference

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "Responses API: create response"


ECHOED = (
    "instructions",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_output_tokens",
    "metadata",
    "previous_response_id",
    "store",
    "parallel_tool_calls",
    "text",
    "reasoning",
)


def _requested(field: str, value: Any) -> Any:
    """What the response must echo of a request field. `reasoning.context: "auto"` lets the model
    choose, and a response carries the mode in effect (openai-python 3.54's `Reasoning.context`:
    `current_turn` or `all_turns`), so the requested `auto` is not compared."""
    if field == "reasoning" and isinstance(value, dict) and value.get("context") == "auto":
        return {k: v for k, v in value.items() if k != "context"}
    return value


def subset_difference(req: Any, resp: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """Where `resp` fails to contain `req` (objects may gain keys the server fills in)."""
    if isinstance(req, dict) and isinstance(resp, dict):
        for k, v in req.items():
            if v is None:
                continue  # an explicit null means "absent" for the official API
            if k not in resp:
                return f"{path}/{k}", v, "<absent>"
            d = subset_difference(v, resp[k], f"{path}/{k}")
            if d is not None:
                return d
        return None
    if isinstance(req, list) and isinstance(resp, list):
        if len(req) != len(resp):
            return f"{path} (length)", len(req), len(resp)
        for i, (a, b) in enumerate(zip(req, resp, strict=True)):
            d = subset_difference(a, b, f"{path}/{i}")
            if d is not None:
                return d
        return None
    return first_difference(req, resp, path)


@rule("request.echo", "warning", "request field not echoed",
      "A request field is not echoed in the response (`model` may be resolved to a snapshot "
      "name, `reasoning.context: auto` to the mode in effect; instructions, tools, tool_choice, "
      "temperature, top_p, max_output_tokens, metadata, "
      "previous_response_id, store, parallel_tool_calls, text, reasoning).", spec=SPEC,
      on=("@response",))
def echoes_request(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    req = ctx.request
    if req is None:
        return
    model = req.get("model")
    got = resp.get("model")
    if isinstance(model, str) and model and not (isinstance(got, str) and (got == model or got.startswith(model + "-"))):
        yield f"request model {model!r} but the response says {short(got)}"
    for field in ECHOED:
        value = req.get(field)
        if value is None:
            continue
        if field not in resp:
            yield f"request.{field} {short(value)} is not echoed: the response has no {field}"
            continue
        d = subset_difference(_requested(field, value), resp[field], "")
        if d is not None:
            ptr, a, b = d
            yield f"request.{field}{ptr} is {short(a)} but the response echoes {short(b)}"


@rule("request.max-output-tokens", "error", "max_output_tokens hit but not incomplete",
      "Generation hit `max_output_tokens` but the response is not `incomplete` with reason "
      "`max_output_tokens`.", spec=SPEC,
      on=("@response",))
def max_output_tokens_incomplete(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    req = ctx.request
    if req is None or type(req.get("max_output_tokens")) is not int:
        return
    u = resp.get("usage")
    out = u.get("output_tokens") if isinstance(u, dict) else None
    if type(out) is not int or out < req["max_output_tokens"]:
        return
    details = resp.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if resp.get("status") != "incomplete" or reason != "max_output_tokens":
        yield (
            f"output_tokens {out} reached max_output_tokens {req['max_output_tokens']} but the "
            f"response is {short(resp.get('status'))} with incomplete_details {short(details)}; "
            "expected status 'incomplete', reason 'max_output_tokens'"
        )
