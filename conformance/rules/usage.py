"""usage.*: token counts in the terminal snapshot (or a non-stream body): present, integers,
adding up, with their details; and none on the created/in_progress snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, rule
from conformance.rules._util import short

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Catalogue: usage"


_COUNTS = ("input_tokens", "output_tokens", "total_tokens")
_DETAILS = (("input_tokens_details", "cached_tokens"), ("output_tokens_details", "reasoning_tokens"))


def _count(v: Any) -> bool:
    return type(v) is int and v >= 0


def _usage(resp: dict[str, Any]) -> dict[str, Any] | None:
    u = resp.get("usage")
    return u if isinstance(u, dict) else None


@rule("usage.missing", "error", "no usage",
      "`completed`/`incomplete` without `usage` (Codex needs it).", spec=SPEC, breaks=("codex",),
      on=("@response",))
def usage_present(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    status = resp.get("status")
    if status in ("completed", "incomplete") and resp.get("usage") is None:
        yield f"a {status} response without usage; expected input_tokens, output_tokens, total_tokens"


@rule("usage.invalid", "error", "a token count is invalid",
      "A count missing, negative or not an integer.", spec=SPEC, breaks=("codex",),
      on=("@response",))
def usage_counts_valid(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    if "usage" in resp and resp["usage"] is not None and not isinstance(resp["usage"], dict):
        yield f"usage is {short(resp['usage'])}, not an object"
        return
    u = _usage(resp)
    if u is None:
        return
    bad = [f"{k}={short(u.get(k)) if k in u else 'absent'}" for k in _COUNTS if not _count(u.get(k))]
    for group, key in _DETAILS:
        d = u.get(group)
        if isinstance(d, dict) and key in d and not _count(d[key]):
            bad.append(f"{group}.{key}={short(d[key])}")
    if bad:
        yield f"usage counts must be non-negative integers: {', '.join(bad)}"


@rule("usage.total", "error", "total_tokens does not add up",
      "`total_tokens != input_tokens + output_tokens`.", spec=SPEC,
      on=("@response",))
def usage_total(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    u = _usage(resp)
    if u is None or not all(_count(u.get(k)) for k in _COUNTS):
        return
    if u["total_tokens"] != u["input_tokens"] + u["output_tokens"]:
        yield (
            f"total_tokens {u['total_tokens']} != input_tokens {u['input_tokens']} + "
            f"output_tokens {u['output_tokens']}"
        )


@rule("usage.details-missing", "warning", "usage details missing",
      "`input_tokens_details.cached_tokens` or `output_tokens_details.reasoning_tokens` absent.",
      spec=SPEC,
      on=("@response",))
def usage_details(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    u = _usage(resp)
    if u is None:
        return
    missing = [f"{g}.{k}" for g, k in _DETAILS if not (isinstance(u.get(g), dict) and k in u[g])]
    if missing:
        yield f"usage lacks {', '.join(missing)}"


@rule("usage.details-exceed", "error", "details exceed their totals",
      "`reasoning_tokens > output_tokens` or `cached_tokens > input_tokens`.", spec=SPEC,
      on=("@response",))
def usage_details_within(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    u = _usage(resp)
    if u is None:
        return
    for (group, key), total in zip(_DETAILS, ("input_tokens", "output_tokens"), strict=True):
        d = u.get(group)
        part = d.get(key) if isinstance(d, dict) else None
        if _count(part) and _count(u.get(total)) and part > u[total]:
            yield f"{group}.{key} {part} exceeds {total} {u[total]}"


@rule("usage.early", "info", "usage on an early snapshot",
      "Non-null usage on `created` / `in_progress`.", spec="PROTOCOL.md Order",
      on=("response.created", "response.queued", "response.in_progress"))
def no_early_usage(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    resp = ev.get("response")
    if isinstance(resp, dict) and resp.get("usage") is not None:
        yield f"{ctx.etype} already carries usage {short(resp['usage'])}; the official API sends null until the end"


@rule("usage.max-output-tokens", "error", "more output tokens than allowed",
      "(request known) `output_tokens` above the request's `max_output_tokens`.", spec=SPEC,
      on=("@response",))
def within_max_output_tokens(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    req = ctx.request
    if req is None:
        return
    limit = req.get("max_output_tokens")
    u = _usage(resp)
    if type(limit) is not int or u is None or not _count(u.get("output_tokens")):
        return
    if u["output_tokens"] > limit:
        yield f"output_tokens {u['output_tokens']} exceeds the request's max_output_tokens {limit}"
