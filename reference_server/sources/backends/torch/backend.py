"""`TokenBackend` over the torch gpt-oss model: streams are thin asyncio views of sequences that
the scheduler thread decodes in batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from typing import Any, Literal

from reference_server.protocol.browser_tools import browser_tools, query_words
from reference_server.protocol.token_backend import (
    BackendError,
    GenerationRequest,
    OutputSpec,
    ScriptHint,
    ToolMode,
)

from .model import GptOss
from .scheduler import Scheduler, Sequence, asyncio_deliverer

AutoToolChoice = Literal["model", "cooperative"]
# A stream waiting for its next token checks this often that the model thread still runs (it
# fails its streams itself when it stops; this covers a thread that vanished without doing so).
WATCHDOG_SECONDS = 2.0
AUTO_TOOL_CHOICES = ("model", "cooperative")


def cooperative_output(request: GenerationRequest) -> GenerationRequest:
    """`tool_choice: "auto"` as a cooperative model would use it: call an offered tool first,
    answer once the tool results are in.

    A random-weight model has no judgement, so under "auto" it would pick a call or an answer by
    chance and make tool scenarios flaky; the random presets therefore resolve "auto" with this
    policy (still decoded token by token by the model, under the grammar). A checkpoint decides
    for itself ("model"). With web search offered, the browser is the tool it uses (see
    `cooperative_browsing`)."""
    spec = request.output
    if spec.browser == "auto":
        return dataclasses.replace(request, output=cooperative_browsing(spec, request.hint))
    if spec.tool_mode != "auto" or not spec.tools:
        return request
    mode: ToolMode = "none" if request.hint.tool_outputs else "required"
    return dataclasses.replace(request, output=dataclasses.replace(spec, tool_mode=mode))


def cooperative_browsing(spec: OutputSpec, hint: ScriptHint) -> OutputSpec:
    """Web search as a cooperative model uses it, one browser call per step: search for words of
    the question, then open one of the results, then answer citing what it read (at once when
    the conversation ends with function results: those are what it answers). Each call is one
    the grammar narrows to the browsing state (`browser_tools`); which words, link and lines
    are the model's."""
    done = len(hint.browser_results)
    answer = dataclasses.replace(spec, tools=(), tool_mode="none", browser="none")
    if hint.tool_outputs:
        return answer
    if done == 0:
        step = browser_tools(spec.pages, ("search",), query_words(hint.last_user_text))
    elif done == 1 and any(p.links for p in spec.pages):
        step = browser_tools(spec.pages, ("open",))
    else:
        return answer
    return dataclasses.replace(spec, tools=step, tool_mode="required", browser="none")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Inbox:
    """A stream's side of the hand-off: items in order, and the future of a reader waiting for
    one. The scheduler's per-step callback `put_nowait`s into it on the event loop. (An
    `asyncio.Queue` read with `asyncio.wait_for` made a task and a timer per token.)"""

    def __init__(self) -> None:
        self.items: deque[tuple[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: tuple[str, Any]) -> None:
        self.items.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class TorchTokenStream:
    """Async iterator of completion token ids; nothing is submitted until the first `__anext__`."""

    def __init__(self, scheduler: Scheduler, request: GenerationRequest) -> None:
        self.cached_tokens = 0
        # (logprob, ((token, logprob), ...)) of the token just yielded, when the request asked
        # for logprobs (GenerationRequest.logprobs); None otherwise.
        self.last_logprob: Any = None
        self._scheduler = scheduler
        self._request = request
        self._seq: Sequence | None = None
        self._inbox = _Inbox()
        self._finished = False

    def __aiter__(self) -> TorchTokenStream:
        return self

    async def __anext__(self) -> int:
        if self._finished:
            raise StopAsyncIteration
        if self._seq is None:
            self._seq = Sequence(request=self._request,
                                 deliver=asyncio_deliverer(asyncio.get_running_loop(), self._inbox))
            self._scheduler.submit(self._seq)
        while True:
            kind, value = await self._next_item()
            if kind == "meta":
                self.cached_tokens = int(value)
            elif kind == "token":
                if isinstance(value, tuple):
                    value, self.last_logprob = value
                return int(value)
            elif kind == "end":
                self._finished = True
                raise StopAsyncIteration
            else:
                self._finished = True
                raise BackendError(str(value))

    async def _next_item(self) -> tuple[str, Any]:
        inbox = self._inbox
        while not inbox.items:
            # Every WATCHDOG_SECONDS without an item, check that the model thread still runs.
            loop = asyncio.get_running_loop()
            inbox.waiter = waiter = loop.create_future()
            alarm = loop.call_later(WATCHDOG_SECONDS, _wake, waiter)
            try:
                await waiter
            finally:
                alarm.cancel()
                inbox.waiter = None
            reason = self._scheduler.unavailable
            if not inbox.items and reason is not None:
                return "error", reason
        return inbox.items.popleft()

    async def aclose(self) -> None:
        if not self._finished:
            self._finished = True
            if self._seq is not None:
                self._scheduler.cancel(self._seq)

    def __del__(self) -> None:
        # An abandoned stream must not keep decoding in the model thread.
        if not self._finished and self._seq is not None:
            self._scheduler.cancel(self._seq)


class TorchBackend:
    name = "torch"

    def __init__(
        self, model: GptOss, model_id: str, *, auto_tool_choice: AutoToolChoice = "model", **scheduler_options: Any
    ) -> None:
        if auto_tool_choice not in AUTO_TOOL_CHOICES:
            raise BackendError(
                f"auto_tool_choice must be one of {', '.join(AUTO_TOOL_CHOICES)}, got {auto_tool_choice!r}"
            )
        self.model = model
        self.model_id = model_id
        self.auto_tool_choice = auto_tool_choice
        self.scheduler = Scheduler(model, **scheduler_options)
        self._closed = False

    @property
    def unavailable(self) -> str | None:
        """Why this backend can serve no request (its model thread stopped), or None."""
        return self.scheduler.unavailable

    def generate(self, request: GenerationRequest) -> TorchTokenStream:
        if self._closed:
            raise BackendError("the torch backend is closed")
        if self.auto_tool_choice == "cooperative":
            request = cooperative_output(request)
        return TorchTokenStream(self.scheduler, request)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(self.scheduler.stop)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the harmony tokenizer is built (the first request would wait for it)."""
        return self.scheduler.ready.wait(timeout)
