"""Request fields a model refuses because of its generation, as the live APIs answer them (400).

A converter that forwards a client's `temperature`, or asks for thinking with a token budget,
works against one model and fails against the next. The suite's upstream refuses, for the model
a request names, what the provider documents its models refuse, so `conformance run --upstream`
with a current model id catches the converter that would break there:

- Anthropic: Opus 4.7 and later, the Claude 5 models and Mythos Preview take adaptive thinking
  only (`thinking.type: "enabled"` is refused) and refuse `temperature`, `top_p` and `top_k`;
  Claude 4.1-4.6 refuse `temperature` and `top_p` together; Claude 4.5 and earlier know no
  adaptive thinking or `output_config.effort`; `xhigh` effort starts at Opus 4.7; from Claude
  4.6 a conversation must end with a user message (no assistant prefill).
- OpenAI Chat Completions: the reasoning models (o1, o3, o4-mini, gpt-5 and its point releases
  and sizes, not `gpt-5-chat-*`) refuse `max_tokens` (`max_completion_tokens` instead) and any
  `temperature` or `top_p` but 1.

Model ids that match none of these (the suite's own default, other providers) refuse nothing
here. `refused_sampling` tells the judge which sampling values a converter rightly left out.
"""

from __future__ import annotations

import re
from typing import Any

# Claude ids with the family first (`claude-opus-4-7`, `claude-sonnet-4-5-20250929`,
# `anthropic.claude-fable-5-1-v1`): family, major, minor (a date is no minor).
_CLAUDE = re.compile(r"claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2})(?!\d))?")
_OPENAI_REASONING = re.compile(r"^(o1|o3|o4-mini|gpt-5|gpt-6)(?!-chat)([-.]|$)")


def _claude(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude id, (99, 0) for the unversioned Mythos Preview; None otherwise."""
    if "claude-mythos-preview" in model:
        return (99, 0)
    m = _CLAUDE.search(model)
    return None if m is None else (int(m.group(2)), int(m.group(3) or 0))


def _newest_claude(version: tuple[int, int] | None) -> bool:
    return version is not None and version >= (4, 7)


def request_error(kind: str, body: dict[str, Any]) -> str | None:
    """The 400 message the provider gives for a field the requested model refuses, or None."""
    model = str(body.get("model") or "")
    if kind == "anthropic":
        return _anthropic_error(body, _claude(model))
    if kind == "chat-completions" and _OPENAI_REASONING.match(model):
        if "max_tokens" in body:
            return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
        for key in ("temperature", "top_p"):
            if body.get(key, 1) != 1:
                return f"Unsupported value: '{key}' does not support {body[key]} with this model. Only the default (1) value is supported."
    return None


def _anthropic_error(body: dict[str, Any], version: tuple[int, int] | None) -> str | None:
    if version is None:
        return None
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if version >= (4, 6) and last.get("role") == "assistant":
        return "This model does not support assistant message prefill. The conversation must end with a user message."
    thinking: dict[str, Any] = body["thinking"] if isinstance(body.get("thinking"), dict) else {}
    config: dict[str, Any] = body["output_config"] if isinstance(body.get("output_config"), dict) else {}
    if _newest_claude(version):
        if thinking.get("type") == "enabled":
            return ('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
                    '"output_config.effort" to control thinking behavior.')
        for key in ("temperature", "top_p", "top_k"):
            if key in body:
                return f"`{key}` is deprecated for this model."
        return None
    if config.get("effort") == "xhigh":
        return "output_config.effort: 'xhigh' is not supported by this model."
    if version < (4, 6) and (thinking.get("type") == "adaptive" or "effort" in config):
        return "adaptive thinking is not supported on this model."
    if version >= (4, 1) and body.get("temperature") is not None and body.get("top_p") is not None:
        return "`temperature` and `top_p` cannot both be specified for this model."
    return None


def refused_sampling(kind: str, upstream_body: dict[str, Any]) -> frozenset[str]:
    """The sampling values (`temperature`, `top_p`) the upstream model of `upstream_body` cannot
    be sent: a converter that leaves them out is right to."""
    model = str(upstream_body.get("model") or "")
    if kind == "chat-completions" and _OPENAI_REASONING.match(model):
        return frozenset({"temperature", "top_p"})
    if kind == "anthropic":
        version = _claude(model)
        if _newest_claude(version):
            return frozenset({"temperature", "top_p"})
        if version is not None and version >= (4, 1) and upstream_body.get("temperature") is not None:
            return frozenset({"top_p"})  # one of the two: the temperature was kept
    return frozenset()
