"""A token backend that misbehaves on purpose: it replays the scripted backend's tokens but hangs,
raises at a chosen token, drops its stop token, or fails while being closed. Tests use it to
check that the server releases everything and stores the right status whatever a backend does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from reference_server.protocol.token_backend import BackendError, GenerationRequest
from reference_server.sources.backends.scripted import ScriptedBackend


class FaultyBackend:
    name = "faulty"
    model_id = "faulty"

    def __init__(self, encoding: Any, *, hang_at: int | None = None, raise_at: int | None = None,
                 raise_instead_of_stop: bool = False, raise_on_close: bool = False) -> None:
        self.inner = ScriptedBackend(encoding=encoding)
        self.hang_at, self.raise_at = hang_at, raise_at
        self.raise_instead_of_stop, self.raise_on_close = raise_instead_of_stop, raise_on_close
        self.active = 0  # streams started and not yet released
        self.produced = 0

    def generate(self, request: GenerationRequest) -> _FaultyStream:
        return _FaultyStream(self, request)

    async def aclose(self) -> None:
        return None


class _FaultyStream:
    def __init__(self, backend: FaultyBackend, request: GenerationRequest) -> None:
        self.backend, self.request = backend, request
        self.cached_tokens = 0
        self._gen: AsyncIterator[int] | None = None

    def __aiter__(self) -> AsyncIterator[int]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    async def _run(self) -> AsyncIterator[int]:
        b = self.backend
        tokens = b.inner.completion.tokens(self.request.output, self.request.hint)
        b.active += 1
        try:
            for index, token in enumerate(tokens):
                if index == b.hang_at:
                    await asyncio.Event().wait()  # forever: only a cancellation gets out
                if index == b.raise_at:
                    raise BackendError(f"faulty backend: failure at token {index}")
                if b.raise_instead_of_stop and token in self.request.stop_token_ids:
                    raise BackendError("faulty backend: failure instead of the stop token")
                await asyncio.sleep(0)
                b.produced += 1
                yield token
        finally:
            b.active -= 1

    async def aclose(self) -> None:
        if self._gen is not None:
            await self._gen.aclose()  # type: ignore[attr-defined]
        if self.backend.raise_on_close:
            raise BackendError("faulty backend: failure while closing")
