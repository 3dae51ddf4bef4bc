"""The token-backend `ResponseSource`: a request becomes a harmony prompt, a backend generates
completion tokens, and the harmony parser turns them into output items one token at a time.

The service (service.py) does validation, storage and cancellation; this is only the generation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from openai_harmony import Author, Message, Role

from ..core.service import Prepared
from ..core.settings import Settings
from ..protocol.emitter import BROWSER_ACTIONS, HarmonyToEvents
from ..protocol.errors import APIError
from ..protocol.events import Event, make_usage
from ..protocol.harmony import (
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
from ..protocol.logprobs import LogprobAttacher
from ..protocol.request import CreateRequest
from ..protocol.token_backend import BackendError, BrowserPage, GenerationRequest, TokenBackend
from ..protocol.vocab import o200k_tiktoken
from ..search import Browser, BrowserResult, load_index

log = logging.getLogger("reference_server")

# How long closing a backend stream may take after a cancel.
_CLEANUP_SECONDS = 5.0
# Browser calls one response may make; later ones are refused (the model is told to answer).
MAX_BROWSER_CALLS = 12


def _too_long(size: str, window: int) -> APIError:
    return APIError(400, f"Your input is {size}, which exceeds the context window of {window} tokens.",
                    param="input", code="context_length_exceeded")


def browser_pages(browser: Browser) -> tuple[BrowserPage, ...]:
    """What a constrained backend needs of the pages the browser displayed (OutputSpec.pages)."""
    return tuple(BrowserPage(p.cursor, len(p.lines), *browser.views.get(p.cursor, (0, 0)),
                             links=tuple(sorted(p.links)), document=bool(p.url))
                 for p in browser.pages)


class BackendSource:
    """Harmony over a `TokenBackend`. Closes the backend on `aclose()` only when `owns_backend`."""

    upstream_seals_reasoning = False  # reasoning is sealed with the server's own key

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
        info: dict[str, Any] = {"backend": self.backend.name, "model": self.backend.model_id}
        reason = self._unavailable()
        if reason is not None:
            info |= {"status": "unavailable", "error": reason}
        return info

    def _unavailable(self) -> str | None:
        reason = getattr(self.backend, "unavailable", None)
        return reason if isinstance(reason, str) else None

    async def aclose(self) -> None:
        if self.owns_backend:
            await self.backend.aclose()

    async def plan(self, req: CreateRequest, context: list[dict[str, Any]]) -> GenerationRequest:
        reason = self._unavailable()
        if reason is not None:
            raise APIError(503, f"The model backend is unavailable: {reason}", code="backend_unavailable")
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
            presence_penalty=req.presence_penalty,
            frequency_penalty=req.frequency_penalty,
            logprobs=req.top_logprobs if "message.output_text.logprobs" in req.include else None,
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
        prompt = render_prompt(self.encoding, conversation, all_turns=req.reasoning.get("context") == "all_turns")
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
        generator (a disconnect, a cancel) closes the backend's token stream at once.

        With web search offered, one response may take several generations: when the model
        ends a step with a browser call, the server runs it (`web_search_call` searching →
        completed), appends the call and the browser's page to the prompt as harmony messages,
        and lets the model continue from there."""
        writer, gen = prep.writer, prep.plan
        req = prep.request
        browser = self._browser(req)
        emitter = HarmonyToEvents(writer, targets=call_targets(gen.output.tools),
                                  summary=summary_requested(req),
                                  citations=browser.resolve_citation if browser is not None else None)
        logprobs = (LogprobAttacher(writer, req.top_logprobs)
                    if "message.output_text.logprobs" in req.include else None)
        token_stream: Any = None
        cached = 0
        step, prompt_total, output_total, reasoning_total = gen, 0, 0, 0
        stopped: str | None = None
        try:
            failure: str | None = None
            while True:
                decoder = CompletionDecoder(self.encoding, emitter)
                completion: list[int] = []
                prompt_total += len(step.prompt_tokens)
                try:
                    token_stream = self.backend.generate(step)
                    async for token in token_stream:
                        if decoder.counts.output == 0 and step is gen:
                            cached = min(int(getattr(token_stream, "cached_tokens", 0) or 0), len(gen.prompt_tokens))
                        completion.append(token)
                        events = decoder.feed(token)
                        if logprobs is not None:
                            logprobs.feed(token, getattr(token_stream, "last_logprob", None), events)
                        for event in events:
                            yield event
                        if token in gen.stop_token_ids or decoder.counts.output >= step.max_new_tokens:
                            break
                        done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
                        # An item just ended and none is open (steering stops here); a tool call
                        # that just ended lets the response finish instead (it ends for the
                        # client's tool output anyway).
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
                output_total += decoder.counts.output
                reasoning_total += decoder.counts.reasoning
                pending, emitter.pending_browser = emitter.pending_browser, None
                if failure is not None or stopped is not None or pending is None or browser is None:
                    break
                await self._close_stream(token_stream)
                token_stream = None
                for event in await self._browse(writer, browser, pending, req):
                    yield event
                nxt = self._next_step(gen, step, completion, pending, browser, output_total)
                if nxt is None:
                    break
                step = nxt
            usage = make_usage(prompt_total, output_total, reasoning_tokens=reasoning_total, cached_tokens=cached)
            if failure is not None:
                log.warning("response %s failed: %s", writer.response_id, failure)
                terminal = emitter.fail(failure, code="server_error")
            elif stopped is not None:
                terminal = emitter.incomplete(stopped, usage)
            elif decoder.last_token in gen.stop_token_ids or output_total < gen.max_new_tokens:
                # A stop token, or the backend ended on its own: whatever is open is finished.
                terminal = emitter.complete(usage)
            else:
                terminal = emitter.incomplete("max_output_tokens", usage)
            for event in terminal:
                yield event
        finally:
            if token_stream is not None:
                await self._close_stream(token_stream)

    @staticmethod
    async def _close_stream(token_stream: Any) -> None:
        with (anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_SECONDS),
              contextlib.suppress(Exception)):
            await token_stream.aclose()

    # ------------------------------------------------------------------ web search
    def _browser(self, req: CreateRequest) -> Browser | None:
        tool = req.web_search_tool()
        if tool is None or req.browser_mode() == "none":
            return None
        filters = tool.get("filters")
        domains = filters.get("allowed_domains") if isinstance(filters, dict) else None
        if not isinstance(domains, list):
            domains = None
        size = tool.get("search_context_size")
        return Browser(load_index(self.settings.search_corpus),
                       allowed_domains=[d for d in domains or () if isinstance(d, str)],
                       context_size=size if isinstance(size, str) else None)

    async def _browse(self, writer: Any, browser: Browser, pending: tuple[int, str, str],
                      req: CreateRequest) -> list[Event]:
        """Run one browser call: `searching`, the call (in a worker thread: SQLite), then the
        item's end with its action (sources only when the request includes them)."""
        index, function, arguments = pending
        events = writer.web_search_searching(index)
        try:
            args: Any = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            args = None
        if browser.calls >= MAX_BROWSER_CALLS:
            result = BrowserResult(f"Error: at most {MAX_BROWSER_CALLS} browser calls per response; answer now.",
                                   {"type": BROWSER_ACTIONS.get(function, "search")}, ok=False)
        else:
            call_args: Any = args if isinstance(args, dict) else []  # not an object: the browser says so
            result = await anyio.to_thread.run_sync(browser.call, function, call_args)
        action = dict(result.action)
        if action.get("type") == "search" and "web_search_call.action.sources" not in req.include:
            action.pop("sources", None)
        browser.last_result = result.text
        return events + writer.finish_web_search_call(index, action, "completed" if result.ok else "failed")

    def _next_step(self, gen: GenerationRequest, step: GenerationRequest, completion: list[int],
                   pending: tuple[int, str, str], browser: Browser, output_total: int) -> GenerationRequest | None:
        """The generation after a browser call: the prompt so far, the model's call, the
        browser's page as a tool message, and a new assistant turn. None when no budget is left."""
        message = (Message.from_author_and_content(Author.new(Role.TOOL, f"browser.{pending[1]}"),
                                                   browser.last_result)
                   .with_channel("commentary").with_recipient("assistant"))
        prompt = [*step.prompt_tokens, *completion, *self.encoding.render(message),
                  *self.encoding.encode("<|start|>assistant", allowed_special="all")]
        budget = gen.max_new_tokens - output_total
        if budget <= 0 or len(prompt) + budget > self.settings.context_window:
            budget = min(budget, self.settings.context_window - len(prompt))
            if budget <= 0:
                return None
        hint = dataclasses.replace(step.hint, browser_results=(*step.hint.browser_results, browser.last_result))
        output = step.output
        if output.browser == "required":  # the forced search happened: browsing is free now
            output = dataclasses.replace(output, tools=(), tool_mode="none", browser="auto")
        elif output.tool_mode == "required":  # a browser call is a tool call: the demand is met
            output = dataclasses.replace(output, tool_mode="auto")
        if browser.calls >= MAX_BROWSER_CALLS:  # the browser refuses more: answer
            output = dataclasses.replace(output, browser="none")
        output = dataclasses.replace(output, pages=browser_pages(browser))
        return dataclasses.replace(step, prompt_tokens=tuple(prompt), max_new_tokens=budget, hint=hint,
                                   prefix_key=None, output=output)
