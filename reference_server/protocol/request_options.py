"""The newer, mostly operational `responses.create` parameters (openai-python 3.54) and what
OpenAI's own clients add: validated into the official 400 shape, then honoured or echoed.

Split from request.py so the core of a request (input, tools, formats) stays readable. Every
function takes the raw value (None = absent) and returns what the request keeps.
"""

from __future__ import annotations

from typing import Any

from .errors import APIError
from .errors import invalid_type as _type_error

PENALTY_RANGE = (-2.0, 2.0)

# Parameters of the official API this server cannot honour, and why: refused with a 400 that
# says so (never silently ignored) unless the value is null.
UNSUPPORTED_PARAMS: dict[str, str] = {
    "conversation": "this server has no Conversations API; continue with 'previous_response_id' instead",
    "prompt": "this server stores no prompt templates; send 'instructions' and 'input' instead",
    "moderation": "this server runs no moderation model",
}


def unsupported(key: str) -> APIError:
    return APIError(400, f"The '{key}' parameter is not supported by this server: {UNSUPPORTED_PARAMS[key]}.",
                    param=key, code="unsupported_parameter")


def _object(value: Any, param: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(param, "an object", value)
    for key in value:
        if key not in allowed:
            raise APIError(400, f"Unknown parameter: '{param}.{key}'.", param=f"{param}.{key}",
                           code="unknown_parameter")
    return value


def _choice(obj: dict[str, Any], key: str, param: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = obj.get(key)
    if value is None:
        return default
    shown = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise _type_error(param, f"one of {shown}", value)
    if value not in allowed:
        raise APIError(400, f"Invalid value for '{param}': {value!r}. Supported values are: {shown}.",
                       param=param, code="invalid_value")
    return value


def penalty(value: Any, param: str) -> float:
    """`presence_penalty` / `frequency_penalty`: a number in [-2, 2], 0 when absent."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(param, "a number", value)
    lo, hi = PENALTY_RANGE
    if not lo <= value <= hi:
        code = "decimal_below_min_value" if value < lo else "decimal_above_max_value"
        raise APIError(400, f"Invalid '{param}': expected a value between {lo:g} and {hi:g}, but got {value} "
                            "instead.", param=param, code=code)
    return float(value)


def client_metadata(value: Any) -> dict[str, str]:
    """Codex CLI's `client_metadata`: an object of strings describing the client (installation
    id, originator, …). Accepted and not echoed: the live API does not return it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _type_error("client_metadata", "an object", value)
    for key, val in value.items():
        if not isinstance(val, str):
            raise _type_error(f"client_metadata.{key}", "a string", val)
    return dict(value)


def access_programs(value: Any) -> dict[str, Any] | None:
    """Echoed as given: access programs change which model behaviour an account gets, which a
    self-hosted model does not vary."""
    if value is None:
        return None
    obj = _object(value, "access_programs", {"cyber"})
    cyber = _choice(obj, "cyber", "access_programs.cyber", ("standard", "daybreak_blue", "daybreak_red"), None)
    return {} if cyber is None else {"cyber": cyber}


def image_options(value: Any) -> dict[str, Any] | None:
    """`image.context_compression`: the effective policy is echoed, and it is always `disabled`:
    images reach this text-only model as a one-line description, so there is nothing to compress."""
    if value is None:
        return None
    obj = _object(value, "image", {"context_compression"})
    _choice(obj, "context_compression", "image.context_compression", ("auto", "enabled", "disabled"), "auto")
    return {"context_compression": "disabled"}


def background_options(value: Any, *, background: bool, stream: bool) -> dict[str, Any] | None:
    """`completion_window` "2h"/"8h" only with background and without streaming (as the SDK
    documents); every window is met by running as soon as possible. Not part of the Response."""
    if value is None:
        return None
    obj = _object(value, "background_options", {"completion_window", "continuation_id"})
    window = _choice(obj, "completion_window", "background_options.completion_window",
                     ("soonest", "2h", "8h"), "soonest")
    continuation = obj.get("continuation_id")
    if continuation is not None and not isinstance(continuation, str):
        raise _type_error("background_options.continuation_id", "a string", continuation)
    if window != "soonest" and (not background or stream):
        raise APIError(400, f"'background_options.completion_window' {window!r} requires 'background': true "
                            "and no streaming.", param="background_options.completion_window",
                       code="invalid_value")
    return {"completion_window": window, "continuation_id": continuation}


def prompt_cache_options(value: Any) -> dict[str, Any] | None:
    """Echoed with defaults filled in. The server's prefix reuse does not depend on breakpoints,
    so `mode` and `ttl` change nothing; `prewarm` is read by `prewarm()`."""
    if value is None:
        return None
    obj = _object(value, "prompt_cache_options", {"comparison_response_id", "mode", "prewarm", "ttl"})
    mode = _choice(obj, "mode", "prompt_cache_options.mode", ("implicit", "explicit"), "implicit")
    ttl = _choice(obj, "ttl", "prompt_cache_options.ttl", ("30m", "12h"), "30m")
    prewarm = obj.get("prewarm")
    if prewarm is not None and not isinstance(prewarm, bool):
        raise _type_error("prompt_cache_options.prewarm", "a boolean", prewarm)
    comparison = obj.get("comparison_response_id")
    if comparison is not None and not isinstance(comparison, str):
        raise _type_error("prompt_cache_options.comparison_response_id", "a string", comparison)
    return {"mode": mode, "ttl": ttl, "comparison_response_id": comparison}


def prewarm(value: Any) -> bool:
    """`prompt_cache_options.prewarm` of a validated body: true means no output (the SDK: it
    "overrides the `generate` field to `false`"), the request's state prepared to continue from."""
    return isinstance(value, dict) and value.get("prewarm") is True


def context_management(value: Any) -> tuple[bool, int | None]:
    """`context_management`: a list of entries `{type: "compaction", compact_threshold?}` (the
    SDK's only type). Returns (compaction on, its threshold in prompt tokens or None for the
    server's default). At most one compaction entry: two thresholds would contradict."""
    if value is None:
        return False, None
    if not isinstance(value, list):
        raise _type_error("context_management", "an array", value)
    enabled, threshold = False, None
    for i, entry in enumerate(value):
        param = f"context_management[{i}]"
        obj = _object(entry, param, {"type", "compact_threshold"})
        if "type" not in obj or obj["type"] is None:
            raise APIError(400, f"Missing required parameter: '{param}.type'.", param=f"{param}.type",
                           code="missing_required_parameter")
        _choice(obj, "type", f"{param}.type", ("compaction",), None)
        if enabled:
            raise APIError(400, f"Invalid value for '{param}': only one 'compaction' entry is allowed.",
                           param=param, code="invalid_value")
        enabled = True
        limit = obj.get("compact_threshold")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)  # JSON has one number type: 2.0 is the integer 2 (JSON Schema agrees)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise _type_error(f"{param}.compact_threshold", "an integer", limit)
            if limit < 1:
                raise APIError(400, f"Invalid '{param}.compact_threshold': integer below minimum value. Expected "
                                    f"a value >= 1, but got {limit} instead.", param=f"{param}.compact_threshold",
                               code="integer_below_min_value")
            threshold = limit
    return enabled, threshold
