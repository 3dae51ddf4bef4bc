"""Web search: the `web_search_call` lifecycle and the `url_citation` annotations of the answer.

Ids live in the families they belong to (`call.*` for the tool call, `part.*` for annotations
of a content part, `accumulation.*` for streamed versus final annotations).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order: web_search_call; url_citation annotations"
_PROGRESS = ("response.web_search_call.in_progress", "response.web_search_call.searching",
             "response.web_search_call.completed")
_STEP = {t: i for i, t in enumerate(_PROGRESS)}
_ANNOTATION = "response.output_text.annotation.added"


def _streamed(st: Any, oi: int) -> dict[int, list[Any]]:
    """Annotations streamed so far for the item at output index `oi`, per content index."""
    return st.annotations.setdefault(oi, {})


# -- web_search_call -----------------------------------------------------------------------------

@rule("call.web-search-lifecycle", "error", "web_search_call progress out of order",
      "A `web_search_call` streams `response.web_search_call.in_progress`, `.searching`, "
      "`.completed`, each once and in that order, between its `output_item.added` and "
      "`output_item.done`; a `completed` item has seen all three, a `failed` one never `.completed`.",
      spec=SPEC,
      on=_PROGRESS)
def web_search_progress(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    oi = ev.get("output_index")
    if type(oi) is not int:
        return
    # Recorded even for an item already done (item.after-done reports that), so the final
    # check below knows what arrived at all.
    seen: list[str] = st.web_search_steps.setdefault(oi, [])
    it = ctx.item
    judge = it is not None and it.type == "web_search_call" and it.phase == "open"
    step = _STEP[ctx.etype]
    if not judge:
        pass
    elif ctx.etype in seen:
        yield f"{ctx.etype} again for web_search_call {oi}"
    elif seen and _STEP[seen[-1]] > step:
        yield f"{ctx.etype} after {seen[-1]} for web_search_call {oi}"
    elif len(seen) < step and not st.undecodable:  # a lost message may have been the step
        yield (f"{ctx.etype} for web_search_call {oi} before "
               f"{', '.join(t for t in _PROGRESS[:step] if t not in seen)}")
    seen.append(ctx.etype)


@rule("call.web-search-lifecycle", on=("@output",))
def web_search_finished(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    if ctx.is_body:
        return  # a non-stream body has no events to judge
    for oi, item in ctx.output_items:
        if not isinstance(item, dict) or item.get("type") != "web_search_call":
            continue
        seen = st.web_search_steps.get(oi, [])
        status = item.get("status")
        if status == "completed" and len(set(seen)) < len(_PROGRESS) and not st.undecodable:
            missing = [t for t in _PROGRESS if t not in seen]
            yield Hit(f"web_search_call {oi} finished as completed, but the stream never sent "
                      f"{', '.join(missing)}", output_index=oi)
        elif status == "failed" and _PROGRESS[-1] in seen:
            yield Hit(f"web_search_call {oi} finished as failed after {_PROGRESS[-1]}", output_index=oi)


@rule("call.web-search-action-missing", "error", "web_search_call done without action",
      "A finished `web_search_call` item carries its `action` (`search`, `open_page` or "
      "`find_in_page`); only the `added` item may lack it.", spec=SPEC,
      on=("@output",))
def web_search_action(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for oi, item in ctx.output_items:
        if not isinstance(item, dict) or item.get("type") != "web_search_call":
            continue
        if item.get("status") == "completed" and not isinstance(item.get("action"), dict):
            yield Hit(f"web_search_call {oi} finished without an action "
                      f"(got {short(item.get('action'))})", output_index=oi)


# -- url_citation annotations --------------------------------------------------------------------

def _citations(annotations: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(annotations, list):
        return []
    return [(i, a) for i, a in enumerate(annotations) if isinstance(a, dict) and a.get("type") == "url_citation"]


def _message_parts(item: Any) -> Iterator[tuple[int, str, Any]]:
    if not isinstance(item, dict) or item.get("type") != "message" or not isinstance(item.get("content"), list):
        return
    for ci, part in enumerate(item["content"]):
        if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
            yield ci, part["text"], part.get("annotations")


def _offset_problem(a: dict[str, Any], length: int) -> str | None:
    s, e = a.get("start_index"), a.get("end_index")
    if type(s) is not int or type(e) is not int:
        return f"start_index {short(s)} / end_index {short(e)} are not integers"
    if not 0 <= s <= e <= length:
        return f"[{s}, {e}) is not within the part's {length} characters of text"
    return None


@rule("part.annotation-out-of-range", "error", "url_citation offsets outside the part's text",
      "A `url_citation`'s `start_index` and `end_index` are integers with "
      "0 ≤ start_index ≤ end_index ≤ the length of its content part's final text.", spec=SPEC,
      on=("@output",))
def citations_in_range(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for oi, item in ctx.output_items:
        for ci, text, anns in _message_parts(item):
            for ai, a in _citations(anns):
                problem = _offset_problem(a, len(text))
                if problem:
                    yield Hit(f"url_citation {ai} of output {oi} content {ci}: {problem}",
                              output_index=oi, content_index=ci, excerpt=short(a, 160))


@rule("part.annotation-out-of-order", "warning", "url_citations not in text order",
      "A part's `url_citation` annotations come in the order of their `start_index`.", spec=SPEC,
      on=("@output",))
def citations_in_order(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for oi, item in ctx.output_items:
        for ci, _text, anns in _message_parts(item):
            starts: list[tuple[int, int]] = [(ai, a["start_index"]) for ai, a in _citations(anns)
                                             if type(a.get("start_index")) is int]
            for (_, prev), (ai, cur) in itertools.pairwise(starts):
                if cur < prev:
                    yield Hit(f"url_citation {ai} of output {oi} content {ci} starts at {cur}, "
                              f"before the previous one ({prev})", output_index=oi, content_index=ci)
                    break


@rule("part.annotation-url-empty", "error", "url_citation without url",
      "Every `url_citation` has a non-empty `url` (a client renders it as a link).", spec=SPEC,
      on=("@output",))
def citations_have_urls(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for oi, item in ctx.output_items:
        for ci, _text, anns in _message_parts(item):
            for ai, a in _citations(anns):
                if not isinstance(a.get("url"), str) or not a["url"].strip():
                    yield Hit(f"url_citation {ai} of output {oi} content {ci} has url {short(a.get('url'))}",
                              output_index=oi, content_index=ci)


@rule("part.annotation-index", "error", "annotation_index not 0, 1, 2, … per part",
      "`response.output_text.annotation.added` events number their `annotation_index` from 0 "
      "without gaps within each content part.", spec=SPEC,
      on=(_ANNOTATION,))
def annotation_index(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it, ci = ctx.item, ev.get("content_index")
    if it is None or it.phase != "open" or type(ci) is not int:
        return
    got = _streamed(st, it.index).setdefault(ci, [])
    n = ev.get("annotation_index")
    if n != len(got):
        yield (f"annotation_index {short(n)} for content {ci} of item {it.index}; "
               f"expected {len(got)} ({len(got)} annotations streamed before)")
    got.append(ev.get("annotation"))


@rule("part.annotation-before-text", "warning", "annotation before the text it points into",
      "An `annotation.added` event comes after the deltas that hold the text it cites "
      "(its `end_index` is within the text streamed so far).", spec=SPEC,
      on=(_ANNOTATION,))
def annotation_after_text(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    part, a = ctx.part, ev.get("annotation")
    if part is None or part.phase == "closed" or part.tainted or not isinstance(a, dict):
        return
    end = a.get("end_index")
    if type(end) is not int:
        return
    text = part.done_value if part.phase == "text_done" and isinstance(part.done_value, str) else part.text()
    if end > len(text):
        yield (f"annotation ends at {end} but only {len(text)} characters of content "
               f"{ev.get('content_index')} were streamed before it")


def _mismatch(where: str, oi: int, streamed: dict[int, list[Any]], item: Any) -> Iterator[Hit]:
    for ci, _text, anns in _message_parts(item):
        final = anns if isinstance(anns, list) else []
        sent = streamed.get(ci, [])
        if final != sent:
            yield Hit(f"{where} has {len(final)} annotations on output {oi} content {ci}, but "
                      f"{len(sent)} were streamed" + ("" if len(final) != len(sent) else " (they differ)"),
                      output_index=oi, content_index=ci)


@rule("accumulation.annotations-mismatch", "error", "final annotations differ from streamed",
      "The annotations of a content part in the done item and in the terminal snapshot equal "
      "the ones streamed as `annotation.added` events, in order.", spec=SPEC,
      on=("response.output_item.done",))
def done_item_annotations(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    it = ctx.item
    if it is None or it.phase != "open":
        return
    yield from _mismatch("output_item.done", it.index, _streamed(st, it.index), ev.get("item"))


@rule("accumulation.annotations-mismatch", on=("@response",))
def snapshot_annotations(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    output = ctx.response.get("output") if isinstance(ctx.response, dict) else None
    if ctx.is_body or not isinstance(output, list):
        return
    for oi, item in enumerate(output):
        streamed = st.annotations.get(oi)
        if streamed is not None or any(_citations(p) for _c, _t, p in _message_parts(item)):
            yield from _mismatch(f"the terminal snapshot ({ctx.etype})", oi, streamed or {}, item)
