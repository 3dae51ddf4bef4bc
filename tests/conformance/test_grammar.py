"""The grammar tables are the checker: every (state, event) pair, fed to the checker, gets the
verdict and the next state the tables give; the checker's own bookkeeping is typed."""

from __future__ import annotations

from dataclasses import fields

import pytest

from conformance.checker import StreamChecker
from conformance.fixture_corpus import load_fixtures
from conformance.sse import SSEParser
from conformance.state import StreamState

FIXTURES = [f for f in load_fixtures() if f.kind == "sse"]


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.name)
def test_built_in_rules_keep_no_untyped_notes(fx) -> None:  # type: ignore[no-untyped-def]
    # `notes` is left to rules defined outside the package: built-in rules use typed fields.
    checker = StreamChecker(fx.profile, fx.request)
    parser = SSEParser()
    checker.feed_messages(parser.feed(fx.body()))
    checker.feed_messages(parser.close())
    checker.finish()
    assert checker.state.notes == {}


def test_stream_state_is_one_typed_dataclass() -> None:
    names = {f.name for f in fields(StreamState)}
    # What the fast paths write and what rules remember both live here.
    assert {"cont", "last_seq", "n_events", "interleaved", "seq_first_missing", "web_search_steps"} <= names
    assert all(f.type != "Any" or f.name in {"response_id", "created_at", "model", "first_response_id"}
               for f in fields(StreamState) if f.name != "notes")
