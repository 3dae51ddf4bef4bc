"""`TokenBackend` over the torch gpt-oss model: streams are thin asyncio views of sequences that
the scheduler thread decodes in batches.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..base import BackendError, GenerationRequest
from .model import GptOss
from .scheduler import Scheduler, Sequence, asyncio_deliverer


class TorchTokenStream:
    """Async iterator of completion token ids; nothing is submitted until the first `__anext__`."""

    def __init__(self, scheduler: Scheduler, request: GenerationRequest) -> None:
        self.cached_tokens = 0
        self._scheduler = scheduler
        self._request = request
        self._seq: Sequence | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self._finished = False

    def __aiter__(self) -> TorchTokenStream:
        return self

    async def __anext__(self) -> int:
        if self._finished:
            raise StopAsyncIteration
        if self._seq is None:
            loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
            self._seq = Sequence(request=self._request, deliver=asyncio_deliverer(loop, self._queue))
            self._scheduler.submit(self._seq)
        assert self._queue is not None
        while True:
            kind, value = await self._queue.get()
            if kind == "meta":
                self.cached_tokens = int(value)
            elif kind == "token":
                return int(value)
            elif kind == "end":
                self._finished = True
                raise StopAsyncIteration
            else:
                self._finished = True
                raise BackendError(str(value))

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

    def __init__(self, model: GptOss, model_id: str, **scheduler_options: Any) -> None:
        self.model = model
        self.model_id = model_id
        self.scheduler = Scheduler(model, **scheduler_options)
        self._closed = False

    def generate(self, request: GenerationRequest) -> TorchTokenStream:
        if self._closed:
            raise BackendError("the torch backend is closed")
        return TorchTokenStream(self.scheduler, request)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(self.scheduler.stop)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the harmony tokenizer is built (the first request would wait for it)."""
        return self.scheduler.ready.wait(timeout)
