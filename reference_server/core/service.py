"""One response from request to terminal event: validation, storage, background jobs, around a
`ResponseSource` that produces the output (a token backend behind harmony, or an upstream API).

HTTP-free: `ResponseService.prepare` turns a decoded body into a `Prepared` response (or an
APIError), `stream` yields its events; app.py frames them as SSE or returns the final snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from ..protocol.errors import APIError
from ..protocol.events import Event, ResponseEventWriter, make_usage, obfuscate
from ..protocol.request import CreateRequest, check_json_mention, parse_create_request
from .inputs import resolve_inputs
from .sealing import STORE_SECRET_NAME, ReasoningSealer, key_from_passphrase, new_key
from .settings import Settings
from .store import ResponseStore

log = logging.getLogger("reference_server")

# How long cleanup (closing a backend stream, the last store write) may take after a cancel.
_CLEANUP_SECONDS = 5.0
# Without `compact_threshold`, compaction starts at this share of the context window.
DEFAULT_COMPACT_FRACTION = 0.8
# Finished background jobs whose events stay replayable in memory.
MAX_FINISHED_JOBS = 256


@dataclass
class Prepared:
    request: CreateRequest
    context: list[dict[str, Any]]  # stored conversation this request continues
    plan: Any  # what the source made of the request (a GenerationRequest, an upstream call, …)
    writer: ResponseEventWriter
    # Done events of items that a cancellation closed (no consumer was left to receive them).
    cancel_events: list[Event] = field(default_factory=list)
    # Set by a source whose failure has a natural HTTP answer (an upstream's 429, say): a
    # non-stream request then gets this error instead of the generic 500.
    http_error: APIError | None = None
    # Set while the response runs (WebSocket steering): a source that can, ends the response at
    # the next item boundary as `incomplete` with this reason instead of running to the end.
    stop_at_boundary: str | None = None
    # Automatic compaction (`context_management`) or a `compaction_trigger` item: the sealed
    # window the compaction item carries.
    compaction: str | None = None
    # False: the response ends right after its compaction item, if any, without sampling
    # (WebSocket `generate: false`, or a `compaction_trigger` request).
    generate: bool = True


class ResponseSource(Protocol):
    """What produces a response's output items. The service owns everything else (validation,
    previous_response_id, storage, background jobs, cancellation), so every source gets them.

    - `plan(req, context)`: check and translate the validated request (raise APIError for what
      this source cannot do); the result is `Prepared.plan`.
    - `run(prep)`: the events after `response.in_progress`, written with `prep.writer`, ending
      with its terminal event (`complete` / `incomplete` / `fail`). When the consumer goes away
      the generator is closed; it must release what it holds (its `finally` runs shielded).
    - `upstream_seals_reasoning`: reasoning items' `encrypted_content` is the upstream's own
      (an Anthropic thinking signature) and goes back to it as it came, so the server neither
      seals reasoning nor opens the blobs clients send back.
    """

    name: str
    upstream_seals_reasoning: bool

    async def plan(self, req: CreateRequest, context: list[dict[str, Any]]) -> Any: ...

    def run(self, prep: Prepared) -> AsyncIterator[Event]: ...

    async def model_ids(self) -> list[str]: ...

    def health(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


@dataclass
class BackgroundJob:
    """A background response: its events are kept so any number of readers can follow them."""

    prepared: Prepared
    events: list[Event] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def mark_finished(self) -> None:
        """Idempotent; also the task's done callback, which runs even for a task cancelled
        before its first step (its `finally` never runs then), so followers never hang."""
        if not self.finished:
            self.finished = True
            self.push([])

    def push(self, events: list[Event]) -> None:
        self.events.extend(events)
        # Wake every reader, then re-arm: readers re-check `events` before waiting again.
        self.changed.set()
        self.changed = asyncio.Event()

    async def follow(self, starting_after: int = -1) -> AsyncGenerator[Event, None]:
        position = 0
        while True:
            while position < len(self.events):
                event = self.events[position]
                position += 1
                if event["sequence_number"] > starting_after:
                    yield event
            if self.finished:
                return
            await self.changed.wait()


class ResponseService:
    def __init__(self, source: ResponseSource, store: ResponseStore, settings: Settings) -> None:
        self.source = source
        self.store = store
        self.settings = settings
        self.jobs: dict[str, BackgroundJob] = {}
        key = (key_from_passphrase(settings.encryption_key) if settings.encryption_key
               else store.secret(STORE_SECRET_NAME, new_key))
        self.sealer = ReasoningSealer(key)

    # ------------------------------------------------------------------ preparation
    async def prepare(self, body: Any, *, large: bool = False,
                      local: Mapping[str, list[dict[str, Any]]] | None = None, generate: bool = True) -> Prepared:
        """`large`: the body is big enough that validating it is worth a worker thread (the
        event loop keeps serving other requests meanwhile). `local`: conversations a WebSocket
        connection keeps in memory by response id (`store: false` responses continue from it).
        `generate=False` (WebSocket `generate: false`; `prompt_cache_options.prewarm` does the
        same): the request's state is prepared and stored as a completed response with no
        output, to be continued by `previous_response_id`."""
        req = await anyio.to_thread.run_sync(parse_create_request, body) if large else parse_create_request(body)
        if any(item["type"] in ("item_reference", "reasoning", "compaction") for item in req.input_items):
            req.input_items = await self._resolve(req.input_items)
            check_json_mention(req)
        context: list[dict[str, Any]] = []
        if req.previous_response_id is not None and local and req.previous_response_id in local:
            context = list(local[req.previous_response_id])
        elif req.previous_response_id is not None:
            stored = await anyio.to_thread.run_sync(self.store.get, req.previous_response_id)
            if stored is None:
                raise APIError(404, f"Previous response with id '{req.previous_response_id}' not found.",
                               param="previous_response_id", code="previous_response_not_found")
            if stored.response.get("status") in ("queued", "in_progress"):
                raise APIError(400, f"Previous response '{req.previous_response_id}' is still in progress.",
                               param="previous_response_id", code="previous_response_in_progress")
            context = stored.conversation()
        if any(item.get("type") == "compaction" for item in context):
            # An earlier response compacted automatically: its item stands for the window before it.
            context = await self._resolve(context, stored_from="previous_response_id")
        no_output = "generate" if not generate else "prompt_cache_options.prewarm" if req.prewarm else None
        if req.compaction_trigger:
            if no_output is not None:
                raise APIError(400, f"'{no_output}' asks for no output, which cannot be combined with a "
                                    "'compaction_trigger' item: the compaction item is that response's output.",
                               param=no_output, code="invalid_value")
            return await self._prepare_trigger(req, context)
        generate = no_output is None
        plan = await self.source.plan(req, context)
        prepared = Prepared(req, context, plan, self._writer(req), generate=generate)
        if req.compaction and generate:
            prepared.compaction = await self._compaction(req, context, plan)
        return prepared

    async def _resolve(self, items: list[dict[str, Any]], *, stored_from: str | None = None) -> list[dict[str, Any]]:
        """Stored references and sealed blobs expanded (in a worker thread: store reads). An
        upstream's own reasoning blobs (an Anthropic signature) are kept as they came.
        `stored_from`: the items came with that parameter, not in `input` (errors name it)."""
        resolve = functools.partial(resolve_inputs, open_reasoning=not self.source.upstream_seals_reasoning,
                                    stored_from=stored_from)
        return await anyio.to_thread.run_sync(resolve, items, self.store, self.sealer)

    def _writer(self, req: CreateRequest) -> ResponseEventWriter:
        own_seal = not self.source.upstream_seals_reasoning  # an Anthropic signature stays as it came
        seal = self.sealer.seal if own_seal and "reasoning.encrypted_content" in req.include else None
        return ResponseEventWriter(req.echo_fields(), error_style=self.settings.error_style, seal_reasoning=seal)

    async def _prepare_trigger(self, req: CreateRequest, context: list[dict[str, Any]]) -> Prepared:
        """A request ending with `compaction_trigger`: its output is one `compaction` item sealing
        the conversation (as `/responses/compact` seals it) and nothing else. No prompt is built,
        so a conversation too long for the context window can still be compacted."""
        window = [*context, *req.input_items]
        if not window:
            raise APIError(400, "Nothing to compact: the 'compaction_trigger' item needs input items before it "
                                "or a 'previous_response_id'.", param="input", code="invalid_value")
        prepared = Prepared(req, context, None, self._writer(req), generate=False)
        prepared.compaction = await anyio.to_thread.run_sync(self.sealer.seal_window, window)
        return prepared

    async def _input_tokens(self, prep: Prepared) -> int:
        """The prompt's size: its rendered tokens where the source rendered one (a token
        backend), else the conversation's JSON in o200k tokens."""
        prompt = getattr(prep.plan, "prompt_tokens", None)
        if prompt is not None:
            return len(prompt)
        from ..protocol.vocab import count_item_tokens  # tiktoken loads on first use

        return await anyio.to_thread.run_sync(count_item_tokens, [*prep.context, *prep.request.input_items])

    async def _compaction(self, req: CreateRequest, context: list[dict[str, Any]], plan: Any) -> str | None:
        """The sealed window when the prompt reaches the compaction threshold, else None. The
        prompt's size is its rendered token count where the source rendered one (a token
        backend), else the window's JSON in o200k tokens (an upstream source)."""
        threshold = req.compact_threshold or int(self.settings.context_window * DEFAULT_COMPACT_FRACTION)
        window = [*context, *req.input_items]
        prompt = getattr(plan, "prompt_tokens", None)
        if prompt is not None:
            size = len(prompt)
        else:
            from ..protocol.vocab import count_item_tokens  # tiktoken loads on first use

            size = await anyio.to_thread.run_sync(count_item_tokens, window)
        if size < threshold or not window:
            return None
        return self.sealer.seal_window(window)

    # ------------------------------------------------------------------ storage
    async def _persist(self, prep: Prepared, *, first: bool = False) -> None:
        if not prep.request.store:
            return
        snapshot = prep.writer.snapshot()
        if first:
            await anyio.to_thread.run_sync(self.store.save, snapshot, prep.request.input_items, prep.context)
        else:
            await anyio.to_thread.run_sync(self.store.update_response, snapshot)

    async def get(self, response_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(response_id)
        if job is not None and not job.finished:
            return job.prepared.writer.snapshot()
        stored = await anyio.to_thread.run_sync(self.store.get, response_id)
        return None if stored is None else stored.response

    # ------------------------------------------------------------------ generation
    async def stream(self, prep: Prepared) -> AsyncGenerator[Event, None]:
        """Every event of a foreground response, from `response.created` to the terminal event.
        Closed early (the client left, even before generation began), the response is stored
        `cancelled`."""
        try:
            events = prep.writer.start()
            await self._persist(prep, first=True)
            for event in events:
                yield event
            async with contextlib.aclosing(self._generate(prep)) as generated:
                async for event in generated:
                    yield event
        finally:
            await self._stop(prep)

    async def _generate(self, prep: Prepared) -> AsyncGenerator[Event, None]:
        """The source's events after `in_progress`; the terminal snapshot is stored before the
        first event of the terminal batch is yielded (so a GET right after the stream finds it).
        If the consumer goes away (disconnect, cancel), the source is closed at once and the
        response is stored `cancelled`."""
        writer = prep.writer
        events = self.source.run(prep) if prep.generate else None
        persisted = False
        pad = prep.request.stream and prep.request.include_obfuscation
        try:
            if prep.compaction is not None and writer.phase == "in_progress":
                # Compaction runs before sampling: its item comes first in the output, and the
                # model continues from the window the item stands for.
                for event in writer.add_compaction(prep.compaction)[1]:
                    yield event
            if events is None:
                if writer.phase == "in_progress":
                    terminal = writer.complete(make_usage(await self._input_tokens(prep), 0))
                    await self._persist(prep)
                    for event in terminal:
                        yield event
                return
            try:
                async for event in events:
                    if writer.phase == "done" and not persisted:
                        persisted = True
                        await self._persist(prep)
                    yield obfuscate(event) if pad else event
            except Exception:  # a bug in a source: the stream still ends properly
                log.exception("response %s crashed", writer.response_id)
            if writer.phase == "in_progress":  # crashed, or stopped without a terminal event
                log.error("the source of response %s ended without a terminal event", writer.response_id)
                terminal = writer.fail("The server had an error while processing your request.")
                await self._persist(prep)
                for event in terminal:
                    yield event
            elif not persisted:
                await self._persist(prep)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_SECONDS):
                close = getattr(events, "aclose", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close()
            await self._stop(prep)

    async def _stop(self, prep: Prepared) -> None:
        """A response whose generation ended without a terminal event is stored `cancelled`
        (shielded: this runs while a cancellation unwinds)."""
        if prep.writer.phase == "done":
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_SECONDS):
            prep.cancel_events = prep.writer.cancel()
            with contextlib.suppress(Exception):
                await self._persist(prep)

    # ------------------------------------------------------------------ background
    async def start_background(self, prep: Prepared) -> BackgroundJob:
        job = BackgroundJob(prep)
        events = prep.writer.created(queued=True) + prep.writer.queued()
        await self._persist(prep, first=True)
        job.push(events)
        self._forget_old_jobs()
        self.jobs[prep.writer.response_id] = job
        job.task = asyncio.create_task(self._run_job(job), name=f"response {prep.writer.response_id}")
        job.task.add_done_callback(lambda _task: job.mark_finished())
        return job

    def _forget_old_jobs(self) -> None:
        # Finished jobs are kept only so their events can be replayed (GET ?stream=true);
        # the stored response outlives them.
        finished = [rid for rid, job in self.jobs.items() if job.finished]
        for rid in finished[: max(0, len(finished) - MAX_FINISHED_JOBS)]:
            del self.jobs[rid]

    async def _run_job(self, job: BackgroundJob) -> None:
        prep = job.prepared
        if prep.writer.phase == "done":  # cancelled while queued, before this task got going
            return
        try:
            job.push(prep.writer.in_progress())
            async for event in self._generate(prep):
                job.push([event])
        except asyncio.CancelledError:
            # _generate stored the response as cancelled; followers still get the items closed.
            job.push(prep.cancel_events)
        except Exception:  # a bug: keep the server alive, record the failure
            log.exception("background response %s crashed", prep.writer.response_id)
            if prep.writer.phase == "in_progress":
                job.push(prep.writer.fail("The server had an error while processing your request."))
                with contextlib.suppress(Exception):
                    await self._persist(prep)
        finally:
            job.mark_finished()

    async def cancel(self, response_id: str) -> dict[str, Any]:
        job = self.jobs.get(response_id)
        if job is not None and not job.finished and job.task is not None:
            writer = job.prepared.writer
            if writer.phase in ("created", "queued"):
                # Not generating yet: cancel without waiting for the task to get going (it
                # finds the response done and stops).
                job.push(writer.cancel())
                await self._persist(job.prepared)
            elif writer.phase == "in_progress":
                job.task.cancel()
            # phase "done": the terminal events are on their way to the followers; let them be.
            await asyncio.wait({job.task})
            response = writer.snapshot()
        else:
            stored = await anyio.to_thread.run_sync(self.store.get, response_id)
            if stored is None:
                raise APIError(404, f"Response with id '{response_id}' not found.")
            response = stored.response
            if not response.get("background"):
                raise APIError(400, "Only responses created with background=true can be cancelled.",
                               param="response_id")
            if response.get("status") in ("queued", "in_progress"):
                # Stored by an earlier process that died mid-generation: nothing runs it any more.
                response["status"] = "cancelled"
                await anyio.to_thread.run_sync(self.store.update_response, response)
        status = response.get("status")
        if status != "cancelled":
            raise APIError(400, f"Cannot cancel a {status} response.", param="response_id")
        return response

    async def shutdown(self) -> None:
        tasks = [job.task for job in self.jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
