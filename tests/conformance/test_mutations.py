"""Mutation tests: break one invariant of a valid stream and the checker must report an error
(of the right rule family); apply a semantics-preserving change and it must report none.

Valid streams: the positive fixtures (real captures and built ones) and streams generated from
random item sequences by the stream builder (conformance.testing.streams).
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conformance
from conformance.fixture_corpus import load_fixtures
from conformance.sse import SSEParser
from conformance.testing import streams as B

# ---- event classes --------------------------------------------------------------------------------
_ACCUMULATED = (
    "response.output_text",
    "response.refusal",
    "response.reasoning_text",
    "response.reasoning_summary_text",
    "response.function_call_arguments",
    "response.custom_tool_call_input",
    "response.code_interpreter_call_code",
    "response.mcp_call_arguments",
)
DELTA = frozenset(t + ".delta" for t in _ACCUMULATED)
VALUE_DONE = frozenset(t + ".done" for t in _ACCUMULATED)
PART_ADDED = frozenset({"response.content_part.added", "response.reasoning_summary_part.added"})
PART_DONE = frozenset({"response.content_part.done", "response.reasoning_summary_part.done"})
START = frozenset({"response.created", "response.queued", "response.in_progress"})
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"


def part_key(ev: dict[str, Any]) -> tuple[Any, ...] | None:
    """Which part (item index, summary-or-content, part index) an event belongs to."""
    t = ev.get("type", "")
    if "summary" in t:
        return (ev.get("output_index"), "summary", ev.get("summary_index"))
    if "content_index" in ev:
        return (ev.get("output_index"), "content", ev.get("content_index"))
    if t in DELTA or t in VALUE_DONE:  # call-like values: one per item
        return (ev.get("output_index"), "value", None)
    return None


@dataclass(frozen=True)
class Expect:
    """error: True = at least one error (of one of `families` when given); False = none."""

    error: bool
    families: frozenset[str] = frozenset()
    why: str = ""


def ERR(*families: str, why: str = "") -> Expect:
    return Expect(True, frozenset(families), why)


OK = Expect(False, why="semantics-preserving or warning-only")


def error_rules(result: Any) -> set[str]:
    return {f.rule for f in result.findings if f.severity == "error"}


def assert_outcome(result: Any, expect: Expect, context: str) -> None:
    errs = error_rules(result)
    if not expect.error:
        assert not errs, f"{context}: expected no error ({expect.why}), got {sorted(errs)}"
        return
    assert errs, f"{context}: expected an error ({expect.why}), the checker reported none"
    if expect.families:
        fams = {r.split(".", 1)[0] for r in errs}
        assert fams & expect.families, (
            f"{context}: expected an error of family {sorted(expect.families)} ({expect.why}), got {sorted(errs)}"
        )


# ---- valid base streams ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Base:
    name: str
    events: tuple[str, ...]  # JSON text per event, so every example starts from a fresh copy
    request: dict[str, Any] | None
    raw: bytes

    def fresh(self) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.events]

    def __repr__(self) -> str:  # hypothesis prints the falsifying base: keep it short
        return f"Base({self.name!r}, {len(self.events)} events)"


def _parse_sse(raw: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    msgs = parser.feed(raw) + parser.close()
    return [json.loads(m.data) for m in msgs if not m.is_done]


def _fixture_bases() -> list[Base]:
    out = []
    for fx in load_fixtures():
        if fx.negative or fx.kind != "sse" or fx.profile != "openai":
            continue
        raw = fx.body()
        events = _parse_sse(raw)
        out.append(Base(fx.name, tuple(json.dumps(e) for e in events), fx.request, raw))
    return out


FIXTURE_BASES = _fixture_bases()


def check(events: list[Any], base: Base) -> Any:
    return conformance.check_events(events, request=base.request)


# A text strategy without surrogates; deltas are never empty (an empty delta changes nothing).
_ALPHABET = st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF)


@st.composite
def _pieces(draw: Any, min_size: int = 1) -> list[str]:
    n = draw(st.integers(min_size, 4))
    return [draw(st.text(_ALPHABET, min_size=1, max_size=6)) for _ in range(n)]


@st.composite
def generated_stream(draw: Any) -> Base:
    """A random valid stream: 1-4 items of assorted types and a random terminal."""
    seed = f"gen-{draw(st.integers(0, 10**6))}"
    s = B.Stream(seed, background=draw(st.booleans()))
    s.open(queued=s.background)
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "message",
                    "refusal",
                    "two-parts",
                    "function",
                    "custom",
                    "reasoning",
                    "reasoning-text",
                    "web",
                    "code",
                    "mcp",
                ]
            ),
            min_size=1,
            max_size=4,
        )
    )
    for kind in kinds:
        if kind == "message":
            s.message(B.Text(draw(_pieces())))
        elif kind == "refusal":
            s.message(B.Refusal(draw(_pieces())))
        elif kind == "two-parts":
            s.message(B.Text(draw(_pieces())), B.Text(draw(_pieces())))
        elif kind == "function":
            s.function_call("f", draw(_pieces()))
        elif kind == "custom":
            s.custom_tool_call("c", draw(_pieces()))
        elif kind == "reasoning":
            s.reasoning(summaries=draw(st.lists(_pieces(), min_size=1, max_size=2)))
        elif kind == "reasoning-text":
            s.reasoning(texts=[draw(_pieces())])
        elif kind == "web":
            s.web_search("q")
        elif kind == "code":
            s.code_interpreter(draw(_pieces()))
        else:
            s.mcp_call("srv", "tool", draw(_pieces()), "{}")
    end = draw(st.sampled_from(["completed", "incomplete", "failed"]))
    if end == "incomplete":
        s.message(B.Text(draw(_pieces())), status="incomplete")
        s.incomplete("max_output_tokens")
    elif end == "failed":
        s.fail()
    else:
        s.complete()
    events = s.events
    return Base(seed, tuple(json.dumps(e) for e in events), None, B.to_sse(events))


bases = st.one_of(st.sampled_from(FIXTURE_BASES), generated_stream())

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_bases_are_valid() -> None:
    """Every base is clean, so any error after a mutation comes from the mutation."""
    assert len(FIXTURE_BASES) >= 35
    for base in FIXTURE_BASES:
        result = check(base.fresh(), base)
        assert not error_rules(result), (base.name, sorted(error_rules(result)))


@SETTINGS
@given(generated_stream())
def test_generated_streams_are_valid(base: Base) -> None:
    result = check(base.fresh(), base)
    assert not error_rules(result), sorted(error_rules(result))
    assert not error_rules(conformance.check_sse(base.raw))


# ---- operators on decoded events --------------------------------------------------------------------
def terminal_index(events: list[dict[str, Any]]) -> int:
    return max(i for i, e in enumerate(events) if e.get("type") in TERMINAL)


def _has_nonempty_delta(
    events: list[dict[str, Any]], key: tuple[Any, ...] | None, before: int
) -> bool:
    return any(
        e.get("type") in DELTA and part_key(e) == key and e.get("delta") for e in events[:before]
    )


def expect_drop(events: list[dict[str, Any]], i: int) -> Expect | None:
    ev, t = events[i], events[i].get("type")
    if t == "response.created":
        return ERR("lifecycle", why="first event is no longer response.created")
    if t in ("response.in_progress", "response.queued"):
        return Expect(False, why="in_progress missing is a warning; queued is optional")
    if t in TERMINAL:
        return ERR("lifecycle", why="no terminal event")
    if t == ADDED:
        return ERR("item", why="item never announced")
    if t == ITEM_DONE:
        return ERR("item", why="item never closed")
    if t in PART_ADDED:
        return ERR("part", why="part never added")
    if t in PART_DONE:
        return ERR("part", why="part never closed")
    if t in DELTA:
        if not ev.get("delta"):
            return Expect(False, why="empty delta")
        others = [
            e
            for k, e in enumerate(events)
            if k != i and e.get("type") == t and part_key(e) == part_key(ev)
        ]
        if not others:
            # `delta* done`: a .done with no delta at all is grammatical (it carries the value).
            return Expect(False, why="the only delta: a .done without deltas is allowed")
        return ERR("accumulation", why="deltas no longer add up")
    if t in VALUE_DONE and _has_nonempty_delta(events, part_key(ev), i):
        return ERR("accumulation", why="deltas without a .done")
    if t == "error":
        return Expect(False, why="response.failed still carries the error")
    return None  # hosted-tool progress, annotations, partial images: no rule requires them


def expect_duplicate(events: list[dict[str, Any]], i: int) -> Expect | None:
    ev, t = events[i], events[i].get("type")
    if t in TERMINAL:
        return ERR("lifecycle", why="second terminal event")
    if t == ADDED:
        return ERR("item", why="output_index announced twice")
    if t == ITEM_DONE:
        return ERR("item", why="item closed twice")
    if t in PART_ADDED:
        return ERR("part", why="part index announced twice")
    if t in PART_DONE:
        return ERR("part", why="part closed twice")
    if t in DELTA:
        return (
            ERR("accumulation", why="a delta counted twice")
            if ev.get("delta")
            else Expect(False, why="empty delta")
        )
    if t in VALUE_DONE:
        return ERR("part", "accumulation", why="value closed twice")
    # created/in_progress repeated: openai-python accepts repeated lifecycle snapshots; no rule.
    return None


def expect_swap(events: list[dict[str, Any]], i: int) -> Expect | None:
    """Swap events i and i+1."""
    a, b = events[i], events[i + 1]
    ta, tb = a.get("type"), b.get("type")
    if ta in DELTA and tb in DELTA and ta == tb and part_key(a) == part_key(b):
        if a.get("delta", "") + b.get("delta", "") == b.get("delta", "") + a.get("delta", ""):
            return Expect(False, why="the two deltas commute")
        return ERR("accumulation", why="same-part deltas out of order")
    if ta == ITEM_DONE and tb == ADDED:
        return Expect(
            False, why="closing item i and announcing item i+1 commute (interleaving is a warning)"
        )
    if ta in PART_DONE and tb in PART_ADDED and a.get("output_index") == b.get("output_index"):
        return Expect(False, why="closing part k and adding part k+1 commute")
    if ta == "response.created":
        return ERR("lifecycle", why="created no longer first")
    if tb in TERMINAL:
        return ERR("lifecycle", why="an event after the terminal")
    oi = a.get("output_index")
    if ta == ADDED and b.get("output_index") == oi and tb not in START:
        return ERR("item", why="event for an item before its announcement")
    if ta in PART_ADDED and part_key(b) == part_key(a):
        return ERR("part", why="part event before the part is added")
    if ta in DELTA and tb in VALUE_DONE and part_key(a) == part_key(b) and a.get("delta"):
        return ERR("accumulation", "part", why="done before the last delta")
    if ta in VALUE_DONE and tb in PART_DONE and part_key(a) == part_key(b):
        return ERR("part", "accumulation", why="done after the part closed")
    if tb == ITEM_DONE and oi is not None and oi == b.get("output_index") and ta != ADDED:
        return ERR("item", "part", "accumulation", why="sub-event after its item closed")
    return None


def _index_of(events: list[dict[str, Any]], pred: Any) -> list[int]:
    return [i for i, e in enumerate(events) if pred(e)]


@SETTINGS
@given(bases, st.data())
def test_drop_an_event(base: Base, data: Any) -> None:
    events = base.fresh()
    i = data.draw(st.integers(0, len(events) - 1), label="drop")
    expect = expect_drop(events, i)
    t = events[i].get("type")
    del events[i]
    B.renumber(events)
    result = check(events, base)
    if expect is not None:
        assert_outcome(result, expect, f"{base.name}: drop #{i} {t}")


@SETTINGS
@given(bases, st.data())
def test_duplicate_an_event(base: Base, data: Any) -> None:
    events = base.fresh()
    i = data.draw(st.integers(0, len(events) - 1), label="duplicate")
    expect = expect_duplicate(events, i)
    t = events[i].get("type")
    events.insert(i + 1, json.loads(json.dumps(events[i])))
    B.renumber(events)
    result = check(events, base)
    if expect is not None:
        assert_outcome(result, expect, f"{base.name}: duplicate #{i} {t}")


@SETTINGS
@given(bases, st.data())
def test_swap_adjacent_events(base: Base, data: Any) -> None:
    events = base.fresh()
    i = data.draw(st.integers(0, len(events) - 2), label="swap")
    expect = expect_swap(events, i)
    pair = (events[i].get("type"), events[i + 1].get("type"))
    events[i], events[i + 1] = events[i + 1], events[i]
    B.renumber(events)
    result = check(events, base)
    if expect is not None:
        assert_outcome(result, expect, f"{base.name}: swap #{i} {pair}")


@SETTINGS
@given(bases, st.data())
def test_swap_same_part_deltas(base: Base, data: Any) -> None:
    """Targeted: two adjacent deltas of one part. Out of order breaks accumulation."""
    events = base.fresh()
    pairs = [
        i
        for i in range(len(events) - 1)
        if events[i].get("type") in DELTA
        and events[i + 1].get("type") == events[i].get("type")
        and part_key(events[i]) == part_key(events[i + 1])
    ]
    if not pairs:
        return
    i = data.draw(st.sampled_from(pairs), label="pair")
    expect = expect_swap(events, i)
    assert expect is not None
    events[i], events[i + 1] = events[i + 1], events[i]
    B.renumber(events)
    assert_outcome(check(events, base), expect, f"{base.name}: swap deltas #{i}")


@SETTINGS
@given(bases, st.data())
def test_renumber_sequence(base: Base, data: Any) -> None:
    events = base.fresh()
    how = data.draw(st.sampled_from(["offset", "gaps", "repeat", "decrease"]), label="how")
    if how == "offset":
        B.renumber(events, start=data.draw(st.integers(1, 1000)))
        expect = Expect(False, why="a non-zero start is a warning")
    elif how == "gaps":
        n = 0
        for e in events:
            e["sequence_number"] = n
            n += data.draw(st.integers(1, 3))
        expect = Expect(False, why="gaps are warnings")
    else:
        i = data.draw(st.integers(1, len(events) - 1), label="at")
        prev = events[i - 1]["sequence_number"]
        events[i]["sequence_number"] = (
            prev if how == "repeat" else prev - data.draw(st.integers(1, 5))
        )
        expect = ERR("sequence", why="sequence_number not strictly increasing")
    assert_outcome(check(events, base), expect, f"{base.name}: renumber {how}")


@SETTINGS
@given(bases, st.data())
def test_shift_output_index(base: Base, data: Any) -> None:
    events = base.fresh()
    idx = _index_of(events, lambda e: isinstance(e.get("output_index"), int))
    if not idx:
        return
    i = data.draw(st.sampled_from(idx), label="event")
    old = events[i]["output_index"]
    new = data.draw(st.integers(0, old + 3).filter(lambda v: v != old), label="new index")
    events[i]["output_index"] = new
    assert_outcome(
        check(events, base),
        ERR("item", why="output_index moved"),
        f"{base.name}: #{i} {events[i]['type']} output_index {old}->{new}",
    )


@SETTINGS
@given(bases, st.data())
def test_shift_content_index(base: Base, data: Any) -> None:
    events = base.fresh()
    idx = _index_of(
        events,
        lambda e: (
            isinstance(e.get("content_index"), int) or isinstance(e.get("summary_index"), int)
        ),
    )
    if not idx:
        return
    i = data.draw(st.sampled_from(idx), label="event")
    key = "content_index" if isinstance(events[i].get("content_index"), int) else "summary_index"
    old = events[i][key]
    new = data.draw(st.integers(0, old + 3).filter(lambda v: v != old), label="new index")
    events[i][key] = new
    assert_outcome(
        check(events, base),
        ERR("part", why=f"{key} moved"),
        f"{base.name}: #{i} {events[i]['type']} {key} {old}->{new}",
    )


@SETTINGS
@given(bases, st.data())
def test_change_item_id(base: Base, data: Any) -> None:
    events = base.fresh()
    idx = _index_of(
        events,
        lambda e: (
            isinstance(e.get("item_id"), str)
            or (
                e.get("type") in (ADDED, ITEM_DONE)
                and isinstance(e.get("item"), dict)
                and "id" in e["item"]
            )
        ),
    )
    if not idx:
        return
    i = data.draw(st.sampled_from(idx), label="event")
    ev = events[i]
    target = ev["item"] if "item_id" not in ev else ev
    field = "id" if "item_id" not in ev else "item_id"
    target[field] = target[field] + "x"
    assert_outcome(
        check(events, base),
        ERR("item", why="item id changed"),
        f"{base.name}: #{i} {ev['type']} {field} changed",
    )


@SETTINGS
@given(bases, st.data())
def test_alter_one_delta_character(base: Base, data: Any) -> None:
    events = base.fresh()
    idx = _index_of(events, lambda e: e.get("type") in DELTA and e.get("delta"))
    if not idx:
        return
    i = data.draw(st.sampled_from(idx), label="event")
    d = events[i]["delta"]
    k = data.draw(st.integers(0, len(d) - 1), label="char")
    repl = "#" if d[k] != "#" else "@"
    events[i]["delta"] = d[:k] + repl + d[k + 1 :]
    assert_outcome(
        check(events, base),
        ERR("accumulation", why="delta text altered"),
        f"{base.name}: #{i} delta char {k}",
    )


@SETTINGS
@given(bases, st.data())
def test_truncate_stream(base: Base, data: Any) -> None:
    events = base.fresh()
    k = data.draw(st.integers(1, terminal_index(events)), label="keep")
    assert_outcome(
        check(events[:k], base),
        ERR("lifecycle", why="no terminal event"),
        f"{base.name}: truncated to {k}",
    )


@SETTINGS
@given(bases, st.data())
def test_truncate_bytes_mid_event(base: Base, data: Any) -> None:
    """Cut the raw bytes anywhere inside the first data line .. before the terminal event's data ends.

    (A cut before any data line leaves no event at all: see test_empty_stream_has_no_terminal.)
    """
    raw = base.raw
    last = max(
        raw.rfind(b"response.completed"),
        raw.rfind(b"response.incomplete"),
        raw.rfind(b"response.failed"),
    )
    first = raw.find(b"data:") + len(b"data:") + 1
    if last <= first:
        return
    k = data.draw(st.integers(first, last), label="cut")
    result = conformance.check_sse(raw[:k], request=base.request)
    assert_outcome(
        result,
        ERR("lifecycle", "framing", why="stream cut before the terminal event"),
        f"{base.name}: bytes cut at {k}",
    )


@SETTINGS
@given(bases)
def test_null_usage(base: Base) -> None:
    events = base.fresh()
    term = events[terminal_index(events)]
    term["response"]["usage"] = None
    expect = (
        ERR("usage", why="terminal usage null")
        if term["type"] != "response.failed"
        else Expect(False, why="failed needs no usage")
    )
    assert_outcome(check(events, base), expect, f"{base.name}: usage null on {term['type']}")


@SETTINGS
@given(bases, st.integers(1, 50), st.booleans())
def test_break_total_tokens(base: Base, delta: int, down: bool) -> None:
    events = base.fresh()
    usage = events[terminal_index(events)]["response"].get("usage")
    if not isinstance(usage, dict):
        return
    usage["total_tokens"] = usage["total_tokens"] + (-delta if down else delta)
    assert_outcome(
        check(events, base),
        ERR("usage", why="total != input + output"),
        f"{base.name}: total_tokens off by {delta}",
    )


@SETTINGS
@given(bases, st.data())
def test_change_response_id(base: Base, data: Any) -> None:
    events = base.fresh()
    idx = _index_of(events, lambda e: e.get("type") in START | TERMINAL)
    i = data.draw(st.sampled_from(idx), label="event")
    events[i]["response"]["id"] = "resp_other"
    assert_outcome(
        check(events, base),
        ERR("lifecycle", why="response id changed"),
        f"{base.name}: #{i} id changed",
    )


@SETTINGS
@given(bases, st.data())
def test_move_event_after_terminal(base: Base, data: Any) -> None:
    events = base.fresh()
    i = data.draw(st.integers(0, terminal_index(events) - 1), label="event")
    t = events[i]["type"]
    events.append(events.pop(i))
    B.renumber(events)
    assert_outcome(
        check(events, base),
        ERR("lifecycle", why="an event after the terminal"),
        f"{base.name}: #{i} {t} moved last",
    )


# ---- semantics-preserving changes (bytes and JSON) ---------------------------------------------------
def _rules(result: Any) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.severity, f.event_index) for f in result.findings)


@SETTINGS
@given(bases, st.lists(st.integers(1, 4096), min_size=1, max_size=40))
def test_rechunking_bytes_changes_nothing(base: Base, cuts: list[int]) -> None:
    raw = base.raw
    points = sorted({c % len(raw) for c in cuts} | {0, len(raw)})
    chunks = [raw[a:b] for a, b in itertools.pairwise(points)]
    whole = conformance.check_sse(raw, request=base.request)
    split = conformance.check_sse(chunks, request=base.request)
    assert _rules(split) == _rules(whole)
    assert not error_rules(split)


def _shuffle_keys(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffle_keys(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffle_keys(v, rng) for v in value]
    return value


@SETTINGS
@given(bases, st.integers(0, 2**32))
def test_reordering_json_keys_changes_nothing(base: Base, seed: int) -> None:
    rng = random.Random(seed)
    events = [_shuffle_keys(e, rng) for e in base.fresh()]
    raw = B.to_sse(events)
    assert not error_rules(conformance.check_sse(raw, request=base.request))


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(max_size=5))
_json_values = st.recursive(
    _json_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(bases, st.data())
def test_unknown_extra_fields_change_nothing(base: Base, data: Any) -> None:
    events = base.fresh()
    chosen = data.draw(
        st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=5, unique=True),
        label="events",
    )
    for i in chosen:
        name = data.draw(
            st.sampled_from(["obfuscation", "x_vendor", "stream_id", "trace"]), label="field"
        )
        # `obfuscation` is a documented field (a string on the live API's deltas): only a string
        # is "unknown extra data"; the other names are free-form vendor additions.
        values = st.text(max_size=12) if name == "obfuscation" else _json_values
        events[i][name] = data.draw(values, label="value")
    # An extra key inside every snapshot alike (vendors add fields to Response objects too).
    for ev in events:
        if isinstance(ev.get("response"), dict):
            ev["response"]["x_vendor_meta"] = {"region": "eu"}
    assert not error_rules(check(events, base))


@SETTINGS
@given(bases, st.sampled_from(["\r\n", "\r"]))
def test_line_endings_change_nothing(base: Base, newline: str) -> None:
    raw = B.to_sse(base.fresh(), newline=newline)
    lf = conformance.check_sse(B.to_sse(base.fresh()), request=base.request)
    other = conformance.check_sse(raw, request=base.request)
    assert _rules(other) == _rules(lf)
    assert not error_rules(other)


@SETTINGS
@given(bases, st.data())
def test_comment_lines_change_nothing(base: Base, data: Any) -> None:
    events = base.fresh()
    out = []
    for ev in events:
        if data.draw(st.booleans(), label="comment"):
            out.append(b": " + data.draw(st.sampled_from([b"keep-alive", b"", b"ping 1"])) + b"\n")
        out.append(B.to_sse([ev]))
    result = conformance.check_sse(b"".join(out), request=base.request)
    assert _rules(result) == _rules(conformance.check_sse(B.to_sse(events), request=base.request))
    assert not error_rules(result)


# ---- the expectation tables themselves ----------------------------------------------------------------
def test_expectations_are_precise_on_a_known_stream() -> None:
    """Spot-check the classifier on the built text stream (so the tables are not vacuous)."""
    fx = next(b for b in FIXTURE_BASES if b.name == "positive/built/text")
    ev = fx.fresh()
    types = [e["type"] for e in ev]
    d0 = types.index("response.output_text.delta")
    assert expect_drop(ev, 0) == ERR("lifecycle", why="first event is no longer response.created")
    assert expect_drop(ev, d0).families == {"accumulation"}
    assert expect_swap(ev, d0) is not None and expect_swap(ev, d0).families == {"accumulation"}
    assert expect_swap(ev, 0).families == {"lifecycle"}
    last = types.index("response.completed") - 1
    assert expect_swap(ev, last).families == {"lifecycle"}


@pytest.mark.parametrize(
    "name", ["positive/built/multiple-messages", "positive/openai-api/fantasy-parallel-tools-gpt-5"]
)
def test_item_done_and_next_added_commute(name: str) -> None:
    """The one adjacent pair that commutes at error level: done(i) / added(i+1)."""
    base = next(b for b in FIXTURE_BASES if b.name == name)
    events = base.fresh()
    i = next(
        k
        for k in range(len(events) - 1)
        if events[k]["type"] == ITEM_DONE and events[k + 1]["type"] == ADDED
    )
    assert expect_swap(events, i) == Expect(
        False, why="closing item i and announcing item i+1 commute (interleaving is a warning)"
    )
    events[i], events[i + 1] = events[i + 1], events[i]
    B.renumber(events)
    result = check(events, base)
    assert not error_rules(result)


@pytest.mark.parametrize("raw", [b"", b": keep-alive\n\n", b"event: response.created\n"])
def test_empty_stream_has_no_terminal(raw: bytes) -> None:
    """A 200 stream that ends before any event has no terminal event (Codex: 'stream closed
    before response.completed'). RULES.md lifecycle.no-terminal makes that an error."""
    assert "lifecycle.no-terminal" in error_rules(
        conformance.check_sse(raw, content_type="text/event-stream")
    )
