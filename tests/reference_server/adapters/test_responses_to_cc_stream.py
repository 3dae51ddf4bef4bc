"""Responses events -> CC chunks: real api.openai.com captures and writer-built streams give CC
chunk streams that rebuild the same message as the non-stream conversion of their snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.protocol.events import ResponseEventWriter
from reference_server.sources.adapters.chat_completions import response_to_completion
from reference_server.sources.adapters.common import responses_usage
from reference_server.sources.adapters.responses_to_cc_stream import ResponsesToCCStream
from tests.reference_server.adapters.helpers import SEED, sse_payloads


def convert(events: list[Any], include_usage: bool = True) -> tuple[list[dict[str, Any]], ResponsesToCCStream]:
    conv = ResponsesToCCStream(include_usage=include_usage)
    chunks: list[dict[str, Any]] = []
    for e in events:
        chunks += conv.feed(e)
    conv.finish()
    return chunks, conv


def rebuild(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Accumulate CC chunks the way CC clients do."""
    out: dict[str, Any] = {"content": "", "refusal": "", "reasoning_content": "", "tool_calls": {},
                           "finish_reason": None, "usage": None, "roles": []}
    for c in chunks:
        assert c["object"] == "chat.completion.chunk" and c["id"].startswith("chatcmpl-")
        if c.get("usage"):
            out["usage"] = c["usage"]
        for ch in c["choices"]:
            d = ch["delta"]
            if "role" in d:
                out["roles"].append(d["role"])
            for key in ("content", "refusal", "reasoning_content"):
                out[key] += d.get(key) or ""
            for tc in d.get("tool_calls") or []:
                slot = out["tool_calls"].setdefault(tc["index"], {"id": None, "name": "", "arguments": ""})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += fn.get("arguments") or ""
            if ch["finish_reason"]:
                out["finish_reason"] = ch["finish_reason"]
    return out


def expected(response: dict[str, Any]) -> dict[str, Any]:
    completion = response_to_completion(response)
    message = completion["choices"][0]["message"]
    return {
        "content": message["content"] or "", "refusal": message["refusal"] or "",
        "reasoning_content": message.get("reasoning_content", ""),
        "tool_calls": {i: {"id": t["id"], "name": t["function"]["name"], "arguments": t["function"]["arguments"]}
                       for i, t in enumerate(message.get("tool_calls") or [])},
        "finish_reason": completion["choices"][0]["finish_reason"], "usage": completion.get("usage"),
        "roles": ["assistant"],
    }


SEEDS = sorted(p.name for p in SEED.glob("*.sse"))


@pytest.mark.parametrize("name", SEEDS)
def test_real_captures(name: str) -> None:
    events = sse_payloads((SEED / name).read_bytes())
    chunks, conv = convert(events)
    response = events[-1]["response"]
    if response["status"] == "failed":
        assert conv.error is not None and conv.error["message"]
        return
    assert conv.error is None
    assert rebuild(chunks) == expected(response)


def test_seed_set_is_present() -> None:
    assert len(SEEDS) >= 10


def test_stream_without_terminal_is_an_error() -> None:
    events = sse_payloads((SEED / "basic-text-with-reasoning.sse").read_bytes())[:-1]
    chunks, conv = convert(events)
    assert conv.error is not None and conv.error["code"] == "upstream_disconnected"
    assert all(ch["finish_reason"] is None for c in chunks for ch in c["choices"])


def test_usage_chunk_only_when_asked() -> None:
    events = sse_payloads((SEED / "basic-text-with-reasoning.sse").read_bytes())
    assert all(c["choices"] for c in convert(events, include_usage=False)[0])
    assert not convert(events, include_usage=True)[0][-1]["choices"]


def test_done_values_fill_in_missing_deltas() -> None:
    w = ResponseEventWriter({"model": "m"})
    events = w.start()
    i, added = w.add_message()
    events += added + w.add_output_text_part(i) + w.text_delta(i, "Hel")
    events += w.text_delta(i, "lo")
    events += w.close_item(i) + w.complete(responses_usage(1, 2))
    events = [e for e in events if not (e["type"] == "response.output_text.delta" and e["delta"] == "lo")]
    assert rebuild(convert(events)[0])["content"] == "Hello"


# ---------------------------------------------------------------------------- writer-built
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=10)
PIECES = st.lists(TEXT, min_size=1, max_size=3)


@st.composite
def writer_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    w = ResponseEventWriter({"model": "m"})
    events = w.start()
    for _ in range(draw(st.integers(0, 4))):
        for open_index in w.open_items:  # one open item at a time; the last may stay open
            events += w.close_item(open_index)
        kind = draw(st.sampled_from(["reasoning", "message", "call"]))
        if kind == "reasoning":
            i, added = w.add_reasoning()
            events += added
            for _ in range(draw(st.integers(0, 2))):
                events += w.add_summary_part(i) + [e for p in draw(PIECES) for e in w.summary_text_delta(i, p)]
            for _ in range(draw(st.integers(0, 2))):
                events += w.add_reasoning_text_part(i) + [e for p in draw(PIECES) for e in w.reasoning_text_delta(i, p)]
        elif kind == "message":
            i, added = w.add_message()
            events += added
            for _ in range(draw(st.integers(1, 2))):
                if draw(st.booleans()):
                    events += w.add_output_text_part(i) + [e for p in draw(PIECES) for e in w.text_delta(i, p)]
                else:
                    events += w.add_refusal_part(i) + [e for p in draw(PIECES) for e in w.refusal_delta(i, p)]
        else:
            i, added = w.add_function_call(draw(st.sampled_from(["f", "g"])))
            events += added + [e for p in draw(PIECES) for e in w.arguments_delta(i, p)]
    usage = responses_usage(draw(st.integers(0, 99)), draw(st.integers(0, 99)))
    end = draw(st.sampled_from(["complete", "max_output_tokens", "content_filter"]))
    if end == "complete":
        events += w.complete(usage)
    else:
        try:
            events += w.incomplete(end, usage)
        except ValueError:  # writer refuses an incomplete before a closed item: complete instead
            events += w.complete(usage)
    return events


@settings(deadline=None)
@given(writer_streams())
def test_writer_streams_rebuild_the_same_message(events: list[dict[str, Any]]) -> None:
    chunks, conv = convert(events)
    assert conv.error is None
    assert rebuild(chunks) == expected(events[-1]["response"])
