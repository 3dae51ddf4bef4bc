"""Continuous batching: one thread owns the model and runs steps; sequences join and leave
between steps; tokens go back to the streams' asyncio queues, one `call_soon_threadsafe` per
event loop per step.

A step: plan prefill chunks and the decode batch -> start the grammar masks of every sequence
that samples this step on a helper thread -> run the forward passes meanwhile -> hand the
previous step's tokens to asyncio -> sample under the masks -> commit, retire finished or
cancelled sequences (their caches go to the prefix LRU). Slots stay compact (0..n-1) so the
decode batch reads cache rows as views.

Failures stay with the sequence that caused them (plan, run, apply): an exception while admitting,
prefilling, masking, sampling or committing one sequence marks that sequence failed; a batched
decode or sample that raises is retried one sequence at a time so only the culprits fail; failed
sequences leave at the end of the step with an `error` item naming the cause, and the others go
on. Only a fault in the scheduler's own bookkeeping stops the thread; then every stream it held,
and every later request, gets an error at once and `unavailable` says why (the server's /health
reports it and new requests are refused with 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np
import torch

from reference_server.protocol.token_backend import BackendError, GenerationRequest

from . import engine
from .cache import PrefixCache, SlotKVCache, Snapshot
from .constraint import Constraint, compile_matcher
from .model import GptOss
from .sampling import Allowed, Logprob, ModelHeads, Sampler, allowed_counts, draw_exact
from .tokenizer import FIRST_SPECIAL, HarmonyTokenizer, harmony_tokenizer

log = logging.getLogger("reference_server")

HARMONY_VOCAB = 201088
MASK_WORDS = (HARMONY_VOCAB + 31) // 32


class Phase(Enum):
    WAITING = "waiting"
    PREFILL = "prefill"  # prompt tokens left to feed
    READY = "ready"  # hidden state at hand, samples next step without a forward
    DECODE = "decode"  # one sampled token to feed
    DONE = "done"


@dataclass
class Sequence:
    """One request inside the scheduler (touched only by the scheduler thread, except the
    `cancelled` flag)."""

    request: GenerationRequest
    # ("meta", cached) / ("token", id) or ("token", (id, logprob)) when the request wants
    # logprobs / ("end", None) / ("error", msg)
    deliver: Callable[[str, Any], None]
    cancelled: bool = False
    phase: Phase = Phase.WAITING
    slot: int = -1
    fed: list[int] = field(default_factory=list)  # tokens whose keys are in the cache
    pending: int | None = None  # sampled, not yet fed
    hidden: torch.Tensor | None = None  # state after the last fed token
    prompt_snapshot: Snapshot | None = None
    generated: int = 0
    constraint: Constraint | None = None
    rng: random.Random = field(default_factory=random.Random)
    error: str | None = None  # failed during this step; leaves when the step is applied
    counts: dict[int, int] = field(default_factory=dict)  # generated text tokens (for penalties)
    logprob: Logprob | None = None  # of the token being committed, when the request wants them

    @property
    def exact(self) -> bool:
        """Sampled alone with the whole distribution (penalties or logprobs requested)."""
        r = self.request
        return bool(r.presence_penalty or r.frequency_penalty) or r.logprobs is not None


@dataclass
class StepStats:
    steps: int = 0
    sampled_tokens: int = 0
    forced_tokens: int = 0  # grammar allowed exactly one token: no logits needed
    prefill_tokens: int = 0
    reused_tokens: int = 0
    max_decode_batch: int = 0  # most sequences fed in one decode forward
    mask_seconds: float = 0.0  # computing grammar masks (helper thread, overlaps the forward)
    mask_wait_seconds: float = 0.0  # how long the model thread waited for masks after its forward
    forward_seconds: float = 0.0
    sample_seconds: float = 0.0
    # The model thread's CPU time in the same two phases (wall time includes waiting for the
    # GIL or a core on a shared machine; CPU time is what the work costs).
    forward_cpu_seconds: float = 0.0
    sample_cpu_seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


class Scheduler:
    def __init__(
        self,
        model: GptOss,
        *,
        max_batch: int = 16,
        message_token_budget: int = 48,
        prefill_chunk: int = 512,
        prefix_cache_entries: int = 32,
        max_context: int | None = None,
        tight_schemas: bool = True,
        readable_text: bool = False,
        tokenizer: Callable[[], HarmonyTokenizer] = harmony_tokenizer,
    ) -> None:
        if max_batch < 1:
            raise BackendError(f"max_batch must be >= 1, got {max_batch}")
        if message_token_budget < 1:
            raise BackendError(f"message_token_budget must be >= 1, got {message_token_budget}")
        self.model = model
        self.max_batch = max_batch
        self.budget = message_token_budget
        self.tight_schemas = tight_schemas
        # Random weights: prose bodies may only pick readable word tokens (tokenizer.py), as a
        # packed mask ANDed into their grammar mask; built with the tokenizer, once.
        self.readable_text = readable_text
        self._readable_words: np.ndarray | None = None
        self._readable_string_words: np.ndarray | None = None  # inside a JSON string: + closing quotes
        self._json_structure_words: np.ndarray | None = None  # between JSON strings
        self.prefill_chunk = max(1, prefill_chunk)
        self.max_context = min(max_context or model.cfg.max_context, model.cfg.max_context)
        self.cache = SlotKVCache(model.cfg, max_batch, model.device, model.dtype)
        self.prefix = PrefixCache(model.cfg, prefix_cache_entries)
        self.stats = StepStats()
        self._tokenizer_factory = tokenizer
        self._tok: HarmonyTokenizer | None = None
        self._tok_error: str | None = None
        self._inbox: queue.SimpleQueue[tuple[str, Sequence | None]] = queue.SimpleQueue()
        self._waiting: deque[Sequence] = deque()
        self._active: list[Sequence] = []  # index == slot
        self._masks = np.full((max_batch, MASK_WORDS), -1, dtype=np.int32)
        self._narrowed = np.empty_like(self._masks)  # masks narrowed to readable text
        # Only harmony tokens can be allowed: logits beyond them are never computed.
        self._sampler = Sampler(HARMONY_VOCAB, max_batch, model.device)
        self._outbox = Outbox()
        self._mask_pool = ThreadPoolExecutor(1, thread_name_prefix="torch-backend-mask")
        self._ll_executor: Any = None
        self.ready = threading.Event()  # set once the tokenizer is built (or failed)
        # Why the scheduler serves no more requests (None while it does). Set under the lock
        # together with the inbox check, so no submitted sequence is left in a dead inbox.
        self._failure: str | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="torch-backend-scheduler", daemon=True)
        self._thread.start()

    # -- called from any thread -------------------------------------------------------------
    @property
    def active_count(self) -> int:
        return len(self._active)

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    @property
    def unavailable(self) -> str | None:
        """Why no request can be served any more (the model thread stopped), or None."""
        if self._failure is not None:
            return self._failure
        if not self._thread.is_alive():
            return "the torch backend's model thread is not running"
        return None

    def submit(self, seq: Sequence) -> None:
        with self._lock:
            failure = self._failure
            if failure is None:
                self._inbox.put(("submit", seq))
                return
        _deliver_now(seq, "error", failure)

    def cancel(self, seq: Sequence) -> None:
        seq.cancelled = True
        self._inbox.put(("wake", None))

    def stop(self, timeout: float | None = 10.0) -> None:
        self._inbox.put(("stop", None))
        self._thread.join(timeout)
        self._mask_pool.shutdown(wait=False)

    # -- the model thread ---------------------------------------------------------------------
    def _run(self) -> None:
        # Inference mode is per thread: everything this thread does with tensors runs in it.
        with torch.inference_mode():
            try:
                self._serve()
                self._stop_serving("the torch backend was closed")
            except BaseException as exc:
                log.exception("the torch backend's model thread stopped")
                self._stop_serving(f"the torch backend's model thread stopped: {_describe(exc)}")

    def _stop_serving(self, reason: str) -> None:
        """Fail every sequence held or submitted, now and later (the thread is about to end)."""
        with self._lock:
            self._failure = reason
        with contextlib.suppress(Exception):
            self._outbox.flush()  # what earlier steps produced still reaches its streams
        orphans = [*self._active, *self._waiting]
        while True:
            try:
                kind, seq = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "submit" and seq is not None:
                orphans.append(seq)
        self._active, self._waiting = [], deque()
        for seq in orphans:
            seq.phase = Phase.DONE
            _deliver_now(seq, "error", reason)
        self.ready.set()

    def _serve(self) -> None:
        try:
            import llguidance

            self._tok = self._tokenizer_factory()
            if self.readable_text:
                bits = np.zeros(MASK_WORDS * 32, dtype=bool)
                bits[: len(self._tok.readable)] = self._tok.readable
                self._readable_words = np.packbits(bits, bitorder="little").view(np.int32)
                bits[: len(self._tok.readable)] |= self._tok.quote_closers
                self._readable_string_words = np.packbits(bits, bitorder="little").view(np.int32)
                bits[: len(self._tok.readable)] = self._tok.json_structure
                self._json_structure_words = np.packbits(bits, bitorder="little").view(np.int32)
                # Rows narrowed to one of these sets get logits for that set only.
                for narrowed in (self._readable_words, self._readable_string_words, self._json_structure_words):
                    self._sampler.add_subset(np.unpackbits(narrowed.view(np.uint8), bitorder="little").view(bool))
            self._ll_executor = llguidance.LLExecutor(num_threads=max(1, min(4, os.cpu_count() or 1)))
        except Exception as exc:  # reported to every request instead of crashing the thread
            self._tok_error = f"harmony tokenizer unavailable: {exc}"
        self.ready.set()
        running = True
        while running:
            running = self._drain(block=not self._active and not self._waiting)
            self._retire_cancelled()
            self._admit()
            if self._active:
                self._step()
                self._apply_failures()
            if not self._active:  # nothing steps next to hand them over (and _drain may block)
                self._outbox.flush()

    def _drain(self, block: bool) -> bool:
        try:
            item = self._inbox.get() if block else self._inbox.get_nowait()
        except queue.Empty:
            return True
        while True:
            kind, seq = item
            if kind == "stop":
                return False
            if kind == "submit" and seq is not None:
                self._waiting.append(seq)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return True

    def _retire_cancelled(self) -> None:
        for seq in [s for s in self._waiting if s.cancelled]:
            self._waiting.remove(seq)
            seq.phase = Phase.DONE
        for seq in [s for s in self._active if s.cancelled]:
            self._retire(seq)

    def _admit(self) -> None:
        while self._waiting and len(self._active) < self.max_batch:
            seq = self._waiting.popleft()
            try:
                self._setup(seq)
            except BackendError as exc:
                seq.phase = Phase.DONE
                self._send(seq, "error", str(exc))
            except Exception as exc:  # restoring its prefix, compiling its grammar...
                log.exception("admitting a sequence failed")
                if seq in self._active:
                    seq.error = f"generation failed while starting: {_describe(exc)}"
                else:
                    seq.phase = Phase.DONE
                    self._send(seq, "error", f"generation failed while starting: {_describe(exc)}")

    def _setup(self, seq: Sequence) -> None:
        req = seq.request
        if self._tok is None:
            raise BackendError(self._tok_error or "harmony tokenizer unavailable")
        prompt = tuple(req.prompt_tokens)
        vocab = self.model.cfg.vocab_size
        if not prompt:
            raise BackendError("the prompt is empty")
        bad = next((t for t in prompt if not isinstance(t, int) or not 0 <= t < vocab), None)
        if bad is not None:
            raise BackendError(f"prompt token {bad!r} is outside the vocabulary (0..{vocab - 1})")
        if len(prompt) >= self.max_context:
            raise BackendError(
                f"the prompt has {len(prompt)} tokens; this model's context is {self.max_context} tokens"
            )
        if req.max_new_tokens <= 0:
            seq.phase = Phase.DONE
            self._send(seq, "meta", 0)
            self._send(seq, "end", None)
            return
        seq.constraint = Constraint(self._tok, compile_matcher(self._tok, req.output, self.budget, self.tight_schemas),
                                    self.budget, json_final=req.output.final_format is not None)
        seq.rng = random.Random(req.seed if req.seed is not None else int.from_bytes(os.urandom(8), "little"))
        seq.slot = len(self._active)
        self.cache.lengths[seq.slot] = 0
        seq.fed = []
        seq.phase = Phase.PREFILL
        hit = self.prefix.lookup(prompt)
        if hit is not None:
            entry, length = hit
            hidden = self.cache.restore(seq.slot, entry, length)
            seq.fed = list(prompt[:length])
            self.stats.reused_tokens += length
            if length == len(prompt):
                seq.hidden = hidden
                seq.prompt_snapshot = entry.snapshots.get(length)
                seq.phase = Phase.READY
        self._active.append(seq)
        self._send(seq, "meta", len(seq.fed))

    def _step(self) -> None:
        started = time.perf_counter()
        cpu_started = time.thread_time()
        sampling: list[Sequence] = []
        prefills: list[tuple[Sequence, tuple[int, ...], bool]] = []
        decodes: list[Sequence] = []
        chunk_budget = self.prefill_chunk
        for seq in self._active:
            if seq.phase is Phase.PREFILL and chunk_budget > 0:
                rest = tuple(seq.request.prompt_tokens[len(seq.fed):])
                chunk = rest[:chunk_budget]
                chunk_budget -= len(chunk)
                prefills.append((seq, chunk, len(chunk) == len(rest)))
                if len(chunk) == len(rest):
                    sampling.append(seq)
            elif seq.phase is Phase.READY:
                sampling.append(seq)
            elif seq.phase is Phase.DECODE:
                decodes.append(seq)
                sampling.append(seq)
        # Grammar masks on the helper thread while this thread runs the model.
        masks = self._mask_pool.submit(self._fill_masks, [s.constraint for s in sampling])
        for seq, chunk, completes in prefills:
            try:
                hidden = engine.prefill(self.model, self.cache, seq.slot, chunk)
                if completes:
                    seq.prompt_snapshot = self.cache.snapshot(seq.slot, hidden)
            except Exception as exc:
                self._mark_failed(seq, "prefill", exc)
                continue
            seq.fed.extend(chunk)
            self.stats.prefill_tokens += len(chunk)
            if completes:
                seq.hidden = hidden
        if decodes:
            self.stats.max_decode_batch = max(self.stats.max_decode_batch, len(decodes))
            self._decode(decodes)
        forward_done = time.perf_counter()
        self.stats.forward_cpu_seconds += time.thread_time() - cpu_started
        # The previous step's tokens go to the event loops now, not at the end of that step: the
        # loops' Python work (harmony parsing, SSE) then overlaps the long GIL-free matmuls of
        # sampling instead of the forward's hundreds of small ops, each of which must win the
        # GIL back (16 streams through HTTP: forward 6.7 -> 3.4 ms, +7% tokens/s). Costs one
        # forward of delivery latency.
        self._outbox.flush()
        try:
            self.stats.mask_seconds += masks.result()
        except Exception:  # find the sequence whose grammar failed: one mask at a time
            for i, seq in enumerate(sampling):
                try:
                    self._fill_masks([seq.constraint if j == i else None for j in range(len(sampling))])
                except Exception as exc:
                    self._mark_failed(seq, "computing the grammar mask", exc)
        sample_start = time.perf_counter()
        sample_cpu_start = time.thread_time()
        self.stats.mask_wait_seconds += sample_start - forward_done
        self.stats.forward_seconds += forward_done - started
        if sampling:
            self._sample_and_commit(sampling)
        self.stats.sample_seconds += time.perf_counter() - sample_start
        self.stats.sample_cpu_seconds += time.thread_time() - sample_cpu_start
        self.stats.steps += 1

    def _decode(self, decodes: list[Sequence]) -> None:
        """One batched forward; if it raises, each sequence alone, so only the culprits fail
        (a failed forward wrote nothing a retry does not overwrite: lengths move only on success)."""
        try:
            hidden = engine.decode(self.model, self.cache, [s.slot for s in decodes],
                                   [s.pending for s in decodes])  # type: ignore[misc]
            batches = [(decodes, hidden)]
        except Exception as exc:
            if len(decodes) == 1:
                self._mark_failed(decodes[0], "decode", exc)
                return
            batches = []
            for seq in decodes:
                try:
                    batches.append(([seq], engine.decode(self.model, self.cache, [seq.slot], [seq.pending])))  # type: ignore[list-item]
                except Exception as exc:
                    self._mark_failed(seq, "decode", exc)
        for seqs, hidden in batches:
            for i, seq in enumerate(seqs):
                seq.fed.append(seq.pending)  # type: ignore[arg-type]
                seq.pending = None
                seq.hidden = hidden[i]

    def _mark_failed(self, seq: Sequence, stage: str, exc: BaseException) -> None:
        if seq.error is None:
            log.warning("a sequence failed in %s: %s", stage, _describe(exc))
            seq.error = f"generation failed in {stage}: {_describe(exc)}"

    def _apply_failures(self) -> None:
        for seq in [s for s in self._active if s.error is not None]:
            self._fail(seq, seq.error or "generation failed")

    def _fill_masks(self, constraints: list[Constraint | None]) -> float:
        started = time.perf_counter()
        pairs = [(c.matcher, i) for i, c in enumerate(constraints) if c is not None]
        if pairs:
            self._ll_executor.unsafe_compute_mask_ptr(
                pairs, self._masks.ctypes.data, MASK_WORDS * 4, self.max_batch
            )
        return time.perf_counter() - started

    def _sample_and_commit(self, sampling: list[Sequence]) -> None:
        """Pick a token for each row. Work on the packed masks where possible: a pass over
        201088 entries per row costs about as much as the whole tiny forward."""
        n = len(sampling)
        words = self._masks[:n]
        for i, seq in enumerate(sampling):
            assert seq.constraint is not None
            if seq.constraint.over_budget() and seq.error is None:  # rare: narrow to closing tokens
                try:
                    bits = np.unpackbits(words[i].view(np.uint8), bitorder="little").view(bool)
                    words[i] = np.packbits(seq.constraint.allowed(bits), bitorder="little").view(np.int32)
                except Exception as exc:
                    self._mark_failed(seq, "narrowing the grammar mask", exc)
        if self._readable_words is not None:
            self._keep_readable(words, [seq.constraint for seq in sampling])  # type: ignore[misc]
        counts = allowed_counts(words)
        chosen: dict[int, int] = {}
        need: list[int] = []
        exact: list[int] = []
        for i, seq in enumerate(sampling):
            if seq.error is not None or seq.phase is Phase.DONE:
                continue
            if counts[i] == 0:
                self._fail(seq, "constrained decoding reached a state with no allowed token: "
                           + (seq.constraint.error() if seq.constraint else "") or "grammar dead end")
            elif counts[i] == 1:  # forced by the grammar: no logits needed
                word = int(np.flatnonzero(words[i])[0])
                chosen[i] = word * 32 + int(words[i, word].view(np.uint32)).bit_length() - 1
                self.stats.forced_tokens += 1
                if seq.request.logprobs is not None:  # the only allowed token: probability 1
                    seq.logprob = (0.0, ((chosen[i], 0.0),) if seq.request.logprobs else ())
            elif seq.exact:
                exact.append(i)
            else:
                need.append(i)
        if exact:
            self._sample_exact(sampling, exact, words, chosen)
        if need:
            uniforms = [sampling[i].rng.random() for i in need]
            try:
                chosen.update(zip(need, self._sample_rows(sampling, need, words, uniforms), strict=True))
            except Exception:  # one row at a time, so only the culprits fail
                for i, u in zip(need, uniforms, strict=True):
                    try:
                        chosen[i] = self._sample_rows(sampling, [i], words, [u])[0]
                    except Exception as exc:
                        self._mark_failed(sampling[i], "sampling", exc)
        for i, seq in enumerate(sampling):
            if i in chosen and seq.phase is not Phase.DONE and seq.error is None:
                self._commit(seq, chosen[i])
        self.stats.sampled_tokens += len(chosen)

    def _keep_readable(self, words: np.ndarray, constraints: list[Constraint]) -> None:
        """Narrow prose bodies, and JSON strings' contents, to readable tokens, and JSON
        structure to ASCII (random presets): one AND per kind of body for all its rows."""
        sets = (self._readable_words, self._readable_string_words, self._json_structure_words)
        kinds: dict[int, list[int]] = {}
        for i, constraint in enumerate(constraints):
            if constraint.body_tokens is not None:
                kinds.setdefault(0 if constraint.free_text else 1 if constraint.in_string else 2, []).append(i)
        if len(kinds) == 1:  # usually every row is in one kind of body: no row gathering
            [(kind, rows)] = kinds.items()
            narrowed = self._narrowed[: len(words)]
            if len(rows) == len(words) and np.bitwise_and(words, sets[kind], out=narrowed).any(axis=1).all():  # type: ignore[arg-type]
                words[:] = narrowed
                return
        for kind, rows in kinds.items():
            narrowed = words[rows] & sets[kind]
            readable = narrowed.any(axis=1)  # any subset of what the grammar allows still leads to a valid end
            words[np.asarray(rows)[readable]] = narrowed[readable]

    def _sample_exact(self, sampling: list[Sequence], rows: list[int], words: np.ndarray,
                      chosen: dict[int, int]) -> None:
        """The rows that want penalties or logprobs: their logits from one matmul per space
        (the readable subset, or the whole vocabulary), then each row's draw; a row that fails
        fails alone."""
        try:
            found: list[tuple[torch.Tensor, Allowed]] | None = self._exact_logits(sampling, rows, words)
        except Exception:  # one row at a time below, so only the culprits fail
            found = None
        for k, i in enumerate(rows):
            seq = sampling[i]
            req = seq.request
            uniform = seq.rng.random()
            try:
                values, allowed = found[k] if found is not None else self._exact_logits(sampling, [i], words)[0]
                chosen[i], seq.logprob = draw_exact(values, allowed, temperature=req.temperature, top_p=req.top_p,
                                                    uniform=uniform, top_logprobs=req.logprobs)
            except Exception as exc:
                self._mark_failed(seq, "sampling", exc)

    def _exact_logits(self, sampling: list[Sequence], rows: list[int],
                      words: np.ndarray) -> list[tuple[torch.Tensor, Allowed]]:
        hidden = torch.stack([sampling[i].hidden for i in rows])  # type: ignore[misc]
        penalties = [(sampling[i].request.presence_penalty, sampling[i].request.frequency_penalty,
                      sampling[i].counts) for i in rows]
        return self._sampler.exact_logits(ModelHeads(self.model, hidden), words[rows], penalties)

    def _sample_rows(self, sampling: list[Sequence], rows: list[int], words: np.ndarray,
                     uniforms: list[float]) -> list[int]:
        hidden = torch.stack([sampling[i].hidden for i in rows])  # type: ignore[misc]
        reqs = [sampling[i].request for i in rows]
        return self._sampler.sample(ModelHeads(self.model, hidden), words[rows],
                                    [r.temperature for r in reqs], [r.top_p for r in reqs], uniforms)

    def _commit(self, seq: Sequence, token: int) -> None:
        assert seq.constraint is not None
        try:
            seq.constraint.commit(token)
        except BackendError as exc:
            self._fail(seq, str(exc))
            return
        except Exception as exc:
            self._mark_failed(seq, "the grammar", exc)
            return
        if seq.request.logprobs is not None:
            self._send(seq, "token", (token, seq.logprob))
            seq.logprob = None
        else:
            self._send(seq, "token", token)
        if token < FIRST_SPECIAL:
            seq.counts[token] = seq.counts.get(token, 0) + 1
        seq.generated += 1
        req = seq.request
        if (token in req.stop_token_ids or seq.generated >= req.max_new_tokens
                or seq.constraint.finished() or len(seq.fed) + 1 >= self.max_context):
            self._retire(seq)
            self._send(seq, "end", None)
        else:
            seq.pending = token
            seq.phase = Phase.DECODE

    def _send(self, seq: Sequence, kind: str, value: Any) -> None:
        self._outbox.put(seq.deliver, kind, value)

    def _fail(self, seq: Sequence, message: str) -> None:
        if seq in self._waiting:
            self._waiting.remove(seq)
        if seq.phase is not Phase.DONE:
            self._retire(seq, keep_cache=False)
        self._send(seq, "error", message)

    def _retire(self, seq: Sequence, keep_cache: bool = True) -> None:
        """Take `seq` out of its slot (moving the last slot into the hole) and keep its cache."""
        if seq.phase is Phase.DONE:
            return
        if seq in self._active:
            prompt_len = len(seq.request.prompt_tokens)
            if keep_cache and len(seq.fed) >= prompt_len and seq.hidden is not None:
                try:
                    entry = self.cache.export(seq.slot, tuple(seq.fed))
                    if seq.prompt_snapshot is not None:
                        entry.snapshots[prompt_len] = seq.prompt_snapshot
                    entry.snapshots[len(seq.fed)] = self.cache.snapshot(seq.slot, seq.hidden)
                    self.prefix.add(entry)
                except Exception:  # the answer is complete; only its reuse is lost
                    log.exception("keeping a finished sequence's cache failed")
            hole = seq.slot
            last = self._active.pop()
            if last is not seq:
                self.cache.move(last.slot, hole)
                last.slot = hole
                self._active[hole] = last
        seq.phase = Phase.DONE
        seq.hidden = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _deliver_now(seq: Sequence, kind: str, value: Any) -> None:
    with contextlib.suppress(Exception):  # a stream nobody listens to any more
        seq.deliver(kind, value)


class ItemSink(Protocol):
    """Where a stream's items land on its event loop: an `asyncio.Queue`, or anything with its
    `put_nowait` (called on the loop's thread only)."""

    def put_nowait(self, item: tuple[str, Any], /) -> None: ...


class AsyncioDeliverer:
    """A thread-safe `deliver` that hands items to an asyncio queue (or other sink) on `loop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: ItemSink) -> None:
        self.loop = loop
        self.queue = queue

    def __call__(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens any more
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))


def asyncio_deliverer(loop: asyncio.AbstractEventLoop, q: ItemSink) -> Callable[[str, Any], None]:
    return AsyncioDeliverer(loop, q)


class Outbox:
    """A step's deliveries, handed over together: every `call_soon_threadsafe` writes to the
    loop's wake-up pipe (a syscall, and a GIL round trip for this thread), so each event loop
    gets one callback per step with all its streams' items, in order, instead of one per token."""

    def __init__(self) -> None:
        self._items: list[tuple[Callable[[str, Any], None], str, Any]] = []

    def put(self, deliver: Callable[[str, Any], None], kind: str, value: Any) -> None:
        self._items.append((deliver, kind, value))

    def flush(self) -> None:
        items, self._items = self._items, []
        batches: dict[asyncio.AbstractEventLoop, list[tuple[ItemSink, tuple[str, Any]]]] = {}
        for deliver, kind, value in items:
            if isinstance(deliver, AsyncioDeliverer):
                batches.setdefault(deliver.loop, []).append((deliver.queue, (kind, value)))
            else:
                deliver(kind, value)
        for loop, batch in batches.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens any more
                loop.call_soon_threadsafe(_put_all, batch)


def _put_all(batch: list[tuple[ItemSink, tuple[str, Any]]]) -> None:
    for q, item in batch:
        q.put_nowait(item)
