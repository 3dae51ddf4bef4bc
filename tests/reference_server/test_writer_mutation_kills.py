"""ResponseEventWriter behaviour the other writer tests left unpinned, found by `nox -s mutation`
(docs/mutation.md): ids, usage, obfuscation, terminal snapshots, refusals of illegal calls."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from reference_server.protocol.events import (
    OBFUSCATION_TARGET,
    ResponseEventWriter,
    make_usage,
    new_id,
    obfuscate,
)

USAGE = make_usage(10, 5)


def writer(**kw: Any) -> ResponseEventWriter:
    return ResponseEventWriter({"model": "m"}, **kw)


def started(**kw: Any) -> ResponseEventWriter:
    w = writer(**kw)
    w.start()
    return w


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def check(events: list[dict[str, Any]]) -> Any:
    import conformance

    result = conformance.check_events(events)
    assert not result.errors("warning"), result.findings
    return result


# ---- module helpers --------------------------------------------------------------------------
def test_ids_have_the_live_shapes() -> None:
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", new_id("call"))
    assert re.fullmatch(r"msg_[0-9a-f]{48}", new_id("msg"))
    assert new_id("msg") != new_id("msg")


def test_make_usage_is_whole_and_consistent() -> None:
    assert make_usage(7, 3, reasoning_tokens=3, cached_tokens=7) == {
        "input_tokens": 7, "input_tokens_details": {"cached_tokens": 7, "cache_write_tokens": 0},
        "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 10,
    }
    assert make_usage(0, 0)["total_tokens"] == 0


@pytest.mark.parametrize("kw", [
    {"input_tokens": -1, "output_tokens": 0}, {"input_tokens": 0, "output_tokens": -1},
    {"input_tokens": True, "output_tokens": 0}, {"input_tokens": 1.0, "output_tokens": 0},
    {"input_tokens": 1, "output_tokens": 1, "reasoning_tokens": 2},
    {"input_tokens": 1, "output_tokens": 1, "cached_tokens": 2},
    {"input_tokens": 1, "output_tokens": 1, "reasoning_tokens": -1},
])
def test_make_usage_refuses_impossible_counts(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="make_usage"):
        make_usage(**kw)


def test_obfuscation_pads_a_delta_to_the_target_size() -> None:
    for delta in ("", "abc", "x" * (OBFUSCATION_TARGET - 1)):
        ev = obfuscate({"type": "response.output_text.delta", "delta": delta})
        assert len(ev["obfuscation"]) == OBFUSCATION_TARGET - len(delta)
        assert re.fullmatch(r"[A-Za-z0-9]*", ev["obfuscation"])
    for delta in ("x" * OBFUSCATION_TARGET, "x" * (OBFUSCATION_TARGET + 5)):
        assert obfuscate({"type": "response.output_text.delta", "delta": delta})["obfuscation"] == ""
    other = {"type": "response.output_text.done", "delta": "abc"}
    assert obfuscate(dict(other)) == other


def test_obfuscation_padding_is_fresh_across_the_random_batch() -> None:
    # The padding is cut from a batch of random characters; thousands of deltas cross several
    # refills and every pad still has its exact size, and pads are not repeated.
    pads = [obfuscate({"type": "response.output_text.delta", "delta": "ab"})["obfuscation"] for _ in range(2000)]
    assert all(len(p) == OBFUSCATION_TARGET - 2 and re.fullmatch(r"[A-Za-z0-9]+", p) for p in pads)
    assert len(set(pads)) == len(pads)


def test_clone_copies_json_trees_deeply_and_other_values_by_deepcopy() -> None:
    from reference_server.protocol.events import _clone

    class Box:
        def __init__(self, value: Any) -> None:
            self.value = value

    box = Box([1])
    tree = {"a": [1, {"b": None, "c": [True, 1.5]}], "s": "x", "t": (1, [2]), "box": box}
    copy = _clone(tree)
    assert copy == {**tree, "box": copy["box"]} and copy["box"].value == [1]
    copy["a"][1]["c"].append("new")
    copy["t"][1].append(3)
    copy["box"].value.append(2)
    assert tree == {"a": [1, {"b": None, "c": [True, 1.5]}], "s": "x", "t": (1, [2]), "box": box}
    assert box.value == [1]


def test_snapshots_and_done_items_share_nothing_with_the_writer() -> None:
    w = started()
    index, _ = w.add_message()
    w.add_output_text_part(index)
    w.text_delta(index, "hi")
    snap = w.snapshot()
    done = w.close_item(index, "completed")
    snap["output"].append("junk")
    done[-1]["item"]["content"][0]["text"] = "changed"
    terminal = w.complete(USAGE)[-1]["response"]
    assert terminal["output"][0]["content"][0]["text"] == "hi" and len(terminal["output"]) == 1
    assert "obfuscation" not in obfuscate({"type": "response.output_text.delta", "delta": None})


# ---- construction and lifecycle --------------------------------------------------------------
def test_construction_refuses_a_missing_model_or_unknown_error_style() -> None:
    with pytest.raises(ValueError, match="model"):
        ResponseEventWriter({"model": ""})
    with pytest.raises(ValueError, match="error_style"):
        ResponseEventWriter({"model": "m"}, error_style="deep")  # type: ignore[arg-type]


def test_given_id_and_created_at_are_kept_and_snapshots_start_empty() -> None:
    w = ResponseEventWriter({"model": "m", "id": "resp_given", "created_at": 5, "output": ["x"],
                             "status": "completed", "completed_at": 9}, clock=lambda: 100.0)
    ev = w.start()
    assert w.response_id == "resp_given"
    for e in ev:
        r = e["response"]
        assert (r["id"], r["created_at"], r["output"], r["completed_at"]) == ("resp_given", 5, [], None)
    assert ResponseEventWriter({"model": "m"}, clock=lambda: 42.9).snapshot()["created_at"] == 42


def test_lifecycle_order_is_enforced() -> None:
    w = writer()
    assert w.phase == "new"
    with pytest.raises(ValueError, match=r"add_message\(\): not allowed while the response is 'new'"):
        w.add_message()
    created = w.created()
    assert w.phase == "created" and created[0]["response"]["status"] == "in_progress"
    with pytest.raises(ValueError, match="queued=False"):
        w.queued()
    assert types(w.in_progress()) == ["response.in_progress"] and w.phase == "in_progress"
    with pytest.raises(ValueError, match="start"):
        w.start()
    w.complete(USAGE)
    assert w.phase == "done"
    with pytest.raises(ValueError, match="complete"):
        w.complete(USAGE)


def test_queued_then_in_progress() -> None:
    w = writer()
    ev = w.created(queued=True) + w.queued()
    assert w.phase == "queued" and [e["response"]["status"] for e in ev] == ["queued", "queued"]
    assert w.in_progress()[0]["response"]["status"] == "in_progress"


# ---- terminal snapshots: completed_at and incomplete() -----------------------------------------
def test_completed_at_is_set_on_completed_only_and_never_before_created_at() -> None:
    clock = iter([1000.0, 990.7])  # created at 1000; the clock then goes back
    w = ResponseEventWriter({"model": "m"}, clock=lambda: next(clock))
    w.start()
    assert w.complete(USAGE)[-1]["response"]["completed_at"] == 1000
    clock = iter([1000.0, 1003.9])
    w = ResponseEventWriter({"model": "m"}, clock=lambda: next(clock))
    w.start()
    final = w.complete(None)[-1]["response"]
    assert final["completed_at"] == 1003 and final["usage"] is None
    for end in ("incomplete", "fail"):
        w = started(clock=lambda: 1000.0)
        ev = w.incomplete("max_output_tokens", USAGE) if end == "incomplete" else w.fail("boom")
        assert ev[-1]["response"]["completed_at"] is None


def test_incomplete_after_every_item_is_closed_emits_the_terminal_event() -> None:
    w = writer()
    ev = w.start()
    i, e = w.add_reasoning()
    ev += e + w.add_reasoning_text_part(i) + w.reasoning_text_delta(i, "thinking") + w.close_item(i)
    terminal = w.incomplete("max_output_tokens", USAGE)
    assert types(terminal) == ["response.incomplete"]  # nothing closed twice
    final = terminal[0]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [x["status"] for x in final["output"]] == ["completed"] and final["usage"] == USAGE
    check(ev + terminal)


def test_incomplete_with_nothing_added_and_with_an_empty_reason() -> None:
    w = started()
    assert types(w.incomplete("content_filter", None)) == ["response.incomplete"]
    with pytest.raises(ValueError, match="reason"):
        started().incomplete("", USAGE)


def test_incomplete_refuses_to_mark_an_item_that_precedes_a_closed_one() -> None:
    w = started(allow_interleaving=True)
    i, _ = w.add_message()
    j, _ = w.add_message()
    w.close_item(j)
    with pytest.raises(ValueError, match="precedes a closed one"):
        w.incomplete("max_output_tokens", USAGE)
    # The last item open, an earlier one closed: it is the last, so it may be marked.
    w = started(allow_interleaving=True)
    i, _ = w.add_message()
    j, _ = w.add_message()
    w.close_item(i)
    ev = w.incomplete("max_output_tokens", USAGE)
    assert [x["status"] for x in ev[-1]["response"]["output"]] == ["completed", "incomplete"]


def test_fail_requires_a_message_and_closes_open_items_incomplete() -> None:
    with pytest.raises(ValueError, match="message"):
        started().fail("")
    w = started()
    _i, _ = w.add_message()
    ev = w.fail("boom", code="rate_limit_exceeded", param="p", usage=USAGE)
    assert ev[0] == {"type": "error", "sequence_number": ev[0]["sequence_number"], "code": "rate_limit_exceeded",
                     "message": "boom", "param": "p"}
    assert ev[-2]["item"]["status"] == "incomplete" and ev[-1]["response"]["usage"] == USAGE


def test_cancel() -> None:
    w = writer()
    w.created()
    assert w.cancel() == [] and w.phase == "done" and w.snapshot()["status"] == "cancelled"
    w = started()
    i, _ = w.add_message()
    w.add_output_text_part(i)
    ev = w.cancel()
    assert types(ev)[-1] == "response.output_item.done" and ev[-1]["item"]["status"] == "incomplete"
    assert w.snapshot()["status"] == "cancelled" and w.snapshot()["completed_at"] is None
    with pytest.raises(ValueError):
        w.cancel()


# ---- items and parts -------------------------------------------------------------------------
def test_one_item_open_at_a_time_unless_interleaving_is_allowed() -> None:
    w = started()
    i, _ = w.add_message()
    with pytest.raises(ValueError, match=rf"item {i} is still open; close_item\({i}\) first"):
        w.add_message()
    w = started(allow_interleaving=True)
    assert [w.add_message()[0], w.add_function_call("f")[0]] == [0, 1] and w.open_items == [0, 1]


def test_message_phase_and_call_fields() -> None:
    w = started()
    with pytest.raises(ValueError, match="phase"):
        w.add_message("analysis")  # type: ignore[arg-type]
    i, ev = w.add_message("commentary")
    assert ev[0]["item"]["phase"] == "commentary"
    w.close_item(i)
    j, ev = w.add_function_call("f", call_id="call_given", namespace="ns")
    assert ev[0]["item"] | {"id": None} == {"id": None, "type": "function_call", "status": "in_progress",
                                            "arguments": "", "call_id": "call_given", "name": "f", "namespace": "ns"}
    assert ev[0]["item"]["id"].startswith("fc_")
    w.close_item(j)
    _k, ev = w.add_custom_tool_call("g")
    item = ev[0]["item"]
    assert item["id"].startswith("ctc_") and item["input"] == "" and item["call_id"].startswith("call_")
    assert "namespace" not in item
    for bad in ({"name": ""}, {"name": "f", "namespace": ""}):
        with pytest.raises(ValueError, match="non-empty"):
            started().add_function_call(**bad)


def test_deltas_go_only_to_their_own_kind() -> None:
    w = started(allow_interleaving=True)
    m, _ = w.add_message()
    f, _ = w.add_function_call("f")
    c, _ = w.add_custom_tool_call("g")
    with pytest.raises(ValueError, match="not a function_call"):
        w.arguments_delta(m, "x")
    with pytest.raises(ValueError, match="not a custom_tool_call"):
        w.custom_input_delta(f, "x")
    with pytest.raises(ValueError, match="must be a str"):
        w.arguments_delta(f, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no open part"):
        w.text_delta(m, "x")
    with pytest.raises(ValueError, match="cannot hold a reasoning_text part"):
        w.add_reasoning_text_part(m)
    ev = w.custom_input_delta(c, "ab") + w.custom_input_delta(c, "c") + w.close_item(c)
    assert ev[-2] == {"type": "response.custom_tool_call_input.done", "sequence_number": ev[-2]["sequence_number"],
                      "item_id": ev[0]["item_id"], "output_index": c, "input": "abc"}
    assert w.close_part(m) == []  # no open part: nothing to close


def test_index_lookups_refuse_what_is_not_an_item() -> None:
    w = started()
    i, _ = w.add_message()
    for bad in (True, -1, 1, "0"):
        with pytest.raises(ValueError, match="no output item has that index"):
            w.item(bad)  # type: ignore[arg-type]
    w.close_item(i)
    with pytest.raises(ValueError, match="already closed"):
        w.close_item(i)
    with pytest.raises(ValueError, match="status must be"):
        started().close_item(0, "failed")  # type: ignore[arg-type]
    assert w.item(i)["status"] == "completed"


def test_summary_parts_precede_reasoning_text_and_the_seal_covers_the_item() -> None:
    sealed: list[dict[str, Any]] = []

    def seal(item: dict[str, Any]) -> str:
        sealed.append(dict(item))
        return f"sealed-{len(sealed)}"

    w = started(seal_reasoning=seal)
    i, ev = w.add_reasoning()
    assert ev[0]["item"]["encrypted_content"] == "sealed-1"
    ev += w.add_summary_part(i) + w.summary_text_delta(i, "s") + w.add_reasoning_text_part(i)
    with pytest.raises(ValueError, match="must precede"):
        w.add_summary_part(i)
    ev += w.reasoning_text_delta(i, "r") + w.close_item(i)
    done = ev[-1]["item"]
    assert done["encrypted_content"] == "sealed-2" and sealed[-1]["content"] == [{"type": "reasoning_text", "text": "r"}]
    assert done["summary"] == [{"type": "summary_text", "text": "s"}]
    summary_done = next(e for e in ev if e["type"] == "response.reasoning_summary_text.done")
    assert summary_done["summary_index"] == 0 and summary_done["text"] == "s"
    plain = started()
    _j, ev = plain.add_reasoning()
    assert "encrypted_content" not in ev[0]["item"]


def test_annotations_and_logprobs() -> None:
    w = started()
    i, _ = w.add_message()
    w.add_output_text_part(i)
    w.text_delta(i, "0123456789")
    cite = {"type": "url_citation", "url": "https://e.x", "title": "t", "start_index": 2, "end_index": 10}
    for bad in ({"start_index": 3, "end_index": 2}, {"end_index": 11}, {"start_index": -1},
                {"start_index": 1.0}, {"url": ""}):
        with pytest.raises(ValueError, match="url_citation"):
            w.add_annotation(i, cite | bad)
    first = w.add_annotation(i, cite)[0]
    second = w.add_annotation(i, {"type": "file_citation", "file_id": "f", "index": 99})[0]
    assert (first["annotation_index"], second["annotation_index"]) == (0, 1) and first["annotation"] == cite
    entries = [{"token": "0", "logprob": -0.5, "bytes": [48], "top_logprobs": []}]
    w.add_logprobs(i, entries)
    ev = w.close_item(i)
    assert ev[0]["type"] == "response.output_text.done" and ev[0]["logprobs"] == entries
    assert ev[-1]["item"]["content"][0]["annotations"][0] == cite


def test_refusal_part_after_text_closes_the_text_part() -> None:
    w = started()
    i, _ = w.add_message()
    ev = w.add_output_text_part(i) + w.text_delta(i, "a") + w.add_refusal_part(i) + w.refusal_delta(i, "no")
    ev += w.close_item(i)
    assert types(ev) == ["response.content_part.added", "response.output_text.delta", "response.output_text.done",
                         "response.content_part.done", "response.content_part.added", "response.refusal.delta",
                         "response.refusal.done", "response.content_part.done", "response.output_item.done"]
    assert [e.get("content_index") for e in ev[:-1]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert ev[-3]["refusal"] == "no"


# ---- web search and compaction -----------------------------------------------------------------
def test_web_search_call_lifecycle_and_counting() -> None:
    w = started()
    i, ev = w.add_web_search_call()
    assert types(ev) == ["response.output_item.added", "response.web_search_call.in_progress"]
    assert ev[0]["item"]["action"] == {"type": "search"}
    with pytest.raises(ValueError, match="call web_search_searching first"):
        w.finish_web_search_call(i, {"type": "search", "query": "q"})
    w.web_search_searching(i)
    with pytest.raises(ValueError, match="already searching"):
        w.web_search_searching(i)
    with pytest.raises(ValueError, match="status must be"):
        w.finish_web_search_call(i, {"type": "search"}, status="incomplete")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="action needs a type"):
        w.finish_web_search_call(i, {"type": "browse"})
    ev = w.finish_web_search_call(i, {"type": "search", "query": "q"})
    assert types(ev) == ["response.web_search_call.completed", "response.output_item.done"]
    assert w.snapshot()["tool_usage"]["web_search"] == {"num_requests": 1}
    j, _ = w.add_web_search_call()
    w.web_search_searching(j)
    assert types(w.finish_web_search_call(j, {"type": "open_page", "url": "u"})) == [
        "response.web_search_call.completed", "response.output_item.done"]
    k, _ = w.add_web_search_call()
    w.web_search_searching(k)
    ev = w.finish_web_search_call(k, {"type": "search", "query": "q2"}, status="failed")
    assert types(ev) == ["response.output_item.done"] and ev[0]["item"]["status"] == "failed"
    assert w.snapshot()["tool_usage"]["web_search"] == {"num_requests": 1}  # only the completed search
    m, _ = w.add_message()
    with pytest.raises(ValueError, match="not a web_search_call"):
        w.web_search_searching(m)


def test_a_web_search_cut_short_fails_with_the_action_it_was_running() -> None:
    w = started()
    _i, _ = w.add_web_search_call({"type": "open_page", "url": "https://e.x"})
    ev = w.fail("boom")
    done = next(e for e in ev if e["type"] == "response.output_item.done")
    assert done["item"]["status"] == "failed" and done["item"]["action"] == {"type": "open_page", "url": "https://e.x"}
    assert "response.web_search_call.searching" in types(ev)
    assert "response.web_search_call.completed" not in types(ev)


def test_compaction_item_is_whole_in_one_go() -> None:
    w = started()
    with pytest.raises(ValueError, match="encrypted_content"):
        w.add_compaction("")
    i, ev = w.add_compaction("opaque")
    assert types(ev) == ["response.output_item.added", "response.compaction.compacting", "response.output_item.done"]
    assert w.open_items == [] and w.snapshot()["output"][0]["encrypted_content"] == "opaque"
    assert w.add_message()[0] == i + 1


def test_sequence_numbers_count_every_event() -> None:
    w = writer()
    ev = w.start()
    _i, e = w.add_message()
    ev += [*e, w.notice("response.steering.acknowledged", note=1)]
    ev += w.complete(USAGE)
    assert [x["sequence_number"] for x in ev] == list(range(len(ev))) and w.next_sequence_number == len(ev)
    assert ev[3] == {"type": "response.steering.acknowledged", "sequence_number": 3, "note": 1}
    snap = w.snapshot()
    snap["output"].append("x")
    assert w.snapshot()["output"] != snap["output"]  # a copy


def test_only_message_and_reasoning_items_take_parts() -> None:
    """A part on an item kind that has none is refused with the writer's own error, for every
    kind (a web search call has no `content` list to look into)."""
    w = started(allow_interleaving=True)
    search, _ = w.add_web_search_call()
    call, _ = w.add_function_call("f")
    for add in (w.add_summary_part, w.add_output_text_part, w.add_reasoning_text_part):
        for index in (search, call):
            with pytest.raises(ValueError, match="cannot hold"):
                add(index)
    message, _ = w.add_message()
    with pytest.raises(ValueError, match="a message item cannot hold a summary_text part"):
        w.add_summary_part(message)


def test_a_search_decoded_from_json_counts() -> None:
    """The action may come from decoded JSON (a relayed or recorded browser step): a completed
    search counts by its value, not by being the writer's own literal."""
    w = started()
    i, _ = w.add_web_search_call()
    w.web_search_searching(i)
    w.finish_web_search_call(i, json.loads('{"type": "search", "query": "tides"}'))
    assert w.snapshot()["tool_usage"]["web_search"] == {"num_requests": 1}


def test_a_search_adds_to_tool_usage_given_without_web_search() -> None:
    """Base fields may carry a `tool_usage` of their own: its other counts are kept, and the
    web search count starts from zero."""
    image_gen = {"input_tokens": 3, "input_tokens_details": {"image_tokens": 1, "text_tokens": 2},
                 "output_tokens": 4, "total_tokens": 7}
    w = ResponseEventWriter({"model": "m", "tool_usage": {"image_gen": image_gen}})
    w.start()
    for _ in range(2):
        i, _ = w.add_web_search_call()
        w.web_search_searching(i)
        w.finish_web_search_call(i, {"type": "search", "query": "q"})
    assert w.snapshot()["tool_usage"] == {"image_gen": image_gen, "web_search": {"num_requests": 2}}
