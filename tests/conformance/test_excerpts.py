"""conformance.excerpts: the one way a value is shown inside a line of text."""

from __future__ import annotations

from conformance.excerpts import clip, one_line, render, short


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


def test_clip_beyond_puts_the_ellipsis_after_the_limit() -> None:
    assert clip("abcdef", 6, beyond=True) == "abcdef"
    assert clip("abcdefg", 6, beyond=True) == "abcdef…"
    assert clip("abcdefg", 6) == "abcde…"


def test_short_quotes_a_value_as_readable_json() -> None:
    assert short({"b": 1, "a": "é"}) == '{"b": 1, "a": "é"}'
    assert short({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert short("x" * 100, 10) == '"xxxxxxxx…'
    assert short({1: "a", "b": 2}, sort_keys=True) == repr({1: "a", "b": 2})  # keys that cannot be sorted
    assert short({"v": {1, 2}}) == '{"v": "{1, 2}"}'  # repr() for what JSON cannot hold
