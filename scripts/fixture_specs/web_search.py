"""Fixture specs of web search (`web_search_call` lifecycle, `url_citation` annotations): each
negative fixture is the same cited answer with exactly one defect."""

from __future__ import annotations

import copy
from typing import Any

from conformance.testing.streams import Stream, Text, chunks, terminal
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import N, renumber, req, spec, url_citation

ANSWER = "A reef recovered in Fiji ([reefnews.org](https://reefnews.org/fiji)). Wolves returned to Colorado ([wildnews.org](https://wildnews.org/co))."
REEF = ("Reef recovers", "https://reefnews.org/fiji")
WOLVES = ("Wolves return", "https://wildnews.org/co")


def _span(text: str, url: str) -> tuple[int, int]:
    """Offsets of the `([host](url))` link that cites `url` in `text`."""
    end = text.index(f"({url}))") + len(url) + 3
    return text.rindex("([", 0, end), end


REQUEST = req(input="Any good news today?", tools=[{"type": "web_search"}])


def cited(
    seed: str,
    *,
    spans: dict[str, tuple[int, int]] | None = None,
    urls: dict[str, str] | None = None,
    reverse: bool = False,
) -> Any:
    """A search, then the cited answer; each annotation is announced right after the delta
    that completes its link. `spans` / `urls` override an annotation's offsets / url;
    `reverse`: both are announced at the end, the later link first."""
    s = Stream(seed, request=REQUEST).open()
    s.web_search("good news today")
    deltas = chunks(ANSWER)
    annotations = []
    for title, url in (REEF, WOLVES):
        start, end = (spans or {}).get(url) or _span(ANSWER, url)
        after = next(
            (k for k in range(len(deltas)) if len("".join(deltas[: k + 1])) >= end), len(deltas) - 1
        )
        annotations.append((after, url_citation(title, (urls or {}).get(url, url), start, end)))
    if reverse:
        annotations = [(len(deltas) - 1, a) for _, a in reversed(annotations)]
    s.message(Text(deltas, annotations=annotations))
    return s.complete().events


def annotation_events(ev: list[Any]) -> list[int]:
    return [i for i, e in enumerate(ev) if e.get("type") == "response.output_text.annotation.added"]


@spec(
    N + "call/web-search-lifecycle",
    "`web_search_call.searching` arrives before `web_search_call.in_progress`.",
    errors=("call.web-search-lifecycle",),
    request=REQUEST,
)
def _n_ws_lifecycle() -> Any:
    ev = cited("n-ws-lifecycle")
    i = find(ev, "response.web_search_call.in_progress")
    ev[i], ev[i + 1] = ev[i + 1], ev[i]
    return renumber(ev)


@spec(
    N + "call/web-search-action-missing",
    "The done web_search_call (and the terminal snapshot's) has no `action`.",
    errors=("call.web-search-action-missing", "schema.item"),
    request=REQUEST,
)
def _n_ws_action() -> Any:
    ev = cited("n-ws-action")
    done = ev[find(ev, "response.output_item.done", output_index=0)]
    for item in (done["item"], terminal(ev)["output"][0]):
        item.pop("action", None)
    return ev


@spec(
    N + "part/annotation-out-of-range",
    "The second url_citation ends 40 characters past the end of the answer.",
    errors=("part.annotation-out-of-range",),
    warnings=("part.annotation-before-text",),
    request=REQUEST,
)
def _n_ann_range() -> Any:
    return cited("n-ann-range", spans={WOLVES[1]: (_span(ANSWER, WOLVES[1])[0], len(ANSWER) + 40)})


@spec(
    N + "part/annotation-out-of-order",
    "The two url_citations are streamed (and kept) in reverse text order.",
    errors=(),
    warnings=("part.annotation-out-of-order",),
    request=REQUEST,
)
def _n_ann_order() -> Any:
    return cited("n-ann-order", reverse=True)


@spec(
    N + "part/annotation-url-empty",
    "A url_citation has an empty `url`.",
    errors=("part.annotation-url-empty",),
    request=REQUEST,
)
def _n_ann_url() -> Any:
    return cited("n-ann-url", urls={REEF[1]: ""})


@spec(
    N + "part/annotation-index",
    "The second annotation.added event has annotation_index 2 (1 expected).",
    errors=("part.annotation-index",),
    request=REQUEST,
)
def _n_ann_index() -> Any:
    ev = cited("n-ann-index")
    ev[annotation_events(ev)[1]]["annotation_index"] = 2
    return ev


@spec(
    N + "part/annotation-before-text",
    "The first annotation.added event comes before any text of its part.",
    errors=(),
    warnings=("part.annotation-before-text",),
    request=REQUEST,
)
def _n_ann_early() -> Any:
    ev = cited("n-ann-early")
    moved = ev.pop(annotation_events(ev)[0])
    ev.insert(find(ev, "response.content_part.added", output_index=1) + 1, moved)
    return renumber(ev)


@spec(
    N + "accumulation/annotations-mismatch",
    "The done message and the terminal snapshot drop the second streamed url_citation.",
    errors=("accumulation.annotations-mismatch",),
    request=REQUEST,
)
def _n_ann_mismatch() -> Any:
    ev = cited("n-ann-mismatch")
    done = ev[find(ev, "response.output_item.done", output_index=1)]
    part_done = ev[find(ev, "response.content_part.done", output_index=1)]
    for part in (
        done["item"]["content"][0],
        part_done["part"],
        terminal(ev)["output"][1]["content"][0],
    ):
        part["annotations"] = copy.deepcopy(part["annotations"][:1])
    return ev
