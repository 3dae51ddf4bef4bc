"""A deterministic token backend: it writes a plausible harmony completion for each request.

The completion is built from the request's `OutputSpec` and `ScriptHint`, encoded with the real
harmony encoding, and yielded one token at a time, so it goes through the same parser as a real
model's output. The rules (documented in docs/reference-server.md):

1. reasoning requested → an `analysis` message first (longer for higher effort);
2. tool calls, when `tool_mode` allows them:
   - "none" (or no tools) → never; "required" → always;
   - "auto" → unless the conversation ends with tool results (then the model answers them);
   - which tools: those whose name appears in the last user text (underscores read as spaces
     too), or every offered tool when none is named; only the first when
     `parallel_tool_calls` is false. Arguments are a minimal instance of the tool's schema;
   - a `commentary` preamble message announces the calls; each call is
     `<|start|>assistant<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>…`
     (`to=NAMESPACE.NAME` for a namespace tool's member; a custom tool's call has no
     `<|constrain|>json` and its input is the last user text, or for a grammar format a text
     the grammar accepts), the last ending in `<|call|>` (a stop token) and earlier ones in `<|end|>`;
3. otherwise a `final` message ending in `<|return|>`: with tool results it reports them; else it
   echoes the last user text and the first earlier one ("You said earlier: …"), mentions an
   image it cannot see, and for `json_object` / `json_schema` formats is JSON of that schema.
4. web search (the browser tool), before rules 2–3, when it is forced, or offered and the last
   user text asks for it (search, web, look up, cite, source) without naming a function tool
   (then rule 2 calls that tool): `browser.search` for the words of
   the question, then `browser.open` of the top result, then a final answer quoting the opened
   page's first sentence with a citation marker `【cursor†La-Lb】` for those lines (no result:
   an answer saying so, without a citation).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from openai_harmony import HarmonyEncoding, Message, Role

from reference_server.protocol.token_backend import (
    BackendError,
    GenerationRequest,
    OutputSpec,
    ScriptHint,
    ToolSpec,
)

from .grammar_text import GrammarTextError, grammar_text
from .schema_instance import instance

DEFAULT_MODEL_ID = "gpt-oss-scripted"
_ANALYSIS_SENTENCES = {"low": 1, "medium": 2, "high": 3}


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def choose_calls(spec: OutputSpec, hint: ScriptHint) -> list[ToolSpec]:
    """The tools the scripted model calls for this turn (rule 2 of the module docstring)."""
    if spec.tool_mode == "none" or not spec.tools:
        return []
    if spec.tool_mode == "auto" and hint.tool_outputs:
        return []
    text = hint.last_user_text.lower()
    named = [t for t in spec.tools if t.name.lower() in text or t.name.replace("_", " ").lower() in text]
    chosen = named or list(spec.tools)
    limit = 1 if not spec.parallel_tool_calls else spec.max_tool_calls
    return chosen if limit is None else chosen[:limit]


def call_arguments(tool: ToolSpec, hint: ScriptHint | None = None) -> str:
    """A function's JSON arguments (a minimal instance of its schema), or a custom tool's input:
    the last user text for a `text` format, a text the grammar accepts for a `grammar` one."""
    if tool.kind == "custom":
        fmt = tool.format or {"type": "text"}
        if fmt.get("type") == "grammar":
            try:
                return grammar_text(fmt["syntax"], fmt["definition"])
            except GrammarTextError as exc:
                raise BackendError(f"the scripted model cannot write input for custom tool "
                                   f"{tool.name!r}: {exc}") from None
        return _clip(hint.last_user_text if hint else "") or f"input for {tool.name}"
    schema = tool.parameters or {"type": "object", "properties": {}}
    return json.dumps(instance(schema), separators=(",", ":"), ensure_ascii=False)


def analysis_text(spec: OutputSpec, hint: ScriptHint, calls: Sequence[ToolSpec]) -> str:
    asked = _clip(hint.last_user_text) or "nothing in particular"
    sentences = [f"The user asks: \"{asked}\"."]
    if calls:
        sentences.append("I should call " + ", ".join(t.name for t in calls) + " before answering.")
    elif hint.tool_outputs:
        sentences.append("The tool results are in; I can answer now.")
    else:
        sentences.append("I can answer directly.")
    sentences.append("I will keep the answer short and accurate.")
    count = _ANALYSIS_SENTENCES.get(spec.reasoning_effort or "medium", 2)
    return " ".join(sentences[: max(count, 1)])


def answer_text(hint: ScriptHint) -> str:
    if hint.tool_outputs:
        results = "; ".join(_clip(o, 200) for o in hint.tool_outputs)
        return f"The tool returned: {results}."
    parts = [f"You said: \"{_clip(hint.last_user_text)}\"."]
    if hint.earlier_user_texts:
        parts.append(f"You said earlier: \"{_clip(hint.earlier_user_texts[0])}\".")
    if hint.saw_image:
        parts.append("You attached an image, but I cannot see images.")
    parts.append("This is a scripted answer from the reference server.")
    return " ".join(parts)


def final_text(spec: OutputSpec, hint: ScriptHint) -> str:
    fmt = spec.final_format
    answer = answer_text(hint)
    if fmt is None:
        return answer
    if fmt.get("type") == "json_schema":
        return json.dumps(instance(fmt.get("schema") or {}, text=answer), ensure_ascii=False)
    return json.dumps({"answer": answer}, ensure_ascii=False)


_ASKS_TO_BROWSE = re.compile(r"\b(search|web|look(?:ing)? up|cite|citations?|sources?)\b", re.IGNORECASE)
_STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "can", "cite", "do", "does", "for", "from", "how", "i", "in", "is", "it", "me", "of", "on", "or", "please", "search", "source", "sources", "the", "this", "to", "up", "web", "what", "when", "where", "which", "who", "why", "with", "look", "you", "your"])
_PAGE_HEAD = re.compile(r"^\[(\d+)\] (.*?)(?: \((\S+)\))?$")
_PAGE_LINE = re.compile(r"^L(\d+): (.*)$")


def wants_browser(spec: OutputSpec, hint: ScriptHint) -> bool:
    """Rule 4: browse (again) in this step."""
    if spec.browser == "none" or hint.tool_outputs:
        return False
    if spec.browser == "required" or hint.browser_results:
        return True  # forced, or in the middle of browsing
    text = hint.last_user_text.lower()
    named = any(t.name.lower() in text or t.name.replace("_", " ").lower() in text for t in spec.tools)
    return not named and bool(_ASKS_TO_BROWSE.search(text))


def search_query(text: str) -> str:
    words = [w for w in re.findall(r"[\w-]+", text.lower()) if w not in _STOPWORDS]
    return " ".join(dict.fromkeys(words[:12])) or _clip(text, 60) or "reference server"


def browser_step(hint: ScriptHint) -> tuple[str, dict[str, Any]] | str:
    """The next browser call (function, arguments), or the cited final answer once a page is open."""
    results = hint.browser_results
    if not results:
        return "search", {"query": search_query(hint.last_user_text), "topn": 5}
    last = results[-1]
    if len(results) == 1:
        if "【0†" in last:
            return "open", {"id": 0, "cursor": 0}
        return f"I searched for \"{search_query(hint.last_user_text)}\" but found nothing relevant."
    return cited_answer(last)


def cited_answer(page: str) -> str:
    """The first sentence-like line of an opened page, quoted with a citation marker."""
    lines = page.splitlines()
    head = _PAGE_HEAD.match(lines[0]) if lines else None
    if head is None:
        return "The page could not be read."
    cursor, title = head.group(1), head.group(2)
    body = [(int(m.group(1)), m.group(2)) for m in map(_PAGE_LINE.match, lines) if m]
    start = next((k for k, (_n, t) in enumerate(body) if len(t.split()) >= 5 and not t.startswith("#")), None)
    if start is None:
        return f"I opened “{title}”, but it says little."
    picked: list[tuple[int, str]] = []
    for n, t in body[start:start + 3]:  # up to the end of the first sentence, three lines at most
        if not t:
            break
        picked.append((n, t))
        if t.rstrip().endswith((".", "!", "?")):
            break
    first, last = picked[0][0], picked[-1][0]
    quote = _clip(" ".join(t for _n, t in picked), 320)
    marker = f"【{cursor}†L{first}-L{last}】" if last != first else f"【{cursor}†L{first}】"
    return f"According to “{title}”: {quote}{marker}"


class ScriptedCompletion:
    """Builds the completion token list for one request with the real harmony encoding."""

    def __init__(self, encoding: HarmonyEncoding) -> None:
        self.enc = encoding
        self._start = encoding.encode("<|start|>assistant", allowed_special="all")
        self._call = encoding.encode("<|call|>", allowed_special="all")
        self._end = encoding.encode("<|end|>", allowed_special="all")
        self._return = encoding.encode("<|return|>", allowed_special="all")

    def _message(self, channel: str, text: str) -> list[int]:
        tokens = list(self.enc.render(Message.from_role_and_content(Role.ASSISTANT, text).with_channel(channel)))
        return tokens

    def _call_message(self, tool: ToolSpec, hint: ScriptHint, last: bool) -> list[int]:
        # The form gpt-oss emits (recipient after the channel); harmony's renderer puts it in
        # the role header instead. Both parse the same. A custom tool's input is plain text.
        header = f"<|start|>assistant<|channel|>commentary to={tool.recipient}"
        header += "<|message|>" if tool.kind == "custom" else " <|constrain|>json<|message|>"
        return (self.enc.encode(header, allowed_special="all")
                + self.enc.encode(call_arguments(tool, hint))
                + (self._call if last else self._end))

    def _browser_tokens(self, spec: OutputSpec, hint: ScriptHint) -> list[int]:
        step = browser_step(hint)
        out: list[int] = []
        if spec.reasoning_effort is not None:
            doing = "answer from the page I opened" if isinstance(step, str) else f"use browser.{step[0]}"
            out += self._message("analysis", f"The user asks: \"{_clip(hint.last_user_text)}\". I will {doing}.")
        if isinstance(step, str):
            return out + self._final(step)
        function, arguments = step
        if not hint.browser_results:
            out += self._message("commentary", "Searching the web for this.")
        header = f"<|start|>assistant<|channel|>commentary to=browser.{function} <|constrain|>json<|message|>"
        return (out + self.enc.encode(header, allowed_special="all")
                + self.enc.encode(json.dumps(arguments, ensure_ascii=False)) + self._call)

    def _final(self, text: str) -> list[int]:
        final = self._message("final", text)
        if final[-len(self._end):] != self._end:
            raise BackendError("harmony rendered a final message without <|end|>")
        return final[: -len(self._end)] + self._return

    def tokens(self, spec: OutputSpec, hint: ScriptHint) -> list[int]:
        if wants_browser(spec, hint):
            browsing = self._browser_tokens(spec, hint)
            if browsing[: len(self._start)] != self._start:
                raise BackendError("harmony rendered an assistant message with an unexpected header")
            return browsing[len(self._start):]
        calls = choose_calls(spec, hint)
        out: list[int] = []
        if spec.reasoning_effort is not None:
            out += self._message("analysis", analysis_text(spec, hint, calls))
        if calls:
            names = ", ".join(t.name for t in calls)
            out += self._message("commentary", f"Calling {names} to answer this.")
            for i, tool in enumerate(calls):
                out += self._call_message(tool, hint, last=i == len(calls) - 1)
        else:
            final = self._message("final", final_text(spec, hint))
            if final[-len(self._end):] != self._end:
                raise BackendError("harmony rendered a final message without <|end|>")
            out += final[: -len(self._end)] + self._return
        # The prompt already ends with `<|start|>assistant`: the completion starts after it.
        if out[: len(self._start)] != self._start:
            raise BackendError("harmony rendered an assistant message with an unexpected header")
        return out[len(self._start):]


class ScriptedStream:
    """One generation: yields the scripted tokens, honouring max_new_tokens and cancellation."""

    def __init__(self, backend: ScriptedBackend, request: GenerationRequest) -> None:
        self._backend = backend
        self._request = request
        self.cached_tokens = 0
        self.produced = 0
        self.closed = False
        # A script gives each of its tokens probability 1 (logprob 0) and considers no other.
        self.last_logprob: tuple[float, tuple[tuple[int, float], ...]] | None = None
        self._gen: AsyncIterator[int] | None = None

    def __aiter__(self) -> AsyncIterator[int]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    async def _run(self) -> AsyncIterator[int]:
        backend, request = self._backend, self._request
        try:
            tokens = backend.completion.tokens(request.output, request.hint)
        except ValueError as exc:  # e.g. a schema the instance generator cannot satisfy
            raise BackendError(f"the scripted model cannot produce this output: {exc}") from None
        self.cached_tokens = backend.prefix_cache.lookup(request.prompt_tokens)
        backend.active += 1
        try:
            for token in tokens[: request.max_new_tokens]:
                if self.closed:
                    return
                if backend.fail_after_tokens is not None and self.produced >= backend.fail_after_tokens:
                    raise BackendError(f"scripted failure after {self.produced} tokens")
                if backend.delay:
                    await asyncio.sleep(backend.delay)
                else:
                    await asyncio.sleep(0)  # let other requests and disconnect detection run
                if self.closed:
                    return
                self.produced += 1
                backend.tokens_produced += 1
                backend.last_token_at = time.monotonic()
                self.last_logprob = (0.0, ((token, 0.0),))
                yield token
                if token in request.stop_token_ids:
                    break
        finally:
            # What was computed stays cached, even when the consumer stopped early.
            backend.prefix_cache.remember(tuple(request.prompt_tokens) + tuple(tokens[: self.produced]))
            self.closed = True
            backend.active -= 1

    async def aclose(self) -> None:
        self.closed = True
        if self._gen is not None:
            await self._gen.aclose()  # type: ignore[attr-defined]


class PrefixCache:
    """Remembers recent prompt+completion token sequences; `lookup` is the longest shared prefix
    (so a `previous_response_id` continuation reports `cached_tokens`)."""

    def __init__(self, capacity: int = 64) -> None:
        self._seqs: OrderedDict[tuple[int, ...], None] = OrderedDict()
        self._capacity = capacity

    def lookup(self, prompt: Sequence[int]) -> int:
        best = 0
        for seq in self._seqs:
            n = 0
            for a, b in zip(seq, prompt, strict=False):
                if a != b:
                    break
                n += 1
            best = max(best, n)
        # Never claim the whole prompt: the last token is always computed.
        return min(best, max(len(prompt) - 1, 0))

    def remember(self, seq: tuple[int, ...]) -> None:
        self._seqs[seq] = None
        self._seqs.move_to_end(seq)
        while len(self._seqs) > self._capacity:
            self._seqs.popitem(last=False)


class ScriptedBackend:
    """The default backend. Options: `model_id`, `delay` (seconds per token),
    `fail_after_tokens` (raise BackendError after that many tokens; tests use it)."""

    name = "scripted"

    def __init__(
        self,
        *,
        model_id: str = DEFAULT_MODEL_ID,
        delay: float = 0.0,
        fail_after_tokens: int | None = None,
        encoding: HarmonyEncoding | None = None,
    ) -> None:
        if encoding is None:
            from reference_server.protocol.vocab import harmony_encoding

            encoding = harmony_encoding()
        if delay < 0:
            raise ValueError("delay must be >= 0")
        if fail_after_tokens is not None and fail_after_tokens < 0:
            raise ValueError("fail_after_tokens must be >= 0")
        self.model_id = model_id
        self.delay = float(delay)
        self.fail_after_tokens = fail_after_tokens
        self.completion = ScriptedCompletion(encoding)
        self.prefix_cache = PrefixCache()
        # Observability for tests: tokens yielded in total, streams still running.
        self.tokens_produced = 0
        self.active = 0
        self.last_token_at = 0.0

    def generate(self, request: GenerationRequest) -> ScriptedStream:
        return ScriptedStream(self, request)

    async def aclose(self) -> None:
        return None


def build(**options: Any) -> ScriptedBackend:
    return ScriptedBackend(**options)
