"""output.*: the terminal snapshot's `output` must be the output_item.done items, in index order.

The official API re-issues opaque server-generated fields between output_item.done and the
terminal snapshot (tolerance "reissued-opaque-fields"): those are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order: the terminal snapshot's output equals the output_item.done items"


OPAQUE_FIELDS = frozenset({"encrypted_content", "fingerprint"})


def first_difference(a: Any, b: Any, path: str = "", ignore: frozenset[str] = frozenset()) -> tuple[str, Any, Any] | None:
    """JSON pointer of the first place two JSON values differ, with both values there."""
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool)):
        return path, a, b
    if isinstance(a, dict):
        # a's keys in order, then b's others: a set union would make "the first" difference
        # depend on the process's string hash seed.
        for k in [*a, *(k for k in b if k not in a)]:
            if k in ignore:
                continue
            if k not in b:
                return f"{path}/{k}", a[k], "<absent>"
            if k not in a:
                return f"{path}/{k}", "<absent>", b[k]
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d is not None:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_difference(x, y, f"{path}/{i}")
            if d is not None:
                return d
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def _same_json(a: Any, b: Any) -> bool:
    """Whether two decoded items are the same JSON value (key order aside), so that
    `first_difference` finds nothing whatever it ignores. Compared as serialised bytes: `==`
    alone would equate `1`, `1.0` and `true`, which first_difference tells apart."""
    if a != b:
        return False
    try:
        return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return False  # not plain JSON (a caller's own objects): the full comparison decides


def _unknown_keys(item: Any) -> frozenset[str]:
    """Top-level keys of an output item its schema does not declare (a known item type only)."""
    if not isinstance(item, dict):
        return frozenset()
    from conformance.contracts import quick_issues, unknown_field_issues

    if quick_issues(item, "output_item") == []:
        return frozenset()  # valid, and no key its closed schema lacks: the walk has nothing to find
    return frozenset(
        i.pointer[1:] for i in unknown_field_issues(item, "output_item") if i.pointer.count("/") == 1
    )


@rule("output.null", "warning", "terminal output is null",
      "Terminal `response.output` is null (openai-python ≤3.3 raises TypeError).",
      spec=SPEC, breaks=("openai-python<=3.3",),
      on=("@terminal",))
def output_not_null(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    resp = ev.get("response")
    if isinstance(resp, dict) and "output" in resp and resp["output"] is None:
        yield f"{ctx.etype} has response.output null; expected the list of output items"


@rule("output.mismatch", "error", "terminal output differs from the done items",
      "Terminal `response.output` differs from the sequence of `output_item.done` items "
      "(compared by index; the first difference is reported). Re-issued `encrypted_content` / "
      "`fingerprint` are ignored.", spec=SPEC,
      on=("@terminal",))
def output_matches_done_items(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    resp = ev.get("response")
    if not isinstance(resp, dict) or not isinstance(resp.get("output"), list):
        return
    output = resp["output"]
    ignore = OPAQUE_FIELDS if ctx.profile.tolerates("reissued-opaque-fields") else frozenset()
    # What the stream promised, in index order: each done item, and a placeholder (None) for
    # an item still open (item.not-closed reports it; its final form is unknown, and the
    # snapshot may list it or leave it out).
    expected: list[tuple[int, Any]] = list(st.done_items())
    expected += [(i, None) for i, it in st.items.items() if it.phase == "open"]
    expected.sort(key=lambda p: p[0])
    if len(output) < len(expected) and len(output) == sum(1 for _, d in expected if d is not None):
        expected = [p for p in expected if p[1] is not None]  # the snapshot left out the open items
    for pos in range(max(len(output), len(expected))):
        if pos >= len(expected):
            yield Hit(
                f"response.output has {len(output)} items but only {len(expected)} were streamed: "
                f"output[{pos}] {short(output[pos], 80)} never appeared in an output_item.done",
                excerpt=short(output[pos], 160),
            )
            return
        oi, done = expected[pos]
        if pos >= len(output):
            yield Hit(
                f"response.output has {len(output)} items but item {oi} was streamed"
                + (" and completed by output_item.done" if done is not None else ""),
                output_index=oi,
            )
            return
        if done is None:
            continue
        snap = output[pos]
        if _same_json(done, snap):
            continue  # the usual case: nothing differs, so neither walk nor comparison is needed
        # Fields the contracts do not know may be filled late (forward compatibility): compare
        # the known ones first; a difference in an unknown one alone is a warning.
        news = _unknown_keys(done) | _unknown_keys(snap) if isinstance(snap, dict) else frozenset()
        skip = (ignore | news) if isinstance(snap, dict) else frozenset()
        d = first_difference(done, snap, "", skip)
        if d is not None and d[0] == "/id" and pos in st.changed_identity_output:
            # item.identity-changed reported this call's new id: judge the rest of it.
            d = first_difference(done, snap, "", (skip | {"id"}) if isinstance(snap, dict) else frozenset())
        cap = None
        if d is None and news:
            d = first_difference(done, snap, "", ignore)
            cap = "warning"
        if d is not None:
            ptr, a, b = d
            it = st.items.get(oi)
            note = "; a field unknown to the contracts, filled late" if cap else ""
            yield Hit(
                f"response.output[{pos}]{ptr} is {short(b)} but output_item.done (output_index {oi}"
                f"{', event ' + str(it.done_at) if it is not None and it.done_at is not None else ''}) had {short(a)}{note}",
                output_index=oi,
                excerpt=short(snap, 160),
                max_severity=cap,
            )
            return
