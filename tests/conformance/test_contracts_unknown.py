"""The unknown-field walk memoises what it learns per object shape: the memo must never change
an answer (same keys, different values or nesting), and it must stay bounded."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import contracts_unknown
from conformance.contracts import unknown_field_issues


def _delta(**extra: Any) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "delta": "hi", "logprobs": [], **extra}


def _added(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": item}


def _pointers(ev: dict[str, Any]) -> list[str]:
    return [i.pointer for i in unknown_field_issues(ev)]


def test_same_shape_same_answer_new_key_is_news() -> None:
    assert _pointers(_delta()) == []
    assert _pointers(_delta()) == []  # from the memo
    assert _pointers(_delta(novel=1)) == ["/novel"]
    assert _pointers(_delta(novel=2)) == ["/novel"]


def test_same_keys_different_nesting_are_walked_apart() -> None:
    msg = {"type": "message", "id": "m", "status": "in_progress", "role": "assistant", "content": []}
    assert _pointers(_added(msg)) == []
    part = {"type": "output_text", "text": "x", "annotations": [], "logprobs": [], "glitter": True}
    assert _pointers(_added({**msg, "content": [part]})) == ["/item/content/0/glitter"]
    # same keys at every level as the first, but `type` names another variant
    call = {"type": "function_call", "id": "fc", "status": "in_progress", "call_id": "c",
            "name": "f", "arguments": "", "role": "assistant"}
    assert _pointers(_added(call)) == ["/item/role"]


def test_order_of_findings_follows_the_object() -> None:
    ev = _added({"type": "message", "id": "m", "status": "in_progress", "zz": 1, "role": "assistant",
                 "content": [{"type": "output_text", "text": "", "annotations": [], "deep": 0}], "aa": 2})
    assert _pointers(ev) == ["/item/zz", "/item/content/0/deep", "/item/aa"]


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contracts_unknown, "MAX_SHAPES", 8)
    contracts_unknown._NODES.clear()
    for i in range(50):
        assert _pointers(_delta(**{f"k{i}": i})) == [f"/k{i}"]
    assert len(contracts_unknown._NODES) <= 8
