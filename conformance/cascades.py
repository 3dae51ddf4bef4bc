"""One root cause, one headline: fold the findings a defect causes under the finding of the defect.

A stream with one real defect can make dozens of findings that only restate it: every delta
after a framing break that lost an `output_item.added`, every later event of an output_index
announced twice, the same missing field in every snapshot. `fold()` keeps every finding (counts,
severities and exit codes do not change) but marks the consequences: `caused_by` names the
root (`Finding.ref()`), and the root's `derived` counts them. Reporters show the root and a
one-line summary of what it caused.

Cascades recognised, in this order (a finding joins the first that claims it):
1. framing break (`framing.invalid-json`, `framing.not-an-event`, `framing.empty-event`,
   `framing.invalid-utf8`): every finding of another family at a later event, or at the end;
2. `item.duplicate-index` at output_index k: later findings (other rules) at output_index k;
3. the same defect repeated: `schema.*` findings whose field and message are the same once the
   event type and the object's position (`/response`, `/item`, `/response/output/N`, `/part`)
   are set aside: the first is the root;
4. a per-rule "… and N more occurrences" summary follows the root of the findings it continues.

Pure and idempotent: folding folded findings gives the same findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from conformance.findings import Finding

__all__ = ["FRAMING_BREAKS", "fold", "groups", "summarize", "weight"]

FRAMING_BREAKS = frozenset(
    {"framing.invalid-json", "framing.not-an-event", "framing.empty-event", "framing.invalid-utf8"}
)
_MORE = re.compile(r"^… and (\d+) more occurrences of ")
_POSITION = re.compile(r"^(?:/response/output/\d+|/response|/item|/part)(?=/|$)")


def _after(f: Finding, at: int | None) -> bool:
    """`f` sits at a later event than `at` (end-of-stream findings come after every event)."""
    if at is None:
        return False
    return f.event_index is None or f.event_index > at


def _signature(f: Finding) -> tuple[str, str] | None:
    """What a schema finding says once the event type and the object's position are set aside."""
    if not f.rule.startswith("schema.") or _MORE.match(f.message):
        return None
    _etype, sep, rest = f.message.partition(" ")
    if not sep or not rest.startswith("/"):
        return None
    pointer, sep, what = rest.partition(": ")
    return (f.rule.split(".")[0], _POSITION.sub("", pointer) + sep + what)


def fold(findings: Sequence[Finding]) -> list[Finding]:
    """`findings` with `caused_by` set on every consequence and `derived` on every root."""
    base = [replace(f, caused_by=None, derived=0) if (f.caused_by or f.derived) else f for f in findings]
    cause: list[int | None] = [None] * len(base)
    framing_at: int | None = None  # index into base of the latest framing break
    dup: dict[int, int] = {}  # output_index -> index of its item.duplicate-index root
    seen: dict[tuple[str, str], int] = {}
    last_root_of_rule: dict[str, int | None] = {}
    for i, f in enumerate(base):
        family = f.rule.split(".", 1)[0]
        if f.rule in FRAMING_BREAKS:
            framing_at = i
            continue
        more = _MORE.match(f.message)
        if more:
            cause[i] = last_root_of_rule.get(f.rule)
            continue
        root: int | None = None
        if framing_at is not None and family != "framing" and _after(f, base[framing_at].event_index):
            root = framing_at
        if root is None and f.output_index is not None and f.output_index in dup and f.rule != "item.duplicate-index":
            j = dup[f.output_index]
            if _after(f, base[j].event_index) or f.event_index == base[j].event_index:
                root = j
        if root is None:
            sig = _signature(f)
            if sig is not None:
                j = seen.setdefault(sig, i)
                if j != i:
                    root = j
        if f.rule == "item.duplicate-index" and f.output_index is not None and root is None:
            dup.setdefault(f.output_index, i)
        cause[i] = root
        # The "… and N more" line of this rule follows the one root all its findings share.
        eff = root if root is not None else i
        prev = last_root_of_rule.get(f.rule, -1)
        last_root_of_rule[f.rule] = eff if prev in (-1, eff) else None
    # A root's own root (a schema repeat after a framing break): point at the top.
    for i, c in enumerate(cause):
        seen_chain = set()
        while c is not None and cause[c] is not None and c not in seen_chain:
            seen_chain.add(c)
            c = cause[c]
        cause[i] = c
    counts: dict[int, int] = {}
    for c in cause:
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
    if not counts:
        return base
    out = []
    for i, f in enumerate(base):
        c = cause[i]
        if c is not None:
            out.append(replace(f, caused_by=base[c].ref()))
        elif i in counts:
            out.append(replace(f, derived=counts[i]))
        else:
            out.append(f)
    return out


def groups(findings: Sequence[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """(root, the findings folded under it) for every finding that is not itself derived.

    Expects folded findings (`fold`); a `caused_by` naming no finding of the list leaves the
    finding standing on its own."""
    roots: dict[str, tuple[Finding, list[Finding]]] = {}
    order: list[tuple[Finding, list[Finding]]] = []
    for f in findings:
        if f.caused_by is None:
            entry: tuple[Finding, list[Finding]] = (f, [])
            order.append(entry)
            roots.setdefault(f.ref(), entry)
    for f in findings:
        if f.caused_by is not None:
            found = roots.get(f.caused_by)
            if found is None:
                order.append((f, []))
            else:
                found[1].append(f)
    return order


def weight(f: Finding) -> int:
    """How many occurrences a finding stands for (a per-rule "… and N more" line: N)."""
    m = _MORE.match(f.message)
    return int(m.group(1)) if m else 1


def summarize(derived: Sequence[Finding]) -> str:
    """`item.unknown-index ×20, sequence.gap` — the rules of the folded findings, most first."""
    counts: dict[str, int] = {}
    for f in derived:
        counts[f.rule] = counts.get(f.rule, 0) + weight(f)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(rule if n == 1 else f"{rule} ×{n}" for rule, n in ranked)
