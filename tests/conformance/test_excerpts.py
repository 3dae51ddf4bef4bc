"""conformance.excerpts: the one way a value is shown inside a line of text."""

from __future__ import annotations

from conformance.excerpts import clip, one_line, render


def test_clip_keeps_the_limit_with_the_ellipsis() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…" and len(clip("x" * 500, 20)) == 20


def test_render() -> None:
    assert render("a b") == "a b" and render("a", quote=True) == '"a"'
    assert render(b"caf\xc3\xa9 \xff") == "café \ufffd"
    assert render({"a": [1, None]}) == '{"a":[1,null]}'
    assert render({1: 2}) == "{1: 2}"  # not JSON: repr
    assert render(object).startswith("\"<class")  # JSON via repr()
    assert one_line({"k": "v" * 100}, 12) == '{"k":"vvvvv…'
