"""The stream checker: feed it SSE messages or decoded events, get findings; sans-IO.

Routes each event to the checks the registry subscribed to its type, builds Findings (severity
from the profile, breaks/spec from the registry, location from the event), then lets
`conformance.state.apply` take the transition.

Theory of operation
-------------------
* Slow path (every event that is not a well-formed delta in the expected place): schema
  validation through `conformance.contracts`, then every check subscribed to the event's type,
  "*" and the relevant hooks (see `conformance.registry`), then `state.apply`.
* Fast path (`_fast`): a delta event (text, refusal, reasoning, summary, arguments, input, code,
  command) whose shape is exactly its schema's (known keys only, right scalar types), whose
  sequence_number is the previous one + 1, and which continues the part the previous event
  wrote to, cannot violate any `fast_safe` check: the checker appends its text and returns.
  Anything unusual falls through to the slow path, which makes the verdict, so the fast path
  can only ever be *less* clever, never wrong. A type any non-fast-safe check subscribes to
  (a user rule, say) never takes it. Likewise SSE messages that are terminated, have no `id:`,
  and whose `event:` equals their `type` skip the framing checks.
* Parser anomalies (`conformance.sse.SSEAnomaly`: a BOM, a block openai-python dispatches with
  no data, bytes that are not UTF-8) are typed events of the parser (`SSEParser.anomalies`
  after each read); `feed_messages(msgs, anomalies)` hands each, in stream order, to the "@sse-anomaly"
  checks (conformance/rules/framing.py), which never see ordinary messages. `conformance.sse_checker.SSEStreamChecker` (bytes in) does this for every caller.
* Each rule reports at most `max_per_rule` findings per stream; `finish()` adds one finding
  counting the rest (as severe as the worst of them, never more), so memory stays bounded
  however broken a long stream is. `finish()` then folds cascades (`conformance.cascades`):
  findings that follow from one root cause name it in `caused_by`; none is dropped.
* A rule of kind "model" against a profile with `target_kind="proxy"` is capped at warning and
  says "the model behind this server": a proxy relays a model the suite cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Any

import orjson

from conformance import registry
from conformance.cascades import fold
from conformance.check_context import CheckContext
from conformance.excerpts import clip, render
from conformance.findings import Finding, at_least
from conformance.profiles import Profile, cap, get_profile
from conformance.registry import Check, Hit
from conformance.state import (
    LIFECYCLE_TYPES,
    SUB_EVENTS,
    TERMINAL_TYPES,
    Continuation,
    PartState,
    StreamState,
    SubEvent,
    apply,
    apply_lost,
    part_key,
)

__all__ = ["CheckResult", "StreamChecker", "warm"]

EXCERPT_LEN = 160
_loads = orjson.loads
_COMPACT_AT = PartState.COMPACT_AT


def _plain_delta(ev: dict[str, Any], n_keys: int, logprobs: bool) -> str | None:
    """The delta string when `ev` has exactly the plain shape the fast paths accept: a string
    `delta`, empty `logprobs` where the type has them, at most a string `obfuscation`, and no
    other key beyond the `n_keys` expected ones. None sends the event down the full rule pass."""
    delta = ev.get("delta")
    if type(delta) is not str:
        return None
    if logprobs:
        lp = ev.get("logprobs")
        if type(lp) is not list or lp:
            return None
    obf = ev.get("obfuscation")
    if obf is not None:
        if type(obf) is not str:
            return None
        n_keys += 1
    return delta if len(ev) == n_keys else None
_INDEX_FIELDS = ("content_index", "summary_index", "command_index")


@dataclass
class CheckResult:
    """What a checked stream (or body) amounts to."""

    findings: list[Finding]
    event_count: int = 0
    terminal_response: dict[str, Any] | None = None
    response_id: str | None = None
    saw_done: bool = False
    # Occurrences per severity ("error", "warning", "info"), including those over the per-rule cap.
    summary: dict[str, int] = field(default_factory=dict)
    # Occurrences per rule id, including those over the per-rule cap.
    counts_by_rule: dict[str, int] = field(default_factory=dict)
    profile: str = "openai"

    def errors(self, fail_on: str = "error") -> list[Finding]:
        """Findings at least as severe as `fail_on`."""
        return [f for f in self.findings if at_least(f.severity, fail_on)]

    @property
    def ok(self) -> bool:
        return not self.errors("error")

    def rule_ids(self) -> set[str]:
        return {f.rule for f in self.findings}


class _Tables:
    """Dispatch tables built from the registry (rebuilt when the registry changes)."""

    def __init__(self) -> None:
        registry.all_rules()  # load the rule modules first: loading changes the generation
        self.generation = registry.generation()
        self.by_type: dict[str, list[Check]] = {}
        self.star: list[Check] = []
        self.hooks: dict[str, list[Check]] = {h: [] for h in registry.HOOKS}
        for c in registry.all_checks():
            for sub in c.on:
                if sub == "*":
                    self.star.append(c)
                elif sub in self.hooks:
                    self.hooks[sub].append(c)
                else:
                    self.by_type.setdefault(sub, []).append(c)
        self._cache: dict[str, tuple[Check, ...]] = {}
        # Types whose every subscribed check is fast-safe may take the delta fast path.
        star_safe = all(c.fast_safe for c in self.star)
        self.fast: dict[str, _FastSpec] = {}
        if star_safe:
            for etype, spec in _FAST_SPECS.items():
                if all(c.fast_safe for c in self.by_type.get(etype, ())):
                    self.fast[etype] = spec
        self.sse_anomaly = self.hooks["@sse-anomaly"]
        self.sse_fast = all(c.fast_safe for c in self.hooks["@sse"])
        self.rules = {r.id: r for r in registry.all_rules()}
        # Rules whose findings --select/--ignore drop (their checks still run).
        self.dropped = frozenset(r for r in self.rules if not registry.enabled(r))

    def for_type(self, etype: str) -> tuple[Check, ...]:
        got = self._cache.get(etype)
        if got is None:
            checks = list(self.star) + self.by_type.get(etype, [])
            if etype in LIFECYCLE_TYPES:
                checks += self.hooks["@lifecycle"]
            order = {id(c): i for i, c in enumerate(registry.all_checks())}
            checks.sort(key=lambda c: order.get(id(c), 0))
            got = tuple(dict.fromkeys(checks))
            self._cache[etype] = got
        return got


@dataclass(frozen=True, slots=True)
class _FastSpec:
    """The exact shape of a delta event the fast path may accept."""

    sub: SubEvent
    n_keys: int  # required keys, `obfuscation` excluded
    index_field: str | None
    has_item_id: bool
    logprobs: bool  # output_text.delta: `logprobs` must be an empty list


def _fast_specs() -> dict[str, _FastSpec]:
    out = {}
    for etype, sub in SUB_EVENTS.items():
        if sub.role != "delta" or sub.kind is None or etype.startswith("response.reasoning."):
            continue
        n = 3  # type, sequence_number, output_index
        n += 1  # delta
        n += 1 if sub.has_item_id else 0
        n += 1 if sub.index_field else 0
        lp = etype == "response.output_text.delta"
        n += 1 if lp else 0
        out[etype] = _FastSpec(sub, n, sub.index_field, sub.has_item_id, lp)
    return out


_FAST_SPECS = _fast_specs()


def _shape(
    etype: str, spec: _FastSpec, oi: int, ci: Any, iid: Any, has_obf: bool
) -> tuple[Any, tuple[Any, ...], int, bool]:
    """(getter, expected values, key count, obfuscation present) for `_run_deltas`.

    The getter always returns 7 values: type, output_index, index field, item_id, logprobs,
    sequence_number, delta; slots a type lacks repeat a field already compared (output_index
    for the index, type for item_id/logprobs), so one unpacking fits every delta type.
    """
    index_key = spec.index_field or "output_index"
    want_ci = ci if spec.index_field else oi
    iid_key, want_iid = ("item_id", iid) if spec.has_item_id else ("type", etype)
    lp_key, want_lp = ("logprobs", []) if spec.logprobs else ("type", etype)
    getter = itemgetter("type", "output_index", index_key, iid_key, lp_key, "sequence_number", "delta")
    return getter, (etype, oi, want_ci, want_iid, want_lp), spec.n_keys + has_obf, has_obf


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None or _TABLES.generation != registry.generation():
        _TABLES = _Tables()
    return _TABLES


def warm() -> None:
    """Load the rules and build the dispatch tables now (a process about to fork workers)."""
    _tables()


class StreamChecker:
    """Checks one stream. Feed SSE messages (`feed_message`) or decoded events (`feed`), then
    call `finish()`. Every feed returns the findings that event made certain."""

    def __init__(
        self,
        profile: str | Profile = "openai",
        request: dict[str, Any] | None = None,
        *,
        max_per_rule: int = 20,
        fast_path: bool = True,
    ) -> None:
        self.profile = get_profile(profile)
        self.request = request if isinstance(request, dict) else None
        self.max_per_rule = max_per_rule
        self._t = _tables()
        self._fast_specs = self._t.fast if fast_path else {}
        self._sse_fast = self._t.sse_fast and fast_path
        self._st = StreamState()
        self._index = 0
        self._n_done = 0  # [DONE] sentinels (not events)
        self._findings: list[Finding] = []
        self._counts: dict[str, int] = {}
        self._severity_counts = {"error": 0, "warning": 0, "info": 0}
        # Per rule, the worst severity among the occurrences over `max_per_rule`.
        self._dropped: dict[str, str] = {}
        self._saw_sse = False
        self._result: CheckResult | None = None

    def _ctx(self, index: int | None, hook: str | None = None) -> CheckContext:
        return CheckContext(index, hook, profile=self.profile, request=self.request, saw_sse=self._saw_sse)

    @property
    def state(self) -> StreamState:
        return self._st

    # -- input ----------------------------------------------------------------------------
    def feed_content_type(self, value: str | None) -> list[Finding]:
        """The streaming response's Content-Type header (None when absent)."""
        ctx = self._ctx(None, "@content-type")
        ctx.content_type = value
        return self._run(self._t.hooks["@content-type"], None, ctx)

    def feed_message(self, msg: Any) -> list[Finding]:
        """One SSE message: framing checks, JSON decoding, then the event checks."""
        idx = self._index
        self._index = idx + 1
        data = msg.data
        try:
            ev = _loads(data)
        except orjson.JSONDecodeError as e:
            self._saw_sse = True
            if data == "[DONE]":
                return self._done_sentinel(msg, idx)
            return self._framing(msg, idx, None, str(e))
        if type(ev) is dict and msg.terminated and msg.id is None and self._sse_fast:
            etype = ev.get("type")
            if msg.event == etype:
                # Framing is fine (only fast-safe framing checks exist): straight to the event.
                cont = self._st.cont
                if cont is not None and etype == cont.etype and self._continue(ev, cont):
                    return []
                if type(etype) is str:
                    self._saw_sse = True
                    return self._feed_event(ev, etype, idx)
        self._saw_sse = True
        return self._framing(msg, idx, ev, None)

    def feed_messages(self, msgs: Sequence[Any], anomalies: Sequence[Any] = ()) -> list[Finding]:
        """Many SSE messages at once (what one network read completed): the same findings as
        `feed_message` on each, but a run of deltas into one part takes a tight loop.
        `anomalies`: the parser's `SSEAnomaly` events of the same read, judged in stream order
        between the messages (`SSEStreamChecker` passes them; bytes in is simpler there)."""
        if anomalies:
            return self._feed_anomalous(msgs, anomalies)
        out: list[Finding] = []
        i = 0
        n = len(msgs)
        while i < n:
            if self._st.cont is None or not self._sse_fast:
                out += self.feed_message(msgs[i])
                i += 1
                continue
            j = self._run_deltas(msgs, i)
            if j < n:
                out += self.feed_message(msgs[j])
                j += 1
            i = j
        return out

    def _feed_anomalous(self, msgs: Sequence[Any], anomalies: Sequence[Any]) -> list[Finding]:
        out: list[Finding] = []
        i, n = 0, len(msgs)
        for a in anomalies:
            j = i
            while j < n and msgs[j].index < a.index:  # the messages before it
                j += 1
            if j > i:
                out += self.feed_messages(list(msgs[i:j]))
            i = j
            out += self._anomaly(a)
        if i < n:
            out += self.feed_messages(list(msgs[i:]))
        return out

    def _anomaly(self, anomaly: Any) -> list[Finding]:
        """One parser anomaly; its findings sit at the message it is in or precedes."""
        self._saw_sse = True
        ctx = self._ctx(self._index, "@sse-anomaly")
        ctx.anomaly = anomaly
        return self._run(self._t.sse_anomaly, anomaly, ctx)

    def _run_deltas(self, msgs: Sequence[Any], start: int) -> int:
        """`_continue` over msgs[start:] with its state in locals; returns where it stopped.

        Per message: decode, fetch the fields with one C-level itemgetter, compare those that
        must repeat (type, output_index, [content/summary index], [item_id], [logprobs]) with
        the cached expectation (`is` for the indexes: exact ints only), then the sequence
        number, the delta's type and the key count. Anything else stops the run; that message
        takes the normal path.
        """
        st = self._st
        cont = st.cont
        assert cont is not None
        part = cont.part
        getter, (ctype, oi, ci, iid, lp), n_keys, has_obf = cont.getter, cont.want, cont.n_keys_batch, cont.has_obf
        seq_first = seq_next = st.last_seq + 1  # type: ignore[operator]
        ch: list[str] = part.chunks  # type: ignore[assignment]  # an open part's are a list
        loads = _loads
        try:
            for _idx, event, data, mid, _retry, term in islice(msgs, start, None):
                ev = loads(data)
                t, o, c, i, lpv, seq, delta = getter(ev)
                if (
                    t != ctype
                    or o is not oi
                    or c is not ci
                    or i != iid
                    or lpv != lp
                    or seq != seq_next
                    or type(seq) is not int
                    or type(delta) is not str
                    or len(ev) != n_keys
                    or event != ctype
                    or mid is not None
                    or not term
                    or (has_obf and type(ev["obfuscation"]) is not str)
                ):
                    break
                ch.append(delta)
                seq_next += 1
        except (ValueError, TypeError, KeyError):
            pass  # not JSON, not an object, a field missing, not an SSEMessage: the long way
        done = seq_next - seq_first
        if done:
            # Joined once per run (a run is at most what one read delivered), not per delta.
            if len(ch) >= _COMPACT_AT:
                part.compact()
            st.last_seq = seq_next - 1
            st.n_events += done
            self._index += done
            self._saw_sse = True
        return start + done

    def _done_sentinel(self, msg: Any, idx: int) -> list[Finding]:
        self._n_done += 1
        self._st.saw_done_sentinel = True
        self._st.cont = None
        ctx = self._ctx(idx, "@sse")
        ctx.message = msg
        return self._run(self._t.hooks["@sse"], msg, ctx)

    def _framing(self, msg: Any, idx: int, decoded: Any, err: str | None) -> list[Finding]:
        ctx = self._ctx(idx, "@sse")
        ctx.message = msg
        ctx.decoded = decoded
        ctx.decode_error = err
        out = self._run(self._t.hooks["@sse"], msg, ctx)
        if err is None:
            out += self._feed(decoded, idx)
        else:
            self._st.cont = None
            apply_lost(self._st)
        return out

    def feed(self, event: Any) -> list[Finding]:
        """One decoded event (any JSON value: non-events are reported, never raised on)."""
        idx = self._index
        self._index = idx + 1
        cont = self._st.cont
        if cont is not None and type(event) is dict and event.get("type") == cont.etype and self._continue(event, cont):
            return []
        return self._feed(event, idx)

    def _feed(self, ev: Any, idx: int) -> list[Finding]:
        if type(ev) is dict:
            etype = ev.get("type")
            if type(etype) is str:
                return self._feed_event(ev, etype, idx)
        self._st.cont = None
        ctx = self._ctx(idx, "@value")
        ctx.decoded = ev
        apply_lost(self._st)
        return self._run(self._t.hooks["@value"], ev, ctx)

    def _feed_event(self, ev: dict[str, Any], etype: str, idx: int) -> list[Finding]:
        spec = self._fast_specs.get(etype)
        if spec is not None and self._fast(ev, spec):
            return []
        self._st.cont = None
        return self._slow(ev, etype, idx)

    def _continue(self, ev: dict[str, Any], cont: Continuation) -> bool:
        """The hottest path: a delta for the very part the previous (fast) delta wrote to.

        `_fast` checked that part's item and grammar state and cached them in `StreamState.cont`; no
        slow-path event came since (it clears the cache), so only this event's own fields and
        its sequence number need checking. `is` on the indexes is exact: equal small ints are
        one object, anything else (a bool, a float, a big int) simply takes the long way.
        """
        st = self._st
        oi, index_field, ci, iid = cont.output_index, cont.index_field, cont.index, cont.item_id
        seq = ev.get("sequence_number")
        if (
            type(seq) is not int
            or seq != st.last_seq + 1  # type: ignore[operator]
            or ev.get("output_index") is not oi
            or (index_field is not None and ev.get(index_field) is not ci)
            or (iid is not None and ev.get("item_id") != iid)
        ):
            return False
        delta = _plain_delta(ev, cont.n_keys, cont.logprobs)
        if delta is None:
            return False
        part = cont.part
        ch: list[str] = part.chunks  # type: ignore[assignment]  # an open part's are a list
        ch.append(delta)
        if len(ch) >= _COMPACT_AT:
            part.compact()
        st.last_seq = seq
        st.n_events += 1
        return True

    def _fast(self, ev: dict[str, Any], spec: _FastSpec) -> bool:
        """Accept a well-formed delta that continues the current part (see module docstring)."""
        st = self._st
        seq = ev.get("sequence_number")
        last = st.last_seq
        if type(seq) is not int or last is None or seq != last + 1 or st.phase != "in_progress":
            return False
        oi = ev.get("output_index")
        if type(oi) is not int or oi != st.last_sub_index:
            return False
        item = st.items.get(oi)
        sub = spec.sub
        if item is None or item.phase != "open" or item.type not in sub.item_types:
            return False
        n = spec.n_keys
        iid = None
        if spec.has_item_id:
            iid = ev.get("item_id")
            if type(iid) is not str or iid != item.id:
                return False
        ci: Any = 0
        if spec.index_field is not None:
            ci = ev.get(spec.index_field)
            if type(ci) is not int:
                return False
        part = item.parts.get((sub.kind, ci))  # type: ignore[arg-type]
        if part is None or part.phase != "open" or (sub.part_types is not None and part.type not in sub.part_types):
            return False
        delta = _plain_delta(ev, n, spec.logprobs)
        if delta is None:
            return False
        part.add(delta)
        st.last_seq = seq
        st.n_events += 1
        etype = ev["type"]
        getter, want, n_batch, has_obf = _shape(etype, spec, oi, ci, iid, ev.get("obfuscation") is not None)
        st.cont = Continuation(
            etype, oi, spec.index_field, ci if spec.index_field is not None else None, iid, part,
            spec.n_keys, spec.logprobs, getter, want, n_batch, has_obf,
        )
        return True

    def _slow(self, ev: dict[str, Any], etype: str, idx: int) -> list[Finding]:
        st = self._st
        ctx = self._ctx(idx)
        ctx.etype = etype
        ctx.decoded = ev
        seq = ev.get("sequence_number")
        ctx.seq = seq if type(seq) is int else None
        oi = ev.get("output_index")
        ctx.ev_output_index = oi
        item = st.items.get(oi) if type(oi) is int else None
        ctx.item = item
        sub = SUB_EVENTS.get(etype)
        ctx.sub = sub
        if sub is not None:
            key = part_key(sub, ev)
            ctx.key = key
            if item is not None and key is not None:
                ctx.part = item.parts.get(key)
        out = self._run(self._t.for_type(etype), ev, ctx)
        if etype in TERMINAL_TYPES and st.terminal_type is None:
            hooks = self._t.hooks
            ctx.hook = "@terminal"
            out += self._run(hooks["@terminal"], ev, ctx)
            resp = ev.get("response")
            if isinstance(resp, dict):
                ctx.hook = "@response"
                ctx.response = resp
                out += self._run(hooks["@response"], resp, ctx)
            ctx.hook = "@output"
            ctx.response = resp if isinstance(resp, dict) else None
            ctx.output_items = st.done_items()
            out += self._run(hooks["@output"], None, ctx)
            st.output_checked = True
        apply(st, etype, ev, idx)
        return out

    # -- results --------------------------------------------------------------------------
    def finish(self) -> CheckResult:
        """End of stream: the findings only the end can decide, and the verdict. Idempotent."""
        if self._result is not None:
            return self._result
        st = self._st
        hooks = self._t.hooks
        if not st.output_checked:
            ctx = self._ctx(None, "@output")
            ctx.output_items = st.done_items()
            self._run(hooks["@output"], None, ctx)
            st.output_checked = True
        ctx = self._ctx(None, "@finish")
        self._run(hooks["@finish"], None, ctx)
        for rule_id, n in self._counts.items():
            if n > self.max_per_rule:
                r = self._t.rules[rule_id]
                # As severe as the worst occurrence it stands for, never more: 21 tolerated
                # warnings stay warnings.
                self._findings.append(
                    Finding(
                        rule=rule_id,
                        severity=self._dropped[rule_id],  # type: ignore[arg-type]
                        message=f"… and {n - self.max_per_rule} more occurrences of {rule_id} not shown",
                        breaks=r.breaks,
                        spec=r.spec or None,
                        kind=r.kind,
                    )
                )
        self._findings[:] = fold(self._findings)
        term = st.terminal_response
        rid = st.response_id if isinstance(st.response_id, str) else None
        self._result = CheckResult(
            findings=self._findings,
            event_count=self._index - self._n_done,
            terminal_response=term,
            response_id=rid,
            saw_done=st.saw_done_sentinel,
            summary=dict(self._severity_counts),
            counts_by_rule=dict(self._counts),
            profile=self.profile.spec,
        )
        return self._result

    def check_body(self, body: Any) -> CheckResult:
        """Judge a non-stream Response body (schema, usage, lifecycle fields, calls, request)."""
        hooks = self._t.hooks
        ctx = self._ctx(None, "@response")
        ctx.is_body = True
        ctx.response = body
        if not isinstance(body, dict):
            # Only the schema can say anything about a body that is not an object.
            self._run([c for c in hooks["@response"] if c.rule_id == "schema.response"], body, ctx)
        else:
            ctx.etype = "response"
            self._run(hooks["@response"], body, ctx)
            out = body.get("output")
            ctx.hook = "@output"
            ctx.output_items = list(enumerate(out)) if isinstance(out, list) else []
            self._run(hooks["@output"], None, ctx)
        self._st.output_checked = True
        self._findings[:] = fold(self._findings)
        rid = body.get("id") if isinstance(body, dict) else None
        self._result = CheckResult(
            findings=self._findings,
            event_count=0,
            terminal_response=body if isinstance(body, dict) else None,
            response_id=rid if isinstance(rid, str) else None,
            summary=dict(self._severity_counts),
            counts_by_rule=dict(self._counts),
            profile=self.profile.spec,
        )
        return self._result

    # -- internals ------------------------------------------------------------------------
    def _run(self, checks: Iterable[Check], subject: Any, ctx: CheckContext) -> list[Finding]:
        out: list[Finding] = []
        st = self._st
        for c in checks:
            hits = c.fn(st, subject, ctx)
            if hits is None:
                continue
            for hit in hits:
                f = self._finding(c.rule_id, hit, ctx)
                if f is not None:
                    out.append(f)
        if out:
            self._findings.extend(out)
        return out

    def _finding(self, rule_id: str, hit: str | Hit, ctx: CheckContext) -> Finding | None:
        if rule_id in self._t.dropped:
            return None
        if isinstance(hit, str):
            hit = Hit(hit)
        prof = self.profile
        r = self._t.rules.get(rule_id) or registry.get_rule(rule_id)
        sev = prof.severity_for(r, hit.severity)
        if hit.max_severity is not None:
            sev = cap(sev, hit.max_severity)
        kind = r.kind if r else None
        message = hit.message
        if kind == "model" and prof.target_kind == "proxy":
            sev = cap(sev, "warning")
            message = registry.model_behind(message)
        self._severity_counts[sev] += 1
        n = self._counts.get(rule_id, 0) + 1
        self._counts[rule_id] = n
        if n > self.max_per_rule:
            worst = self._dropped.get(rule_id)
            if worst is None or not at_least(worst, sev):
                self._dropped[rule_id] = sev
            return None
        ev = ctx.decoded if isinstance(ctx.decoded, dict) else None
        same_event = hit.event_index is None or hit.event_index == ctx.index
        oi = hit.output_index
        ci = hit.content_index
        if ev is not None and same_event:
            if oi is None and type(ev.get("output_index")) is int:
                oi = ev["output_index"]
            if ci is None:
                for k in _INDEX_FIELDS:
                    v = ev.get(k)
                    if type(v) is int:
                        ci = v
                        break
        excerpt = hit.excerpt
        if excerpt is None and same_event:
            excerpt = self._excerpt(ctx)
        return Finding(
            rule=rule_id,
            severity=sev,  # type: ignore[arg-type]
            message=message,
            event_index=hit.event_index if hit.event_index is not None else ctx.index,
            sequence_number=ctx.seq if same_event else None,
            output_index=oi,
            content_index=ci,
            excerpt=excerpt,
            breaks=r.breaks if r else (),
            spec=(r.spec or None) if r else None,
            kind=kind,
        )

    @staticmethod
    def _excerpt(ctx: CheckContext) -> str | None:
        if ctx.decoded is not None:
            raw = render(ctx.decoded, quote=True)
        elif ctx.message is not None:
            raw = ctx.message.data
        elif ctx.hook == "@response" and ctx.response is not None:
            return None
        else:
            return None
        return clip(raw, EXCERPT_LEN, beyond=True)
