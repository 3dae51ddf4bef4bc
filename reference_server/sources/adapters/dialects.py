"""How each Chat Completions upstream family shapes a streamed `delta` and its `usage` (data).

Servers that speak "OpenAI-compatible" Chat Completions disagree on where reasoning goes, whether
`content` is a string or a list of typed parts, and what `completion_tokens` counts. Rather than
special-casing providers, the stream converter reads every delta through the tables below:

- `DELTA_FIELDS`: each delta key the converter understands, what it carries (answer text,
  reasoning, refusal), how it is shaped (a string, typed parts, OpenRouter's detail objects), who
  sends it and the public source that says so;
- `CONTENT_PART_TYPES`: the typed content parts (Mistral's `text` / `thinking`);
- `USAGE_LOCATIONS`, `CACHED_TOKEN_FIELDS`: where usage and cache hits are reported;
- `USAGE_CONVENTIONS`: whether `completion_tokens` includes reasoning tokens (told apart by the
  arithmetic of the upstream's own `total_tokens`, so no provider name is needed).

A key or part type not listed here that carries text is never dropped: `read_delta` returns it
as `unknown` and the converter keeps it visible (a reasoning note) and logs its name.
docs/converters.md renders these tables with their sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reference_server.sources.adapters.common import as_int


@dataclass(frozen=True)
class DeltaField:
    key: str  # the delta key
    kind: str  # "text" | "reasoning" | "refusal" | "calls" | "annotations" | "ignored"
    shape: str  # "string" | "string-or-parts" | "details" | "structured"
    providers: str
    source: str


DELTA_FIELDS: tuple[DeltaField, ...] = (
    DeltaField("content", "text", "string-or-parts",
               "all; Mistral (magistral) sends a list of typed parts",
               "platform.openai.com/docs/api-reference/chat-streaming; docs.mistral.ai/capabilities/reasoning"),
    DeltaField("refusal", "refusal", "string", "OpenAI, Azure OpenAI",
               "platform.openai.com/docs/api-reference/chat-streaming"),
    DeltaField("reasoning_content", "reasoning", "string",
               "DeepSeek, vLLM, Qwen (DashScope), Moonshot Kimi, GLM (Z.ai), xAI, llama.cpp, SGLang",
               "api-docs.deepseek.com/guides/reasoning_model; docs.vllm.ai/en/latest/features/reasoning_outputs"),
    DeltaField("reasoning", "reasoning", "string",
               "OpenRouter, Groq (reasoning_format=parsed), Ollama, Cerebras, Together, Fireworks, "
               "vLLM >= 0.10",
               "openrouter.ai/docs/use-cases/reasoning-tokens; console.groq.com/docs/reasoning; "
               "ollama.com/blog/thinking (OpenAI compat `reasoning`)"),
    DeltaField("reasoning_details", "reasoning", "details",
               "OpenRouter (same text as `reasoning`, plus signatures and encrypted blocks)",
               "openrouter.ai/docs/use-cases/reasoning-tokens#reasoning-details"),
    DeltaField("tool_calls", "calls", "structured",
               "all; `index` omitted by some (Ollama, older vLLM/Gemini compat), id/name repeated or "
               "empty after the first chunk, arguments whole in one chunk (Ollama, Groq, Mistral)",
               "platform.openai.com/docs/api-reference/chat-streaming; LiteLLM "
               "litellm/llms/openai/chat/gpt_transformation.py"),
    DeltaField("function_call", "calls", "structured", "legacy OpenAI functions",
               "platform.openai.com/docs/api-reference/chat-streaming (deprecated function_call)"),
    DeltaField("annotations", "annotations", "structured",
               "OpenRouter web plugin, OpenAI search models (`url_citation` with offsets)",
               "openrouter.ai/docs/features/web-search; platform.openai.com/docs/guides/tools-web-search"),
    DeltaField("role", "ignored", "string", "all", "platform.openai.com/docs/api-reference/chat-streaming"),
)

FIELDS_BY_KEY = {f.key: f for f in DELTA_FIELDS}

# Typed content parts: part type -> (kind, how its text is found).
CONTENT_PART_TYPES: dict[str, tuple[str, str]] = {
    "text": ("text", "text"),  # {"type":"text","text":"..."}
    # Mistral magistral: {"type":"thinking","thinking":[{"type":"text","text":"..."}]}
    "thinking": ("reasoning", "thinking"),
}

# OpenRouter reasoning_details entries: type -> the key holding the text.
REASONING_DETAIL_TYPES = {"reasoning.text": "text", "reasoning.summary": "summary"}
REASONING_DETAIL_ENCRYPTED = ("reasoning.encrypted", "data")

# Where a chunk carries usage (first found wins): OpenAI-style `usage`, Groq's `x_groq.usage`.
USAGE_LOCATIONS: tuple[tuple[str, ...], ...] = (("usage",), ("x_groq", "usage"))

# Where cache hits are counted (first non-zero wins).
CACHED_TOKEN_FIELDS: tuple[tuple[str, ...], ...] = (
    ("prompt_tokens_details", "cached_tokens"),  # OpenAI, Azure, xAI, Groq, Fireworks, OpenRouter
    ("prompt_cache_hit_tokens",),  # DeepSeek (api-docs.deepseek.com/guides/kv_cache)
    ("cached_tokens",),  # Moonshot Kimi (platform.moonshot.ai docs: usage.cached_tokens)
)


@dataclass(frozen=True)
class UsageConvention:
    name: str
    rule: str
    providers: str
    source: str


USAGE_CONVENTIONS: tuple[UsageConvention, ...] = (
    UsageConvention("completion-includes-reasoning",
                     "total = prompt + completion; output = completion",
                     "OpenAI, Azure, DeepSeek, OpenRouter, Groq, vLLM, most others",
                     "platform.openai.com/docs/api-reference/chat/object (completion_tokens_details)"),
    UsageConvention("completion-excludes-reasoning",
                     "total = prompt + completion + reasoning; output = completion + reasoning",
                     "xAI (grok reasoning models)",
                     "docs.x.ai/docs/guides/reasoning (usage: reasoning_tokens billed as completion); "
                     "LiteLLM litellm/llms/xai/chat/transformation.py"),
    UsageConvention("inconsistent",
                     "the upstream's total is kept: output = total - prompt, and a log line says so",
                     "any upstream whose numbers fit neither rule", "this project"),
)


@dataclass
class DeltaPieces:
    """What one delta says, in stream order: (kind, text) pieces plus everything else."""

    pieces: list[tuple[str, str]]  # kind in "reasoning" | "text" | "refusal"
    unknown: list[tuple[str, str]]  # (key or part type, text) with no mapping: kept visible
    encrypted: str | None = None  # an encrypted reasoning blob (OpenRouter reasoning.encrypted)
    annotations: list[dict[str, Any]] | None = None


def _text_of(value: Any) -> str:
    """Text inside a value of unknown shape: a string, or the strings of parts/lists within."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_text_of(v) for v in value)
    if isinstance(value, dict):
        for key in ("text", "content", "thinking", "summary", "transcript"):
            if key in value:
                return _text_of(value[key])
    return ""


def _read_parts(parts: list[Any], out: DeltaPieces) -> None:
    for part in parts:
        if isinstance(part, str):
            out.pieces.append(("text", part))
            continue
        if not isinstance(part, dict):
            continue
        kind, key = CONTENT_PART_TYPES.get(str(part.get("type")), ("", ""))
        if kind:
            out.pieces.append((kind, _text_of(part.get(key))))
        else:  # an unknown part type: its text, else the part itself, stays visible
            text = _text_of(part) or json.dumps(part, ensure_ascii=False, separators=(",", ":"))
            out.unknown.append((f"content part {part.get('type')!r}", text))


def read_delta(delta: dict[str, Any]) -> DeltaPieces:
    """The text pieces of one CC delta, read through the dialect table (tool calls excluded)."""
    out = DeltaPieces(pieces=[], unknown=[])
    plain_reasoning = False
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            out.pieces.append(("reasoning", value))
            plain_reasoning = True
            break
    details = delta.get("reasoning_details")
    for entry in details if isinstance(details, list) else []:
        if not isinstance(entry, dict):
            continue
        text_key = REASONING_DETAIL_TYPES.get(str(entry.get("type")))
        if text_key and not plain_reasoning:  # OpenRouter repeats `reasoning` here: count it once
            out.pieces.append(("reasoning", _text_of(entry.get(text_key))))
        elif entry.get("type") == REASONING_DETAIL_ENCRYPTED[0] and isinstance(entry.get("data"), str):
            out.encrypted = (out.encrypted or "") + entry["data"]
    content = delta.get("content")
    if isinstance(content, str):
        out.pieces.append(("text", content))
    elif isinstance(content, list):
        _read_parts(content, out)
    if isinstance(delta.get("refusal"), str):
        out.pieces.append(("refusal", delta["refusal"]))
    if isinstance(delta.get("annotations"), list):
        out.annotations = [a for a in delta["annotations"] if isinstance(a, dict)]
    for key, value in delta.items():
        if key not in FIELDS_BY_KEY and (text := _text_of(value)):
            out.unknown.append((f"delta key {key!r}", text))
    out.pieces = [(k, t) for k, t in out.pieces if t]
    return out


def chunk_usage(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """The usage block a chunk carries, wherever this upstream puts it."""
    for path in USAGE_LOCATIONS:
        value: Any = chunk
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, dict) and value:
            return value
    return None


def merge_usage(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Usage repeated in several chunks is cumulative: keep the largest count of each field
    (never the sum)."""
    if old is None:
        return new
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_usage(merged[key], value)
        elif isinstance(value, int) and isinstance(merged.get(key), int):
            merged[key] = max(value, merged[key])
        elif value is not None:
            merged[key] = value
    return merged


def cached_tokens(usage: dict[str, Any]) -> int:
    for path in CACHED_TOKEN_FIELDS:
        value: Any = usage
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if as_int(value):
            return as_int(value)
    return 0


def usage_counts(usage: dict[str, Any]) -> tuple[int, int, int, int, str | None]:
    """(input, output, cached, reasoning, note) from a CC usage block: output counts everything
    billed as output, reasoning <= output, input + output = the upstream's total when it gives
    one. `note` explains a correction (for the log), else None."""
    prompt = as_int(usage.get("prompt_tokens"))
    completion = as_int(usage.get("completion_tokens"))
    reasoning = as_int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens"))
    total = usage.get("total_tokens")
    note = None
    if not as_int(total):
        # No total to tell by: reasoning above completion only fits the excluding convention.
        output = completion + reasoning if reasoning > completion else completion
    elif as_int(total) == prompt + completion:
        output = completion  # completion-includes-reasoning
    elif reasoning and as_int(total) == prompt + completion + reasoning:
        output = completion + reasoning  # completion-excludes-reasoning (xAI)
    elif as_int(total) >= prompt:
        output = as_int(total) - prompt
        note = (f"upstream usage does not add up (prompt {prompt} + completion {completion} != total {total}); "
                f"kept the upstream's total: output_tokens = {output}")
    else:
        output = completion
        note = f"upstream usage total {total} is below prompt {prompt}; total recomputed"
    if reasoning > output:
        note = (note + "; " if note else "") + (
            f"reasoning_tokens {reasoning} > output_tokens {output}; clamped")
        reasoning = output
    cached = cached_tokens(usage)
    if cached > prompt:
        note = (note + "; " if note else "") + f"cached_tokens {cached} > input_tokens {prompt}; clamped"
        cached = prompt
    return prompt, output, cached, reasoning, note
