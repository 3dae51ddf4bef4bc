"""Generates the built dialect fixtures of `fixtures/upstream/` (deterministic: rerunning gives
identical bytes).

Each spec below writes one upstream stream (`NAME.sse`) and its sidecar (`NAME.json`) in the wire
shape one provider documents: which keys a chunk carries and in which order, where usage sits and
what its numbers mean, how reasoning, tool calls, citations and content blocks are laid out. All
texts, ids, URLs and numbers are this project's own; token counts follow each provider's
convention (e.g. xAI's `completion_tokens` leaves out the reasoning tokens).
`python scripts/make_upstream_fixtures.py [--check]`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = ROOT / "fixtures" / "upstream"
CREATED = 1767225600  # 2026-01-01T00:00:00Z, fixed so the bytes never change

Spec = Callable[[], tuple[bytes, dict[str, Any]]]
SPECS: dict[str, Spec] = {}


def spec(kind: str, name: str) -> Callable[[Spec], Spec]:
    def register(fn: Spec) -> Spec:
        SPECS[f"{kind}/{name}"] = fn
        return fn
    return register


# ---------------------------------------------------------------- helpers

def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def words(text: str) -> list[str]:
    """Token-like pieces: a word or a run of punctuation, with its leading whitespace."""
    return re.findall(r"\s*\w+|\s*[^\w\s]+|\s+", text)


def groups(pieces: list[str], size: int) -> list[str]:
    return ["".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


def slices(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


def token(seed: str, n: int, alphabet: str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
    """A stable pseudo-random id of length n."""
    out = ""
    counter = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:n]


def blob(seed: str, nbytes: int) -> str:
    """Opaque base64 (signatures, encrypted content) derived from a seed."""
    raw = b"".join(hashlib.sha256(f"{seed}/{i}".encode()).digest() for i in range(nbytes // 32 + 1))
    return base64.b64encode(raw[:nbytes]).decode()


def cc_sse(chunks: Iterable[Any], done: bool = True) -> bytes:
    out = "".join(f"data: {dumps(c)}\n\n" for c in chunks)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def anthropic_sse(events: Iterable[Any]) -> bytes:
    """`event: <type>` + `data: <json>`; an event given as (dict, raw_json) keeps its raw text."""
    out = []
    for ev in events:
        obj, text = ev if isinstance(ev, tuple) else (ev, dumps(ev))
        out.append(f"event: {obj['type']}\ndata: {text}\n\n")
    return "".join(out).encode()


def tool(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "description": f"{name} (fixture tool)",
            "parameters": {"type": "object", "properties": {}}, "strict": False}


def request(*tools: str) -> dict[str, Any]:
    req: dict[str, Any] = {"model": "proxy-model", "input": "Hello", "stream": True}
    if tools:
        req["tools"] = [tool(t) for t in tools]
    return req


def sidecar(provider: str, model: str, provenance: str, features: list[str], expected: dict[str, Any],
            req: dict[str, Any] | None = None, notes: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": "built", "provenance": f"built from {provenance}",
                            "generator": "scripts/make_upstream_fixtures.py", "provider": provider,
                            "model": model, "features": features}
    if notes:
        meta["notes"] = notes
    meta["expected"] = expected
    meta["request"] = req or request()
    return meta


def usage4(inp: int, out: int, reasoning: int = 0, cached: int = 0) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out, "reasoning_tokens": reasoning, "cached_tokens": cached}


# Texts long enough for the many-chunk streams, written for these fixtures.
def squares_reasoning(n: int) -> str:
    steps = ["The task is to add up the squares of every whole number from 1 to "
             f"{n}, so I will keep a running total and check it against the closed formula at the end."]
    total = 0
    for k in range(1, n + 1):
        total += k * k
        steps.append(f" Step {k}: {k} squared is {k * k}, and the running total is now {total}.")
    steps.append(f" The closed formula n(n+1)(2n+1)/6 with n = {n} gives {n * (n + 1) * (2 * n + 1) // 6}, "
                 "which matches the running total, so the answer is confirmed.")
    return "".join(steps)


GUIDE_TOPICS = ["cache keys", "expiry times", "stale reads", "invalidation", "warm-up", "eviction",
                "metrics", "failure modes", "sizing", "testing"]
GUIDE_ASPECTS = [
    "Start by writing down what {t} mean for this service, in one sentence a new teammate can read.",
    "Then measure how {t} behave under the real traffic mix, not under a synthetic benchmark.",
    "Keep the rules about {t} in one module, so a change touches one file and one test.",
    "When {t} go wrong, the symptom is usually slow pages rather than errors, so alert on latency.",
    "Review {t} again after every release that changes the shape of the stored records.",
]


def caching_guide() -> str:
    parts = ["Here is a practical checklist for the caching layer you described, one topic at a time.\n"]
    for n, t in enumerate(GUIDE_TOPICS, 1):
        parts.append(f"\n## {n}. {t.capitalize()}\n\n")
        parts.append(" ".join(a.format(t=t) for a in GUIDE_ASPECTS) + "\n")
    parts.append("\nWork through the list in order; each step makes the next one cheaper to verify.")
    return "".join(parts)


LIGHTHOUSE_DOC = (
    "Harbour Point Light\n\nHarbour Point Light is a fictional lighthouse used in this project's test "
    "data. It stands on a low granite spit at the mouth of an imaginary bay and has guided small "
    "fishing boats since its first lamp was lit.\n\n"
    + "".join(
        f"Section {i}. Keeper's log summary for season {i}: the lamp was cleaned {i + 3} times, "
        f"the fog signal sounded on {i * 2 + 5} nights, and {i + 1} boats asked for a pilot. "
        "The keepers noted calm water in the morning and a steady westerly wind after noon.\n"
        for i in range(1, 41)
    )
    + "\nThe light was automated in the last season of the log and still turns every night.")


# ---------------------------------------------------------------- Chat Completions specs

def cc_base(cid: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": model, **extra}


AZURE_FILTER = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")}


@spec("chat-completions", "azure-text-usage-chunk")
def azure_text() -> tuple[bytes, dict[str, Any]]:
    cid, model = "chatcmpl-" + token("azure", 29), "gpt-5-nano-2025-08-07"
    prompt_filter = {"hate": {"filtered": False, "severity": "safe"},
                     "jailbreak": {"filtered": False, "detected": False},
                     **{k: {"filtered": False, "severity": "safe"} for k in ("self_harm", "sexual", "violence")}}

    def chunk(i: int, choices: list[Any], usage: Any = None) -> dict[str, Any]:
        return {"choices": choices, "created": CREATED, "id": cid, "model": model,
                "obfuscation": token(f"azure-ob{i}", 8 + i % 7), "object": "chat.completion.chunk",
                "system_fingerprint": None, "usage": usage}

    def choice(filters: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"content_filter_results": filters, "delta": delta, "finish_reason": finish, "index": 0,
                "logprobs": None}

    text = ["Oslo", " is", " the", " capital", " of", " Norway", "."]
    chunks: list[Any] = [{"choices": [], "created": 0, "id": "", "model": "", "object": "",
                          "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": prompt_filter}]},
                         chunk(0, [choice({}, {"content": "", "refusal": None, "role": "assistant"})])]
    chunks += [chunk(i + 1, [choice(AZURE_FILTER, {"content": t})]) for i, t in enumerate(text)]
    chunks.append(chunk(20, [choice({}, {}, "stop")]))
    chunks.append(chunk(21, [], {"completion_tokens": 70, "completion_tokens_details": {
        "accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 56, "rejected_prediction_tokens": 0},
        "prompt_tokens": 14, "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0}, "total_tokens": 84}))
    return cc_sse(chunks), sidecar(
        "azure-openai", model, "learn.microsoft.com Azure OpenAI content filtering (prompt_filter_results, "
        "content_filter_results in streamed chunks) and the OpenAI chat-streaming reference (usage-only chunk)",
        ["prompt_filter_results_chunk", "empty_first_content", "text", "finish_stop", "usage_only_chunk",
         "reasoning_tokens"],
        {"status": "completed", "output_types": ["message"], "usage": usage4(14, 70, 56)},
        notes="The first chunk (prompt_filter_results, empty id, no choices) is Azure's; reasoning is "
              "counted but never streamed.")


@spec("chat-completions", "mistral-thinking-parts")
def mistral_thinking() -> tuple[bytes, dict[str, Any]]:
    base = cc_base(token("mistral-r", 32, "0123456789abcdef"), "magistral-medium-2507")

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

    def think(text: str) -> dict[str, Any]:
        return {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]}

    chunks = [chunk({"role": "assistant", **think("Three times seven")}),
              chunk(think(" is asked. Seven added three times: 7, 14, 21.")),
              chunk({"content": [{"type": "text", "text": "3 × 7 = 21"}]}),
              chunk({"content": ""}, "stop", usage={"prompt_tokens": 12, "total_tokens": 50, "completion_tokens": 38})]
    return cc_sse(chunks), sidecar(
        "api.mistral.ai", "magistral-medium-2507",
        "docs.mistral.ai/capabilities/reasoning (content as typed thinking/text chunks)",
        ["content_parts", "thinking_parts", "usage_in_finish_chunk"],
        {"status": "completed", "output_types": ["reasoning", "message"], "usage": usage4(12, 38)})


@spec("chat-completions", "mistral-tool-call-no-index")
def mistral_tool() -> tuple[bytes, dict[str, Any]]:
    base = cc_base(token("mistral-t", 32, "0123456789abcdef"), "mistral-small-latest")
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None,
                              "logprobs": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": None, "tool_calls": [
            {"id": token("mistral-call", 9), "function": {"name": "weather",
                                                           "arguments": "{\"location\": \"Lisbon\"}"}}]},
            "finish_reason": "tool_calls", "logprobs": None}],
         "usage": {"prompt_tokens": 118, "total_tokens": 138, "completion_tokens": 20}}]
    return cc_sse(chunks), sidecar(
        "api.mistral.ai", "mistral-small-latest",
        "docs.mistral.ai/capabilities/function_calling (tool_calls without index, whole arguments)",
        ["tool_call_without_index", "arguments_in_one_chunk", "finish_tool_calls", "usage_in_finish_chunk"],
        {"status": "completed", "output_types": ["function_call"], "usage": usage4(118, 20)},
        request("weather"))


@spec("chat-completions", "moonshot-reasoning-content")
def moonshot() -> tuple[bytes, dict[str, Any]]:
    base = {"id": "chatcmpl-" + token("moonshot", 24), "created": CREATED, "model": "kimi-k2-thinking"}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

    chunks = [chunk({"role": "assistant", "reasoning_content": "A greeting; "}),
              chunk({"reasoning_content": "answer briefly. "}),
              chunk({"content": "Hi"}),
              chunk({"content": " there!"}, "stop", usage={"prompt_tokens": 11, "completion_tokens": 14,
                                                           "total_tokens": 25,
                                                           "completion_tokens_details": {"reasoning_tokens": 8}})]
    return cc_sse(chunks), sidecar(
        "api.moonshot.ai", "kimi-k2-thinking",
        "platform.moonshot.ai docs (thinking models: delta.reasoning_content; usage in the last chunk)",
        ["reasoning_content", "usage_in_finish_chunk"],
        {"status": "completed", "output_types": ["reasoning", "message"], "usage": usage4(11, 14, 8)})


def groq_usage(prompt: int, completion: int, reasoning: int | None) -> dict[str, Any]:
    u: dict[str, Any] = {"queue_time": 0.052311, "prompt_tokens": prompt, "prompt_time": 0.004127,
                         "completion_tokens": completion, "completion_time": round(completion / 400, 6),
                         "total_tokens": prompt + completion,
                         "total_time": round(0.004127 + completion / 400, 6)}
    if reasoning is not None:
        u["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return u


def groq_chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}


@spec("chat-completions", "groq-tool-call-whole")
def groq_tool() -> tuple[bytes, dict[str, Any]]:
    req_id = "req_" + token("groq-t-req", 26, "0123456789abcdefghjkmnpqrstvwxyz")
    base = cc_base("chatcmpl-" + token("groq-t", 36, "0123456789abcdef"), "llama-3.3-70b-versatile",
                   system_fingerprint="fp_" + token("groq-fp", 10, "0123456789abcdef"))
    usage = groq_usage(198, 14, None)
    chunks = [groq_chunk(base, {"role": "assistant", "content": None}, x_groq={"id": req_id, "seed": 417203991}),
              groq_chunk(base, {"tool_calls": [{"id": token("groq-call", 9), "type": "function", "function": {
                  "name": "weather", "arguments": "{\"city\":\"Nairobi\"}"}, "index": 0}]}),
              groq_chunk(base, {}, "tool_calls", x_groq={"id": req_id, "usage": usage}, usage=usage)]
    return cc_sse(chunks), sidecar(
        "api.groq.com", "llama-3.3-70b-versatile",
        "console.groq.com/docs/tool-use and the Groq API reference (x_groq.usage in the last chunk)",
        ["tool_call", "arguments_in_one_chunk", "finish_tool_calls"],
        {"status": "completed", "output_types": ["function_call"], "usage": usage4(198, 14)},
        request("weather"))


@spec("chat-completions", "groq-reasoning-x-groq-usage")
def groq_reasoning() -> tuple[bytes, dict[str, Any]]:
    req_id = "req_" + token("groq-r-req", 26, "0123456789abcdefghjkmnpqrstvwxyz")
    base = cc_base("chatcmpl-" + token("groq-r", 36, "0123456789abcdef"), "qwen/qwen3-32b",
                   system_fingerprint="fp_" + token("groq-fp2", 10, "0123456789abcdef"))
    reasoning = words(squares_reasoning(40))
    answer = words("The sum of the squares from 1 to 40 is **22140**.\n\nUsing the formula "
                   "$$\\sum_{k=1}^{n} k^2 = \\frac{n(n+1)(2n+1)}{6}$$ with $n = 40$:\n\n"
                   "$$\\frac{40 \\cdot 41 \\cdot 81}{6} = \\frac{132840}{6} = 22140$$\n\n"
                   "Adding the squares one by one (1, 4, 9, 16, 25, …, 1600) gives the same total, "
                   "so the result is confirmed. In general the sum grows like n³/3: for n = 40 that "
                   "estimate is about 21333, close to the exact value. **Answer: 22140**")
    usage = groq_usage(19, len(reasoning) + len(answer), len(reasoning))
    chunks = [groq_chunk(base, {"role": "assistant", "content": ""}, x_groq={"id": req_id, "seed": 80311572})]
    chunks += [groq_chunk(base, {"reasoning": r}) for r in reasoning]
    chunks += [groq_chunk(base, {"content": t}) for t in answer]
    chunks.append(groq_chunk(base, {}, "stop", x_groq={"id": req_id, "usage": usage}, usage=usage))
    return cc_sse(chunks), sidecar(
        "api.groq.com", "qwen/qwen3-32b",
        "console.groq.com/docs/reasoning (reasoning_format=parsed: delta.reasoning) and the Groq API "
        "reference (x_groq.usage)",
        ["reasoning_field", "usage_in_finish_chunk", "x_groq_usage"],
        {"status": "completed", "output_types": ["reasoning", "message"],
         "usage": usage4(19, usage["completion_tokens"], len(reasoning))})


def deepseek_chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None,
                   usage: Any = None) -> dict[str, Any]:
    return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": usage}


@spec("chat-completions", "deepseek-cache-hit-fields")
def deepseek_length() -> tuple[bytes, dict[str, Any]]:
    base = cc_base(token("ds-len", 36, "0123456789abcdef"), "deepseek-chat",
                   system_fingerprint="fp_" + token("ds-fp", 10, "0123456789abcdef"))
    pieces = words(caching_guide() * 2)[:400]  # cut at max_tokens = 400
    usage = {"prompt_tokens": 15, "completion_tokens": 400, "total_tokens": 415,
             "prompt_tokens_details": {"cached_tokens": 0}, "prompt_cache_hit_tokens": 0,
             "prompt_cache_miss_tokens": 15}
    chunks = [deepseek_chunk(base, {"role": "assistant", "content": ""})]
    chunks += [deepseek_chunk(base, {"content": p}) for p in pieces]
    chunks.append(deepseek_chunk(base, {"content": ""}, "length", usage))
    return cc_sse(chunks), sidecar(
        "api.deepseek.com", "deepseek-chat",
        "api-docs.deepseek.com (chat completion streaming; guides/kv_cache: prompt_cache_hit_tokens / "
        "prompt_cache_miss_tokens)",
        ["prompt_cache_hit_tokens", "finish_length", "usage_in_finish_chunk"],
        {"status": "incomplete", "incomplete_reason": "max_output_tokens", "output_types": ["message"],
         "usage": usage4(15, 400)})


@spec("chat-completions", "deepseek-reasoning-tool-call")
def deepseek_tool() -> tuple[bytes, dict[str, Any]]:
    base = cc_base(token("ds-tool", 36, "0123456789abcdef"), "deepseek-reasoner",
                   system_fingerprint=token("ds-fp2", 32, "0123456789abcdef"))
    thinking = groups(words("The user wants the weather in Reykjavik. I should call the weather tool "
                            "with the city and ask for Celsius, since that is the local unit."), 2)
    args = slices("{\"location\": \"Reykjavik\", \"unit\": \"celsius\"}", 5)
    chunks = [deepseek_chunk(base, {"role": "assistant", "content": None, "reasoning_content": ""})]
    chunks += [deepseek_chunk(base, {"content": None, "reasoning_content": t}) for t in thinking]
    chunks.append(deepseek_chunk(base, {"tool_calls": [{"index": 0, "id": "call_00_" + token("ds-call", 24),
                                                        "type": "function",
                                                        "function": {"name": "weather", "arguments": ""}}]}))
    chunks += [deepseek_chunk(base, {"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in args]
    usage = {"prompt_tokens": 362, "completion_tokens": 41, "total_tokens": 403,
             "prompt_tokens_details": {"cached_tokens": 256}, "completion_tokens_details": {"reasoning_tokens": 17},
             "prompt_cache_hit_tokens": 256, "prompt_cache_miss_tokens": 106}
    chunks.append(deepseek_chunk(base, {"content": "", "reasoning_content": None}, "tool_calls", usage))
    return cc_sse(chunks), sidecar(
        "api.deepseek.com", "deepseek-reasoner",
        "api-docs.deepseek.com/guides/reasoning_model (reasoning_content) and guides/function_calling",
        ["reasoning_content", "tool_call", "arguments_split", "finish_tool_calls", "usage_in_finish_chunk"],
        {"status": "completed", "output_types": ["reasoning", "function_call"], "usage": usage4(362, 41, 17, 256)},
        request("weather"))


@spec("chat-completions", "perplexity-citations")
def perplexity() -> tuple[bytes, dict[str, Any]]:
    cid = token("pplx", 8, "0123456789abcdef") + "-" + token("pplx2", 4, "0123456789abcdef") + "-4a1e-9c3d-" + \
        token("pplx3", 12, "0123456789abcdef")
    citations = ["https://stats.example.org/cities/lyon", "https://encyclopedia.example.net/wiki/Lyon",
                 "https://metro.example.com/lyon/population-2024", "https://travel.example.org/france/lyon"]
    text = ["Lyon", " has", " about", " 520,000", " residents", "[1]", "[3]", " in", " the", " city",
            " proper", ".", "[2]"]
    chunks = []
    for n, t in enumerate(text, 1):
        chunks.append({"id": cid, "model": "sonar", "created": CREATED,
                       "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n},
                       "citations": citations, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": t}}]})
    chunks.append({"id": cid, "model": "sonar", "created": CREATED,
                   "usage": {"prompt_tokens": 9, "completion_tokens": len(text), "total_tokens": 9 + len(text)},
                   "citations": citations, "object": "chat.completion.done",
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]})
    return cc_sse(chunks), sidecar(
        "api.perplexity.ai", "sonar",
        "docs.perplexity.ai chat completions reference (citations list, [n] markers, usage in every chunk)",
        ["citations", "usage_in_every_chunk"],
        {"status": "completed", "output_types": ["message"], "annotations": "url_citation",
         "usage": usage4(9, len(text))},
        notes="Source 4 is listed but never cited.")


@spec("chat-completions", "qwen-reasoning-content")
def qwen() -> tuple[bytes, dict[str, Any]]:
    cid, model = "chatcmpl-" + token("qwen", 8, "0123456789abcdef") + "-1c2d-9e3f-a4b5-" + \
        token("qwen2", 12, "0123456789abcdef"), "qwen3-max"
    word = "encyclopedia"
    lines = [f"We are asked how many vowels the word \"{word}\" has. Let me spell it out letter by letter "
             "and mark each vowel (a, e, i, o, u) as I go."]
    count = 0
    for n, ch in enumerate(word, 1):
        is_vowel = ch in "aeiou"
        count += is_vowel
        lines.append(f" Letter {n} is '{ch}', which is {'a vowel' if is_vowel else 'a consonant'}; "
                     f"vowels so far: {count}.")
    lines.append(" Let me double-check by listing only the vowels: "
                 + ", ".join(f"'{c}'" for c in word if c in "aeiou")
                 + f". That is {count} vowels. I should also make sure 'y' is not counted here, since it "
                 "is a consonant in this word. Counting once more from the start gives the same number, "
                 "so I am confident.")
    reasoning_tokens = words("".join(lines))
    answer_tokens = words(f"The word **{word}** has **{count} vowels**:\n\n"
                          + "\n".join(f"- {c}" for c in word if c in "aeiou")
                          + "\n\nThe letter 'y' is not counted, because it acts as a consonant here.\n\n"
                          f"**Answer: {count}**")
    reasoning, answer = groups(reasoning_tokens, 2), groups(answer_tokens, 2)

    def chunk(choice: dict[str, Any], usage: Any = None, choices: list[Any] | None = None) -> dict[str, Any]:
        return {"choices": [choice] if choices is None else choices, "object": "chat.completion.chunk",
                "usage": usage, "created": CREATED, "system_fingerprint": None, "model": model, "id": cid}

    chunks = [chunk({"delta": {"content": None, "role": "assistant", "reasoning_content": ""}, "index": 0,
                     "logprobs": None, "finish_reason": None})]
    for n, r in enumerate(reasoning):
        delta = {"content": None, "reasoning_content": r}
        chunks.append(chunk({"finish_reason": None, "logprobs": None, "delta": delta, "index": 0} if n == 0 else
                            {"delta": delta, "finish_reason": None, "index": 0, "logprobs": None}))
    chunks += [chunk({"delta": {"content": a, "reasoning_content": None}, "finish_reason": None, "index": 0,
                      "logprobs": None}) for a in answer]
    chunks.append(chunk({"finish_reason": "stop", "delta": {"content": "", "reasoning_content": None}, "index": 0,
                         "logprobs": None}))
    completion = len(reasoning_tokens) + len(answer_tokens)
    chunks.append(chunk({}, {"prompt_tokens": 21, "completion_tokens": completion, "total_tokens": 21 + completion,
                             "completion_tokens_details": {"reasoning_tokens": len(reasoning_tokens)},
                             "prompt_tokens_details": {"cached_tokens": 0}}, choices=[]))
    return cc_sse(chunks), sidecar(
        "dashscope.aliyuncs.com", model,
        "Alibaba Cloud Model Studio docs (OpenAI-compatible deep thinking: reasoning_content; "
        "stream_options.include_usage usage-only chunk)",
        ["reasoning_content", "null_content", "usage_only_chunk"],
        {"status": "completed", "output_types": ["reasoning", "message"],
         "usage": usage4(21, completion, len(reasoning_tokens))})


@spec("chat-completions", "xai-reasoning-usage-excludes")
def xai() -> tuple[bytes, dict[str, Any]]:
    base = {"id": token("xai", 8, "0123456789abcdef") + "-5d6e-7f80-91a2-" + token("xai2", 12, "0123456789abcdef"),
            "object": "chat.completion.chunk", "created": CREATED, "model": "grok-3-mini"}
    fp = {"system_fingerprint": "fp_" + token("xai-fp", 10, "0123456789abcdef")}
    reasoning = ["A", " short", " greeting", " needs", " a short reply"]
    chunks: list[Any] = [{**base, "choices": [{"index": 0, "delta": {"reasoning_content": reasoning[0],
                                                                     "role": "assistant"}}], **fp}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"reasoning_content": r}}], **fp} for r in reasoning[1:]]
    chunks.append({**base, "choices": [{"index": 0, "delta": {"content": "Hi there"}}], **fp})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **fp})
    chunks.append({**base, "choices": [], "usage": {
        "prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 226,
        "prompt_tokens_details": {"text_tokens": 14, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 13},
        "completion_tokens_details": {"reasoning_tokens": 210, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
        "num_sources_used": 0, "cost_in_usd_ticks": 1093750}, **fp})
    return cc_sse(chunks), sidecar(
        "api.x.ai", "grok-3-mini",
        "docs.x.ai reasoning guide (reasoning_content; completion_tokens excludes reasoning_tokens: "
        "total = prompt + completion + reasoning)",
        ["reasoning_content", "usage_only_chunk", "usage_completion_excludes_reasoning", "cached_tokens"],
        {"status": "completed", "output_types": ["reasoning", "message"], "usage": usage4(14, 212, 210, 13)},
        notes="14 + 2 + 210 = 226: output counts the visible 2 and the 210 reasoning tokens.")


# ---------------------------------------------------------------- Anthropic specs

def msg_start(mid: str, model: str, inp: int, out: int, geo: str | None = None, *, model_first: bool = True,
              stop_details: bool = False) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": inp, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                             "output_tokens": out, "service_tier": "standard"}
    if geo:
        usage["inference_geo"] = geo
    head = {"model": model, "id": mid} if model_first else {"id": mid}
    msg: dict[str, Any] = {**head, "type": "message", "role": "assistant"}
    if not model_first:
        msg["model"] = model
    msg.update({"content": [], "stop_reason": None, "stop_sequence": None})
    if stop_details:
        msg["stop_details"] = None
    msg["usage"] = usage
    return {"type": "message_start", "message": msg}


def msg_delta(stop: str, inp: int, out: int, **extra_usage: Any) -> dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"input_tokens": inp, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": out, **extra_usage}}


PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def block(index: int, content_block: dict[str, Any], deltas: Iterable[dict[str, Any]] = (),
          pings_after: Sequence[int] = ()) -> list[Any]:
    evs: list[Any] = [{"type": "content_block_start", "index": index, "content_block": content_block}]
    for n, d in enumerate(deltas):
        evs.append({"type": "content_block_delta", "index": index, "delta": d})
        if n in pings_after:
            evs.append(PING)
    evs.append({"type": "content_block_stop", "index": index})
    return evs


def text_block(index: int, pieces: Iterable[str], cited: bool = False, citations: Sequence[dict[str, Any]] = (),
               pings_after: Sequence[int] = ()) -> list[Any]:
    start: dict[str, Any] = {"citations": [], "type": "text", "text": ""} if cited else {"type": "text", "text": ""}
    deltas = [{"type": "citations_delta", "citation": c} for c in citations]
    deltas += [{"type": "text_delta", "text": p} for p in pieces]
    return block(index, start, deltas, pings_after)


def json_block(index: int, start: dict[str, Any], partial: list[str]) -> list[Any]:
    return block(index, start, [{"type": "input_json_delta", "partial_json": p} for p in ["", *partial]])


def msg_id(seed: str) -> str:
    return "msg_01" + token(seed, 22)


def srv_id(seed: str) -> str:
    return "srvtoolu_01" + token(seed, 22)


ANTHROPIC_STREAMING = "docs.anthropic.com streaming messages reference"


@spec("anthropic", "anthropic-text")
def anthropic_text() -> tuple[bytes, dict[str, Any]]:
    pieces = ["Good", " morning! The", " kettle is on and the", " notes from yesterday are ready.",
              " Where", " would you like to start?"]
    evs = [msg_start(msg_id("a-text"), "claude-sonnet-4-5-20250929", 13, 1, "not_available"),
           *text_block(0, pieces, pings_after=())]
    evs.insert(2, PING)  # ping right after the block start, as the API sends it
    evs += [msg_delta("end_turn", 13, 24), STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-5-20250929", ANTHROPIC_STREAMING + " (basic text stream)",
        ["text", "ping", "end_turn"], {"status": "completed", "output_types": ["message"]})


@spec("anthropic", "anthropic-text-tool-no-args")
def anthropic_tool_no_args() -> tuple[bytes, dict[str, Any]]:
    evs: list[Any] = [msg_start(msg_id("a-tool"), "claude-sonnet-4-5-20250929", 540, 6)]
    evs += text_block(0, ["Let me refresh the inbox", " for you."], pings_after=(1,))
    evs.append(PING)
    tool_block = block(1, {"type": "tool_use", "id": "toolu_01" + token("a-toolu", 22), "name": "refreshInbox",
                           "input": {}}, [{"type": "input_json_delta", "partial_json": ""}])
    evs += [tool_block[0], PING, *tool_block[1:]]
    evs += [msg_delta("tool_use", 540, 41), STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-5-20250929", ANTHROPIC_STREAMING + " (tool_use, input_json_delta)",
        ["text", "tool_use", "empty_input_json_delta", "ping_between_blocks", "tool_use_stop"],
        {"status": "completed", "output_types": ["message", "function_call"], "arguments": ["{}"]},
        request("refreshInbox"), notes="The tool has no arguments: one empty input_json_delta.")


@spec("anthropic", "anthropic-thinking-signature")
def anthropic_thinking() -> tuple[bytes, dict[str, Any]]:
    thinking = ["A", " hexagon has six sides, so the interior angles add up to (6 − 2) × 180 = 720 degrees;",
                " a regular one splits that evenly, which gives 720 / 6 = 120 degrees", " for each angle."]
    text = ["# Interior angles of a regular hexagon\n\n## Step 1: Sum of the angles\n$$S = (n - 2)",
            " \\times 180^\\circ$$\nWith n = 6: (6 − 2) × 180 = 720°",
            "\n\n## Step 2: One angle\n$$\\frac{720^\\circ}{6} = 120^\\circ$$\n\n## Step",
            " 3: Check\nSix angles of 120° give 6 × 120 = 720° ✓\n\n## Concl",
            "usion\nEach interior angle of a regular hexagon is **120°**.\n\n$$\\alpha",
            " = 120^\\circ$$\n\n**Check:** the exterior angle is 180° − 120° = 60°, and 6 × 60° = 360° ✓"]
    evs: list[Any] = []
    pad = [10, 8, 6, 13, 3, 3, 4, 1, 15, 0]  # spaces the API leaves after some JSON payloads
    events = [msg_start(msg_id("a-think"), "claude-sonnet-4-5", 45, 2, "global", stop_details=True),
              {"type": "content_block_start", "index": 0,
               "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
              PING]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}}
               for t in thinking]
    events += [{"type": "content_block_delta", "index": 0,
                "delta": {"type": "signature_delta", "signature": blob("a-think-sig", 330)}},
               {"type": "content_block_stop", "index": 0}]
    events += text_block(1, text)
    end = msg_delta("end_turn", 45, 356, output_tokens_details={"thinking_tokens": 58})
    end["delta"]["stop_details"] = None
    events += [end, STOP]
    for n, ev in enumerate(events):
        # The API leaves spaces before some payloads' closing brace and spaces the ping's JSON.
        raw = '{"type": "ping"}' if ev is PING else dumps(ev)[:-1] + " " * pad[n % len(pad)] + "}"
        evs.append((ev, raw))
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-5",
        "docs.anthropic.com extended thinking (thinking_delta, signature_delta; summarized thinking)",
        ["thinking", "thinking_delta", "signature_delta", "text", "thinking_tokens", "whitespace_after_json"],
        {"status": "completed", "output_types": ["reasoning", "message"]},
        notes="Some payloads carry spaces before their closing brace and `{\"type\": \"ping\"}` is spaced, "
              "as the live API sends them: a JSON decoder must not care.")


PRIMES_SCRIPT = (
    "def is_prime(n):\n    \"\"\"True when n has no divisor between 2 and its square root.\"\"\"\n"
    "    if n < 2:\n        return False\n    d = 2\n    while d * d <= n:\n        if n % d == 0:\n"
    "            return False\n        d += 1\n    return True\n\n\n"
    "def primes_below(limit):\n    \"\"\"Every prime smaller than limit, in increasing order.\"\"\"\n"
    "    return [n for n in range(limit) if is_prime(n)]\n\n\n"
    "if __name__ == \"__main__\":\n    found = primes_below(50)\n"
    "    print(f\"There are {len(found)} primes below 50:\")\n"
    "    for index, prime in enumerate(found, start=1):\n        print(f\"  #{index:2d}: {prime}\")\n"
    "    print(f\"Their sum is {sum(found)}.\")\n    print(f\"The largest is {found[-1]}.\")\n"
    "    gaps = [b - a for a, b in zip(found, found[1:])]\n"
    "    print(f\"The widest gap between neighbours is {max(gaps)}.\")\n"
    "    twins = [(a, b) for a, b in zip(found, found[1:]) if b - a == 2]\n"
    "    print(f\"Twin prime pairs: {twins}\")\n"
    "    print(\"Done.\")\n")


@spec("anthropic", "code-execution")
def code_execution() -> tuple[bytes, dict[str, Any]]:
    primes = [n for n in range(2, 50) if all(n % d for d in range(2, int(n ** 0.5) + 1))]
    stdout = f"There are {len(primes)} primes below 50:\n" + "".join(
        f"  #{i:2d}: {p}\n" for i, p in enumerate(primes, 1)) + f"Their sum is {sum(primes)}.\n" + \
        f"The largest is {primes[-1]}.\nThe widest gap between neighbours is 6.\n" + \
        "Twin prime pairs: [(3, 5), (5, 7), (11, 13), (17, 19), (29, 31), (41, 43)]\nDone.\n"
    edit_input = dumps({"command": "create", "path": "scratch/primes.py", "file_text": PRIMES_SCRIPT})
    edit_input = edit_input.replace('":"', '": "').replace('","', '", "')
    edit_id, bash_id = srv_id("ce-edit"), srv_id("ce-bash")
    evs: list[Any] = [msg_start(msg_id("ce"), "claude-sonnet-4-5-20250929", 2210, 8)]
    evs += text_block(0, ["I'll write a short Python script that finds", " every prime below 50 and then run it.",
                          " The script checks divisors up to the square root."], pings_after=(1,))
    evs += json_block(1, {"type": "server_tool_use", "id": edit_id, "name": "text_editor_code_execution",
                          "input": {}}, slices(edit_input, 6))
    evs += block(2, {"type": "text_editor_code_execution_tool_result", "tool_use_id": edit_id,
                     "content": {"type": "text_editor_code_execution_create_result", "is_file_update": False}})
    evs += text_block(3, ["Now I'll run", " the script to see", " what it prints."])
    evs += json_block(4, {"type": "server_tool_use", "id": bash_id, "name": "bash_code_execution", "input": {}},
                      slices("{\"command\": \"python scratch/primes.py\"}", 6))
    evs += block(5, {"type": "bash_code_execution_tool_result", "tool_use_id": bash_id, "content": {
        "type": "bash_code_execution_result", "stdout": stdout, "stderr": "", "return_code": 0, "content": []}})
    summary = (f"The script ran cleanly. There are **{len(primes)} primes below 50**, from 2 up to 47, and "
               f"they add up to **{sum(primes)}**. The widest gap between neighbouring primes in this range is 6 "
               "(between 23 and 29), and there are six twin prime pairs, such as (41, 43). The test divides "
               "only up to the square root of each number, which is enough: a larger factor would pair with "
               "a smaller one that was already tried.")
    evs += text_block(6, groups(words(summary), 5))
    end = msg_delta("end_turn", 7940, 742, server_tool_use={"web_search_requests": 0, "web_fetch_requests": 0})
    end["delta"]["container"] = {"id": "container_011C" + token("ce-container", 20),
                                 "expires_at": "2026-01-01T01:00:00.000000Z"}
    evs += [end, STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-5-20250929",
        "docs.anthropic.com code execution tool (server_tool_use bash_code_execution / "
        "text_editor_code_execution and their *_tool_result blocks; container in message_delta)",
        ["server_tool_use", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
         "fallback_block", "text"],
        {"status": "completed", "output_types": ["message"],
         "fallback": ["server_tool_use", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result"]})


@spec("anthropic", "compaction")
def compaction() -> tuple[bytes, dict[str, Any]]:
    summary = ("## Summary of Conversation\n\n### Task Context\nThe user is designing a caching layer for a "
               "read-heavy web service and asked for a step-by-step checklist.\n\n### Key Points So Far\n"
               + "".join(f"- {t.capitalize()}: discussed; the user wants a concrete recommendation.\n"
                         for t in GUIDE_TOPICS)
               + "\n### Constraints\n- One module owns the cache rules.\n- Alerts are on latency, not errors.\n"
               "- Every release that changes record shapes triggers a review.\n\n### Next Step\n"
               "Give the full checklist, one section per topic, in the order above.\n")
    pieces = words(caching_guide())
    half = len(pieces) * 3 // 8
    evs: list[Any] = [msg_start(msg_id("compact"), "claude-opus-4-6", 58120, 5, "global")]
    evs += [{"type": "content_block_start", "index": 0, "content_block": {"type": "compaction", "content": None}},
            PING,
            {"type": "content_block_delta", "index": 0, "delta": {"type": "compaction_delta", "content": summary}},
            {"type": "content_block_stop", "index": 0}]
    evs += text_block(1, pieces, pings_after=(half,))
    cache = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    iterations = [{"input_tokens": 58120, "output_tokens": 498, "cache_read_input_tokens": 0,
                   "cache_creation_input_tokens": 0, "cache_creation": cache, "type": "compaction"},
                  {"input_tokens": 640, "output_tokens": len(pieces), "cache_read_input_tokens": 0,
                   "cache_creation_input_tokens": 0, "cache_creation": cache, "type": "message"}]
    end = msg_delta("end_turn", 640, len(pieces), server_tool_use={"web_search_requests": 0}, iterations=iterations)
    end["context_management"] = {"applied_edits": []}
    evs += [end, STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-opus-4-6",
        "docs.anthropic.com context management / compaction (compaction block, compaction_delta, usage iterations)",
        ["compaction", "compaction_delta", "fallback_block", "text", "ping"],
        {"status": "completed", "output_types": ["message"], "fallback": ["compaction"]})


@spec("anthropic", "mcp-tool-use")
def mcp() -> tuple[bytes, dict[str, Any]]:
    use_id = "mcptoolu_01" + token("mcp", 22)
    evs: list[Any] = [msg_start(msg_id("mcp"), "claude-sonnet-4-5-20250929", 602, 1)]
    evs += json_block(0, {"type": "mcp_tool_use", "id": use_id, "name": "lookup_ticket", "input": {},
                          "server_name": "tickets"}, ["{\"ti", "cket\": ", "\"T-1", "042\"}"])
    evs += block(1, {"type": "mcp_tool_result", "tool_use_id": use_id, "is_error": False,
                     "content": [{"type": "text", "text": "Ticket T-1042: printer on floor 3 jams; status open"}]})
    evs += text_block(2, ["Ticket T-1042 is still open", ": the printer on floor 3 keeps jamming.",
                          " Nobody has picked it up yet."])
    evs += [msg_delta("end_turn", 1264, 77, server_tool_use={"web_search_requests": 0, "web_fetch_requests": 0}),
            STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-5-20250929",
        "docs.anthropic.com MCP connector (mcp_tool_use and mcp_tool_result blocks)",
        ["mcp_tool_use", "mcp_tool_result", "fallback_block", "text"],
        {"status": "completed", "output_types": ["message"], "fallback": ["mcp_tool_use", "mcp_tool_result"]})


@spec("anthropic", "web-fetch")
def web_fetch() -> tuple[bytes, dict[str, Any]]:
    fetch_id, url = srv_id("fetch"), "https://docs.example.org/harbour-point-light"
    evs: list[Any] = [msg_start(msg_id("fetch"), "claude-sonnet-4-20250514", 872, 5, model_first=False)]
    evs += text_block(0, ["I'll fetch the page", " about Harbour Point Light and summarise it."], pings_after=(1,))
    evs.append(PING)
    fetch = json_block(1, {"type": "server_tool_use", "id": fetch_id, "name": "web_fetch", "input": {}},
                       ["{\"url\": ", "\"https:/", "/docs.ex", "ample", ".org", "/harbour", "-point", "-light",
                        "\"}"])
    evs += [fetch[0], PING, *fetch[1:]]
    evs += block(2, {"type": "web_fetch_tool_result", "tool_use_id": fetch_id, "content": {
        "type": "web_fetch_result", "url": url, "retrieved_at": "2026-01-01T00:00:00.000000+00:00",
        "content": {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": LIGHTHOUSE_DOC},
                    "title": "Harbour Point Light"}}})
    answer = ("This page describes Harbour Point Light, a lighthouse invented for test data. It stands on a low "
              "granite spit at the mouth of a bay and has guided small fishing boats since its first lamp was lit. "
              "Most of the page is a keeper's log: forty seasons, each noting how often the lamp was cleaned, how "
              "many nights the fog signal sounded and how many boats asked for a pilot. The entries grow steadily "
              "from season to season, and the keepers describe calm mornings with a westerly wind after noon. The "
              "light was automated in the final season and still turns every night.")
    evs += text_block(3, groups(words(answer), 3))
    evs += [msg_delta("end_turn", 4012, 418, server_tool_use={"web_search_requests": 0, "web_fetch_requests": 1}),
            STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-20250514",
        "docs.anthropic.com web fetch tool (server_tool_use web_fetch, web_fetch_tool_result with a document)",
        ["server_tool_use", "web_fetch_tool_result", "ping", "text"],
        {"status": "completed", "output_types": ["message", "web_search_call", "message"],
         "usage": usage4(4012, 418)})


SEARCH_RESULTS = [
    ("Riverside library reopens after renovation - City News", "https://news.example.org/riverside-library", None),
    ("Library opening hours and services", "https://library.example.gov/hours", "2 days ago"),
    ("New reading rooms: a photo tour", "https://photos.example.net/library-tour", "1 day ago"),
    ("Council minutes, March session", "https://council.example.gov/minutes/march", None),
    ("Children's programme at the Riverside library", "https://kids.example.org/riverside", "5 days ago"),
    ("Architect's notes on the library extension", "https://studio.example.com/projects/riverside",
     "3 weeks ago"),
    ("Local events this week", "https://events.example.org/this-week", "10 hours ago"),
    ("Volunteer drive at the library", "https://volunteer.example.org/library", "1 week ago"),
    ("Library history", "https://history.example.org/riverside-library", None),
    ("City budget 2026 overview", "https://budget.example.gov/2026", "January 4, 2026"),
]

CITED = [  # (result index, cited sentence, what the answer says about it)
    (0, "The Riverside library reopened on Monday after an eighteen-month renovation.",
     "The Riverside library reopened on Monday after an eighteen-month renovation that added two floors."),
    (2, "Two new reading rooms face the river and seat sixty people each.",
     "Two new reading rooms face the river, each with sixty seats and long tables for study groups."),
    (1, "The library is now open from 8 a.m. to 9 p.m. every day of the week.",
     "Opening hours are longer than before: 8 a.m. to 9 p.m., seven days a week."),
    (4, "A children's programme with reading hours starts next month.",
     "A children's programme with weekly reading hours starts next month."),
    (6, "A welcome festival with music and guided tours runs this weekend.",
     "This weekend there is a welcome festival with music and guided tours of the building."),
    (7, "The library is looking for forty volunteers to help with the festival.",
     "The library is also looking for forty volunteers to help run the festival."),
    (5, "The extension uses timber frames and a green roof to keep energy use low.",
     "The extension is built with timber frames and a green roof to keep energy use low."),
    (9, "The renovation was funded from the city's capital budget.",
     "The work was paid for from the city's capital budget."),
]


@spec("anthropic", "web-search-citations")
def web_search() -> tuple[bytes, dict[str, Any]]:
    search_id = srv_id("search")
    evs: list[Any] = [msg_start(msg_id("search"), "claude-sonnet-4-20250514", 1984, 1, model_first=False)]
    evs += json_block(0, {"type": "server_tool_use", "id": search_id, "name": "web_search", "input": {}},
                      ["{\"query\": \"R", "iverside li", "brary reope", "ning news\"}"])
    results = [{"type": "web_search_result", "title": t, "url": u,
                "encrypted_content": blob(f"search-result-{n}", 1500 + 370 * (n % 5)), "page_age": age}
               for n, (t, u, age) in enumerate(SEARCH_RESULTS)]
    evs += block(1, {"type": "web_search_tool_result", "tool_use_id": search_id, "content": results})
    index = 2
    evs += text_block(index, groups(words("Here is what the latest reports say about the Riverside library, "
                                          "which reopened this week."), 4))
    joins = ["\n\n## The building\n", " ", "\n\n## Opening hours and programmes\n", "\n\n", "\n\n## This weekend\n",
             " ", "\n\n## Design and funding\n", " "]
    for n, (res, cited_text, said) in enumerate(CITED):
        if n:
            index += 1
            evs += text_block(index, [joins[n]])
        index += 1
        title, url, _ = SEARCH_RESULTS[res]
        citation = {"type": "web_search_result_location", "cited_text": cited_text, "url": url, "title": title,
                    "encrypted_index": blob(f"search-cite-{n}", 150)}
        evs += text_block(index, groups(words(said), 5), cited=True,
                          citations=[citation] * (1 + n % 3))
    index += 1
    evs += text_block(index, groups(words("\n\nIn short, the library is open again with longer hours, new rooms "
                                          "and a busy first weekend; volunteers are still welcome."), 4))
    evs += [msg_delta("end_turn", 15240, 768, server_tool_use={"web_search_requests": 1, "web_fetch_requests": 0}),
            STOP]
    return anthropic_sse(evs), sidecar(
        "api.anthropic.com", "claude-sonnet-4-20250514",
        "docs.anthropic.com web search tool (server_tool_use web_search, web_search_tool_result, "
        "citations_delta with web_search_result_location)",
        ["server_tool_use", "web_search_tool_result", "citations_delta", "text"],
        {"status": "completed", "output_types": ["web_search_call", "message"], "annotations": "url_citation",
         "usage": usage4(15240, 768)})


# ---------------------------------------------------------------- output

def json_file(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode()


def generate() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, fn in SPECS.items():
        body, meta = fn()
        files[f"{name}.sse"] = body
        files[f"{name}.json"] = json_file(meta)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if fixtures/upstream/ differs from what would be generated")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = sorted(k for k, v in files.items()
                       if not (UPSTREAM / k).is_file() or (UPSTREAM / k).read_bytes() != v)
        for k in stale:
            print(f"differs or missing: fixtures/upstream/{k}")
        return 1 if stale else 0
    for rel, data in files.items():
        path = UPSTREAM / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files) // 2} upstream fixtures ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
