"""jsonschema-rs is the compiled predicate when installed; the Python predicates of
contracts_fast stand in without it. Both must give jsonschema's verdict on every fixture event
(test_contracts_fast checks the installed one against jsonschema on generated instances)."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from conformance import contracts
from conformance.resources import schemas_dir
from tests.conformance.test_contracts_shortcut import EVENTS


def test_installed_predicate_is_jsonschema_rs() -> None:
    pytest.importorskip("jsonschema_rs")
    c = contracts._contracts()
    assert c.rs_registry is not None
    assert c.compiled(c.events["response.completed"]).fast.__name__ == "predicate"  # type: ignore[union-attr]


def test_without_jsonschema_rs_the_python_predicates_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_rs(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "jsonschema_rs":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rs)
    plain = contracts._Contracts(schemas_dir())
    assert plain.rs_registry is None
    monkeypatch.undo()
    installed = contracts._contracts()
    checked = 0
    for event in EVENTS:
        uri = installed.events.get(event["type"])
        if uri is None:
            continue
        py = plain.compiled(uri)
        assert py.fast is not None and py.fast.__name__ != "predicate"
        full = py.validator.is_valid(event)
        assert py.fast(event) is full
        assert bool(installed.compiled(uri).fast(event)) is full  # type: ignore[misc]
        checked += 1
    assert checked > 1000


def test_an_instance_rs_cannot_take_goes_to_jsonschema() -> None:
    # A Python object JSON cannot hold: the predicate says "invalid", jsonschema explains.
    event = {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
             "content_index": 0, "delta": object(), "logprobs": [], "sequence_number": 1}
    issues = contracts.validate_event(event)
    assert [(i.pointer, i.validator) for i in issues] == [("/delta", "type")]
