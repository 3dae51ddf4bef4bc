"""The token-backend `ResponseSource`: a request becomes a harmony prompt, a backend generates
completion tokens, and the harmony parser turns them into output items one token at a time.

The service (service.py) does validation, storage and cancellation; this is only the generation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio

from .backends.base import BackendError, GenerationRequest, TokenBackend
from .emitter import HarmonyToEvents
from .errors import APIError
from .events import Event, make_usage
from .harmony import (
    MIN_TOKENS_PER_MESSAGE,
    CompletionDecoder,
    HarmonyOutputError,
    PromptError,
    build_conversation,
    call_targets,
    estimate_prompt_tokens,
    output_spec,
    prompt_text_chars,
    render_prompt,
    script_hint,
    summary_requested,
)
from .logprobs import LogprobAttacher
from .request import CreateRequest
from .service import Prepared
from .settings import Settings
from .vocab import o200k_tiktoken

log = logging.getLogger("reference_server")

# How long closing a backend stream may take after a cancel.
_CLEANUP_SECONDS = 5.0


def _too_long(size: str, window: int) -> APIError:
    return APIError(400, f"Your input is {size}, which exceeds the context window of {window} tokens.",
                    param="input", code="context_length_exceeded")


class BackendSource:
    """Harmony over a `TokenBackend`. Closes the backend on `aclose()` only when `owns_backend`."""

    def __init__(self, backend: TokenBackend, encoding: Any, settings: Settings, *, owns_backend: bool = False) -> None:
        self.backend = backend
        self.encoding = encoding
        self.settings = settings
        self.owns_backend = owns_backend
        self.name = backend.name
        self._stop_tokens = frozenset(encoding.stop_tokens_for_assistant_actions())

    async def model_ids(self) -> list[str]:
        return [self.backend.model_id]

    def health(self) -> dict[str, Any]:
        return {"backend": self.backend.name, "model": self.backend.model_id}

    async def aclose(self) -> None:
        if self.owns_backend:
            await self.backend.aclose()

    async def plan(self, req: CreateRequest, context: list[dict[str, Any]]) -> GenerationRequest:
        if not self.settings.accept_any_model and req.model != self.backend.model_id:
            raise APIError(404, f"The model '{req.model}' does not exist or you do not have access to it.",
                           param="model", code="model_not_found")
        prompt, kept = await anyio.to_thread.run_sync(self._prompt, req, context)
        window = self.settings.context_window
        budget = req.max_output_tokens or self.settings.default_max_output_tokens
        return GenerationRequest(
            prompt_tokens=tuple(prompt),
            max_new_tokens=min(budget, window - len(prompt)),
            stop_token_ids=self._stop_tokens,
            output=output_spec(req),
            temperature=req.temperature,
            top_p=req.top_p,
            prefix_key=req.previous_response_id,
            hint=script_hint(kept),
        )

    def _prompt(self, req: CreateRequest, context: list[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
        """The prompt tokens and the conversation items they hold, or APIError(400). Runs in a
        worker thread: building the conversation is Python, so the event loop keeps getting
        turns; harmony's renderer holds the GIL (about 70 µs per message, 0.5 µs per token), so a
        prompt far beyond the context window is refused from cheap estimates before it is
        rendered. With `truncation: "auto"` the oldest turns are dropped instead."""
        if req.truncation == "auto":
            return self._truncated_prompt(req, context)
        return self._full_prompt(req, context), [*context, *req.input_items]

    def _full_prompt(self, req: CreateRequest, context: list[dict[str, Any]]) -> list[int]:
        window = self.settings.context_window
        clearly_over = window + window // 50  # the estimates are approximate: refuse early only beyond this
        messages = sum(1 for item in (*context, *req.input_items) if item.get("type") != "reasoning")
        if MIN_TOKENS_PER_MESSAGE * messages > clearly_over:
            raise _too_long(f"at least {MIN_TOKENS_PER_MESSAGE * messages} tokens ({messages} messages)", window)
        try:
            conversation = build_conversation(req, context)
        except PromptError as exc:
            raise APIError(400, str(exc), param=exc.param, code="invalid_value") from None
        if prompt_text_chars(conversation) > window // 2:
            estimate = estimate_prompt_tokens(conversation, o200k_tiktoken().encode_ordinary, clearly_over)
            if estimate > clearly_over:
                raise _too_long(f"more than {clearly_over} tokens", window)
        prompt = render_prompt(self.encoding, conversation)
        if len(prompt) >= window:
            raise _too_long(f"{len(prompt)} tokens", window)
        return prompt

    def _truncated_prompt(self, req: CreateRequest,
                          context: list[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
        """`truncation: "auto"`: the whole conversation if it fits the window, else the shortest
        cut that fits, dropping whole turns from the start (a cut falls just before a user
        message, so no tool output loses its call). Cuts are tried by bisection (fewer items
        never need more tokens); each is sized by the cheap estimate before it is rendered."""
        try:
            return self._full_prompt(req, context), [*context, *req.input_items]
        except APIError as exc:
            if exc.code != "context_length_exceeded":
                raise
        items = [*context, *req.input_items]
        cuts = [i for i, item in enumerate(items)
                if i > 0 and item.get("type") == "message" and item.get("role") == "user"]
        bare = dataclasses.replace(req, input_items=[])
        best: tuple[list[int], list[dict[str, Any]]] | None = None
        lo, hi = 0, len(cuts) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            kept = items[cuts[mid]:]
            try:
                best, hi = (self._full_prompt(bare, kept), kept), mid - 1
            except APIError as exc:
                if exc.code != "context_length_exceeded":
                    raise
                lo = mid + 1
        if best is None:
            raise _too_long("too long even with only its last turn kept (truncation: auto)",
                            self.settings.context_window)
        return best

    async def run(self, prep: Prepared) -> AsyncIterator[Event]:
        """Generation events after `in_progress`, the terminal ones included. Closing this
        generator (a disconnect, a cancel) closes the backend's token stream at once."""
        writer, gen = prep.writer, prep.plan
        emitter = HarmonyToEvents(writer, targets=call_targets(gen.output.tools),
                                  summary=summary_requested(prep.request))
        decoder = CompletionDecoder(self.encoding, emitter)
        req = prep.request
        logprobs = (LogprobAttacher(writer, req.top_logprobs)
                    if "message.output_text.logprobs" in req.include else None)
        token_stream: Any = None
        cached = 0
        stopped: str | None = None
        try:
            failure: str | None = None
            try:
                token_stream = self.backend.generate(gen)
                async for token in token_stream:
                    if decoder.counts.output == 0:
                        cached = min(int(getattr(token_stream, "cached_tokens", 0) or 0), len(gen.prompt_tokens))
                    events = decoder.feed(token)
                    if logprobs is not None:
                        logprobs.feed(token, getattr(token_stream, "last_logprob", None), events)
                    for event in events:
                        yield event
                    if token in gen.stop_token_ids or decoder.counts.output >= gen.max_new_tokens:
                        break
                    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
                    # An item just ended and none is open; a tool call that just ended lets the
                    # response finish instead (it ends for the client's tool output anyway).
                    if prep.stop_at_boundary and done and not writer.open_items and not any(
                            item.get("type") in ("function_call", "custom_tool_call") for item in done):
                        stopped = prep.stop_at_boundary
                        break
            except BackendError as exc:
                failure = str(exc) or "the backend failed"
            except HarmonyOutputError as exc:
                failure = str(exc)
            except Exception:  # a bug in a backend or here: the stream still ends properly
                log.exception("generation of response %s crashed", writer.response_id)
                failure = "The server had an error while processing your request."
            decoder.charge_open_message()
            usage = make_usage(len(gen.prompt_tokens), decoder.counts.output,
                               reasoning_tokens=decoder.counts.reasoning, cached_tokens=cached)
            if failure is not None:
                log.warning("response %s failed: %s", writer.response_id, failure)
                terminal = emitter.fail(failure, code="server_error")
            elif stopped is not None:
                terminal = emitter.incomplete(stopped, usage)
            elif decoder.last_token in gen.stop_token_ids or decoder.counts.output < gen.max_new_tokens:
                # A stop token, or the backend ended on its own: whatever is open is finished.
                terminal = emitter.complete(usage)
            else:
                terminal = emitter.incomplete("max_output_tokens", usage)
            for event in terminal:
                yield event
        finally:
            if token_stream is not None:
                with (anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_SECONDS),
                      contextlib.suppress(Exception)):
                    await token_stream.aclose()
