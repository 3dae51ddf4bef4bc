"""What every fixture spec uses: the `@spec` registry, provenance of wild defects, shared
requests and texts, and the streams most negative fixtures start from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.testing.streams import Event, Stream, Text, chunks
from conformance.testing.streams import renumber as _renumber


def renumber(events: list[Event], start: int = 0) -> list[Event]:
    """Renumber the events that have a sequence_number; those without stay without."""
    return _renumber(events, start, keep_unnumbered=True)


GENERATOR = "scripts/make_fixtures.py"
Body = list[Any] | bytes | dict[str, Any]


@dataclass
class Spec:
    path: str  # under fixtures/streams/, without extension
    description: str
    build: Callable[[], Body]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()
    kind: str = "sse"
    profile: str | None = None
    tolerate: tuple[str, ...] = ()
    target_kind: str | None = None
    request: dict[str, Any] | None = None
    content_type: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    # "<module>.<file stem>", e.g. "item.duplicate-index": where the spec is written
    # (scripts/fixture_specs/item.py), recorded in the sidecar's `spec`.
    name: str = ""


SPECS: list[Spec] = []


def spec(
    path: str, description: str, **kw: Any
) -> Callable[[Callable[[], Body]], Callable[[], Body]]:
    def deco(fn: Callable[[], Body]) -> Callable[[], Body]:
        prov = kw.pop("provenance", None) or {}
        features = kw.pop("features", ())
        base: dict[str, Any] = {"source": "built", "generator": GENERATOR}
        if features:
            base["features"] = list(features)
        name = f"{fn.__module__.rpartition('.')[2]}.{path.rpartition('/')[2]}"
        SPECS.append(Spec(path, description, fn, provenance={**base, **prov}, name=name, **kw))
        return fn

    return deco


def wild(*refs: str, notes: str) -> dict[str, Any]:
    """Provenance of a defect class seen in a public tracker (the stream is a reconstruction)."""
    urls = []
    for ref in refs:
        repo, _, num = ref.partition("#")
        if "/" in repo and num.isdigit():
            urls.append(f"https://github.com/{repo}/issues/{num}")
        elif ref.startswith("openai/gpt-oss"):
            urls.append("https://github.com/openai/gpt-oss")
    prov: dict[str, Any] = {"source": "wild", "trackers": list(refs)}
    if urls:
        prov["urls"] = urls
    prov["reconstructed"] = True
    prov["notes"] = notes
    return prov


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "Local time in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
LOOSE_WEATHER_TOOL = {**WEATHER_TOOL, "strict": False}
HELLO = "Hello there! How can I assist you today?"
# Sixteen tokens of a longer story: what a server had streamed when max_output_tokens=16 hit.
LIGHTHOUSE = (
    "The lighthouse stood on a black rock at the edge of the world, and every night its keeper"
)
PARIS = "Paris is the capital of France. It sits on the Seine."


def req(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "input": "Say hello.", "stream": True}
    body.update(fields)
    return body


def text_stream(seed: str, text: str = HELLO, **kw: Any) -> Stream:
    """created → in_progress → one message → completed."""
    s = Stream(seed, **kw).open()
    s.message(Text(chunks(text)))
    return s.complete()


def weather_stream(
    seed: str,
    request: dict[str, Any],
    *,
    calls: Sequence[tuple[str, str]] = (("get_weather", '{"city":"Paris","unit":"c"}'),),
) -> Stream:
    s = Stream(seed, request=request).open()
    for name, args in calls:
        s.function_call(name, [args[: len(args) // 2], args[len(args) // 2 :]])
    return s.complete()


PARALLEL_REQ = req(
    input="Weather and time in Paris?", tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True
)
MAX16_REQ = req(input="Write a long story about a lighthouse.", max_output_tokens=16)


def url_citation(title: str, url: str, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "end_index": end,
        "start_index": start,
        "title": title,
        "url": url,
    }


N = "negative/"


def base_events(seed: str, **kw: Any) -> list[Event]:
    return text_stream(seed, **kw).events


W = "negative/wild/"
NO_SEQ_NOTE = (
    "Built as a recording from before about April 2025 looks: no sequence_number on any event."
)
GPT_OSS = "openai/gpt-oss (gpt_oss/responses_api reference server)"
