"""jsonschema's validator for explanations, with the generated unions' `allOf` taken directly.

Every union of the contracts is a `type` enum plus an `allOf` with one `if type == C then X`
branch per variant (contracts_unions). Draft 2020-12's `allOf` evaluates every branch, and each branch's `if` is a validation of its
own: explaining one `response.completed` asks ~30 `if`s per output item, ~80 % of the time of
explaining a snapshot (2.6 ms for a 6 kB stream with one unknown item type, against 0.8 ms for
one without). For an object whose `type` is a string, the branches whose constant differs
cannot match and add no error, so only the branch that names the instance's `type` (if any)
is descended into, at the same schema path; the errors are the ones jsonschema gives, in the
same order (tests compare both on every fixture event and on mutated ones). Any other `allOf`,
and any other instance (not an object, `type` missing or not a string), takes the keyword's
plain definition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conformance.contracts_unions import union_branches

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["explaining_validator", "without_dialect"]

_CLASS: Any = None


def _all_of(validator: Any, all_of: Sequence[Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    branches = union_branches(all_of) if type(instance) is dict else None
    if branches is not None:
        tag = instance.get("type")
        if type(tag) is str:
            index = branches.get(tag)
            if index is not None:
                yield from validator.descend(instance, all_of[index], schema_path=index)
            return  # no branch names this type: none of their `if`s holds
    for index, sub in enumerate(all_of):  # the keyword as Draft 2020-12 defines it
        yield from validator.descend(instance, sub, schema_path=index)


def without_dialect(document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` without its `$schema`, for the explaining validator and its registry.

    A validator following a `$ref` into another document picks its class by that document's
    `$schema` (`validator_for(schema, default=cls)`): a document that names Draft 2020-12 would
    be judged by the stock class, without the `allOf` above. Every contract is Draft 2020-12
    (test_contracts checks), so dropping the declaration changes nothing else."""
    return {key: value for key, value in document.items() if key != "$schema"}


def explaining_validator(schema: Mapping[str, Any], registry: Any) -> Draft202012Validator:
    """A Draft 2020-12 validator of `schema` whose errors are jsonschema's own (see above); the
    documents in `registry` must come from `without_dialect`."""
    global _CLASS
    if _CLASS is None:
        from jsonschema import Draft202012Validator
        from jsonschema.validators import extend

        _CLASS = extend(Draft202012Validator, {"allOf": _all_of})
    validator: Draft202012Validator = _CLASS(without_dialect(schema), registry=registry)
    return validator
