"""The scripted backend's text for a custom tool's grammar: valid, deterministic, bounded."""

from __future__ import annotations

import re

import llguidance
import pytest

from reference_server.sources.backends.grammar_text import (
    GrammarTextError,
    _byte_tokenizer,
    grammar_text,
)

# A patch language in the style of coding agents' freeform edit tools: context lines start with
# a space, which once made the generator loop on context lines for ever.
EDIT = r"""
start: "BEGIN" LF hunk+ "END" LF?
hunk: add | update
add: "ADD " path LF ("+" /(.*)/ LF)+
update: "UPDATE " path LF (("+" | "-" | " ") /(.*)/ LF)+
path: /[^\n]+/
%import common.LF
"""


def _accepts(syntax: str, definition: str, text: str) -> bool:
    grammar = (llguidance.LLMatcher.grammar_from_lark(definition) if syntax == "lark"
               else llguidance.LLMatcher.grammar_from_regex(definition))
    matcher = llguidance.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    return all(matcher.consume_token(b) for b in text.encode()) and matcher.is_accepting()


@pytest.mark.parametrize(("syntax", "definition"), [
    ("lark", EDIT),
    ("regex", r"[A-Z]{2}-[0-9]{3}"),
    ("regex", r"(yes|no)( because [a-z ]+)?"),
    ("lark", 'start: "a" start | "b"'),
    ("lark", 'start: item ("," item)*\nitem: /[0-9]+/ | "\\"" /[a-z]*/ "\\""'),
])
def test_text_matches_and_is_deterministic(syntax: str, definition: str) -> None:
    text = grammar_text(syntax, definition)
    assert _accepts(syntax, definition, text), text
    assert grammar_text(syntax, definition) == text


def test_free_text_is_plain_words() -> None:
    text = grammar_text("lark", EDIT)
    assert text.startswith("BEGIN\n") and text.rstrip("\n").endswith("END")
    body_lines = [line[1:] for line in text.splitlines() if line[:1] in "+- " and line[:1]]
    assert all(re.fullmatch(r"[a-z .]*", line) for line in body_lines), body_lines


def test_unreachable_end_is_a_one_line_error() -> None:
    with pytest.raises(GrammarTextError, match="within 50 bytes"):
        grammar_text("regex", "[a-z]{100}", max_bytes=50)
