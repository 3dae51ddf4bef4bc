"""The token-backend interface the reference server generates through.

A backend turns harmony prompt tokens into completion tokens, one at a time, as an async
iterator. The server owns everything else (harmony rendering and parsing, events, storage), so
a scripted backend and a real transformer are interchangeable.

Contract:
- `generate(request)` returns a `TokenStream` at once (no work done yet); iterating it yields
  completion token ids. It stops after a stop token (which it yields) or after
  `max_new_tokens` tokens, whichever comes first.
- Generation must never block the event loop: CPU work runs in a worker thread or is chunked.
- Closing the stream (`aclose`) cancels generation promptly (within one token) and releases
  its resources; concurrent streams never share mutable state.
- Failures raise `BackendError` from the iterator; the server turns that into `error` +
  `response.failed`.
- A backend that can stop serving for good (a model thread that died) may expose
  `unavailable: str | None`, the reason; the server then answers /health and new requests
  with 503 instead of letting them wait.
- `cached_tokens` is how many prompt tokens were reused from a cache (prefix reuse); it is final
  once the first token has been yielded.
- `last_logprob` (optional attribute): `(logprob, ((token_id, logprob), ...))` of the token just
  yielded, alternatives most likely first, or None when the backend has no probabilities. The
  server reads it after each token only for requests that include
  `message.output_text.logprobs`, and keeps the request's `top_logprobs` first alternatives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

ToolMode = Literal["auto", "none", "required"]


class BackendError(RuntimeError):
    """Generation failed; the message is safe to show to API clients."""


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: a function (JSON arguments) or a custom tool (free-form text
    input, constrained by `format` when it is a lark or regex grammar)."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON Schema of the arguments object
    strict: bool = False
    kind: Literal["function", "custom"] = "function"
    # The request's namespace tool this belongs to (None: a top-level tool).
    namespace: str | None = None
    # A custom tool's input format: {"type": "text"} or {"type": "grammar", "syntax", "definition"}.
    format: dict[str, Any] | None = None

    @property
    def recipient(self) -> str:
        """The harmony recipient of a call: top-level tools live in harmony's `functions`
        namespace, a namespace tool's members in a harmony namespace of the same name."""
        return f"{self.namespace or 'functions'}.{self.name}"


@dataclass(frozen=True)
class BrowserPage:
    """A page the browser displayed (its cursor), as far as a constrained backend needs it."""

    cursor: int
    size: int  # lines the page has (L0 .. L{size-1})
    # The lines the model was shown: range(first, end), what a citation may point at.
    first: int
    end: int
    # Link ids on it that `browser.open` follows (search results, find matches).
    links: tuple[int, ...] = ()
    # A document's text (an opened page or matches found in one), not a search results list:
    # `browser.open` scrolls it and `browser.find` searches it.
    document: bool = False

    @property
    def citable(self) -> bool:
        """A marker may cite its lines: a document, or search results with links to cite."""
        return self.end > self.first and (self.document or bool(self.links))


@dataclass(frozen=True)
class OutputSpec:
    """What the request demands of the output. Backends must honour it: the scripted backend by
    construction, a real model by constrained decoding.

    - `tools` are the tools the model may call now (already narrowed by `allowed_tools` or a
      named `tool_choice`);
    - `tool_mode`: "none" forbids calls, "required" demands at least one call before any final
      answer (a named function is "required" with `tools` holding just that function);
    - `reasoning_effort`: None when no reasoning was requested, otherwise "low"/"medium"/"high";
    - `final_format`: None (plain text), {"type": "json_object"} or
      {"type": "json_schema", "name": ..., "schema": {...}, "strict": bool};
    - `max_tool_calls`: at most this many calls in the turn (None: no bound).
    """

    tools: tuple[ToolSpec, ...] = ()
    tool_mode: ToolMode = "auto"
    parallel_tool_calls: bool = True
    reasoning_effort: str | None = None
    final_format: dict[str, Any] | None = None
    # Upper bound on function calls in this turn (the request's `max_tool_calls`); None = no bound.
    max_tool_calls: int | None = None
    # harmony's browser tool (the request's web_search): "none", "auto" or "required" (a forced
    # search: browse before answering). Calls go to `browser.search` / `.open` / `.find`.
    browser: ToolMode = "none"
    # The pages the browser displayed in this response, oldest first: what a constrained backend
    # lets `browser.open` / `browser.find` name and a citation marker `【c†La-Lb】` point at.
    pages: tuple[BrowserPage, ...] = ()


@dataclass(frozen=True)
class ScriptHint:
    """Facts about the conversation that a deterministic (scripted) backend answers from; a real
    model reads the prompt tokens instead (a random-weight model only uses `tool_outputs` and
    `browser_results`, to resolve `tool_choice: "auto"` cooperatively, and the words of
    `last_user_text` as the words its search query may use)."""

    last_user_text: str = ""
    # Outputs of the function calls that answer the model's last turn (empty when the last input
    # is not a tool result): a scripted model answers them instead of calling again.
    tool_outputs: tuple[str, ...] = ()
    # Earlier user texts of the conversation, oldest first (lets a scripted answer depend on turn 1).
    earlier_user_texts: tuple[str, ...] = ()
    saw_image: bool = False
    # What the browser showed so far in this response (one entry per browser call, in order):
    # a scripted model searches, then opens, then answers citing what it opened.
    browser_results: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationRequest:
    prompt_tokens: tuple[int, ...]
    max_new_tokens: int
    stop_token_ids: frozenset[int]
    output: OutputSpec = field(default_factory=OutputSpec)
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    # OpenAI's penalties over the tokens generated so far (backends that sample honour them).
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # None: no log-probabilities wanted; n: the chosen token's logprob and n alternatives, exposed
    # as the stream's `last_logprob` after each token by a backend that has probabilities.
    logprobs: int | None = None
    # A stable key of the conversation this prompt continues (e.g. the previous response id);
    # a backend with a prefix cache may use it to find reusable state.
    prefix_key: str | None = None
    hint: ScriptHint = field(default_factory=ScriptHint)


@runtime_checkable
class TokenStream(Protocol):
    cached_tokens: int

    def __aiter__(self) -> AsyncIterator[int]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class TokenBackend(Protocol):
    """A source of completion tokens. `model_id` is what responses report as `model`."""

    name: str
    model_id: str

    def generate(self, request: GenerationRequest) -> TokenStream: ...

    async def aclose(self) -> None: ...
